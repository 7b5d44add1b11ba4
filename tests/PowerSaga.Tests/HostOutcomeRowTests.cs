using Npgsql;
using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>
/// Host outcomes are recorded on their step rows by <see cref="StepOutcomeConsumer"/>, like VM outcomes: without the saga's
/// header row. The test plays the actuator itself (its answers published by hand) over real RabbitMQ and PostgreSQL, and
/// holds the header row locked by a transaction of its own while the hosts' outcomes arrive: recorded by the saga, they would
/// wait for that lock.
/// </summary>
[Collection(PowerIntegrationCollection.Name)]
public sealed class HostOutcomeRowTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Host_outcomes_are_recorded_on_their_rows_while_the_header_row_is_locked_and_the_run_moves_on_once_it_is_free()
    {
        await using var world = await PowerWorld.StartAsync(["-hosts", "1", "-vms", "1"]);
        await world.StartEvaluatorInProcessAsync();
        await world.RaiseAlarmAsync();
        var runId = (await world.WaitForAsync(r => r.CurrentState == "CapturingInventory" && r.RunId is not null, Timeout, "inventory asked")).RunId!.Value;

        string[] hosts = ["esx-01", "esx-02", "esx-03", "esx-04"];
        await world.PublishAsync(Inventories.Inventory(runId, [Inventories.Vm("app-1")], [.. hosts.Select(h => Inventories.Host(h)), Inventories.Host("esx-05", on: false)]));
        await PowerWorld.Eventually(async () => await world.StepStatusAsync(runId, PowerSteps.VmShutdown, "app-1") is ("Requested", _), Timeout, "the VM asked");
        await world.PublishAsync(new VmShutDown(runId, PowerWorld.Cluster, "id-app-1", "app-1", VmShutdownOutcome.Graceful, null, DateTimeOffset.UtcNow));

        await RecordWhileHeaderLockedAsync(world, runId, PowerSteps.HostMaintenance, hosts,
            host => new HostEnteredMaintenance(runId, PowerWorld.Cluster, host.ToUpperInvariant(), StepOutcome.Done, null, DateTimeOffset.UtcNow));
        // Freed, the saga hears that the stage completed and asks the hosts' shutdowns (only after maintenance: all entered it).
        await RecordWhileHeaderLockedAsync(world, runId, PowerSteps.HostShutdown, hosts,
            host => new HostPoweredOff(runId, PowerWorld.Cluster, host, StepOutcome.Done, null, DateTimeOffset.UtcNow));

        var done = await world.WaitForStateAsync("ShutDown", Timeout);
        Assert.Equal(runId, done.RunId);
        var history = await world.HistoryAsync(runId);
        // The stages completed when their last outcome was recorded, not at their deadline (the host that was off, whose
        // shutdown row is never asked, does not hold its stage open).
        Assert.DoesNotContain(history, h => h.Outcome == nameof(RunOutcome.Late));
        foreach (var host in hosts)
        {
            // One line per outcome (the saga wrote none of its own), in the saga's words.
            Assert.Single(history, h => h.Step == PowerSteps.HostMaintenance && h.Target == host && h.Outcome == nameof(RunOutcome.Done));
            Assert.Single(history, h => h.Step == PowerSteps.HostShutdown && h.Target == host && h.Outcome == nameof(RunOutcome.Done));
        }
    }

    /// <summary>Waits for the stage's steps to be asked, locks the header row, publishes every host's outcome and waits for all of them on their rows.</summary>
    static async Task RecordWhileHeaderLockedAsync<T>(PowerWorld world, Guid runId, string kind, string[] hosts, Func<string, T> outcome)
        where T : class
    {
        foreach (var host in hosts)
            await PowerWorld.Eventually(async () => await world.StepStatusAsync(runId, kind, host) is ("Requested", _), Timeout, $"{kind} of {host} asked");
        // The saga may still be finishing the transition that asked them (its outbox is written with its row): wait until it is free.
        await using var connection = new NpgsqlConnection(world.Postgres.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var lockHeader = new NpgsqlCommand("SELECT 1 FROM power_saga FOR UPDATE", connection, transaction))
            await lockHeader.ExecuteScalarAsync();

        foreach (var host in hosts)
            await world.PublishAsync(outcome(host));
        foreach (var host in hosts)
            await PowerWorld.Eventually(async () => await world.StepStatusAsync(runId, kind, host) is ("Done", _), Timeout, $"{kind} of {host} recorded with the header locked");
        var row = await world.SagaAsync();
        Assert.Contains(kind == PowerSteps.HostMaintenance ? "Maintenance" : "HostShutdown", row!.Phase, StringComparison.Ordinal);
        await transaction.RollbackAsync();
    }
}
