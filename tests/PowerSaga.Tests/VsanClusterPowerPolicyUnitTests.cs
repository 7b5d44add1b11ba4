using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>vSAN's cluster power API as steps of a run (<see cref="VsanClusterPowerSteps"/>): planned only when configured, and a refusal falls back.</summary>
public sealed class VsanClusterPowerPolicyUnitTests
{
    static readonly DateTimeOffset T0 = new(2026, 12, 3, 4, 0, 0, TimeSpan.Zero);
    static readonly ClusterHaDrsSettings Before = new(true, true, true, "fullyAutomated");

    static (PowerRun Run, ClusterOptions Options) Plan(bool useApi, bool vsan = true)
    {
        var options = Inventories.Cluster(o => o.UseVsanClusterPowerApi = useApi);
        var runId = Guid.NewGuid();
        var inventory = new ClusterInventoryCaptured(runId, "cluster1",
            [Inventories.Host("esx-01"), Inventories.Host("esx-02"), Inventories.Host("esx-03")],
            [Inventories.Vm("app-1", "esx-01"), Inventories.Vm("vcsa", "esx-02", vcenter: true)],
            T0, new ClusterSettings("domain-c7", Before, VsanEnabled: vsan, HasVcls: false, VclsEnabledSetting: null), VCenterVm: "vcsa", VCenterHost: "esx-02");
        var run = ShutdownPlanner.Plan(options, inventory, runId, "room-a", dryRun: false);
        run.Restore = RestorePlanner.Plan(options, run, new RestoreRun());
        return (run, options);
    }

    /// <summary>Every step succeeds except vSAN's power-off, which answers <paramref name="powerOff"/>; the kinds asked, in order.</summary>
    static List<string> Walk(PowerRun run, ClusterOptions options, Func<PowerRun, VsanClusterPowerCompleted> powerOff)
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
                    ClusterStep.HaDrsDisable => ShutdownPolicy.RecordHaDrsDisabled(run, new ClusterHaDrsDisabled(run.RunId, run.Cluster, StepOutcome.Done, Before, null, T0), 1, T0),
                    ClusterStep.VsanResync => ShutdownPolicy.RecordVsanResync(run, new VsanResyncChecked(run.RunId, run.Cluster, VsanResyncOutcome.Idle, 0, 0, 0, null, T0), 1, T0),
                    _ => VsanClusterPowerSteps.RecordPowerOff(run, powerOff(run), T0),
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

    static VsanClusterPowerCompleted Done(PowerRun run) => new(run.RunId, run.Cluster, VsanClusterPowerSteps.ClusterPoweredOff, StepOutcome.Done, true,
        ["esx-01", "esx-02", "esx-03"], [], null, T0);

    [Fact]
    public void When_configured_vsans_power_off_replaces_every_host_step_and_vcenters_vm_and_its_power_on_is_owed()
    {
        var (run, options) = Plan(useApi: true);

        var asked = Walk(run, options, Done);

        Assert.Equal(["vm:app-1", "ha-drs-disable", "vsan-resync", VsanClusterPowerSteps.PowerOff], asked);
        Assert.NotNull(run.CompletedAt);
        Assert.Null(run.Phase);
        Assert.Empty(ShutdownPolicy.Failures(run));
        Assert.All(run.Hosts, h => Assert.Equal((StepStatus.Done, StepStatus.Done), (h.Maintenance, h.Shutdown)));
        Assert.Equal((RunOutcome.VsanPowerOff, StepStatus.Done), run.AllVms.Where(v => v.IsVCenter).Select(v => (v.Outcome, v.Status)).Single());
        Assert.Equal(StepStatus.Pending, run.Restore.VsanClusterPowerOn?.Status);
    }

    [Fact]
    public void A_power_off_vsan_refuses_falls_back_to_the_per_host_steps()
    {
        var (run, options) = Plan(useApi: true);

        var asked = Walk(run, options, r => new VsanClusterPowerCompleted(r.RunId, r.Cluster, VsanClusterPowerSteps.ClusterPoweredOff, StepOutcome.Failed, false,
            [], [], new VCenterFault("VsanFault", "Cannot power off the cluster: powered-on user VMs: x."), T0));

        Assert.Equal(["vm:app-1", "ha-drs-disable", "vsan-resync", VsanClusterPowerSteps.PowerOff, "maintenance:esx-01", "maintenance:esx-03",
            "off:esx-01", "off:esx-03", "vm:vcsa", "esxi-off:esx-02"], asked);
        Assert.NotNull(run.CompletedAt);
        Assert.Null(run.Phase);
        Assert.Contains(run.Journal, e => e.Step == VsanClusterPowerSteps.PowerOff && e.Outcome == RunOutcome.FallBack);
        // The failed step is listed, and no vSAN power-on follows a shutdown vSAN did not do.
        Assert.Contains(ShutdownPolicy.Failures(run), f => f.StartsWith(VsanClusterPowerSteps.PowerOff, StringComparison.Ordinal));
        run.Phase = RunPhase.ExitMaintenance;
        Assert.True(VsanClusterPowerSteps.SkipPowerOnUnlessOwed(run, T0));
        Assert.Equal(StepStatus.Skipped, run.Restore.VsanClusterPowerOn?.Status);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void Not_configured_or_not_vsan_plans_no_vsan_power_step(bool useApi, bool vsan)
    {
        var (run, _) = Plan(useApi, vsan);
        Assert.DoesNotContain(run.ClusterSteps, st => st.Kind == VsanClusterPowerSteps.PowerOff);
        Assert.Null(run.Restore.VsanClusterPowerOn);
    }

    [Fact]
    public void The_plan_preview_shows_vsans_power_steps_and_the_per_host_stages_only_as_their_fallback()
    {
        var (run, options) = Plan(useApi: true);
        var stages = PlanStages.Of(options, run, run.Restore);

        var off = Assert.Single(stages, s => s.Name.Contains("vSAN cluster power-off", StringComparison.Ordinal));
        Assert.Equal(options.VsanClusterPowerDeadline, off.Deadline);
        Assert.All(stages.Where(s => s.Direction == PlanStages.Shutdown && s.Kind is "host-maintenance" or "host-shutdown"),
            s => Assert.StartsWith("only if vSAN's cluster power-off does not finish", s.Does, StringComparison.Ordinal));
        var on = Assert.Single(stages, s => s.Kind == VsanClusterPowerSteps.PowerOn);
        var exit = Assert.Single(stages, s => s.Kind == "host-exit-maintenance");
        Assert.True(on.Order < exit.Order, "vSAN's power-on comes before the per-host maintenance exits");
        Assert.StartsWith("only if vSAN's cluster power-on does not finish", exit.Does, StringComparison.Ordinal);

        var (plain, plainOptions) = Plan(useApi: false);
        var without = PlanStages.Of(plainOptions, plain, plain.Restore);
        Assert.DoesNotContain(without, s => s.Kind == VsanClusterPowerSteps.PowerOn || s.Does.StartsWith("only if", StringComparison.Ordinal));
    }
}
