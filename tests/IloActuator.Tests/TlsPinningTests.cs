using PowerEvents.Contracts;
using Xunit;

namespace IloActuator.Tests;

/// <summary>TLS to BMCs is verified; a self-signed BMC certificate is accepted only by its pinned SHA-256 fingerprint.</summary>
public sealed class TlsPinningTests
{
    [Fact]
    public async Task The_pinned_fingerprint_of_a_self_signed_BMC_is_accepted_with_or_without_colons()
    {
        await using var server = await Bmcs.StartAsync();
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(
            Bmcs.Host("esx-01", server, h => h.CertificateFingerprint = server.Fingerprint!.Replace(":", "", StringComparison.Ordinal).ToLowerInvariant()),
            CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.PoweredOn, result);
    }

    [Fact]
    public async Task A_self_signed_BMC_without_a_pin_is_refused_and_the_reason_shows_what_to_pin()
    {
        await using var server = await Bmcs.StartAsync();
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server, h => h.CertificateFingerprint = null), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, result);
        Assert.Contains("TLS certificate of the BMC", result.Reason, StringComparison.Ordinal);
        Assert.Contains(server.Fingerprint!, result.Reason, StringComparison.Ordinal);
        Assert.Empty(server.Bmc.Requests);
    }

    [Fact]
    public async Task A_BMC_presenting_another_certificate_than_the_pinned_one_is_refused()
    {
        await using var server = await Bmcs.StartAsync();
        await using var other = await Bmcs.StartAsync();
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server, h => h.CertificateFingerprint = other.Fingerprint), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, result);
        Assert.Contains("does not match the pinned fingerprint", result.Reason, StringComparison.Ordinal);
        Assert.Empty(server.Bmc.Requests);
        Assert.Equal("Off", server.Bmc.PowerState);
    }
}
