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
