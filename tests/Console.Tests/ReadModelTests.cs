using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using PowerEvents.Console.Persistence;
using PowerEvents.Console.ReadModel;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.Console.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class ReadModelTests(ConsoleFixture console)
{
    [Fact]
    public async Task A_restarted_console_rebuilds_its_read_model_from_its_own_table()
    {
        var run = Guid.NewGuid();
        var now = DateTimeOffset.UtcNow;
        await console.PublishAsync(new ClusterInventoryCaptured(run, "cluster-replay", [new HostInventory("host-1", "esx-r1", "connected", "poweredOn", false)], [], now));
        await console.PublishAsync(new PowerRunStarted(run, "cluster-replay", "zone-replay", ["all"], 0, 1, false, now));
        await console.PublishAsync(new HostEnteredMaintenance(run, "cluster-replay", "esx-r1", StepOutcome.Done, null, now));
        await console.PublishAsync(new HostPoweredOff(run, "cluster-replay", "esx-r1", StepOutcome.Done, null, now));
        using (var client = await console.ClientAsync())
            await Eventually.TrueAsync(async () => (await client.GetJsonAsync<List<RunView>>("api/runs?limit=50"))!.Any(r => r.RunId == run && r.Steps.Count == 2), "run not shown");

        // A second read model over the same table, as after a restart.
        await using var dataSource = NpgsqlDataSource.Create(console.ConnectionString);
        var options = new ConsoleOptions();
        var model = new ConsoleReadModel(options, TimeProvider.System);
        using var events = new EventLog(dataSource, new ConsoleSchema(dataSource), model, options, TimeProvider.System, NullLogger<EventLog>.Instance);
        await events.StartAsync(CancellationToken.None);
        await events.Replayed.WaitAsync(TimeSpan.FromSeconds(30));
        await events.StopAsync(CancellationToken.None);

        var host = model.Snapshot().Clusters.Single(c => c.Name == "cluster-replay").Hosts.Single();
        Assert.Equal(("OFF", "OFF"), (host.Desired, host.Actual));
        Assert.Equal(2, model.Runs(50).Single(r => r.RunId == run).Steps.Count);
    }
}

[Collection(ConsoleCollection.Name)]
public sealed class EventPruningTests(ConsoleFixture console)
{
    [Fact]
    public async Task Observations_and_checks_are_pruned_to_the_latest_of_each_and_old_temperatures_by_age()
    {
        var now = DateTimeOffset.UtcNow;
        ClusterObserved Observed(int minutes) => new("cluster-prune", "vc-prune", [new HostInventory("host-1", "esx-p1", "connected", "poweredOn", false)], [], null, null, null, now.AddMinutes(minutes));
        await console.PublishAsync(Observed(-2));
        await console.PublishAsync(Observed(-1));
        await console.PublishAsync(new PreflightCheckCompleted("ilo-actuator", "bmc", "esx-p1", false, "down", now.AddMinutes(-2)));
        await console.PublishAsync(new PreflightCheckCompleted("ilo-actuator", "bmc", "esx-p1", true, "PowerState On", now.AddMinutes(-1)));
        using (var client = await console.ClientAsync())
            await Eventually.TrueAsync(async () => (await client.GetJsonAsync<List<PreflightCheckCompleted>>("api/preflight"))!.Any(p => p.Target == "esx-p1" && p.Ok),
                "the checks not stored");

        await using var dataSource = NpgsqlDataSource.Create(console.ConnectionString);
        await using (var old = dataSource.CreateCommand("INSERT INTO console_events (kind, body, received_at) VALUES ('TemperatureSampled', '{\"sensorId\": \"Q2-PRUNE\"}', now() - interval '2 days')"))
            await old.ExecuteNonQueryAsync();
        var options = new ConsoleOptions();
        using var events = new EventLog(dataSource, new ConsoleSchema(dataSource), new ConsoleReadModel(options, TimeProvider.System), options, TimeProvider.System, NullLogger<EventLog>.Instance);
        await events.PruneAsync(CancellationToken.None);

        async Task<List<string>> Bodies(string sql)
        {
            await using var command = dataSource.CreateCommand(sql);
            await using var reader = await command.ExecuteReaderAsync();
            var bodies = new List<string>();
            while (await reader.ReadAsync())
                bodies.Add(reader.GetString(0));
            return bodies;
        }
        Assert.Contains("\"ok\": true", Assert.Single(await Bodies("SELECT body::text FROM console_events WHERE kind = 'PreflightCheckCompleted' AND body->>'target' = 'esx-p1'")), StringComparison.Ordinal);
        var observed = Assert.Single(await Bodies("SELECT body->>'observedAt' FROM console_events WHERE kind = 'ClusterObserved' AND body->>'cluster' = 'cluster-prune'"));
        Assert.Equal(now.AddMinutes(-1), DateTimeOffset.Parse(observed, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Empty(await Bodies("SELECT body::text FROM console_events WHERE body->>'sensorId' = 'Q2-PRUNE'"));
    }
}

/// <summary>The read model alone, fed events in the order the saga and actuators publish them.</summary>
public sealed class ReadModelSequenceTests
{
    static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-12-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Hosts_first_named_by_a_run_go_Stopping_then_OFF_and_come_back_Starting_then_ON()
    {
        var clock = new FixedClock(T0);
        var model = new ConsoleReadModel(new ConsoleOptions(), clock);
        var run = Guid.NewGuid();
        string Status() => model.Snapshot().Clusters.Single().Hosts.Single().Actual;

        // The saga's inventory is a request/response, never on the bus: the first the console hears of a host is a step.
        model.Apply(new PowerRunStarted(run, "c1", "z1", ["all"], 0, 1, false, T0));
        model.Apply(new HostEnteredMaintenance(run, "c1", "esx-1", StepOutcome.Done, null, T0.AddSeconds(10)));
        clock.Now = T0.AddSeconds(11);
        Assert.Equal("Stopping", Status());
        model.Apply(new HostPoweredOff(run, "c1", "esx-1", StepOutcome.Done, null, T0.AddSeconds(20)));
        model.Apply(new PowerRunCompleted(run, "c1", [], false, T0, T0.AddSeconds(21)));
        Assert.Equal("OFF", Status());

        model.Apply(new PowerRestoreStarted(run, "c1", "z1", ["esx-1"], 0, ["all"], T0.AddMinutes(2)));
        clock.Now = T0.AddMinutes(3);
        Assert.Equal("Starting", Status());
        clock.Now = T0.AddMinutes(8);
        Assert.Equal("StartupDelayed", Status());
        model.Apply(new HostPowerOnCompleted(run, "c1", "esx-1", PowerOnOutcome.PoweredOn, "ok", "redfish", T0.AddMinutes(8)));
        Assert.Equal("ON", Status());
    }

    [Fact]
    public void VCenters_own_host_finished_through_its_ESXi_API_goes_OFF_too()
    {
        var clock = new FixedClock(T0);
        var model = new ConsoleReadModel(new ConsoleOptions(), clock);
        var run = Guid.NewGuid();
        model.Apply(new PowerRunStarted(run, "c1", "z1", ["all"], 0, 1, false, T0));
        model.Apply(new HostEnteredMaintenance(run, "c1", "esx-2", StepOutcome.Done, null, T0.AddSeconds(10)));
        clock.Now = T0.AddSeconds(11);
        Assert.Equal("Stopping", model.Snapshot().Clusters.Single().Hosts.Single().Actual);
        model.Apply(new EsxiHostPoweredOff(run, "c1", "esx-2", StepOutcome.Done, false, true, null, T0.AddSeconds(20)));
        model.Apply(new PowerRunCompleted(run, "c1", [], false, T0, T0.AddSeconds(21)));
        Assert.Equal("OFF", model.Snapshot().Clusters.Single().Hosts.Single().Actual);
    }

    [Fact]
    public void Hosts_taken_down_by_vSANs_cluster_power_API_go_OFF()
    {
        var clock = new FixedClock(T0);
        var model = new ConsoleReadModel(new ConsoleOptions(), clock);
        var run = Guid.NewGuid();
        model.Apply(new ClusterInventoryCaptured(run, "c1",
            [new HostInventory("h1", "esx-1", "connected", "poweredOn", false), new HostInventory("h2", "esx-2", "connected", "poweredOn", false)], [], T0));
        model.Apply(new PowerRunStarted(run, "c1", "z1", ["all"], 0, 2, false, T0));
        clock.Now = T0.AddSeconds(30);
        model.Apply(new VsanClusterPowerCompleted(run, "c1", "clusterPoweredOff", StepOutcome.Done, true, ["esx-1", "esx-2"], [], null, T0.AddSeconds(30)));
        model.Apply(new PowerRunCompleted(run, "c1", [], false, T0, T0.AddSeconds(31)));
        Assert.All(model.Snapshot().Clusters.Single().Hosts, h => Assert.Equal("OFF", h.Actual));
    }

    [Fact]
    public void A_drill_does_not_change_a_hosts_status()
    {
        var model = new ConsoleReadModel(new ConsoleOptions(), new FixedClock(T0));
        var drill = Guid.NewGuid();
        model.Apply(new ClusterInventoryCaptured(drill, "c1", [new HostInventory("h1", "esx-1", "connected", "poweredOn", false)], [], T0));
        model.Apply(new PowerRunStarted(drill, "c1", "z1", ["all"], 0, 1, true, T0));
        model.Apply(new HostEnteredMaintenance(drill, "c1", "esx-1", StepOutcome.Done, null, T0));
        model.Apply(new HostPoweredOff(drill, "c1", "esx-1", StepOutcome.Done, null, T0));
        var host = model.Snapshot().Clusters.Single().Hosts.Single();
        Assert.Equal(("ON", "ON"), (host.Desired, host.Actual));
        Assert.True(model.Runs(5).Single().DryRun);
    }

    sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }
}
