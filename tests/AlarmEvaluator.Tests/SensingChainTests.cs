using System.Collections.Concurrent;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PowerEvents.Contracts;
using PowerEvents.SensorPoller;
using PowerEvents.Testing;
using PowerEvents.Tools.MerakiSimulator;
using Xunit;
using Fault = PowerEvents.Tools.MerakiSimulator.Fault;

namespace PowerEvents.AlarmEvaluator.Tests;

/// <summary>
/// The real chain: Meraki simulator → SensorPoller host → RabbitMQ → AlarmEvaluator host (state in
/// PostgreSQL) → events observed on the bus by a subscriber of the test's own. Short intervals come
/// from configuration; every wait polls a condition with a deadline.
/// </summary>
[Collection(RealServersCollection.Name)]
public sealed class SensingChainTests(RabbitMqFixture rabbit, PostgresFixture postgres) : IAsyncLifetime
{
    const string Key = "chain-key-0123456789";
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    readonly string _zone = $"zone-{Guid.NewGuid():N}"[..16];
    readonly string _serial = $"Q3CA-{Guid.NewGuid():N}"[..14].ToUpperInvariant();
    readonly string _organization = Random.Shared.Next(100_000, 999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
    readonly ConcurrentQueue<TemperatureSampled> _consumed = new();
    RunningSimulator _sim = null!;
    BusRecorder _recorder = null!;
    WebApplication? _evaluator;
    WebApplication? _poller;

    public async Task InitializeAsync()
    {
        _sim = await RunningSimulator.StartAsync(Key);
        _sim.World.AddOrganization(_organization, "Chain");
        _sim.World.AddNetwork($"N_{_organization}", _organization, "Server room", 35);
        _recorder = await BusRecorder.StartAsync(rabbit);
    }

    public async Task DisposeAsync()
    {
        if (_poller is not null) await Hosts.StopAsync(_poller);
        if (_evaluator is not null) await Hosts.StopAsync(_evaluator);
        await _recorder.DisposeAsync();
        await _sim.DisposeAsync();
    }

    void Sensor(params double[] pattern) =>
        _sim.World.SetSensor(_serial, $"N_{_organization}", pattern, null, TimeSpan.FromMilliseconds(150));

    async Task StartEvaluatorAsync(int consecutiveSamples = 3, int quorum = 1, string[]? sensors = null)
    {
        _evaluator = await Hosts.StartAsync(AlarmEvaluatorHost.Build([
            .. rabbit.HostArgs, .. postgres.HostArgs, "--Urls=http://127.0.0.1:0",
            $"--AlarmEvaluator:Zones:0:Name={_zone}",
            .. (sensors ?? [_serial]).Select((sensor, i) => $"--AlarmEvaluator:Zones:0:Sensors:{i}={sensor}"),
            $"--AlarmEvaluator:Zones:0:Quorum={quorum}",
            $"--AlarmEvaluator:Zones:0:ConsecutiveSamples={consecutiveSamples}",
            "--AlarmEvaluator:Zones:0:StaleAfter=00:00:05",
            "--AlarmEvaluator:Zones:0:MaxClockSkew=00:00:02",
            "--AlarmEvaluator:StaleCheckInterval=00:00:00.250",
            "--AlarmEvaluator:OutboxInterval=00:00:00.500",
        ]));
        _evaluator.Services.GetRequiredService<IBus>().ConnectConsumeMessageObserver(new Observer(_consumed));
    }

    async Task StartPollerAsync(params string[] extra) => _poller = await Hosts.StartAsync(SensorPollerHost.Build([
        .. extra,
        .. rabbit.HostArgs, "--Urls=http://127.0.0.1:0",
        "--SensorPoller:Meraki:0:Name=meraki-chain",
        $"--SensorPoller:Meraki:0:BaseUrl={_sim.ApiBase}",
        $"--SensorPoller:Meraki:0:ApiKey={Key}",
        $"--SensorPoller:Meraki:0:OrganizationId={_organization}",
        "--SensorPoller:Meraki:0:Interval=00:00:00.200",
        "--SensorPoller:Meraki:0:RetryBaseDelay=00:00:00.050",
        "--SensorPoller:Meraki:0:MaxRetries=1",
        "--SensorPoller:Meraki:0:MaxRetryAfter=00:00:00",
        "--SensorPoller:Meraki:0:FailureBackoffMax=00:00:01",
        "--SensorPoller:Meraki:0:MaxReadingAge=00:00:05",
        // The simulator speaks plain http: the explicit opt-in every http source needs.
        "--SensorPoller:Meraki:0:AllowInsecureHttp=true",
    ]));

    IReadOnlyList<TemperatureSampled> Consumed => _consumed.Where(s => s.SensorId.StartsWith(_serial, StringComparison.Ordinal)).ToList();
    IReadOnlyList<AlarmRaised> Raised => _recorder.Received<AlarmRaised>(r => r.Zone == _zone);

    Task ConsumedAtLeastAsync(int count, string why) =>
        Hosts.UntilAsync(() => Task.FromResult(Consumed.Count >= count), Wait, $"{count} samples consumed ({why}); have {Consumed.Count}");

    [Fact]
    public async Task A_sustained_excursion_raises_exactly_once_and_clears_once()
    {
        Sensor(24);
        await StartEvaluatorAsync();
        await StartPollerAsync();
        await ConsumedAtLeastAsync(2, "normal");

        Sensor(38);
        var raised = await _recorder.WaitForAsync<AlarmRaised>(r => r.Zone == _zone, Wait);
        Assert.Equal(38, raised.Readings.Single().Celsius);
        Assert.Equal(_serial, raised.Readings.Single().SensorId);

        var seen = Consumed.Count;
        await ConsumedAtLeastAsync(seen + 10, "excursion continues");
        Assert.Single(Raised);

        Sensor(25);
        var cleared = await _recorder.WaitForAsync<AlarmCleared>(c => c.Zone == _zone, Wait);
        Assert.Equal(raised.AlarmId, cleared.AlarmId);
        await ConsumedAtLeastAsync(Consumed.Count + 6, "back to normal");
        Assert.Single(_recorder.Received<AlarmCleared>(c => c.Zone == _zone));
        Assert.Single(Raised);
    }

    [Fact]
    public async Task Flapping_across_the_thresholds_raises_at_most_once()
    {
        Sensor(36, 29);
        await StartEvaluatorAsync();
        await StartPollerAsync();

        await ConsumedAtLeastAsync(16, "flapping");

        Assert.Contains(Consumed, s => s.Celsius >= 35);
        Assert.Contains(Consumed, s => s.Celsius < 30);
        Assert.True(Raised.Count <= 1, $"raised {Raised.Count} times");
    }

    public static TheoryData<string, int> Faults => new()
    {
        { "malformedJson", 0 },
        { "status", 500 },
        { "status", 429 },
        { "wrongUnit", 0 },
        { "staleTimestamp", 0 },
        { "missingFields", 0 },
        { "outOfRange", 0 },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task A_hot_sensor_behind_bad_answers_raises_nothing_until_the_answers_are_good(string kind, int status)
    {
        Sensor(40);
        _sim.World.AddFault(new Fault { Kind = kind, Status = status, RetryAfterSeconds = 1, Remaining = -1, PathContains = "/sensor/readings" });
        await StartEvaluatorAsync();
        await StartPollerAsync();

        var failed = await _recorder.WaitForAsync<SourceHealthChanged>(h => h.Source == "meraki-chain" && !h.Healthy, Wait);
        Assert.NotEmpty(failed.Problems);
        await Hosts.UntilAsync(() => Task.FromResult(_sim.World.Requests().Count(r => r.PathAndQuery.Contains(_organization, StringComparison.Ordinal)) >= 4),
            Wait, "four polls of the bad source");

        Assert.Empty(Consumed);
        Assert.Empty(Raised);

        // The same chain raises once the source answers properly: the silence above was the fault's doing.
        _sim.World.ClearFaults();
        await _recorder.WaitForAsync<SourceHealthChanged>(h => h.Source == "meraki-chain" && h.Healthy, Wait);
        await _recorder.WaitForAsync<AlarmRaised>(r => r.Zone == _zone, Wait);
    }

    [Fact]
    public async Task An_evaluator_restart_mid_excursion_neither_duplicates_nor_loses_the_alarm()
    {
        Sensor(39);
        await StartEvaluatorAsync(consecutiveSamples: 8);
        await StartPollerAsync();
        await ConsumedAtLeastAsync(2, "start of the excursion");
        // Samples come every 200 ms: on a busy machine the streak may complete before this check, never before 8.
        Assert.True(Raised.Count == 0 || Consumed.Count >= 8, $"raised after {Consumed.Count} of 8 samples");

        // Down mid-streak: the poller keeps publishing into the evaluator's durable queue.
        await Hosts.StopAsync(_evaluator!);
        _evaluator = null;
        var polls = _sim.World.Requests().Count;
        await Hosts.UntilAsync(() => Task.FromResult(_sim.World.Requests().Count >= polls + 4), Wait, "polls while the evaluator is down");

        await StartEvaluatorAsync(consecutiveSamples: 8);
        var raised = await _recorder.WaitForAsync<AlarmRaised>(r => r.Zone == _zone, Wait);

        // And down again after the raise: the alarm is remembered, not raised a second time.
        await Hosts.StopAsync(_evaluator!);
        _evaluator = null;
        await StartEvaluatorAsync(consecutiveSamples: 8);
        var seen = Consumed.Count;
        await ConsumedAtLeastAsync(seen + 10, "excursion continues after the second restart");

        Assert.Equal([raised.AlarmId], Raised.Select(r => r.AlarmId));
    }

    [Fact]
    public async Task A_zone_whose_sensor_goes_silent_is_reported_stale_and_raises_nothing()
    {
        Sensor(24);
        await StartEvaluatorAsync();
        await StartPollerAsync();
        await ConsumedAtLeastAsync(2, "normal");

        // The sensor stops reporting (hot, but its newest reading keeps its old timestamp).
        _sim.World.SetSensor(_serial, $"N_{_organization}", 45, DateTimeOffset.UtcNow, reportEvery: null);
        var stale = await _recorder.WaitForAsync<ZoneStalenessChanged>(s => s.Zone == _zone && s.Stale, Wait);

        Assert.Equal(0, stale.FreshSensors);
        Assert.Empty(Raised);
    }

    [Fact]
    public async Task One_wild_sensor_of_three_raises_nothing_until_a_second_one_agrees()
    {
        string[] sensors = [_serial + "-A", _serial + "-B", _serial + "-C"];
        _sim.World.SetSensor(sensors[0], $"N_{_organization}", [95], null, TimeSpan.FromMilliseconds(150));
        _sim.World.SetSensor(sensors[1], $"N_{_organization}", [25], null, TimeSpan.FromMilliseconds(150));
        _sim.World.SetSensor(sensors[2], $"N_{_organization}", [25], null, TimeSpan.FromMilliseconds(150));
        await StartEvaluatorAsync(quorum: 2, sensors: sensors);
        await StartPollerAsync();

        await ConsumedAtLeastAsync(24, "one wild sensor");
        Assert.Empty(Raised);

        _sim.World.SetSensor(sensors[1], $"N_{_organization}", [37], null, TimeSpan.FromMilliseconds(150));
        var raised = await _recorder.WaitForAsync<AlarmRaised>(r => r.Zone == _zone, Wait);
        Assert.Equal(3, raised.Readings.Count);
        Assert.Contains(raised.Readings, r => r.SensorId == sensors[1] && r.Celsius == 37);
    }

    [Fact]
    public async Task A_generic_alarm_api_raises_and_clears_through_its_configured_criteria()
    {
        var signal = $"bms-{_serial}";
        _sim.World.Generic = new GenericResponse(200, """{"alarm":{"state":"NORMAL"}}""", "application/json");
        await StartEvaluatorAsync(sensors: [signal]);
        await StartPollerAsync(
            "--SensorPoller:Http:0:Name=bms-chain",
            $"--SensorPoller:Http:0:Url={_sim.Root}generic/alarms",
            $"--SensorPoller:Http:0:FixedId={signal}",
            "--SensorPoller:Http:0:AlarmStatePath=alarm.state",
            "--SensorPoller:Http:0:ActiveValues:0=ACTIVE",
            "--SensorPoller:Http:0:ClearedValues:0=NORMAL",
            "--SensorPoller:Http:0:AllowInsecureHttp=true",
            "--SensorPoller:Http:0:Interval=00:00:00.200");
        await Hosts.UntilAsync(() => Task.FromResult(_sim.World.Requests().Count(r => r.PathAndQuery.StartsWith("/generic/", StringComparison.Ordinal)) >= 3),
            Wait, "the generic API polled while its alarm is NORMAL");

        _sim.World.Generic = new GenericResponse(200, """{"alarm":{"state":"ACTIVE"}}""", "application/json");
        var raised = await _recorder.WaitForAsync<AlarmRaised>(r => r.Zone == _zone, Wait);
        Assert.Equal(signal, raised.Signals!.Single().SignalId);

        _sim.World.Generic = new GenericResponse(200, """{"alarm":{"state":"NORMAL"}}""", "application/json");
        var cleared = await _recorder.WaitForAsync<AlarmCleared>(c => c.Zone == _zone, Wait);
        Assert.Equal(raised.AlarmId, cleared.AlarmId);
        Assert.Single(Raised);
    }

    [Fact]
    public async Task A_zone_whose_sensor_ids_match_nothing_is_reported_stale_after_the_grace()
    {
        Sensor(24);
        await StartEvaluatorAsync(sensors: [_serial + "-TYPO"]);
        await StartPollerAsync();

        var stale = await _recorder.WaitForAsync<ZoneStalenessChanged>(s => s.Zone == _zone && s.Stale, Wait);

        Assert.Equal((0, 1), (stale.FreshSensors, stale.RequiredSensors));
        Assert.NotEmpty(_sim.World.Requests());
        Assert.Empty(Raised);
    }

    sealed class Observer(ConcurrentQueue<TemperatureSampled> consumed) : IConsumeMessageObserver<TemperatureSampled>
    {
        public Task PreConsume(ConsumeContext<TemperatureSampled> context) => Task.CompletedTask;

        public Task PostConsume(ConsumeContext<TemperatureSampled> context)
        {
            consumed.Enqueue(context.Message);
            return Task.CompletedTask;
        }

        public Task ConsumeFault(ConsumeContext<TemperatureSampled> context, Exception exception) => Task.CompletedTask;
    }
}
