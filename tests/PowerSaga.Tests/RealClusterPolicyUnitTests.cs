using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>Issue 12's stages as pure policy: vCenter on its cluster, vCLS, HA/DRS, vSAN; what is recorded and put back.</summary>
public sealed class RealClusterPolicyUnitTests
{
    static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    static readonly ClusterHaDrsSettings Before = new(true, true, true, "fullyAutomated");
    static readonly ClusterSettings Settings = new("domain-c7", Before, VsanEnabled: true, HasVcls: true, VclsEnabledSetting: null);

    static ClusterInventoryCaptured Inventory(Guid runId) => new(runId, "cluster1",
        [Inventories.Host("esx-01"), Inventories.Host("esx-02"), Inventories.Host("esx-03")],
        [
            Inventories.Vm("app-1", "esx-01"), Inventories.Vm("vcsa", "esx-02", vcenter: true),
            new VmInventory("id-vcls-1", "vCLS-1", "poweredOn", true, "esx-03", "dc1/vm/vCLS", false, IsVcls: true),
        ],
        T0, Settings, VCenterVm: "vcsa", VCenterHost: "esx-02");

    static (PowerRun Run, ClusterOptions Options) Plan(Action<ClusterOptions>? configure = null)
    {
        var options = Inventories.Cluster(configure);
        var runId = Guid.NewGuid();
        var run = ShutdownPlanner.Plan(options, Inventory(runId), runId, "room-a", dryRun: false);
        run.Restore = RestorePlanner.Plan(options, run, new RestoreRun());
        return (run, options);
    }

    /// <summary>Walks the shutdown with every step succeeding; returns the kinds asked, in order.</summary>
    static List<string> WalkShutdown(PowerRun run, ClusterOptions options)
    {
        var asked = new List<string>();
        var progress = ShutdownPolicy.Start(run, options, T0);
        while (!progress.IsEmpty)
        {
            asked.AddRange(progress.VmShutdowns.Select(v => $"vm:{v.Name}"));
            asked.AddRange(progress.ClusterSteps.Select(s => s.Kind));
            asked.AddRange(progress.Maintenance.Select(h => $"maintenance:{h.Name}"));
            asked.AddRange(progress.HostShutdowns.Select(h => $"off:{h.Name}"));
            asked.AddRange(progress.EsxiShutdowns.Select(h => $"esxi-off:{h.Name}"));
            foreach (var vm in progress.VmShutdowns)
                ShutdownPolicy.RecordVm(run, new VmShutDown(run.RunId, run.Cluster, vm.Id, vm.Name, VmShutdownOutcome.Graceful, null, T0), 1, T0);
            foreach (var step in progress.ClusterSteps)
                _ = step.Kind switch
                {
                    ClusterStep.VclsRetreat => ShutdownPolicy.RecordVclsRetreat(run, new VclsRetreatEntered(run.RunId, run.Cluster, StepOutcome.Done, null, null, T0), 1, T0),
                    ClusterStep.HaDrsDisable => ShutdownPolicy.RecordHaDrsDisabled(run, new ClusterHaDrsDisabled(run.RunId, run.Cluster, StepOutcome.Done, Before, null, T0), 1, T0),
                    _ => ShutdownPolicy.RecordVsanResync(run, new VsanResyncChecked(run.RunId, run.Cluster, VsanResyncOutcome.StillResyncing, 3, 1000, 60, null, T0), 1, T0),
                };
            foreach (var host in progress.Maintenance)
                ShutdownPolicy.RecordMaintenance(run, new HostEnteredMaintenance(run.RunId, run.Cluster, host.Name, StepOutcome.Done, null, T0), 1, T0);
            foreach (var host in progress.HostShutdowns)
                ShutdownPolicy.RecordHostShutdown(run, new HostPoweredOff(run.RunId, run.Cluster, host.Name, StepOutcome.Done, null, T0), 1, T0);
            foreach (var host in progress.EsxiShutdowns)
                ShutdownPolicy.RecordEsxiHostShutdown(run, new EsxiHostPoweredOff(run.RunId, run.Cluster, host.Name, StepOutcome.Done, false, true, null, T0), 1, T0);
            progress = PlanWalker.Advance(run, options, T0);
        }
        return asked;
    }

    [Fact]
    public void The_shutdown_runs_tenants_then_cluster_steps_then_the_other_hosts_then_vcenter_then_its_host_through_esxi()
    {
        var (run, options) = Plan();

        var asked = WalkShutdown(run, options);

        Assert.Equal(
            ["vm:app-1", "vcls-retreat", "ha-drs-disable", "vsan-resync", "maintenance:esx-01", "maintenance:esx-03", "off:esx-01", "off:esx-03",
             "vm:vcsa", "esxi-off:esx-02"], asked);
        Assert.NotNull(run.CompletedAt);
        Assert.Null(run.Phase);
        Assert.DoesNotContain(run.AllVms, v => v.Name == "vCLS-1");
        // A resync still running at the deadline does not stop the run; it is reported.
        Assert.Contains(ShutdownPolicy.Failures(run), f => f.StartsWith("vsan-resync cluster1: vSAN still resyncing", StringComparison.Ordinal));
    }

    [Fact]
    public void The_power_on_starts_vcenter_through_esxi_before_the_reconnect_and_puts_ha_drs_and_vcls_back_as_recorded_after_the_vms()
    {
        var (run, options) = Plan();
        WalkShutdown(run, options);
        // The values to put back were recorded from the first inventory, in the run itself (survive a crash with the saga row).
        Assert.Equal(Before, run.Restore.HaDrs);
        Assert.True(run.Restore.RestoreVcls);
        Assert.Null(run.Restore.VclsValue);

        PowerOnPolicy.Schedule(run, options, T0, T0, T0);
        var progress = PowerOnPolicy.Begin(run, options, T0.AddMinutes(10));
        foreach (var host in progress.PowerOns)
            PowerOnPolicy.RecordHostPowerOn(run, new HostPowerOnCompleted(run.RunId, run.Cluster, host.Name, PowerOnOutcome.PoweredOn, "redfish", "", T0), 1, T0);
        progress = PlanWalker.Advance(run, options, T0.AddMinutes(10));
        Assert.Equal(RunPhase.VCenterStart, run.Phase);
        var start = Assert.Single(progress.ClusterSteps);
        Assert.Equal(ClusterStep.VCenterStart, start.Kind);
        Assert.False(progress.ReadInventory);

        // It was found on another host (moved since the plan): the run follows it.
        PowerOnPolicy.RecordVCenterStarted(run, new VCenterStarted(run.RunId, run.Cluster, "esx-02", "vcsa", StepOutcome.Done, ["esx-01", "esx-02", "esx-03"], null, T0, "esx-03"), 1, T0);
        Assert.Equal("esx-03", run.Restore.VCenterHost);
        progress = PlanWalker.Advance(run, options, T0.AddMinutes(10));
        Assert.Equal(RunPhase.HostReconnect, run.Phase);
        Assert.True(progress.ReadInventory);
    }

    [Fact]
    public void A_run_without_power_on_says_what_it_left_changed()
    {
        var (run, options) = Plan(o => o.PowerOnAfterClear = false);
        WalkShutdown(run, options);

        var left = Assert.Single(run.Journal, e => e.Outcome == RunOutcome.LeftChanged);
        Assert.Contains("vCLS retreat mode", left.Detail, StringComparison.Ordinal);
        Assert.Contains("HA off and DRS manual (were HA on, admission control on, DRS fullyAutomated)", left.Detail, StringComparison.Ordinal);
        Assert.Contains("host esx-02 powered off", left.Detail, StringComparison.Ordinal);
        Assert.False(PowerOnPolicy.Schedule(run, options, T0, T0, T0));
        Assert.Contains(run.Journal, e => e.Step == "power-on" && e.Outcome == RunOutcome.Skipped && e.Detail.Contains("left changed", StringComparison.Ordinal));
    }

    [Fact]
    public void A_second_alarm_while_the_cluster_is_off_keeps_the_first_recorded_settings()
    {
        var (run, options) = Plan();
        WalkShutdown(run, options);

        var carried = RestorePlanner.CarryOver(run);
        var secondId = Guid.NewGuid();
        var changed = Inventory(secondId) with { Settings = Settings with { HaDrs = new ClusterHaDrsSettings(false, true, true, "manual"), VclsEnabledSetting = "false" } };
        var second = ShutdownPlanner.Plan(options, changed, secondId, "room-a", dryRun: false);
        var restore = RestorePlanner.Plan(options, second, carried);

        Assert.Equal(Before, restore.HaDrs);
        Assert.Null(restore.VclsValue);
    }

    [Fact]
    public void VCenters_vm_is_not_powered_off_hard_at_its_deadline_unless_configured()
    {
        var (run, options) = Plan();
        var progress = ShutdownPolicy.Start(run, options, T0);
        while (!progress.VmShutdowns.Any(v => v.IsVCenter))
        {
            foreach (var vm in progress.VmShutdowns)
                ShutdownPolicy.RecordVm(run, new VmShutDown(run.RunId, run.Cluster, vm.Id, vm.Name, VmShutdownOutcome.Graceful, null, T0), 1, T0);
            foreach (var step in progress.ClusterSteps)
                step.Status = StepStatus.Done;
            foreach (var host in progress.Maintenance)
                host.Maintenance = StepStatus.Done;
            foreach (var host in progress.HostShutdowns)
                host.Shutdown = StepStatus.Done;
            progress = PlanWalker.Advance(run, options, T0);
        }

        var late = PlanWalker.DeadlinePassed(run, options, T0.AddMinutes(5));

        Assert.DoesNotContain(late.VmShutdowns, v => v.IsVCenter);
        Assert.Equal(RunPhase.VCenterHostShutdown, run.Phase);
    }
}
