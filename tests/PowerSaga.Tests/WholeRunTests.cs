using PowerEvents.Contracts;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>
/// Whole shutdown runs: AlarmEvaluator (with the saga) and VCenterActuator hosted in this process over the real RabbitMQ
/// and PostgreSQL, against a private vcsim with 3 hosts × 4 VMs, guest shutdowns of 1–3 s, VMs -003 without Tools and
/// vm-02-004 that never finishes a guest shutdown. Tiers: apps (-003, -004), databases (-002), infrastructure (-001).
/// </summary>
[Collection(PowerIntegrationCollection.Name)]
public sealed class WholeRunTests
{
    internal static readonly string[] Vcsim =
    [
        "-hosts", "3", "-vms", "4", "-guest-shutdown-min", "1s", "-guest-shutdown-max", "3s",
        "-no-tools", "-003$", "-stuck", "^vm-02-004$",
    ];

    [Fact]
    public async Task An_alarm_takes_every_vm_and_host_off_in_tier_order_forcing_only_the_vms_without_tools_or_stuck()
    {
        await using var world = await PowerWorld.StartAsync(Vcsim);
        await world.StartActuatorInProcessAsync();
        await world.StartEvaluatorInProcessAsync();

        await world.RaiseAlarmAsync();
        var saga = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(90));

        var state = await world.StateAsync();
        await AssertClusterDownInOrderAsync(state);
        var history = await world.HistoryAsync(saga.RunId!.Value);
        Assert.Contains(history, h => h.Step == "run" && h.Outcome == "Completed");
        Assert.Equal(12, history.Count(h => h.Step == "vm-shutdown" && h.Outcome is "Graceful" or "Forced"));
        Assert.Contains(history, h => h.Target == "vm-02-004" && h.Outcome == "Forced" && h.Detail.StartsWith("Timeout", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_second_alarm_during_the_run_does_not_start_another_and_the_run_still_completes()
    {
        await using var world = await PowerWorld.StartAsync(Vcsim);
        await world.StartActuatorInProcessAsync();
        await world.StartEvaluatorInProcessAsync();

        await world.RaiseAlarmAsync();
        var running = await world.WaitForAsync(r => r is { CurrentState: "ShuttingDown", Phase: "VmTiers" }, TimeSpan.FromSeconds(30), "shutting down VMs");
        await world.RaiseAlarmAsync();
        var done = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(90));

        Assert.Equal(running.RunId, done.RunId);
        var history = await world.HistoryAsync(done.RunId!.Value);
        Assert.Contains(history, h => h.Outcome == "AlreadyRunning");
        Assert.Single(history, h => h.Step == "inventory" && h.Outcome == "Captured");
        var state = await world.StateAsync();
        Assert.Equal(12, state.Journal.Count(e => e.Kind == "vm" && e.Event == "powerState" && e.To == "poweredOff"));
    }

    [Fact]
    public async Task When_the_alarm_clears_during_the_shutdown_the_shutdown_still_finishes_and_the_power_on_waits()
    {
        await using var world = await PowerWorld.StartAsync(Vcsim);
        await world.StartActuatorInProcessAsync();
        await world.StartEvaluatorInProcessAsync();

        await world.RaiseAlarmAsync();
        await world.WaitForAsync(r => r is { CurrentState: "ShuttingDown", Phase: "VmTiers" }, TimeSpan.FromSeconds(30), "shutting down VMs");
        await world.PublishAsync(new AlarmCleared(Guid.NewGuid(), PowerWorld.Zone, DateTimeOffset.UtcNow, 30.0, []));
        // The default minimum off time (5 minutes) keeps it waiting for the whole test.
        var saga = await world.WaitForStateAsync("WaitingToPowerOn", TimeSpan.FromSeconds(90));

        await AssertClusterDownInOrderAsync(await world.StateAsync());
        var history = await world.HistoryAsync(saga.RunId!.Value);
        var cleared = history.ToList().FindIndex(h => h.Step == "alarm" && h.Outcome == "Cleared");
        Assert.True(cleared >= 0, "the clear is recorded");
        Assert.True(history.ToList().FindLastIndex(h => h.Step == "host-shutdown" && h.Outcome == "Requested") > cleared, "hosts are shut down after the clear");
        Assert.Contains(history, h => h.Step == "power-on" && h.Outcome == "Scheduled");
        Assert.DoesNotContain(history, h => h.Step == "host-power-on");
    }

    /// <summary>
    /// Issue 11: an outcome is recorded on its own step row, never through the run's header. With the saga's row held
    /// locked by another transaction, the first tier's outcomes are still recorded (rows Done, history written, freed slots
    /// claiming the tier's next VMs); the run completes once the lock is let go.
    /// </summary>
    [Fact]
    public async Task Vm_outcomes_are_recorded_on_their_rows_while_the_runs_header_is_locked()
    {
        await using var world = await PowerWorld.StartAsync(Vcsim);
        world.Power["Clusters:0:MaxParallelPerTier"] = "2"; // six VMs in the first tier: freed slots must claim the rest
        await world.StartActuatorInProcessAsync();
        await world.StartEvaluatorInProcessAsync();

        await world.RaiseAlarmAsync();
        var running = await world.WaitForAsync(r => r is { CurrentState: "ShuttingDown", Phase: "VmTiers" }, TimeSpan.FromSeconds(30), "shutting down VMs");
        var runId = running.RunId!.Value;

        await using (var locker = new Npgsql.NpgsqlConnection(world.Postgres.ConnectionString))
        {
            await locker.OpenAsync();
            await using var transaction = await locker.BeginTransactionAsync();
            await using (var lockHeader = new Npgsql.NpgsqlCommand("SELECT 1 FROM power_saga WHERE run_id = $1 FOR UPDATE", locker, transaction))
            {
                lockHeader.Parameters.Add(new Npgsql.NpgsqlParameter { Value = runId });
                Assert.NotNull(await lockHeader.ExecuteScalarAsync());
            }
            // The first tier (six VMs, one stuck for the 5 s guest timeout) cannot be through by now, or the test proves nothing.
            Assert.True(await world.StepCountAsync(runId, "vm-shutdown", stage: 0, status: "Done") < 6, "the first tier was not yet done when the header was locked");

            await PowerWorld.Eventually(async () => await world.StepCountAsync(runId, "vm-shutdown", stage: 0, status: "Done") == 6,
                TimeSpan.FromSeconds(60), "every outcome of the first tier recorded while the header is locked");
            var history = await world.HistoryAsync(runId);
            var tier0 = history.Where(h => h.Step == "vm-shutdown" && PowerWorld.TierOf(h.Target) == 0).ToList();
            Assert.Equal(6, tier0.Count(h => h.Outcome is "Graceful" or "Forced"));
            Assert.Equal(6, tier0.Count(h => h.Outcome == "Requested")); // two by the saga, four by freed slots
            Assert.Equal(("ShuttingDown", "VmTiers"), ((await world.SagaAsync())!.CurrentState, (await world.SagaAsync())!.Phase)); // the header was not touched
            await transaction.RollbackAsync();
        }

        await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(90));
        await AssertClusterDownInOrderAsync(await world.StateAsync());
    }

    /// <summary>
    /// A failed VM outcome, recorded on its row by the outcome consumer: asked again (one retry), its slot handed on, and
    /// the real outcome of the second attempt recorded; the run completes.
    /// </summary>
    [Fact]
    public async Task A_failed_vm_step_is_asked_again_by_the_outcome_consumer_and_its_second_outcome_recorded()
    {
        await using var world = await PowerWorld.StartAsync(Vcsim);
        await world.StartActuatorInProcessAsync();
        await world.StartEvaluatorInProcessAsync();

        await world.RaiseAlarmAsync();
        var running = await world.WaitForAsync(r => r is { CurrentState: "ShuttingDown", Phase: "VmTiers" }, TimeSpan.FromSeconds(30), "shutting down VMs");
        var runId = running.RunId!.Value;
        // vm-02-004 never finishes its guest shutdown (forced after the 5 s guest timeout): while it is asked, the
        // actuator is made to seem to report a failure for it.
        await PowerWorld.Eventually(async () => await world.StepStatusAsync(runId, "vm-shutdown", "vm-02-004") == ("Requested", 1),
            TimeSpan.FromSeconds(30), "vm-02-004 asked once");
        var vmId = await world.StepTargetAsync(runId, "vm-shutdown", "vm-02-004");
        await world.PublishAsync(new VmShutDown(runId, PowerWorld.Cluster, vmId, "vm-02-004", VmShutdownOutcome.Failed,
            new VCenterFault("TaskFailed", "simulated failure"), DateTimeOffset.UtcNow));

        await PowerWorld.Eventually(async () => await world.StepStatusAsync(runId, "vm-shutdown", "vm-02-004") is (_, 2),
            TimeSpan.FromSeconds(30), "vm-02-004 asked a second time");
        var saga = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(90));

        var history = (await world.HistoryAsync(runId)).Where(h => h.Target == "vm-02-004" && h.Step == "vm-shutdown").Select(h => h.Outcome).ToList();
        Assert.Equal(["Requested", "Retry", "Requested", "Forced"], history);
        Assert.Equal(("Done", 2), await world.StepStatusAsync(runId, "vm-shutdown", "vm-02-004"));
        Assert.Contains((await world.HistoryAsync(saga.RunId!.Value)), h => h.Step == "run" && h.Outcome == "Completed");
        await AssertClusterDownInOrderAsync(await world.StateAsync());
    }

    /// <summary>Every VM and host off; tier k's VMs all off before tier k+1's first step; forced power-offs only for -003 and vm-02-004; hosts after VMs.</summary>
    internal static Task AssertClusterDownInOrderAsync(VcsimState state)
    {
        Assert.All(state.Vms, vm => Assert.Equal("poweredOff", vm.PowerState));
        Assert.All(state.Hosts, host => Assert.Equal("poweredOff", host.PowerState));

        var offs = state.Journal.Where(e => e.Kind == "vm" && e.Event == "powerState" && e.To == "poweredOff").ToList();
        Assert.Equal(state.Vms.Count, offs.Count);
        var forced = offs.Where(e => e.Cause != "guestShutdown").Select(e => e.Name).Order().ToList();
        var expectedForced = state.Vms.Select(v => v.Name).Where(n => n.EndsWith("-003", StringComparison.Ordinal) || n == "vm-02-004").Order().ToList();
        Assert.Equal(expectedForced, forced);
        Assert.DoesNotContain(offs, e => e.Cause is "shutdownHost(force)");

        var firstAction = state.Journal.Where(e => e.Kind == "vm" && (e.Event == "shutdownGuest" || e.Event == "powerState"))
            .GroupBy(e => e.Name).ToDictionary(g => g.Key, g => g.Min(e => e.Seq));
        for (var tier = 0; tier + 1 < PowerWorld.TierSuffixes.Length; tier++)
        {
            var lastOff = offs.Where(e => PowerWorld.TierOf(e.Name) == tier).Max(e => e.Seq);
            var nextStart = firstAction.Where(a => PowerWorld.TierOf(a.Key) == tier + 1).Min(a => a.Value);
            Assert.True(lastOff < nextStart, $"tier {tier} finished (seq {lastOff}) before tier {tier + 1} started (seq {nextStart})");
        }

        var lastVmOff = offs.Max(e => e.Seq);
        var maintenance = state.Journal.Where(e => e.Kind == "host" && e.Event == "maintenance").ToList();
        Assert.NotEmpty(maintenance);
        Assert.True(maintenance.Min(e => e.Seq) > lastVmOff, "hosts enter maintenance only after every VM is off");
        var hostOffs = state.Journal.Where(e => e.Kind == "host" && e.Event == "powerState" && e.To == "poweredOff").ToList();
        Assert.Equal(state.Hosts.Count, hostOffs.Count);
        Assert.True(hostOffs.Min(e => e.Seq) > maintenance.Where(e => e.To == "entered").Min(e => e.Seq));
        return Task.CompletedTask;
    }
}
