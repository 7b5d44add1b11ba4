using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using PowerEvents.SensorPoller.Meraki;
using PowerEvents.SensorPoller.Polling;
using PowerEvents.Tools.MerakiSimulator;
using Xunit;

namespace PowerEvents.SensorPoller.Tests;

/// <summary>The Meraki client against the project's Meraki API simulator, over real HTTP on loopback.</summary>
public sealed class MerakiClientTests : IAsyncLifetime
{
    const string Key = "0123456789abcdef0123456789abcdef01234567";
    const string Org = "549236";
    RunningSimulator _sim = null!;

    public async Task InitializeAsync()
    {
        _sim = await RunningSimulator.StartAsync(Key);
        _sim.World.AddOrganization(Org, "Test Org");
        _sim.World.AddNetwork("N_1", Org, "Server room", 35);
        _sim.World.AddNetwork("N_2", Org, "Office", 35);
    }

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    MerakiSourceOptions Options(Action<MerakiSourceOptions>? configure = null)
    {
        var options = new MerakiSourceOptions
        {
            Name = "meraki-test",
            BaseUrl = _sim.ApiBase,
            ApiKey = Key,
            OrganizationId = Org,
            PerPage = 3,
            RetryBaseDelay = TimeSpan.FromMilliseconds(20),
            RequestTimeout = TimeSpan.FromSeconds(5),
            MaxRetries = 3,
            AllowInsecureHttp = true,
        };
        configure?.Invoke(options);
        return options;
    }

    MerakiClient Client(MerakiSourceOptions options) =>
        new(ResilientHttp.CreateClient(options, NullLogger.Instance), options);

    void Sensors(int count, string network = "N_1", double celsius = 24)
    {
        for (var i = 1; i <= count; i++)
            _sim.World.SetSensor($"Q3CA-{network[2..]}00-{i:D4}", network, celsius, null, null);
    }

    List<RequestRecord> ApiRequests() => _sim.World.Requests().Where(r => r.PathAndQuery.StartsWith("/api/v1/", StringComparison.Ordinal)).ToList();

    [Fact]
    public async Task Readings_are_followed_through_every_page_of_the_link_header()
    {
        Sensors(8);
        var items = await Client(Options()).GetLatestTemperatureReadingsAsync(CancellationToken.None);

        Assert.Equal(8, items.Count);
        Assert.Equal(8, items.Select(i => i.GetProperty("serial").GetString()).Distinct().Count());
        var requests = ApiRequests();
        Assert.Equal(3, requests.Count);
        Assert.All(requests, r => Assert.Equal("bearer", r.Auth));
        Assert.Contains("startingAfter=", requests[1].PathAndQuery, StringComparison.Ordinal);
        Assert.All(requests, r => Assert.Contains("metrics%5B%5D=temperature", r.PathAndQuery, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Network_and_serial_filters_reach_the_api_and_limit_the_readings()
    {
        Sensors(4, "N_1");
        Sensors(4, "N_2");

        var byNetwork = await Client(Options(o => o.NetworkIds = ["N_2"])).GetLatestTemperatureReadingsAsync(CancellationToken.None);
        Assert.Equal(4, byNetwork.Count);
        Assert.All(byNetwork, i => Assert.Equal("N_2", i.GetProperty("network").GetProperty("id").GetString()));

        var bySerial = await Client(Options(o => o.Serials = ["Q3CA-100-0002", "Q3CA-200-0003"])).GetLatestTemperatureReadingsAsync(CancellationToken.None);
        Assert.Equal(["Q3CA-100-0002", "Q3CA-200-0003"], bySerial.Select(i => i.GetProperty("serial").GetString()).Order());
    }

    [Fact]
    public async Task A_wrong_api_key_fails_at_once_with_merakis_error_and_is_not_retried()
    {
        Sensors(1);
        var ex = await Assert.ThrowsAsync<SourceException>(() =>
            Client(Options(o => o.ApiKey = "wrong")).GetLatestTemperatureReadingsAsync(CancellationToken.None));

        Assert.Contains("401", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Invalid API key", ex.Message, StringComparison.Ordinal);
        Assert.Single(ApiRequests());
    }

    [Fact]
    public async Task A_429_is_retried_after_the_delay_its_retry_after_header_asks_for()
    {
        Sensors(2);
        _sim.World.AddFault(new Fault { Kind = "status", Status = 429, RetryAfterSeconds = 1, Remaining = 1 });

        var items = await Client(Options()).GetLatestTemperatureReadingsAsync(CancellationToken.None);

        Assert.Equal(2, items.Count);
        var requests = ApiRequests();
        Assert.Equal([429, 200], requests.Select(r => r.Status));
        Assert.True(requests[1].At - requests[0].At >= TimeSpan.FromSeconds(0.95),
            $"retried after {(requests[1].At - requests[0].At).TotalMilliseconds} ms, Retry-After asked for 1 s");
    }

    [Fact]
    public async Task The_organization_rate_limit_is_honoured_across_pages()
    {
        _sim.World.RatePerSecond = 2;
        _sim.World.Burst = 1;
        _sim.World.AddOrganization("limited", "Limited");
        _sim.World.AddNetwork("N_9", "limited", "Limited", 35);
        Sensors(9, "N_9");

        var items = await Client(Options(o => o.OrganizationId = "limited")).GetLatestTemperatureReadingsAsync(CancellationToken.None);

        Assert.Equal(9, items.Count);
        var requests = ApiRequests();
        Assert.Equal(3, requests.Count(r => r.Status == 200));
        // Every 429 was followed by a pause of at least its Retry-After (1 s: the simulator rounds up).
        for (var i = 0; i + 1 < requests.Count; i++)
            if (requests[i].Status == 429)
                Assert.True(requests[i + 1].At - requests[i].At >= TimeSpan.FromSeconds(0.95));
    }

    [Fact]
    public async Task Server_errors_are_retried_with_backoff_until_the_api_answers()
    {
        Sensors(2);
        _sim.World.AddFault(new Fault { Kind = "status", Status = 503, Remaining = 2 });

        var items = await Client(Options()).GetLatestTemperatureReadingsAsync(CancellationToken.None);

        Assert.Equal(2, items.Count);
        Assert.Equal([503, 503, 200], ApiRequests().Select(r => r.Status));
    }

    [Fact]
    public async Task Server_errors_that_persist_are_reported_after_the_configured_retries()
    {
        Sensors(2);
        _sim.World.AddFault(new Fault { Kind = "status", Status = 500, Remaining = -1 });

        var ex = await Assert.ThrowsAsync<SourceException>(() => Client(Options(o => o.MaxRetries = 2)).GetLatestTemperatureReadingsAsync(CancellationToken.None));

        Assert.Contains("HTTP 500", ex.Message, StringComparison.Ordinal);
        Assert.Equal(3, ApiRequests().Count);
    }

    [Fact]
    public async Task A_retry_after_longer_than_allowed_ends_the_poll_with_the_wait_it_asked_for()
    {
        Sensors(2);
        _sim.World.AddFault(new Fault { Kind = "status", Status = 429, RetryAfterSeconds = 120, Remaining = 1 });

        var ex = await Assert.ThrowsAsync<SourceThrottledException>(() =>
            Client(Options(o => o.MaxRetryAfter = TimeSpan.FromSeconds(10))).GetLatestTemperatureReadingsAsync(CancellationToken.None));

        Assert.Equal(TimeSpan.FromSeconds(120), ex.RetryAfter);
        Assert.Single(ApiRequests());
    }

    [Fact]
    public async Task A_slow_answer_times_out_and_is_retried()
    {
        Sensors(2);
        // An answer held 30 s: the 400 ms timeout and a retry end the poll far sooner, even on a busy machine.
        _sim.World.AddFault(new Fault { Kind = "slow", DelayMilliseconds = 30_000, Remaining = 1 });
        var clock = Stopwatch.StartNew();

        var items = await Client(Options(o => o.RequestTimeout = TimeSpan.FromMilliseconds(400))).GetLatestTemperatureReadingsAsync(CancellationToken.None);

        Assert.Equal(2, items.Count);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        Assert.True(ApiRequests().Count >= 2, "the held request was not retried");
    }

    [Fact]
    public async Task Malformed_json_is_reported_not_parsed()
    {
        Sensors(2);
        _sim.World.AddFault(new Fault { Kind = "malformedJson", Remaining = 1 });

        var ex = await Assert.ThrowsAsync<SourceException>(() => Client(Options()).GetLatestTemperatureReadingsAsync(CancellationToken.None));
        Assert.Contains("malformed JSON", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_redirect_to_a_host_the_operator_allowed_keeps_the_key()
    {
        Sensors(2);
        _sim.World.AddFault(new Fault { Kind = "redirect", Remaining = 1 });

        var items = await Client(Options(o => o.AllowedHosts = [$"localhost:{_sim.Root.Port}"])).GetLatestTemperatureReadingsAsync(CancellationToken.None);

        Assert.Equal(2, items.Count);
        Assert.Equal([307, 200], ApiRequests().Select(r => r.Status));
        Assert.All(ApiRequests(), r => Assert.Equal("bearer", r.Auth));
    }

    [Fact]
    public async Task A_next_link_to_a_foreign_host_is_refused_and_the_key_not_sent_there()
    {
        Sensors(2);
        _sim.World.AddFault(new Fault { Kind = "foreignNextLink", Remaining = 1 });

        var ex = await Assert.ThrowsAsync<SourceException>(() => Client(Options()).GetLatestTemperatureReadingsAsync(CancellationToken.None));

        Assert.Contains("https://evil.example:443 refused", ex.Message, StringComparison.Ordinal);
        Assert.Single(ApiRequests());
    }

    [Fact]
    public async Task The_alert_overview_counts_sensors_above_the_networks_alert_threshold()
    {
        _sim.World.SetSensor("Q3CA-0000-0001", "N_1", 36, null, null);
        _sim.World.SetSensor("Q3CA-0000-0002", "N_1", 24, null, null);
        var client = Client(Options());

        var overview = await client.GetCurrentAlertOverviewAsync("N_1", CancellationToken.None);
        var signal = MerakiSource.ParseOverview("meraki-test", "N_1", overview, DateTimeOffset.UtcNow, out var problem);

        Assert.Null(problem);
        Assert.NotNull(signal);
        Assert.True(signal.Active);
        Assert.Equal("alerts:N_1", signal.SignalId);
        Assert.Equal("counts.temperature=1", signal.Detail);

        _sim.World.SetSensor("Q3CA-0000-0001", "N_1", 30, null, null);
        var cleared = MerakiSource.ParseOverview("meraki-test", "N_1", await client.GetCurrentAlertOverviewAsync("N_1", CancellationToken.None), DateTimeOffset.UtcNow, out _);
        Assert.False(cleared!.Active);
    }

    [Fact]
    public async Task An_unknown_organization_is_reported_with_merakis_not_found()
    {
        var ex = await Assert.ThrowsAsync<SourceException>(() => Client(Options(o => o.OrganizationId = "404404")).GetLatestTemperatureReadingsAsync(CancellationToken.None));
        Assert.Contains("HTTP 404", ex.Message, StringComparison.Ordinal);
    }
}
