using PowerEvents.Hosting;
using PowerEvents.IloActuator;
using Xunit;

namespace IloActuator.Tests;

/// <summary>Unit tests of the configuration rules: each failure names the key an operator has to fix.</summary>
public sealed class BmcOptionsValidationTests
{
    static IReadOnlyList<string> Validate(params BmcHostOptions[] hosts) =>
        KeyedOptionsValidator<BmcOptions>.Validate(new BmcOptions { Hosts = [.. hosts] }, BmcOptions.Section);

    static BmcHostOptions Valid() => new()
    {
        Name = "esx-01", Url = new Uri("https://ilo-esx01.example.net/"), Username = "Administrator", Password = "x",
    };

    [Fact]
    public void A_complete_host_is_valid() => Assert.Empty(Validate(Valid()));

    [Fact]
    public void A_host_without_BMC_or_Wake_on_LAN_is_refused() =>
        Assert.Contains("Bmc:Hosts:0:Url: set Url (a BMC) or WakeOnLan:Mac (or both)", Validate(new BmcHostOptions { Name = "esx-01" }));

    [Fact]
    public void A_missing_password_names_the_host_key()
    {
        var host = Valid();
        host.Password = null;
        Assert.Contains(Validate(Valid(), host), f => f.StartsWith("Bmc:Hosts:1:Password:", StringComparison.Ordinal));
    }

    [Fact]
    public void Plain_http_needs_an_explicit_opt_in()
    {
        var host = Valid();
        host.Url = new Uri("http://ilo-esx01/");
        Assert.Contains(Validate(host), f => f.StartsWith("Bmc:Hosts:0:Url: is http://", StringComparison.Ordinal));
        host.AllowInsecureHttp = true;
        Assert.Empty(Validate(host));
    }

    [Fact]
    public void Credentials_inside_the_URL_are_refused()
    {
        var host = Valid();
        host.Url = new Uri("https://admin:secret@ilo-esx01/");
        Assert.Contains("Bmc:Hosts:0:Url: must not contain credentials; use Username and Password", Validate(host));
    }

    [Theory]
    [InlineData("AB:CD")]
    [InlineData("ZZ:8F:62:8A:8A:65:AA:18:56:0E:53:A8:0C:53:AC:B3:8C:51:B4:27:DF:03:34:08:23:49:14:11:47:DC:9B:F6")]
    public void A_fingerprint_that_is_not_SHA_256_is_refused(string fingerprint)
    {
        var host = Valid();
        host.CertificateFingerprint = fingerprint;
        Assert.Contains(Validate(host), f => f.StartsWith("Bmc:Hosts:0:CertificateFingerprint:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_bad_MAC_and_a_fallback_without_MAC_are_refused()
    {
        var badMac = new BmcHostOptions { Name = "esx-02", WakeOnLan = new WakeOnLanOptions { Mac = "00:11:22" } };
        var fallback = Valid();
        fallback.FallbackToWakeOnLan = true;

        var failures = Validate(badMac, fallback);

        Assert.Contains(failures, f => f.StartsWith("Bmc:Hosts:0:WakeOnLan:Mac:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Bmc:Hosts:1:FallbackToWakeOnLan:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_host_configured_twice_is_refused() =>
        Assert.Contains("Bmc:Hosts: host 'esx-01' is configured more than once", Validate(Valid(), Valid()));
}
