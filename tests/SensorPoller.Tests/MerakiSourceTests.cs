using Microsoft.Extensions.Logging.Abstractions;
using PowerEvents.Contracts;
using PowerEvents.SensorPoller.Meraki;
using PowerEvents.SensorPoller.Polling;
using PowerEvents.Tools.MerakiSimulator;
using Xunit;

namespace PowerEvents.SensorPoller.Tests;

/// <summary>The Meraki source and its poll loop against the simulator: bad data never becomes a reading, and is reported.</summary>
public sealed class MerakiSourceTests : IAsyncLifetime
{
    const string Key = "source-key";
    RunningSimulator _sim = null!;
    readonly List<object> _published = [];

    public async Task InitializeAsync()
    {
        _sim = await RunningSimulator.StartAsync(Key);
        _sim.World.AddOrganization("7", "Org");
        _sim.World.AddNetwork("N_7", "7", "Server room", 35);
        _sim.World.SetSensor("Q-A", "N_7", 24.5, null, null);
        _sim.World.SetSensor("Q-B", "N_7", 25.5, null, null);
    }

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    (SourceLoop Loop, MerakiSourceOptions Options) Loop(Action<MerakiSourceOptions>? configure = null)
    {
        var options = new MerakiSourceOptions
        {
            Name = "meraki-7", BaseUrl = _sim.ApiBase, ApiKey = Key, OrganizationId = "7",
            RetryBaseDelay = TimeSpan.FromMilliseconds(10), MaxRetries = 1, Interval = TimeSpan.FromSeconds(10),
            FailureBackoffMax = TimeSpan.FromSeconds(60), AllowInsecureHttp = true,
        };
        configure?.Invoke(options);
        var source = new MerakiSource(options, new MerakiClient(ResilientHttp.CreateClient(options, NullLogger.Instance), options), TimeProvider.System);
        return (new SourceLoop(source, (m, _) => { _published.Add(m); return Task.CompletedTask; }, TimeProvider.System, NullLogger.Instance), options);
    }

    IEnumerable<TemperatureSampled> Samples => _published.OfType<TemperatureSampled>();
    IEnumerable<SourceHealthChanged> Health => _published.OfType<SourceHealthChanged>();

    [Fact]
    public async Task Each_new_reading_becomes_one_sample_with_the_sensors_own_timestamp()
    {
        var ts = DateTimeOffset.UtcNow.AddSeconds(-30);
        _sim.World.SetSensor("Q-A", "N_7", 31.25, ts, null);
        var (loop, _) = Loop();

        await loop.PollOnceAsync(CancellationToken.None);
        await loop.PollOnceAsync(CancellationToken.None);

        var a = Assert.Single(Samples, s => s.SensorId == "Q-A");
        Assert.Equal(("meraki-7", "Server room", 31.25), (a.Source, a.Zone, a.Celsius));
        Assert.Equal(ts.ToUnixTimeMilliseconds(), a.SampledAt.ToUnixTimeMilliseconds());
        Assert.True(a.ReceivedAt >= a.SampledAt);
        Assert.Equal(2, Samples.Count());
        Assert.Empty(Health);
    }

    [Theory]
    [InlineData("malformedJson", "malformed JSON")]
    [InlineData("missingFields", "without temperature.celsius")]
    [InlineData("staleTimestamp", "is older than")]
    [InlineData("wrongUnit", "(wrong unit)")]
    [InlineData("outOfRange", "900 °C is outside")]
    [InlineData("nullTemperature", "without temperature.celsius")]
    public async Task Bad_data_never_becomes_a_reading_and_is_reported_once_as_a_failure(string fault, string problem)
    {
        _sim.World.AddFault(new Fault { Kind = fault, Remaining = -1, PathContains = "readings" });
        var (loop, _) = Loop();

        await loop.PollOnceAsync(CancellationToken.None);
        await loop.PollOnceAsync(CancellationToken.None);

        Assert.Empty(Samples);
        var failure = Assert.Single(Health);
        Assert.False(failure.Healthy);
        Assert.Contains(failure.Problems, p => p.Contains(problem, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_reading_whose_publish_failed_is_published_again_on_the_next_poll()
    {
        var options = new MerakiSourceOptions { Name = "meraki-7", BaseUrl = _sim.ApiBase, ApiKey = Key, OrganizationId = "7", AllowInsecureHttp = true };
        var source = new MerakiSource(options, new MerakiClient(ResilientHttp.CreateClient(options, NullLogger.Instance), options), TimeProvider.System);
        var brokerUp = false;
        var loop = new SourceLoop(source, (m, _) =>
        {
            if (!brokerUp)
                throw new InvalidOperationException("broker unreachable");
            _published.Add(m);
            return Task.CompletedTask;
        }, TimeProvider.System, NullLogger.Instance);

        await Assert.ThrowsAsync<InvalidOperationException>(() => loop.PollOnceAsync(CancellationToken.None));
        brokerUp = true;
        await loop.PollOnceAsync(CancellationToken.None);
        await loop.PollOnceAsync(CancellationToken.None);

        Assert.Equal(["Q-A", "Q-B"], Samples.Select(s => s.SensorId).Order());
    }

    [Fact]
    public async Task A_source_that_recovers_reports_it_once()
    {
        _sim.World.AddFault(new Fault { Kind = "status", Status = 500, Remaining = -1 });
        var (loop, _) = Loop();
        await loop.PollOnceAsync(CancellationToken.None);
        await loop.PollOnceAsync(CancellationToken.None);
        _sim.World.ClearFaults();
        await loop.PollOnceAsync(CancellationToken.None);
        await loop.PollOnceAsync(CancellationToken.None);

        Assert.Equal([false, true], Health.Select(h => h.Healthy));
        Assert.Contains("HTTP 500", Health.First().Problems.Single(), StringComparison.Ordinal);
        Assert.Empty(Health.Last().Problems);
        Assert.Equal(2, Samples.Count());
    }

    [Fact]
    public async Task A_source_that_keeps_failing_is_polled_less_and_less_often()
    {
        _sim.World.AddFault(new Fault { Kind = "status", Status = 503, Remaining = -1 });
        var (loop, options) = Loop();

        var delays = new List<TimeSpan>();
        for (var i = 0; i < 5; i++)
            delays.Add(await loop.PollOnceAsync(CancellationToken.None));

        Assert.Equal([10, 20, 40, 60, 60], delays.Select(d => d.TotalSeconds));
        _sim.World.ClearFaults();
        Assert.Equal(options.Interval, await loop.PollOnceAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_long_retry_after_delays_the_next_poll_at_least_that_long()
    {
        _sim.World.AddFault(new Fault { Kind = "status", Status = 429, RetryAfterSeconds = 45, Remaining = 1 });
        var (loop, _) = Loop(o => o.MaxRetryAfter = TimeSpan.FromSeconds(5));

        Assert.Equal(TimeSpan.FromSeconds(45), await loop.PollOnceAsync(CancellationToken.None));
        Assert.Empty(Samples);
    }

    [Fact]
    public async Task One_bad_sensor_does_not_hold_back_the_good_ones()
    {
        _sim.World.SetSensor("Q-A", "N_7", 24, DateTimeOffset.UtcNow.AddHours(-2), null);
        var (loop, _) = Loop();

        await loop.PollOnceAsync(CancellationToken.None);

        Assert.Equal(["Q-B"], Samples.Select(s => s.SensorId));
        Assert.Contains(Health.Single().Problems, p => p.Contains("Q-A", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"serial":"Q-DOOR","network":{"id":"N_7","name":"x"},"readings":[]}""", null)]
    [InlineData("""{"serial":"Q-DOOR","network":{"id":"N_7","name":"x"},"readings":[{"ts":"2026-01-01T00:00:00Z","metric":"door","door":{"open":true}}]}""", null)]
    [InlineData("""{"serial":"Q-T","readings":[{"ts":"2026-01-01T00:00:00Z","metric":"temperature"}]}""", "Q-T:missing-fields")]
    [InlineData("""{"serial":"Q-T"}""", "Q-T:missing-fields")]
    [InlineData("""{"readings":[]}""", "item:no-serial")]
    public void A_sensor_without_a_temperature_metric_is_skipped_but_a_broken_temperature_reading_is_a_problem(string json, string? problemKey)
    {
        using var item = System.Text.Json.JsonDocument.Parse(json);
        var options = new MerakiSourceOptions { Name = "m", ApiKey = "k", OrganizationId = "1", MaxReadingAge = TimeSpan.FromDays(3650) };

        var (sample, problem) = MerakiSource.ParseReading(options, item.RootElement, DateTimeOffset.UtcNow);

        Assert.Null(sample);
        Assert.Equal(problemKey, problem?.Key);
    }

    [Fact]
    public async Task The_alert_overview_of_configured_networks_is_published_as_an_alarm_signal()
    {
        _sim.World.SetSensor("Q-A", "N_7", 40, null, null);
        var (loop, _) = Loop(o => o.AlertNetworkIds = ["N_7"]);

        await loop.PollOnceAsync(CancellationToken.None);

        var signal = Assert.Single(_published.OfType<AlarmStateSampled>());
        Assert.Equal(("alerts:N_7", true), (signal.SignalId, signal.Active));
    }

    [Fact]
    public async Task Stopping_ends_the_loop_promptly_even_mid_wait()
    {
        var (loop, _) = Loop(o => o.Interval = TimeSpan.FromMinutes(5));
        using var stop = new CancellationTokenSource();
        var running = loop.RunAsync(stop.Token);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Samples.Count() < 2 && DateTime.UtcNow < deadline)
            await Task.Delay(20);

        await stop.CancelAsync();
        var finished = await Task.WhenAny(running, Task.Delay(TimeSpan.FromSeconds(5)));
        Assert.Same(running, finished);
        await running;
        Assert.Equal(2, Samples.Count());
    }
}
