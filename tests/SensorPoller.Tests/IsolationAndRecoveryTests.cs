using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using PowerEvents.Contracts;
using PowerEvents.SensorPoller.Meraki;
using PowerEvents.SensorPoller.Polling;
using PowerEvents.Tools.MerakiSimulator;
using Xunit;

namespace PowerEvents.SensorPoller.Tests;

/// <summary>A source never goes blind because of its secondary signal, a slow last page or a past outage (issue 14, points 1 and 4).</summary>
public sealed class IsolationAndRecoveryTests : IAsyncLifetime
{
    const string Key = "isolation-key";
    RunningSimulator _sim = null!;
    readonly ConcurrentQueue<(object Message, long At)> _published = new();

    public async Task InitializeAsync()
    {
        _sim = await RunningSimulator.StartAsync(Key);
        _sim.World.AddOrganization("7", "Org");
        _sim.World.AddNetwork("N_7", "7", "Server room", 35);
        _sim.World.SetSensor("Q-A", "N_7", 24.5, null, null);
        _sim.World.SetSensor("Q-B", "N_7", 36, null, null);
    }

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    SourceLoop Loop(Action<MerakiSourceOptions>? configure = null)
    {
        var options = new MerakiSourceOptions
        {
            Name = "meraki-7", BaseUrl = _sim.ApiBase, ApiKey = Key, OrganizationId = "7", AllowInsecureHttp = true,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10), MaxRetries = 1, Interval = TimeSpan.FromSeconds(10),
        };
        configure?.Invoke(options);
        var source = new MerakiSource(options, new MerakiClient(ResilientHttp.CreateClient(options, NullLogger.Instance), options), TimeProvider.System);
        return new SourceLoop(source, (m, _) => { _published.Enqueue((m, Stopwatch.GetTimestamp())); return Task.CompletedTask; }, TimeProvider.System, NullLogger.Instance);
    }

    IEnumerable<T> Published<T>() => _published.Select(p => p.Message).OfType<T>();

    [Fact]
    public async Task A_network_the_key_cannot_read_fails_only_its_own_signal_and_the_readings_flow()
    {
        // N_404 is not readable with this key: the API answers 404 for it, as for a network that does not exist.
        var loop = Loop(o => o.AlertNetworkIds = ["N_404", "N_7"]);

        await loop.PollOnceAsync(CancellationToken.None);
        await loop.PollOnceAsync(CancellationToken.None);

        Assert.Equal(["Q-A", "Q-B"], Published<TemperatureSampled>().Select(s => s.SensorId).Order());
        var alerts = Published<AlarmStateSampled>().ToList();
        Assert.Equal(2, alerts.Count);
        Assert.All(alerts, a => Assert.Equal(("alerts:N_7", true), (a.SignalId, a.Active)));

        // One health event, for the failing signal alone, named after it; the readings' health is untouched.
        var health = Assert.Single(Published<SourceHealthChanged>());
        Assert.Equal(("meraki-7/alerts:N_404", false), (health.Source, health.Healthy));
        Assert.Contains("HTTP 404", Assert.Single(health.Problems), StringComparison.Ordinal);
        Assert.False(loop.Healthy);
    }

    [Fact]
    public async Task Failing_readings_do_not_hold_back_the_alert_overview_either()
    {
        _sim.World.AddFault(new Fault { Kind = "status", Status = 500, Remaining = -1, PathContains = "readings" });
        var loop = Loop(o => o.AlertNetworkIds = ["N_7"]);

        await loop.PollOnceAsync(CancellationToken.None);

        Assert.Empty(Published<TemperatureSampled>());
        Assert.True(Assert.Single(Published<AlarmStateSampled>()).Active);
        Assert.Equal("meraki-7", Assert.Single(Published<SourceHealthChanged>()).Source);
    }

    [Fact]
    public async Task Readings_are_published_page_by_page_not_after_the_last_page()
    {
        for (var i = 1; i <= 4; i++)
            _sim.World.SetSensor($"Q-C{i}", "N_7", 25, null, null);
        _sim.World.PageLatency = TimeSpan.FromMilliseconds(3000);
        var loop = Loop(o => o.PerPage = 3); // 6 sensors: pages of 3 and 3

        var started = Stopwatch.GetTimestamp();
        await loop.PollOnceAsync(CancellationToken.None);

        var samples = _published.Where(p => p.Message is TemperatureSampled).ToList();
        Assert.Equal(6, samples.Count);
        var firstPage = Stopwatch.GetElapsedTime(started, samples[0].At);
        var lastPage = Stopwatch.GetElapsedTime(started, samples[^1].At);
        // The first page's readings went out while the second page was still being answered (each page takes 3 s).
        Assert.True(firstPage < TimeSpan.FromMilliseconds(5500), $"first page published after {firstPage}");
        Assert.True(lastPage - firstPage >= TimeSpan.FromMilliseconds(2500), $"first at {firstPage}, last at {lastPage}");
    }

    [Fact]
    public async Task After_an_outage_the_source_is_read_again_within_one_interval_of_the_api_answering()
    {
        var interval = TimeSpan.FromSeconds(1);
        _sim.World.AddFault(new Fault { Kind = "status", Status = 503, Remaining = -1 });
        var loop = Loop(o => o.Interval = interval); // FailureBackoffMax unset: the interval itself
        using var stop = new CancellationTokenSource();
        var running = loop.RunAsync(stop.Token);
        try
        {
            // A long outage: many failed polls (each with its retry).
            await Until(() => _sim.World.Requests().Count(r => r.Status == 503) >= 12, TimeSpan.FromSeconds(90), "a dozen failed requests");
            Assert.False(Assert.Single(Published<SourceHealthChanged>()).Healthy);

            _sim.World.ClearFaults();
            var back = DateTimeOffset.UtcNow;
            await Until(() => Published<TemperatureSampled>().Any(), TimeSpan.FromSeconds(30), "a reading after the outage");

            var firstAnswer = _sim.World.Requests().First(r => r.Status == 200).At;
            // Capped at the interval the source is read within one interval (plus scheduling slack on a busy machine);
            // uncapped, a dozen doublings would have left it blind for thousands of intervals.
            Assert.True(firstAnswer - back <= interval * 3, $"read again {(firstAnswer - back).TotalMilliseconds} ms after the API answered; interval {interval.TotalMilliseconds} ms");
            await Until(() => Published<SourceHealthChanged>().Count() == 2, TimeSpan.FromSeconds(10), "the recovery reported");
            Assert.Equal([false, true], Published<SourceHealthChanged>().Select(h => h.Healthy));
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    static async Task Until(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > timeout)
                throw new TimeoutException($"waited {timeout} for {what}");
            await Task.Delay(25);
        }
    }
}
