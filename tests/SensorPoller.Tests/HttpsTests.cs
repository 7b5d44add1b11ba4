using Microsoft.Extensions.Logging.Abstractions;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.SensorPoller.Meraki;
using PowerEvents.SensorPoller.Polling;
using PowerEvents.Tools.MerakiSimulator;
using Xunit;

namespace PowerEvents.SensorPoller.Tests;

/// <summary>The default path: https, against the simulator serving TLS with its own self-signed certificate (issue 15 point 3).</summary>
public sealed class HttpsTests : IAsyncLifetime
{
    const string Key = "tls-key";
    RunningSimulator _sim = null!;
    readonly List<object> _published = [];

    public async Task InitializeAsync()
    {
        _sim = await RunningSimulator.StartTlsAsync(Key);
        _sim.World.AddOrganization("1", "Org");
        _sim.World.AddNetwork("N_1", "1", "Net", 35);
        _sim.World.SetSensor("Q-TLS", "N_1", 23, null, null);
    }

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    SourceLoop Loop(string? fingerprint)
    {
        var options = new MerakiSourceOptions
        {
            Name = "meraki-tls", BaseUrl = _sim.ApiBase, ApiKey = Key, OrganizationId = "1", MaxRetries = 0, CertificateFingerprint = fingerprint,
        };
        Assert.Empty(KeyedOptionsValidator<SensorPollerOptions>.Validate(new SensorPollerOptions { Meraki = [options] }, SensorPollerOptions.Section));
        var source = new MerakiSource(options, new MerakiClient(ResilientHttp.CreateClient(options, NullLogger.Instance), options), TimeProvider.System);
        return new SourceLoop(source, (m, _) => { _published.Add(m); return Task.CompletedTask; }, TimeProvider.System, NullLogger.Instance);
    }

    [Fact]
    public async Task With_the_servers_certificate_pinned_the_source_reads_over_https_without_any_opt_in()
    {
        Assert.Equal("https", _sim.ApiBase.Scheme);
        // Colons and lower case, as an operator copies it from openssl.
        var pinned = string.Join(':', _sim.CertificateFingerprint!.Chunk(2).Select(c => new string(c))).ToLowerInvariant();

        await Loop(pinned).PollOnceAsync(CancellationToken.None);

        Assert.Equal("Q-TLS", Assert.Single(_published.OfType<TemperatureSampled>()).SensorId);
        Assert.Empty(_published.OfType<SourceHealthChanged>());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF")]
    public async Task An_untrusted_or_other_certificate_is_refused_and_reported(string? fingerprint)
    {
        await Loop(fingerprint).PollOnceAsync(CancellationToken.None);

        Assert.Empty(_published.OfType<TemperatureSampled>());
        var failure = Assert.Single(_published.OfType<SourceHealthChanged>());
        Assert.False(failure.Healthy);
        Assert.Contains("SSL", failure.Problems.Single(), StringComparison.OrdinalIgnoreCase);
        Assert.Empty(_sim.World.Requests()); // the key never went out
    }
}
