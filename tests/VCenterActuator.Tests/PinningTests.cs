using PowerEvents.Testing;
using PowerEvents.VCenterActuator.Vim;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>vcsim's certificate is self-signed, as many vCenter appliances' are: only a pinned fingerprint lets it in.</summary>
public sealed class PinningTests : IAsyncLifetime
{
    VcsimProcess _vcsim = null!;

    public async Task InitializeAsync() => _vcsim = await VcsimProcess.StartAsync(["-hosts", "1", "-vms", "1"]);

    public async Task DisposeAsync() => await _vcsim.DisposeAsync();

    [Fact]
    public async Task A_self_signed_certificate_is_refused_when_no_fingerprint_is_pinned()
    {
        var error = await ConnectAsync(Vcenter.Options(_vcsim, o => o.CertificateFingerprint = ""));

        Assert.Equal(VCenterException.CertificateRejected, error?.FaultName);
        Assert.Contains("no fingerprint is pinned", error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_that_does_not_match_the_pinned_fingerprint_is_refused()
    {
        var wrong = string.Join(':', Enumerable.Repeat("AB", 32));

        var error = await ConnectAsync(Vcenter.Options(_vcsim, o => o.CertificateFingerprint = wrong));

        Assert.Equal(VCenterException.CertificateRejected, error?.FaultName);
        Assert.False(error!.IsTransient);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task The_pinned_certificate_is_accepted_with_or_without_colons_in_any_case(bool stripColons, bool lowerCase)
    {
        var pin = _vcsim.Fingerprint;
        if (stripColons)
            pin = pin.Replace(":", "", StringComparison.Ordinal);
        if (lowerCase)
            pin = pin.ToLowerInvariant();

        Assert.Null(await ConnectAsync(Vcenter.Options(_vcsim, o => o.CertificateFingerprint = pin)));
    }

    static async Task<VCenterException?> ConnectAsync(VCenterOptions options)
    {
        await using var connection = Vcenter.Connection(options);
        try
        {
            await Vcenter.Client(connection, options).GetClusterInventoryAsync("cluster1", CancellationToken.None);
            return null;
        }
        catch (VCenterException ex)
        {
            return ex;
        }
    }
}
