using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

public sealed class ShutdownPolicyUnitTests
{
    static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    readonly ClusterOptions _cluster = Inventories.Cluster();

    PowerRun Plan(params VmInventory[] vms)
    {
        var runId = Guid.NewGuid();
        return ShutdownPlanner.Plan(_cluster, Inventories.Inventory(runId, vms), runId, "room-a", dryRun: false);
    }

    static VmShutDown Outcome(PowerRun run, string vm, VmShutdownOutcome outcome, VCenterFault? fault = null) =>
        new(run.RunId, run.Cluster, $"id-{vm}", vm, outcome, fault, T0);

    static HostEnteredMaintenance InMaintenance(PowerRun run, string host, StepOutcome outcome = StepOutcome.Done) =>
        new(run.RunId, run.Cluster, host, outcome, outcome == StepOutcome.Failed ? new VCenterFault("Timedout", "VMs still on") : null, T0);

    static HostPoweredOff Off(PowerRun run, string host) => new(run.RunId, run.Cluster, host, StepOutcome.Done, null, T0);

    [Fact]
    public void Within_a_tier_no_more_than_the_parallel_bound_is_asked_at_once()
    {
        var run = Plan(Inventories.Vm("app-1"), Inventories.Vm("app-2"), Inventories.Vm("app-3"), Inventories.Vm("db-1"));

        var first = ShutdownPolicy.Start(run, _cluster, T0);

        Assert.Equal(["app-1", "app-2"], first.VmShutdowns.Select(v => v.Name));
        ShutdownPolicy.RecordVm(run, Outcome(run, "app-1", VmShutdownOutcome.Graceful), 1, T0);
        var next = PlanWalker.Advance(run, _cluster, T0);
        Assert.Equal(["app-3"], next.VmShutdowns.Select(v => v.Name));
    }

    [Fact]
    public void The_next_tier_starts_only_when_every_vm_of_the_current_one_is_off()
    {
        var run = Plan(Inventories.Vm("app-1"), Inventories.Vm("app-2"), Inventories.Vm("db-1"));
        ShutdownPolicy.Start(run, _cluster, T0);
        var stepOfApps = run.Step;

        ShutdownPolicy.RecordVm(run, Outcome(run, "app-1", VmShutdownOutcome.Forced, new VCenterFault("ToolsUnavailable", "no tools")), 1, T0);
        Assert.Empty(PlanWalker.Advance(run, _cluster, T0).VmShutdowns);

        ShutdownPolicy.RecordVm(run, Outcome(run, "app-2", VmShutdownOutcome.AlreadyOff), 1, T0);
        var next = PlanWalker.Advance(run, _cluster, T0.AddSeconds(5));

        Assert.Equal(["db-1"], next.VmShutdowns.Select(v => v.Name));
        Assert.Equal(stepOfApps + 1, run.Step);
        Assert.Equal(T0.AddSeconds(5) + _cluster.TierDeadline, run.Deadline);
    }

    [Fact]
    public void After_the_last_tier_every_powered_on_host_enters_maintenance_then_is_powered_off()
    {
        var run = ShutdownPlanner.Plan(_cluster, Inventories.Inventory(Guid.NewGuid(), [Inventories.Vm("app-1")],
            Inventories.Host("esx-01"), Inventories.Host("esx-02"), Inventories.Host("esx-03", on: false)), Guid.NewGuid(), "room-a", false);
        ShutdownPolicy.Start(run, _cluster, T0);
        ShutdownPolicy.RecordVm(run, Outcome(run, "app-1", VmShutdownOutcome.Graceful), 1, T0);

        var maintenance = PlanWalker.Advance(run, _cluster, T0);
        Assert.Equal(["esx-01", "esx-02"], maintenance.Maintenance.Select(h => h.Name));
        Assert.Equal(RunPhase.Maintenance, run.Phase);

        ShutdownPolicy.RecordMaintenance(run, InMaintenance(run, "esx-01"), 1, T0);
        Assert.True(PlanWalker.Advance(run, _cluster, T0).IsEmpty);
        ShutdownPolicy.RecordMaintenance(run, InMaintenance(run, "esx-02", StepOutcome.AlreadyInState), 1, T0);
        var shutdowns = PlanWalker.Advance(run, _cluster, T0);
        Assert.Equal(["esx-01", "esx-02"], shutdowns.HostShutdowns.Select(h => h.Name));

        ShutdownPolicy.RecordHostShutdown(run, Off(run, "esx-01"), 1, T0);
        ShutdownPolicy.RecordHostShutdown(run, Off(run, "esx-02"), 1, T0);
        PlanWalker.Advance(run, _cluster, T0);

        Assert.NotNull(run.CompletedAt);
        Assert.Null(run.Phase);
        Assert.Null(run.Deadline);
        Assert.Empty(ShutdownPolicy.Failures(run));
    }

    [Fact]
    public void A_failed_vm_step_is_asked_again_then_given_up_and_listed_without_stopping_the_others()
    {
        var run = Plan(Inventories.Vm("app-1"), Inventories.Vm("app-2"), Inventories.Vm("db-1"));
        ShutdownPolicy.Start(run, _cluster, T0);
        var fault = new VCenterFault("InvalidState", "busy");

        ShutdownPolicy.RecordVm(run, Outcome(run, "app-1", VmShutdownOutcome.Failed, fault), 1, T0);
        Assert.Equal(["app-1"], PlanWalker.Advance(run, _cluster, T0).VmShutdowns.Select(v => v.Name));

        ShutdownPolicy.RecordVm(run, Outcome(run, "app-1", VmShutdownOutcome.Failed, fault), 1, T0);
        ShutdownPolicy.RecordVm(run, Outcome(run, "app-2", VmShutdownOutcome.Graceful), 1, T0);
        var next = PlanWalker.Advance(run, _cluster, T0);

        Assert.Equal(["db-1"], next.VmShutdowns.Select(v => v.Name));
        Assert.Equal(StepStatus.Failed, run.AllVms.Single(v => v.Name == "app-1").Status);
        Assert.Equal(["vm-shutdown app-1: Failed InvalidState: busy"], ShutdownPolicy.Failures(run));
    }

    [Fact]
    public void A_duplicate_outcome_is_not_news()
    {
        var run = Plan(Inventories.Vm("app-1"), Inventories.Vm("app-2"));
        ShutdownPolicy.Start(run, _cluster, T0);

        Assert.True(ShutdownPolicy.RecordVm(run, Outcome(run, "app-1", VmShutdownOutcome.Graceful), 1, T0));
        Assert.False(ShutdownPolicy.RecordVm(run, Outcome(run, "app-1", VmShutdownOutcome.Graceful), 1, T0));
        Assert.False(ShutdownPolicy.RecordVm(run, Outcome(run, "unknown", VmShutdownOutcome.Graceful), 1, T0));
    }

    [Fact]
    public void When_the_tier_deadline_passes_silent_and_unasked_vms_are_powered_off_hard_and_the_next_tier_starts()
    {
        var run = Plan(Inventories.Vm("app-1"), Inventories.Vm("app-2"), Inventories.Vm("app-3"), Inventories.Vm("db-1"));
        ShutdownPolicy.Start(run, _cluster, T0);

        var progress = PlanWalker.DeadlinePassed(run, _cluster, T0 + _cluster.TierDeadline);

        Assert.Equal(["app-1", "app-2", "app-3"], progress.VmShutdowns.Where(v => v.HardPowerOff).Select(v => v.Name).Order());
        Assert.Contains(progress.VmShutdowns, v => v.Name == "db-1" && !v.HardPowerOff);
        Assert.All(run.Tiers[0].Vms, v => Assert.Equal(StepStatus.Late, v.Status));

        // A late outcome still counts: the VM is off after all and no longer listed as a failure.
        ShutdownPolicy.RecordVm(run, Outcome(run, "app-1", VmShutdownOutcome.Forced, new VCenterFault("Timeout", "guest too slow")), 1, T0);
        Assert.Equal(StepStatus.Done, run.Tiers[0].Vms[0].Status);
        Assert.Equal(2, ShutdownPolicy.Failures(run).Count);
    }

    [Fact]
    public void After_a_restart_the_steps_still_waited_on_are_asked_again_and_nothing_else()
    {
        var run = Plan(Inventories.Vm("app-1"), Inventories.Vm("app-2"), Inventories.Vm("app-3"), Inventories.Vm("db-1"));
        ShutdownPolicy.Start(run, _cluster, T0);
        ShutdownPolicy.RecordVm(run, Outcome(run, "app-1", VmShutdownOutcome.Graceful), 1, T0);

        var again = PlanWalker.Outstanding(run, _cluster, T0);

        Assert.Equal(["app-2"], again.VmShutdowns.Select(v => v.Name));
        Assert.Empty(again.Maintenance);
        Assert.Contains(run.Journal, e => e.Outcome == RunOutcome.Resumed);
        Assert.Equal(StepStatus.Pending, run.Tiers[0].Vms.Single(v => v.Name == "app-3").Status);
    }

    [Fact]
    public void A_host_that_does_not_enter_maintenance_is_not_powered_off_and_is_listed_while_the_others_go_off()
    {
        var run = Plan(Inventories.Vm("app-1"));
        ShutdownPolicy.Start(run, _cluster, T0);
        ShutdownPolicy.RecordVm(run, Outcome(run, "app-1", VmShutdownOutcome.Graceful), 1, T0);
        PlanWalker.Advance(run, _cluster, T0);

        ShutdownPolicy.RecordMaintenance(run, InMaintenance(run, "esx-01", StepOutcome.Failed), 1, T0);
        Assert.Equal(["esx-01"], PlanWalker.Advance(run, _cluster, T0).Maintenance.Select(h => h.Name));
        ShutdownPolicy.RecordMaintenance(run, InMaintenance(run, "esx-01", StepOutcome.Failed), 1, T0);
        ShutdownPolicy.RecordMaintenance(run, InMaintenance(run, "esx-02"), 1, T0);
        var shutdowns = PlanWalker.Advance(run, _cluster, T0);

        Assert.Equal(["esx-02"], shutdowns.HostShutdowns.Select(h => h.Name));
        ShutdownPolicy.RecordHostShutdown(run, Off(run, "esx-02"), 1, T0);
        PlanWalker.Advance(run, _cluster, T0);
        Assert.NotNull(run.CompletedAt);
        Assert.Null(run.Phase);
        var failure = Assert.Single(ShutdownPolicy.Failures(run));
        Assert.StartsWith("host esx-01: host-maintenance: Timedout", failure);
    }

    [Fact]
    public void The_vcenter_vm_losing_the_api_after_accepting_its_shutdown_is_its_expected_end()
    {
        var run = Plan(Inventories.Vm("vcsa", vcenter: true));
        ShutdownPolicy.Start(run, _cluster, T0);

        ShutdownPolicy.RecordVm(run, Outcome(run, "vcsa", VmShutdownOutcome.Failed,
            new VCenterFault("Unreachable", "ShutdownGuest was accepted; vCenter stopped answering")), 1, T0);

        Assert.Equal(StepStatus.Done, run.AllVms.Single().Status);
        Assert.Contains(run.Journal, e => e.Step == "plan" && e.Outcome == RunOutcome.VCenterVmOnCluster);
    }

    [Fact]
    public void A_missing_inventory_is_asked_again_then_ends_the_run_with_that_failure()
    {
        var run = new PowerRun { RunId = Guid.NewGuid(), Cluster = "cluster1", InventoryAttempts = 1 };

        Assert.True(ShutdownPolicy.InventoryMissing(run, 1, "Unreachable: down", T0));
        run.InventoryAttempts++;
        Assert.False(ShutdownPolicy.InventoryMissing(run, 1, "Unreachable: down", T0));

        Assert.NotNull(run.CompletedAt);
        Assert.Null(run.Phase);
        Assert.Equal(["inventory cluster1: Unreachable: down"], ShutdownPolicy.Failures(run));
    }

    [Fact]
    public void A_dry_run_walks_the_whole_plan_and_asks_for_nothing()
    {
        var runId = Guid.NewGuid();
        var run = ShutdownPlanner.Plan(_cluster, Inventories.Mixed(runId), runId, "room-a", dryRun: true);

        var progress = ShutdownPolicy.Start(run, _cluster, T0);

        Assert.True(progress.IsEmpty);
        Assert.NotNull(run.CompletedAt);
        Assert.Null(run.Phase);
        Assert.Equal(run.AllVms.Count(), run.Journal.Count(e => e.Step == ShutdownPolicy.VmStep && e.Outcome == RunOutcome.DryRun));
    }

    /// <summary>The drill walks the plan a real run would: the same steps asked in the same order, on the same inventory.</summary>
    [Fact]
    public void A_drill_asks_the_same_steps_in_the_same_order_as_a_real_run()
    {
        var runId = Guid.NewGuid();
        var inventory = Inventories.Inventory(runId,
            [.. Inventories.Mixed(runId).Vms, Inventories.Vm("app-3"), Inventories.Vm("app-4", "esx-02"), Inventories.Vm("db-2", "esx-02")],
            Inventories.Host("esx-01"), Inventories.Host("esx-02"), Inventories.Host("esx-03", on: false));

        var real = ShutdownPlanner.Plan(_cluster, inventory, runId, "room-a", dryRun: false);
        var progress = ShutdownPolicy.Start(real, _cluster, T0);
        while (real.CompletedAt is null)
        {
            // The actuator answers each step in the order it was asked; each answer moves the run on, as in the saga.
            foreach (var vm in progress.VmShutdowns)
                ShutdownPolicy.RecordVm(real, new VmShutDown(real.RunId, real.Cluster, vm.Id, vm.Name, VmShutdownOutcome.Graceful, null, T0), 1, T0);
            foreach (var host in progress.Maintenance)
                ShutdownPolicy.RecordMaintenance(real, InMaintenance(real, host.Name), 1, T0);
            foreach (var host in progress.HostShutdowns)
                ShutdownPolicy.RecordHostShutdown(real, Off(real, host.Name), 1, T0);
            Assert.False(progress.IsEmpty, $"the real run stopped in {real.Phase}");
            progress = PlanWalker.Advance(real, _cluster, T0);
        }

        var drill = ShutdownPlanner.Plan(_cluster, inventory, runId, "room-a", dryRun: true);
        Assert.True(ShutdownPolicy.Start(drill, _cluster, T0).IsEmpty);

        static List<string> Asked(PowerRun run) =>
            run.Journal.Where(e => e.Outcome is RunOutcome.Requested or RunOutcome.Skipped).Select(e => $"{e.Step} {e.Target} {e.Outcome}").ToList();
        Assert.Equal(Asked(real), Asked(drill));
        Assert.Equal(10, Asked(drill).Count(a => a.StartsWith("vm-shutdown ", StringComparison.Ordinal)));
        Assert.Equal(["host-maintenance esx-03 Skipped", "host-maintenance esx-01 Requested", "host-maintenance esx-02 Requested",
                "host-shutdown esx-01 Requested", "host-shutdown esx-02 Requested"],
            Asked(drill).Where(a => a.StartsWith("host-", StringComparison.Ordinal)));
        Assert.NotNull(drill.CompletedAt);
        Assert.Empty(ShutdownPolicy.Failures(drill));
    }
}
