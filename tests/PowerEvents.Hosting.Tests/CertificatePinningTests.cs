using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Xunit;

namespace PowerEvents.Hosting.Tests;

/// <summary>The one pinning rule every TLS client shares (the clients' own tests prove it against real servers).</summary>
public sealed class CertificatePinningTests
{
    static readonly X509Certificate2 SelfSigned = Create("CN=appliance");
    static readonly X509Certificate2 Other = Create("CN=other");

    static X509Certificate2 Create(string subject)
    {
        using var key = ECDsa.Create();
        return new CertificateRequest(subject, key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void The_pinned_certificate_is_accepted_whatever_its_chain_with_or_without_colons_in_any_case(bool colons, bool lower)
    {
        var pin = CertificatePinning.Fingerprint(SelfSigned);
        if (colons)
            pin = CertificatePinning.WithColons(pin);
        if (lower)
            pin = pin.ToLowerInvariant();

        Assert.Null(CertificatePinning.Problem(SelfSigned, SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNameMismatch, pin));
    }

    [Fact]
    public void Another_certificate_is_refused_even_when_it_validates()
    {
        var problem = CertificatePinning.Problem(Other, SslPolicyErrors.None, CertificatePinning.Fingerprint(SelfSigned));

        Assert.Contains("is not the pinned one", problem, StringComparison.Ordinal);
        Assert.Contains(CertificatePinning.Fingerprint(Other), problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_pin_only_a_certificate_that_validates_is_accepted()
    {
        Assert.Null(CertificatePinning.Problem(SelfSigned, SslPolicyErrors.None, null));
        Assert.Contains("not trusted", CertificatePinning.Problem(SelfSigned, SslPolicyErrors.RemoteCertificateChainErrors, ""), StringComparison.Ordinal);
        Assert.False(CertificatePinning.Callback(null)(this, SelfSigned, null, SslPolicyErrors.RemoteCertificateChainErrors));
    }

    [Fact]
    public void The_callback_reports_what_was_presented_so_an_operator_can_pin_it()
    {
        string? seen = null;

        var accepted = CertificatePinning.Callback(CertificatePinning.Fingerprint(Other), s => seen = s)(this, SelfSigned, null, SslPolicyErrors.None);

        Assert.False(accepted);
        Assert.Equal(CertificatePinning.Fingerprint(SelfSigned), seen);
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("", true)]
    [InlineData("AB:CD", false)]
    [InlineData("zz00000000000000000000000000000000000000000000000000000000000000", false)]
    public void A_setting_is_empty_or_a_SHA_256_fingerprint(string? setting, bool valid) =>
        Assert.Equal(valid, CertificatePinning.IsValidSetting(setting));
}
