using System.Text.Json;
using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>The one walker over a run's plan (<see cref="PlanWalker"/>), in both directions: pure, no bus.</summary>
public sealed class PlanWalkerUnitTests
{
    static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    /// <summary>Host power-ons 20 s apart, within 5 min after the last.</summary>
    readonly ClusterOptions _cluster = Inventories.Cluster(o => (o.PowerOnStagger, o.HostPowerOnDeadline) = (TimeSpan.FromSeconds(20), TimeSpan.FromMinutes(5)));

    PowerRun Shutdown(IReadOnlyList<VmInventory> vms, params HostInventory[] hosts)
    {
        var runId = Guid.NewGuid();
        var run = ShutdownPlanner.Plan(_cluster, Inventories.Inventory(runId, vms, hosts), runId, "room-a", dryRun: false);
        run.Restore = RestorePlanner.Plan(_cluster, run, new RestoreRun());
        return run;
    }

    static VmShutDown Off(PowerRun run, string vm) => new(run.RunId, run.Cluster, $"id-{vm}", vm, VmShutdownOutcome.Graceful, null, T0);

    static HostEnteredMaintenance InMaintenance(PowerRun run, string host) => new(run.RunId, run.Cluster, host, StepOutcome.Done, null, T0);

    [Fact]
    public void A_stage_ends_only_when_none_of_its_steps_is_open_and_the_next_one_starts_with_its_own_deadline()
    {
        var run = Shutdown([Inventories.Vm("app-1"), Inventories.Vm("db-1")]);

        var first = PlanWalker.Begin(run, PlanDirection.Shutdown, _cluster, T0);
        Assert.Equal(["app-1"], first.VmShutdowns.Select(v => v.Name));
        Assert.Equal((RunPhase.VmTiers, 0, T0 + _cluster.TierDeadline), (run.Phase, run.CurrentTier, run.Deadline));

        // An outcome of the tier's only step ends it: the databases tier starts now, its deadline counted from now.
        ShutdownPolicy.RecordVm(run, Off(run, "app-1"), 1, T0.AddSeconds(7));
        var step = run.Step;
        var next = PlanWalker.Advance(run, _cluster, T0.AddSeconds(7));
        Assert.Equal(["db-1"], next.VmShutdowns.Select(v => v.Name));
        Assert.Equal((RunPhase.VmTiers, 1, T0.AddSeconds(7) + _cluster.TierDeadline), (run.Phase, run.CurrentTier, run.Deadline));
        Assert.True(run.Step > step, "a new stage has a new step number, so the last stage's deadline message is ignored");

        // Nothing new: the walk asks nothing and stays.
        Assert.True(PlanWalker.Advance(run, _cluster, T0.AddSeconds(8)).IsEmpty);
        Assert.Equal(1, run.CurrentTier);
    }

    [Fact]
    public void A_bounded_stage_asks_at_most_its_bound_and_each_freed_slot_asks_the_next_step_in_plan_order()
    {
        var run = Shutdown([Inventories.Vm("app-1"), Inventories.Vm("app-2"), Inventories.Vm("app-3"), Inventories.Vm("app-4"), Inventories.Vm("app-5")]);

        var first = PlanWalker.Begin(run, PlanDirection.Shutdown, _cluster, T0);
        Assert.Equal(["app-1", "app-2"], first.VmShutdowns.Select(v => v.Name));
        Assert.Empty(PlanWalker.Advance(run, _cluster, T0).VmShutdowns);

        ShutdownPolicy.RecordVm(run, Off(run, "app-2"), 1, T0);
        Assert.Equal(["app-3"], PlanWalker.Advance(run, _cluster, T0).VmShutdowns.Select(v => v.Name));
        Assert.Equal(2, run.AllVms.Count(v => v.Status == StepStatus.Requested));
        Assert.Contains(run.Journal, e => e is { Target: "app-3", Outcome: RunOutcome.Requested, Detail: "tier apps, attempt 1" });
    }

    [Fact]
    public void A_staggered_stage_asks_one_step_per_stagger_and_wakes_up_for_the_next_without_marking_anything_late()
    {
        var run = Shutdown([Inventories.Vm("app-1")], Inventories.Host("esx-01"), Inventories.Host("esx-02"), Inventories.Host("esx-03"));
        (run.Phase, run.CompletedAt) = (null, T0);

        var first = PowerOnPolicy.Begin(run, _cluster, T0);
        Assert.Equal(["esx-01"], first.PowerOns.Select(h => h.Name));
        Assert.Equal(T0.AddSeconds(20), run.Deadline);
        Assert.Equal(T0 + _cluster.PowerOnStagger * 2 + _cluster.HostPowerOnDeadline, run.Restore.PhaseDeadline);

        Assert.Empty(PlanWalker.Advance(run, _cluster, T0.AddSeconds(10)).PowerOns);
        var second = PlanWalker.DeadlinePassed(run, _cluster, T0.AddSeconds(20));
        Assert.Equal(["esx-02"], second.PowerOns.Select(h => h.Name));
        Assert.Equal(T0.AddSeconds(40), run.Deadline);
        Assert.DoesNotContain(run.Restore.Hosts, h => h.PowerOn == StepStatus.Late);
    }

    [Fact]
    public void At_the_stage_deadline_its_open_steps_are_late_with_their_kinds_reason_and_the_run_moves_on()
    {
        var run = Shutdown([Inventories.Vm("app-1")]);
        PlanWalker.Begin(run, PlanDirection.Shutdown, _cluster, T0);
        ShutdownPolicy.RecordVm(run, Off(run, "app-1"), 1, T0);
        Assert.Equal(["esx-01", "esx-02"], PlanWalker.Advance(run, _cluster, T0).Maintenance.Select(h => h.Name));
        ShutdownPolicy.RecordMaintenance(run, InMaintenance(run, "esx-01"), 1, T0.AddSeconds(5));
        PlanWalker.Advance(run, _cluster, T0.AddSeconds(5));

        var after = PlanWalker.DeadlinePassed(run, _cluster, T0.AddSeconds(70));

        var late = run.Hosts.Single(h => h.Name == "esx-02");
        Assert.Equal(StepStatus.Late, late.Maintenance);
        Assert.Contains(run.Journal, e => e is { Step: ShutdownPolicy.MaintenanceStep, Target: "esx-02", Outcome: RunOutcome.Late });
        // The next stage's entry rule: only a host in maintenance mode is shut down.
        Assert.Equal(RunPhase.HostShutdown, run.Phase);
        Assert.Equal(["esx-01"], after.HostShutdowns.Select(h => h.Name));
        Assert.Equal(StepStatus.Failed, late.Shutdown);
        Assert.Contains(run.Journal, e => e is { Step: ShutdownPolicy.HostShutdownStep, Target: "esx-02", Outcome: RunOutcome.NotAttempted });
        Assert.Contains(ShutdownPolicy.Failures(run), f => f.StartsWith("host esx-02: host-maintenance: no outcome by the deadline", StringComparison.Ordinal));
    }

    [Fact]
    public void A_vm_stage_deadline_powers_off_hard_both_the_silent_and_the_not_yet_asked_vms()
    {
        var run = Shutdown([Inventories.Vm("app-1"), Inventories.Vm("app-2"), Inventories.Vm("app-3")]);
        PlanWalker.Begin(run, PlanDirection.Shutdown, _cluster, T0);

        var after = PlanWalker.DeadlinePassed(run, _cluster, T0 + _cluster.TierDeadline);

        Assert.Equal(["app-1", "app-2", "app-3"], after.VmShutdowns.Select(v => v.Name));
        Assert.All(run.AllVms, v => Assert.Equal((StepStatus.Late, true), (v.Status, v.HardPowerOff)));
        Assert.Contains(run.Journal, e => e is { Target: "app-3", Outcome: RunOutcome.HardPowerOff, Detail: "tier apps deadline passed before its turn" });
        Assert.Equal(RunPhase.Maintenance, run.Phase);
    }

    [Fact]
    public void Steps_planned_not_to_be_asked_are_recorded_when_their_stage_starts_and_not_before()
    {
        var run = Shutdown([Inventories.Vm("app-1")], Inventories.Host("esx-01"), Inventories.Host("esx-02", on: false));

        PlanWalker.Begin(run, PlanDirection.Shutdown, _cluster, T0);
        Assert.DoesNotContain(run.Journal, e => e.Target == "esx-02");

        ShutdownPolicy.RecordVm(run, Off(run, "app-1"), 1, T0);
        var maintenance = PlanWalker.Advance(run, _cluster, T0);

        Assert.Equal(["esx-01"], maintenance.Maintenance.Select(h => h.Name));
        Assert.Equal(StepStatus.Skipped, run.Hosts.Single(h => h.Name == "esx-02").Maintenance);
        Assert.Contains(run.Journal, e => e is { Step: ShutdownPolicy.MaintenanceStep, Target: "esx-02", Outcome: RunOutcome.Skipped, Detail: "host was not powered on" });
    }

    [Fact]
    public void After_a_restart_only_the_running_stages_asked_steps_are_asked_again_and_the_walk_goes_on_from_the_stored_run()
    {
        var run = Shutdown([Inventories.Vm("app-1"), Inventories.Vm("app-2"), Inventories.Vm("app-3"), Inventories.Vm("db-1")]);
        PlanWalker.Begin(run, PlanDirection.Shutdown, _cluster, T0);

        // As stored: the walker keeps no state of its own, its place is the run's.
        var reloaded = JsonSerializer.Deserialize<PowerRun>(JsonSerializer.Serialize(run))!;
        var again = PlanWalker.Outstanding(reloaded, _cluster, T0.AddSeconds(3));

        Assert.Equal(["app-1", "app-2"], again.VmShutdowns.Select(v => v.Name));
        Assert.Contains(reloaded.Journal, e => e is { Step: "resume", Outcome: RunOutcome.Resumed, Detail: "evaluator restarted: asking again for 2 outstanding step(s)" });
        Assert.Equal(1, reloaded.AllVms.Single(v => v.Name == "app-1").Attempts);

        ShutdownPolicy.RecordVm(reloaded, Off(reloaded, "app-1"), 1, T0.AddSeconds(4));
        Assert.Equal(["app-3"], PlanWalker.Advance(reloaded, _cluster, T0.AddSeconds(4)).VmShutdowns.Select(v => v.Name));
    }

    [Fact]
    public void After_a_restart_in_a_polled_stage_a_poll_is_asked_again()
    {
        var run = Shutdown([Inventories.Vm("app-1")]);
        (run.Phase, run.CompletedAt) = (null, T0);
        var cluster = Inventories.Cluster(o => o.PowerOnStagger = TimeSpan.Zero);
        PowerOnPolicy.Begin(run, cluster, T0);
        foreach (var host in run.Restore.Hosts)
            PowerOnPolicy.RecordHostPowerOn(run, new HostPowerOnCompleted(run.RunId, run.Cluster, host.Name, PowerOnOutcome.PoweredOn, "", "redfish", T0), 1, T0);
        Assert.True(PlanWalker.Advance(run, cluster, T0).ReadInventory);
        Assert.Equal(RunPhase.HostReconnect, run.Phase);

        Assert.True(PlanWalker.Outstanding(run, cluster, T0.AddSeconds(1)).ReadInventory);
        Assert.Contains(run.Journal, e => e is { Step: "resume", Detail: "evaluator restarted: asking again for 1 outstanding power-on step(s)" });
    }
}
