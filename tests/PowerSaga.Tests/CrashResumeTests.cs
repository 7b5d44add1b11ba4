using System.Diagnostics;
using System.Text.Json;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>
/// Real processes killed with SIGKILL mid-run (no shutdown hooks run): the saga's state and deadlines live in
/// PostgreSQL and the steps in RabbitMQ's durable queues, so a restarted process takes the run on to the end.
/// </summary>
[Collection(PowerIntegrationCollection.Name)]
public sealed class CrashResumeTests
{
    static readonly TimeSpan Ready = TimeSpan.FromSeconds(60);

    static async Task Kill9Async(ServiceProcess service)
    {
        using (var process = Process.GetProcessById(service.ProcessId))
            process.Kill(); // SIGKILL on Linux
        await PowerWorld.Eventually(() => Task.FromResult(service.HasExited), TimeSpan.FromSeconds(10), "process gone");
    }

    static int CurrentTier(PowerWorld.SagaRow? row) =>
        row?.Run is { } json ? JsonDocument.Parse(json).RootElement.GetProperty("currentTier").GetInt32() : -1;

    [Fact]
    public async Task When_the_alarm_evaluator_is_killed_after_the_first_tier_its_restart_completes_the_run()
    {
        await using var world = await PowerWorld.StartAsync(WholeRunTests.Vcsim);
        await world.StartActuatorInProcessAsync();
        var evaluator = world.StartEvaluatorProcess();
        world.Own(evaluator);
        await evaluator.WaitUntilReadyAsync(Ready);

        await world.RaiseAlarmAsync();
        await PowerWorld.Eventually(async () => CurrentTier(await world.SagaAsync()) >= 1, TimeSpan.FromSeconds(60), "first tier done");
        await Kill9Async(evaluator);
        var atKill = await world.StateAsync();
        Assert.Contains(atKill.Vms, vm => vm.PowerState == "poweredOn");

        var restarted = world.StartEvaluatorProcess();
        world.Own(restarted);
        await restarted.WaitUntilReadyAsync(Ready);
        var saga = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(90));

        await WholeRunTests.AssertClusterDownInOrderAsync(await world.StateAsync());
        var history = await world.HistoryAsync(saga.RunId!.Value);
        Assert.Contains(history, h => h.Step == "run" && h.Outcome == "Completed");
    }

    [Fact]
    public async Task A_deadline_that_passes_while_the_alarm_evaluator_is_down_is_acted_on_after_its_restart()
    {
        // No actuator: the inventory never comes. Its deadline (in the saga row) passes while the evaluator is dead.
        await using var world = await PowerWorld.StartAsync(["-hosts", "1", "-vms", "1"]);
        world.Power["Clusters:0:InventoryDeadline"] = "00:00:03";
        world.Power["StepRetries"] = "0";
        var evaluator = world.StartEvaluatorProcess();
        world.Own(evaluator);
        await evaluator.WaitUntilReadyAsync(Ready);

        await world.RaiseAlarmAsync();
        await world.WaitForStateAsync("CapturingInventory", TimeSpan.FromSeconds(30));
        await Kill9Async(evaluator);
        await PowerWorld.Eventually(() => Task.FromResult(DateTimeOffset.UtcNow > DeadlineOf()), TimeSpan.FromSeconds(10), "deadline passed");
        Assert.Equal("CapturingInventory", (await world.SagaAsync())!.CurrentState);

        var restarted = world.StartEvaluatorProcess();
        world.Own(restarted);
        await restarted.WaitUntilReadyAsync(Ready);
        var saga = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(30));

        var run = Assert.Single(await world.HistoryAsync(saga.RunId!.Value), h => h.Step == "run");
        Assert.Equal("CompletedWithFailures", run.Outcome);
        Assert.Contains("inventory cluster1: no inventory by the deadline", run.Detail, StringComparison.Ordinal);

        DateTimeOffset DeadlineOf()
        {
            using var connection = new Npgsql.NpgsqlConnection(world.Postgres.ConnectionString);
            connection.Open();
            using var command = new Npgsql.NpgsqlCommand("SELECT deadline FROM power_saga", connection);
            return new DateTimeOffset((DateTime)command.ExecuteScalar()!, TimeSpan.Zero);
        }
    }

    [Fact]
    public async Task When_the_vcenter_actuator_is_killed_mid_step_the_step_is_redelivered_and_completes()
    {
        await using var world = await PowerWorld.StartAsync(WholeRunTests.Vcsim);
        var actuator = world.StartActuatorProcess();
        world.Own(actuator);
        await actuator.WaitUntilReadyAsync(Ready);
        await world.StartEvaluatorInProcessAsync();

        await world.RaiseAlarmAsync();
        // vm-02-004 accepts its guest shutdown and never finishes it: the actuator is inside that step for the guest timeout.
        await PowerWorld.Eventually(async () => (await world.StateAsync()).Journal.Any(e => e.Name == "vm-02-004" && e.Event == "shutdownGuest"),
            TimeSpan.FromSeconds(60), "vm-02-004 guest shutdown requested");
        await Kill9Async(actuator);
        Assert.Equal("poweredOn", (await world.StateAsync()).Vms.Single(v => v.Name == "vm-02-004").PowerState);

        var restarted = world.StartActuatorProcess();
        world.Own(restarted);
        await restarted.WaitUntilReadyAsync(Ready);
        var saga = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(90));

        var state = await world.StateAsync();
        await WholeRunTests.AssertClusterDownInOrderAsync(state);
        // The killed process never answered; the redelivered command made the new one follow the guest shutdown it had
        // asked for (vCenter's events show it), never ask again, then force it off at the guest timeout.
        Assert.Equal(1, state.Journal.Count(e => e.Name == "vm-02-004" && e.Event == "shutdownGuest"));
        Assert.Contains(restarted.Output, line => line.Contains("vm-02-004", StringComparison.Ordinal));
        var history = await world.HistoryAsync(saga.RunId!.Value);
        Assert.Contains(history, h => h.Target == "vm-02-004" && h.Outcome == "Forced");
        Assert.DoesNotContain(history, h => h.Outcome is "Late" or "Failed");
        Assert.Contains(history, h => h.Step == "run" && h.Outcome == "Completed");
    }

    [Fact]
    public async Task When_the_alarm_evaluator_is_killed_while_the_bmcs_power_the_hosts_on_its_restart_finishes_the_power_on()
    {
        await using var world = await PowerWorld.StartAsync(["-hosts", "2", "-vms", "2", "-guest-shutdown-min", "100ms", "-guest-shutdown-max", "300ms"]);
        world.UseFastPowerOn(TimeSpan.FromSeconds(1));
        await world.StartBmcsAsync(TimeSpan.FromSeconds(3));
        await world.StartActuatorInProcessAsync();
        await world.StartIloActuatorInProcessAsync();
        var evaluator = world.StartEvaluatorProcess();
        world.Own(evaluator);
        await evaluator.WaitUntilReadyAsync(Ready);

        await world.RaiseAlarmAsync();
        var down = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(60));
        await world.BmcsFollowHostsOffAsync();
        await world.ClearAlarmAsync();
        await world.WaitForAsync(r => r is { CurrentState: "PoweringOn", Phase: "HostPowerOn" }, TimeSpan.FromSeconds(30), "powering on the hosts");
        // The transition's commands are in the outbox with its row; killed once they are out, the BMCs are at work.
        await PowerWorld.Eventually(async () => await OutboxPendingAsync(world) == 0, TimeSpan.FromSeconds(30), "power-on commands delivered");
        await Kill9Async(evaluator);
        // The BMCs finish booting while the saga is dead: their outcomes wait in the saga's durable queue.
        await PowerWorld.Eventually(async () => (await world.StateAsync()).Hosts.All(h => h.PowerState == "poweredOn"), TimeSpan.FromSeconds(30), "hosts on");
        var killed = (await world.SagaAsync())!;
        Assert.Equal(("PoweringOn", "HostPowerOn"), (killed.CurrentState, killed.Phase));

        var restarted = world.StartEvaluatorProcess();
        world.Own(restarted);
        await restarted.WaitUntilReadyAsync(Ready);
        var saga = await world.WaitForStateAsync("Restored", TimeSpan.FromSeconds(60));

        Assert.Equal(down.RunId, saga.RunId);
        var state = await world.StateAsync();
        Assert.All(state.Hosts, h => Assert.Equal(("poweredOn", false), (h.PowerState, h.InMaintenance)));
        Assert.All(state.Vms, v => Assert.Equal("poweredOn", v.PowerState));
        var history = await world.HistoryAsync(saga.RunId!.Value);
        Assert.Equal(2, history.Count(h => h.Step == "host-power-on" && h.Outcome == "Requested"));
        Assert.Contains(history, h => h.Step == "restore" && h.Outcome == "Completed");
    }

    static async Task<long> OutboxPendingAsync(PowerWorld world)
    {
        await using var connection = new Npgsql.NpgsqlConnection(world.Postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM outbox WHERE published_at IS NULL", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
