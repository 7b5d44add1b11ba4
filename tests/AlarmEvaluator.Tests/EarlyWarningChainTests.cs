using System.Collections.Concurrent;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PowerEvents.Contracts;
using PowerEvents.SensorPoller;
using PowerEvents.Testing;
using PowerEvents.Tools.MerakiSimulator;
using Xunit;

namespace PowerEvents.AlarmEvaluator.Tests;

/// <summary>
/// The early warning over the real chain: Meraki simulator temperature ramps → SensorPoller host → RabbitMQ →
/// AlarmEvaluator host (PostgreSQL) → events on the bus. Time is compressed by configuration: the sensor reports
/// every 150 ms, the slope is fitted over 3 s, and a shutdown is estimated at 15 s plus a 5 s margin.
/// </summary>
[Collection(RealServersCollection.Name)]
public sealed class EarlyWarningChainTests(RabbitMqFixture rabbit, PostgresFixture postgres) : IAsyncLifetime
{
    const string Key = "early-key-0123456789";
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    static readonly TimeSpan ReportEvery = TimeSpan.FromMilliseconds(150);

    readonly string _zone = $"zone-{Guid.NewGuid():N}"[..16];
    readonly string _serial = $"Q3CA-{Guid.NewGuid():N}"[..14].ToUpperInvariant();
    readonly string _organization = Random.Shared.Next(100_000, 999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
    readonly ConcurrentQueue<TemperatureSampled> _consumed = new();
    RunningSimulator _sim = null!;
    BusRecorder _recorder = null!;
    WebApplication? _evaluator;
    WebApplication? _poller;

    string Network => $"N_{_organization}";

    public async Task InitializeAsync()
    {
        _sim = await RunningSimulator.StartAsync(Key);
        _sim.World.AddOrganization(_organization, "Early");
        _sim.World.AddNetwork(Network, _organization, "Server room", 35);
        _recorder = await BusRecorder.StartAsync(rabbit);
    }

    public async Task DisposeAsync()
    {
        if (_poller is not null) await Hosts.StopAsync(_poller);
        if (_evaluator is not null) await Hosts.StopAsync(_evaluator);
        await _recorder.DisposeAsync();
        await _sim.DisposeAsync();
    }

    async Task StartChainAsync(string mode)
    {
        _evaluator = await Hosts.StartAsync(AlarmEvaluatorHost.Build([
            .. rabbit.HostArgs, .. postgres.HostArgs, "--Urls=http://127.0.0.1:0",
            $"--AlarmEvaluator:Zones:0:Name={_zone}",
            $"--AlarmEvaluator:Zones:0:Sensors:0={_serial}",
            "--AlarmEvaluator:Zones:0:HighCelsius=35",
            "--AlarmEvaluator:Zones:0:LowCelsius=30",
            "--AlarmEvaluator:Zones:0:StaleAfter=00:00:05",
            "--AlarmEvaluator:Zones:0:MaxClockSkew=00:00:02",
            $"--AlarmEvaluator:Zones:0:EarlyWarning:Mode={mode}",
            "--AlarmEvaluator:Zones:0:EarlyWarning:EstimatedShutdown=00:00:15",
            "--AlarmEvaluator:Zones:0:EarlyWarning:Margin=00:00:05",
            "--AlarmEvaluator:Zones:0:EarlyWarning:Window=00:00:03",
            "--AlarmEvaluator:Zones:0:EarlyWarning:MinSamples=5",
            "--AlarmEvaluator:StaleCheckInterval=00:00:00.250",
            "--AlarmEvaluator:OutboxInterval=00:00:00.500",
        ]));
        _evaluator.Services.GetRequiredService<IBus>().ConnectConsumeMessageObserver(new Observer(_consumed));
        _poller = await Hosts.StartAsync(SensorPollerHost.Build([
            .. rabbit.HostArgs, "--Urls=http://127.0.0.1:0",
            "--SensorPoller:Meraki:0:Name=meraki-early",
            $"--SensorPoller:Meraki:0:BaseUrl={_sim.ApiBase}",
            $"--SensorPoller:Meraki:0:ApiKey={Key}",
            $"--SensorPoller:Meraki:0:OrganizationId={_organization}",
            "--SensorPoller:Meraki:0:Interval=00:00:00.200",
            "--SensorPoller:Meraki:0:MaxReadingAge=00:00:05",
            "--SensorPoller:Meraki:0:AllowInsecureHttp=true",
            "--Preflight:Enabled=false",
        ]));
    }

    int Consumed => _consumed.Count(s => s.SensorId == _serial);

    IReadOnlyList<AlarmRaised> Raised => _recorder.Received<AlarmRaised>(r => r.Zone == _zone);

    IReadOnlyList<ZoneEarlyWarningChanged> Warnings => _recorder.Received<ZoneEarlyWarningChanged>(w => w.Zone == _zone);

    /// <summary>
    /// +1 °C/s from 24 °C, from when the chain already reads the sensor: a ramp started before the services would be
    /// near 35 °C by their first sample on a busy machine.
    /// </summary>
    async Task StartSteadyThenRampAsync(string mode)
    {
        _sim.World.SetRamp(_serial, Network, 24, 0, ReportEvery);
        await StartChainAsync(mode);
        await Hosts.UntilAsync(() => Task.FromResult(Consumed >= 2), Wait, $"the steady room's first samples; have {Consumed}");
        _sim.World.SetRamp(_serial, Network, 24, 1.0, ReportEvery);
    }

    [Fact]
    public async Task Act_raises_the_alarm_early_on_a_fast_ramp()
    {
        // +1 °C/s from 24 °C: 35 °C in 11 s, less than the 20 s a shutdown needs.
        await StartSteadyThenRampAsync("act");

        var raised = await _recorder.WaitForAsync<AlarmRaised>(r => r.Zone == _zone, Wait);

        Assert.StartsWith("predicted:", raised.Reason);
        Assert.True(raised.Readings.Single().Celsius < 35, $"raised at {raised.Readings.Single().Celsius} °C: not early");
        Assert.Empty(Warnings);
    }

    [Fact]
    public async Task Warn_alerts_once_per_episode_on_a_fast_ramp()
    {
        await StartSteadyThenRampAsync("warn");

        var warning = await _recorder.WaitForAsync<ZoneEarlyWarningChanged>(w => w.Zone == _zone && w.Active, Wait);
        Assert.True(warning.PredictedTimeToHigh < TimeSpan.FromSeconds(20), $"predicted {warning.PredictedTimeToHigh}");
        Assert.InRange(warning.RisePerMinute!.Value, 30, 90);

        // The ramp goes on to the threshold: the ordinary alarm follows, and the warning is not repeated.
        var raised = await _recorder.WaitForAsync<AlarmRaised>(r => r.Zone == _zone, Wait);
        Assert.Null(raised.Reason);
        var seen = Consumed;
        await Hosts.UntilAsync(() => Task.FromResult(Consumed >= seen + 10), Wait, "ten more samples after the alarm");
        Assert.Single(Warnings, w => w.Active);
    }

    [Theory]
    [InlineData("act")]
    [InlineData("warn")]
    public async Task A_slow_ramp_warns_of_nothing(string mode)
    {
        // +0.05 °C/s: 35 °C is more than three minutes away.
        _sim.World.SetRamp(_serial, Network, 24, 0.05, ReportEvery);
        await StartChainAsync(mode);

        await Hosts.UntilAsync(() => Task.FromResult(Consumed >= 40), Wait, $"40 samples of the slow ramp; have {Consumed}");
        Assert.Empty(Warnings);
        Assert.Empty(Raised);
    }

    [Theory]
    [InlineData("act")]
    [InlineData("warn")]
    public async Task A_noisy_flat_room_warns_of_nothing(string mode)
    {
        _sim.World.SetRamp(_serial, Network, 27, 0, ReportEvery, [0, 0.8, -0.6, 0.3, -0.9, 0.5, -0.2]);
        await StartChainAsync(mode);

        await Hosts.UntilAsync(() => Task.FromResult(Consumed >= 40), Wait, $"40 samples of the noisy room; have {Consumed}");
        Assert.Contains(_consumed, s => s.Celsius > 27.5);
        Assert.Contains(_consumed, s => s.Celsius < 26.5);
        Assert.Empty(Warnings);
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
