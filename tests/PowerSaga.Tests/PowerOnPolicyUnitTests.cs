using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>The power-on's plan and decisions (<see cref="RestorePlanner"/>, <see cref="PowerOnPolicy"/>): pure functions, no bus.</summary>
public sealed class PowerOnPolicyUnitTests
{
    static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    readonly ClusterOptions _cluster = Inventories.Cluster(o =>
    {
        o.MinimumOffTime = TimeSpan.FromMinutes(5);
        o.ReconnectPollInterval = TimeSpan.FromSeconds(10);
    });

    /// <summary>A finished shutdown of <see cref="Inventories.Mixed"/> (esx-03 was off, esx-02 in maintenance mode before), as the saga leaves it.</summary>
    PowerRun ShutDownRun(ClusterInventoryCaptured? inventory = null)
    {
        var runId = Guid.NewGuid();
        inventory ??= Inventories.Mixed(runId) with
        {
            Hosts = [Inventories.Host("esx-01"), Inventories.Host("esx-02") with { InMaintenanceMode = true }, Inventories.Host("esx-03", on: false)],
        };
        var run = ShutdownPlanner.Plan(_cluster, inventory with { RunId = runId }, runId, "room-a", dryRun: false);
        run.Restore = RestorePlanner.Plan(_cluster, run, new RestoreRun());
        run.Phase = null;
        run.CompletedAt = T0;
        return run;
    }

    static HostPowerOnCompleted BmcAnswer(PowerRun run, string host, PowerOnOutcome outcome = PowerOnOutcome.PoweredOn) =>
        new(run.RunId, run.Cluster, host, outcome, outcome == PowerOnOutcome.Failed ? "BMC rejected the credentials" : "", "redfish", T0);

    static ClusterInventoryCaptured Connected(PowerRun run, params string[] hosts) =>
        Inventories.Inventory(run.RunId, [], [.. hosts.Select(h => Inventories.Host(h))]);

    static VmPoweredOn VmOn(PowerRun run, string vm, StepOutcome outcome = StepOutcome.Done) =>
        new(run.RunId, run.Cluster, $"id-{vm}", vm, outcome, outcome == StepOutcome.Failed ? new VCenterFault("InvalidHostState", "in maintenance") : null, T0);

    [Fact]
    public void The_restore_plan_holds_only_what_was_running_in_reverse_tier_order_with_vcenter_first()
    {
        var run = ShutDownRun();

        Assert.Equal(["vcenter", "infrastructure", "databases", "apps", "default"], run.Restore.Tiers.Select(t => t.Name));
        Assert.Equal(["vcsa", "dns-1", "db-1", "reporting", "app-1", "app-2", "misc"], run.Restore.AllVms.Select(v => v.Name));
        Assert.DoesNotContain(run.Restore.AllVms, v => v.Name == "old");
        Assert.Equal(["esx-01", "esx-02"], run.Restore.Hosts.Select(h => h.Name));
        Assert.True(run.Restore.Hosts.Single(h => h.Name == "esx-02").WasInMaintenance);
    }

    [Fact]
    public void An_interrupted_power_on_is_carried_into_the_next_run_and_joined_with_what_that_run_found_on()
    {
        var first = ShutDownRun();
        Assert.True(PowerOnPolicy.Interrupt(first, Guid.NewGuid(), T0, T0));
        var carried = RestorePlanner.CarryOver(first);

        // The second shutdown found only what the interrupted power-on had brought back.
        var secondId = Guid.NewGuid();
        var second = ShutdownPlanner.Plan(_cluster, Inventories.Inventory(secondId, [Inventories.Vm("vcsa", vcenter: true), Inventories.Vm("new-vm")]), secondId, "room-a", false);
        second.Restore = RestorePlanner.Plan(_cluster, second, carried);

        Assert.Equal(["vcsa", "dns-1", "db-1", "reporting", "app-1", "app-2", "misc", "new-vm"], second.Restore.AllVms.Select(v => v.Name));
        Assert.True(second.Restore.Hosts.Single(h => h.Name == "esx-02").WasInMaintenance);
        Assert.All(second.Restore.AllVms, v => Assert.Equal(StepStatus.Pending, v.Status));
    }

    [Fact]
    public void Already_on_is_powered_on_by_this_run_only_for_a_host_this_run_powered_off()
    {
        var run = ShutDownRun();
        run.Hosts.Single(h => h.Name == "esx-01").Shutdown = StepStatus.Done;
        run.Hosts.Single(h => h.Name == "esx-02").Shutdown = StepStatus.Failed;
        PowerOnPolicy.Schedule(run, _cluster, T0, T0, T0);
        PowerOnPolicy.Begin(run, _cluster, T0.AddMinutes(5));

        var first = BmcAnswer(run, "esx-01", PowerOnOutcome.AlreadyOn);
        var second = BmcAnswer(run, "esx-02", PowerOnOutcome.AlreadyOn);
        Assert.True(PowerOnPolicy.RecordHostPowerOn(run, first, 1, T0));
        Assert.True(PowerOnPolicy.RecordHostPowerOn(run, second, 1, T0));

        Assert.True(PowerOnPolicy.PoweredOnByThisRun(run, first));
        Assert.False(PowerOnPolicy.PoweredOnByThisRun(run, second)); // never powered off: it was simply still on
        Assert.False(PowerOnPolicy.PoweredOnByThisRun(run, BmcAnswer(run, "esx-01"))); // PoweredOn is published by the actuator itself
    }

    [Fact]
    public void A_completed_power_on_is_not_carried_again()
    {
        var run = ShutDownRun();
        run.Restore.CompletedAt = T0;

        Assert.True(RestorePlanner.CarryOver(run).IsEmpty);
    }

    [Fact]
    public void The_minimum_off_time_counts_from_the_shutdowns_completion_and_never_ends_before_the_clear()
    {
        Assert.Equal(T0.AddMinutes(5), PowerOnPolicy.EarliestPowerOn(T0, T0.AddMinutes(1), _cluster));
        Assert.Equal(T0.AddMinutes(9), PowerOnPolicy.EarliestPowerOn(T0, T0.AddMinutes(9), _cluster));
    }

    [Fact]
    public void A_clear_schedules_the_power_on_as_a_persisted_deadline()
    {
        var run = ShutDownRun();
        var step = run.Step;

        Assert.True(PowerOnPolicy.Schedule(run, _cluster, T0, T0.AddMinutes(1), T0.AddMinutes(1)));

        Assert.Equal(T0.AddMinutes(5), run.Restore.DueAt);
        Assert.Equal(T0.AddMinutes(5), run.Deadline);
        Assert.True(run.Step > step);
        Assert.Contains(run.Journal, e => e.Step == "power-on" && e.Outcome == RunOutcome.Scheduled);
    }

    [Fact]
    public void No_power_on_is_scheduled_when_it_is_turned_off_or_nothing_was_running()
    {
        var disabled = ShutDownRun();
        Assert.False(PowerOnPolicy.Schedule(disabled, Inventories.Cluster(o => o.PowerOnAfterClear = false), T0, T0, T0));
        Assert.Null(disabled.Restore.DueAt);

        var runId = Guid.NewGuid();
        var empty = ShutdownPlanner.Plan(_cluster, Inventories.Inventory(runId, [], Inventories.Host("esx-01", on: false)), runId, "room-a", false);
        empty.Phase = null;
        empty.CompletedAt = T0;
        Assert.False(PowerOnPolicy.Schedule(empty, _cluster, T0, T0, T0));
        Assert.Contains(empty.Journal, e => e.Outcome == RunOutcome.Skipped && e.Detail.Contains("nothing was running", StringComparison.Ordinal));
    }

    [Fact]
    public void With_a_stagger_the_hosts_are_powered_on_one_at_a_time()
    {
        var cluster = Inventories.Cluster(o => o.PowerOnStagger = TimeSpan.FromSeconds(30));
        var run = ShutDownRun();

        var first = PowerOnPolicy.Begin(run, cluster, T0);
        Assert.Equal(["esx-01"], first.PowerOns.Select(h => h.Name));
        Assert.Equal(T0.AddSeconds(30), run.Deadline);

        Assert.Empty(PlanWalker.DeadlinePassed(run, cluster, T0.AddSeconds(10)).PowerOns);
        var second = PlanWalker.DeadlinePassed(run, cluster, T0.AddSeconds(30));
        Assert.Equal(["esx-02"], second.PowerOns.Select(h => h.Name));
    }

    [Fact]
    public void A_whole_power_on_goes_hosts_then_reconnect_then_maintenance_exit_then_vms_tier_by_tier()
    {
        var run = ShutDownRun();

        var hosts = PowerOnPolicy.Begin(run, _cluster, T0);
        Assert.Equal(["esx-01", "esx-02"], hosts.PowerOns.Select(h => h.Name));
        PowerOnPolicy.RecordHostPowerOn(run, BmcAnswer(run, "esx-01"), 1, T0);
        Assert.False(PlanWalker.Advance(run, _cluster, T0).ReadInventory);
        PowerOnPolicy.RecordHostPowerOn(run, BmcAnswer(run, "esx-02", PowerOnOutcome.AlreadyOn), 1, T0);
        var poll = PlanWalker.Advance(run, _cluster, T0);
        Assert.True(poll.ReadInventory);
        Assert.Equal(RunPhase.HostReconnect, run.Phase);
        Assert.Equal(T0.AddSeconds(10), run.Deadline);

        PowerOnPolicy.RecordInventory(run, Connected(run, "esx-01"), T0.AddSeconds(1));
        Assert.Empty(PlanWalker.Advance(run, _cluster, T0.AddSeconds(1)).ExitMaintenance);
        Assert.True(PlanWalker.DeadlinePassed(run, _cluster, T0.AddSeconds(10)).ReadInventory);
        PowerOnPolicy.RecordInventory(run, Connected(run, "esx-01", "esx-02"), T0.AddSeconds(11));
        var exits = PlanWalker.Advance(run, _cluster, T0.AddSeconds(11));

        // esx-02 was in maintenance mode before the shutdown: it stays there.
        Assert.Equal(["esx-01"], exits.ExitMaintenance.Select(h => h.Name));
        PowerOnPolicy.RecordExitMaintenance(run, new HostExitedMaintenance(run.RunId, run.Cluster, "esx-01", StepOutcome.Done, null, T0), 1, T0);

        var order = new List<string>();
        var next = PlanWalker.Advance(run, _cluster, T0.AddSeconds(12));
        while (next.VmPowerOns.Count > 0)
        {
            Assert.True(next.VmPowerOns.Count <= _cluster.MaxParallelPerTier);
            order.AddRange(next.VmPowerOns.Select(v => v.Name));
            foreach (var vm in next.VmPowerOns)
                PowerOnPolicy.RecordVm(run, VmOn(run, vm.Name), 1, T0);
            next = PlanWalker.Advance(run, _cluster, T0.AddSeconds(13));
        }

        Assert.Equal(["vcsa", "dns-1", "db-1", "reporting", "app-1", "app-2", "misc"], order);
        Assert.Null(run.Phase);
        Assert.NotNull(run.Restore.CompletedAt);
        Assert.Null(run.Deadline);
        Assert.Empty(PowerOnPolicy.Failures(run));
    }

    [Fact]
    public void A_bmc_that_keeps_failing_leaves_its_host_and_its_vms_reported_and_the_others_restored()
    {
        var run = ShutDownRun(Inventories.Mixed(Guid.NewGuid()));
        PowerOnPolicy.Begin(run, _cluster, T0);

        PowerOnPolicy.RecordHostPowerOn(run, BmcAnswer(run, "esx-02", PowerOnOutcome.Failed), 1, T0);
        var retry = PlanWalker.Advance(run, _cluster, T0);
        Assert.Equal(["esx-02"], retry.PowerOns.Select(h => h.Name));
        PowerOnPolicy.RecordHostPowerOn(run, BmcAnswer(run, "esx-02", PowerOnOutcome.Failed), 1, T0);
        PowerOnPolicy.RecordHostPowerOn(run, BmcAnswer(run, "esx-01"), 1, T0);
        PlanWalker.Advance(run, _cluster, T0);
        PowerOnPolicy.RecordInventory(run, Connected(run, "esx-01"), T0);
        PlanWalker.Advance(run, _cluster, T0);
        PowerOnPolicy.RecordExitMaintenance(run, new HostExitedMaintenance(run.RunId, run.Cluster, "esx-01", StepOutcome.Done, null, T0), 1, T0);
        var next = PlanWalker.Advance(run, _cluster, T0);
        while (next.VmPowerOns.Count > 0)
        {
            Assert.DoesNotContain(next.VmPowerOns, v => v.Host == "esx-02");
            foreach (var vm in next.VmPowerOns)
                PowerOnPolicy.RecordVm(run, VmOn(run, vm.Name), 1, T0);
            next = PlanWalker.Advance(run, _cluster, T0);
        }

        Assert.Null(run.Phase);
        Assert.NotNull(run.Restore.CompletedAt);
        var failures = PowerOnPolicy.Failures(run);
        Assert.Equal("host esx-02: not powered on: BMC rejected the credentials", failures[0]);
        Assert.Equal(3, failures.Count);
        Assert.StartsWith("vm-power-on dns-1: NotRestored its host esx-02 is not back", failures[1], StringComparison.Ordinal);
        Assert.StartsWith("vm-power-on app-2: NotRestored", failures[2], StringComparison.Ordinal);
        Assert.Contains(run.Journal, e => e.Target == "dns-1" && e.Outcome == RunOutcome.NotRestored);
        Assert.Equal(StepStatus.Done, run.Restore.AllVms.Single(v => v.Name == "db-1").Status);
    }

    [Fact]
    public void A_host_vcenter_does_not_see_by_the_reconnect_deadline_is_reported_and_the_run_moves_on()
    {
        var run = ShutDownRun(Inventories.Mixed(Guid.NewGuid()));
        PowerOnPolicy.Begin(run, _cluster, T0);
        PowerOnPolicy.RecordHostPowerOn(run, BmcAnswer(run, "esx-01"), 1, T0);
        PowerOnPolicy.RecordHostPowerOn(run, BmcAnswer(run, "esx-02", PowerOnOutcome.WakeOnLanSent), 1, T0);
        PlanWalker.Advance(run, _cluster, T0);
        PowerOnPolicy.RecordInventory(run, Connected(run, "esx-01"), T0);

        var after = PlanWalker.DeadlinePassed(run, _cluster, T0 + _cluster.HostReconnectDeadline);

        Assert.Equal(["esx-01"], after.ExitMaintenance.Select(h => h.Name));
        Assert.Contains(run.Journal, e => e.Step == "host-reconnect" && e.Target == "esx-02" && e.Outcome == RunOutcome.Late);
        Assert.Contains("host esx-02: not connected in vCenter by the deadline", PowerOnPolicy.Failures(run));
    }

    [Fact]
    public void A_vm_that_fails_to_power_on_is_asked_again_then_listed()
    {
        var run = ShutDownRun(Inventories.Inventory(Guid.NewGuid(), [Inventories.Vm("app-1")], Inventories.Host("esx-01")));
        PowerOnPolicy.Begin(run, _cluster, T0);
        PowerOnPolicy.RecordHostPowerOn(run, BmcAnswer(run, "esx-01"), 1, T0);
        PlanWalker.Advance(run, _cluster, T0);
        PowerOnPolicy.RecordInventory(run, Connected(run, "esx-01"), T0);
        PlanWalker.Advance(run, _cluster, T0);
        PowerOnPolicy.RecordExitMaintenance(run, new HostExitedMaintenance(run.RunId, run.Cluster, "esx-01", StepOutcome.AlreadyInState, null, T0), 1, T0);
        Assert.Single(PlanWalker.Advance(run, _cluster, T0).VmPowerOns);

        PowerOnPolicy.RecordVm(run, VmOn(run, "app-1", StepOutcome.Failed), 1, T0);
        Assert.Single(PlanWalker.Advance(run, _cluster, T0).VmPowerOns);
        PowerOnPolicy.RecordVm(run, VmOn(run, "app-1", StepOutcome.Failed), 1, T0);
        PlanWalker.Advance(run, _cluster, T0);

        Assert.Null(run.Phase);
        Assert.NotNull(run.Restore.CompletedAt);
        Assert.Equal(["vm-power-on app-1: Failed InvalidHostState: in maintenance"], PowerOnPolicy.Failures(run));
    }

    /// <summary>Both hosts back and out of maintenance; the VMs' first tier asked.</summary>
    PowerRun PoweringOnVms()
    {
        var run = ShutDownRun(Inventories.Mixed(Guid.NewGuid()));
        PowerOnPolicy.Begin(run, _cluster, T0);
        PowerOnPolicy.RecordHostPowerOn(run, BmcAnswer(run, "esx-01"), 1, T0);
        PowerOnPolicy.RecordHostPowerOn(run, BmcAnswer(run, "esx-02"), 1, T0);
        PlanWalker.Advance(run, _cluster, T0);
        PowerOnPolicy.RecordInventory(run, Connected(run, "esx-01", "esx-02"), T0);
        PlanWalker.Advance(run, _cluster, T0);
        PowerOnPolicy.RecordExitMaintenance(run, new HostExitedMaintenance(run.RunId, run.Cluster, "esx-01", StepOutcome.Done, null, T0), 1, T0);
        PowerOnPolicy.RecordExitMaintenance(run, new HostExitedMaintenance(run.RunId, run.Cluster, "esx-02", StepOutcome.Done, null, T0), 1, T0);
        Assert.NotEmpty(PlanWalker.Advance(run, _cluster, T0).VmPowerOns);
        return run;
    }

    [Fact]
    public void An_interrupted_power_on_sends_nothing_more_and_lists_what_is_not_back()
    {
        var run = PoweringOnVms();

        Assert.True(PowerOnPolicy.Interrupt(run, Guid.NewGuid(), T0, T0));

        Assert.Null(run.Phase);
        Assert.NotNull(run.Restore.CompletedAt);
        Assert.True(run.Restore.Interrupted);
        Assert.Null(run.Deadline);
        var after = PlanWalker.Advance(run, _cluster, T0);
        Assert.Empty(after.VmPowerOns);
        Assert.False(after.ReadInventory);
        Assert.Contains(run.Journal, e => e.Step == "restore" && e.Outcome == RunOutcome.Interrupted);
        Assert.Contains(PowerOnPolicy.Failures(run), f => f.StartsWith("vm-power-on misc", StringComparison.Ordinal));
    }

    [Fact]
    public void An_alarm_while_hosts_boot_asks_nothing_more_waits_for_them_to_come_up_then_says_shut_down_again()
    {
        var cluster = Inventories.Cluster(o => { o.PowerOnStagger = TimeSpan.FromSeconds(30); o.ReconnectPollInterval = TimeSpan.FromSeconds(10); });
        var run = ShutDownRun(Inventories.Mixed(Guid.NewGuid()));
        Assert.Equal(["esx-01"], PowerOnPolicy.Begin(run, cluster, T0).PowerOns.Select(h => h.Name));

        // esx-01's BMC is booting it; esx-02 was not asked yet.
        Assert.False(PowerOnPolicy.Interrupt(run, Guid.NewGuid(), T0, T0.AddSeconds(1)));

        Assert.True(run.Restore.Draining);
        Assert.Equal(StepStatus.Skipped, run.Restore.Hosts.Single(h => h.Name == "esx-02").PowerOn);
        Assert.Empty(PlanWalker.DeadlinePassed(run, cluster, T0.AddSeconds(30)).PowerOns);
        PowerOnPolicy.RecordHostPowerOn(run, BmcAnswer(run, "esx-01"), 1, T0.AddSeconds(31));
        var poll = PlanWalker.Advance(run, cluster, T0.AddSeconds(31));
        Assert.True(poll.ReadInventory);
        Assert.False(poll.ShutDownAgain);
        PowerOnPolicy.RecordInventory(run, Connected(run, "esx-01"), T0.AddSeconds(32));

        var end = PlanWalker.Advance(run, cluster, T0.AddSeconds(32));

        Assert.True(end.ShutDownAgain);
        Assert.Empty(end.ExitMaintenance);
        Assert.Empty(end.VmPowerOns);
        Assert.Null(run.Phase);
        Assert.NotNull(run.Restore.CompletedAt);
        Assert.True(run.Restore.Interrupted);
        Assert.False(run.Restore.Draining);
        Assert.Contains(run.Journal, e => e.Step == "restore" && e.Outcome == RunOutcome.Draining);
    }

    [Fact]
    public void After_a_restart_the_power_on_asks_again_only_for_steps_without_an_outcome()
    {
        var run = ShutDownRun(Inventories.Mixed(Guid.NewGuid()));
        PowerOnPolicy.Begin(run, _cluster, T0);
        PowerOnPolicy.RecordHostPowerOn(run, BmcAnswer(run, "esx-01"), 1, T0);

        var again = PlanWalker.Outstanding(run, _cluster, T0);

        Assert.Equal(["esx-02"], again.PowerOns.Select(h => h.Name));
        PowerOnPolicy.RecordHostPowerOn(run, BmcAnswer(run, "esx-02"), 1, T0);
        PlanWalker.Advance(run, _cluster, T0);
        Assert.True(PlanWalker.Outstanding(run, _cluster, T0).ReadInventory);
        Assert.Contains(run.Journal, e => e.Step == "resume" && e.Outcome == RunOutcome.Resumed);
    }
}
