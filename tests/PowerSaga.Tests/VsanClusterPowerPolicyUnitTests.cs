using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>vSAN's cluster power API as steps of a run (<see cref="VsanClusterPowerSteps"/>): planned as <c>UseVsanClusterPowerApi</c> and <see cref="VsanClusterPowerSteps.Decide"/> say, and a refusal falls back.</summary>
public sealed class VsanClusterPowerPolicyUnitTests
{
    static readonly DateTimeOffset T0 = new(2026, 12, 3, 4, 0, 0, TimeSpan.Zero);
    static readonly ClusterHaDrsSettings Before = new(true, true, true, "fullyAutomated");

    static (PowerRun Run, ClusterOptions Options) Plan(string mode, bool vsan = true, string? apiVersion = "7.0.3.0", string? maintenance = null)
    {
        var options = Inventories.Cluster(o => o.UseVsanClusterPowerApi = mode);
        var runId = Guid.NewGuid();
        HostInventory Host(string name) => Inventories.Host(name) with { InMaintenanceMode = name == maintenance };
        var inventory = new ClusterInventoryCaptured(runId, "cluster1",
            [Host("esx-01"), Host("esx-02"), Host("esx-03")],
            [Inventories.Vm("app-1", "esx-01"), Inventories.Vm("vcsa", "esx-02", vcenter: true)],
            T0, new ClusterSettings("domain-c7", Before, VsanEnabled: vsan, HasVcls: false, VclsEnabledSetting: null, VCenterApiVersion: apiVersion),
            VCenterVm: "vcsa", VCenterHost: "esx-02");
        var run = ShutdownPlanner.Plan(options, inventory, runId, "room-a", dryRun: false);
        run.Restore = RestorePlanner.Plan(options, run, new RestoreRun());
        return (run, options);
    }

    static bool PlansApi(PowerRun run) => run.ClusterSteps.Any(st => st.Kind == VsanClusterPowerSteps.PowerOff);

    /// <summary>The default: vSAN on, vCenter 7.0.3+ and no host in maintenance mode before the run take vSAN's API; it says so.</summary>
    [Theory]
    [InlineData("7.0.3.0")]
    [InlineData("8.0.2.0")]
    [InlineData("7.0.3")]
    public void Auto_takes_the_api_when_vsan_is_on_vcenter_offers_it_and_no_host_was_in_maintenance(string version)
    {
        var (run, options) = Plan("auto", apiVersion: version);

        Assert.Equal("auto", new ClusterOptions().UseVsanClusterPowerApi);
        Assert.True(PlansApi(run));
        Assert.NotNull(run.Restore.VsanClusterPowerOn);
        Assert.StartsWith("vSAN's cluster power API: ", run.VsanPowerPath, StringComparison.Ordinal);
        Assert.Contains($"vCenter {version} offers it", run.VsanPowerPath, StringComparison.Ordinal);
        ShutdownPolicy.Start(run, options, T0);
        Assert.Contains(run.Journal, e => e.Step == "plan" && e.Outcome == RunOutcome.Planned && e.Detail == run.VsanPowerPath);
    }

    [Theory]
    [InlineData("7.0.2.0", "vCenter 7.0.2.0 has no vSAN cluster power API")]
    [InlineData("6.7.3", "vCenter 6.7.3 has no vSAN cluster power API")]
    [InlineData(null, "did not report vCenter's API version")]
    [InlineData("garbage", "vCenter garbage has no vSAN cluster power API")]
    public void Auto_below_vcenter_7_0_3_takes_the_per_host_steps_and_says_why(string? version, string why)
    {
        var (run, options) = Plan("auto", apiVersion: version);

        Assert.False(PlansApi(run));
        Assert.Null(run.Restore.VsanClusterPowerOn);
        Assert.StartsWith("per-host steps: ", run.VsanPowerPath, StringComparison.Ordinal);
        Assert.Contains(why, run.VsanPowerPath, StringComparison.Ordinal);
        var preview = PlanPreviewStartupFilter.Describe(options, new PowerOptions { Clusters = [options] }, Inventory(run, options, version));
        Assert.Contains(preview.ClusterChanges, c => c.Step == VsanClusterPowerSteps.PathStep && c.Change == run.VsanPowerPath);
    }

    static ClusterInventoryCaptured Inventory(PowerRun run, ClusterOptions options, string? version) => new(run.RunId, options.Name,
        [Inventories.Host("esx-01"), Inventories.Host("esx-02"), Inventories.Host("esx-03")],
        [Inventories.Vm("app-1", "esx-01"), Inventories.Vm("vcsa", "esx-02", vcenter: true)],
        T0, new ClusterSettings("domain-c7", Before, true, false, null, version), VCenterVm: "vcsa", VCenterHost: "esx-02");

    /// <summary>The power-off command names the run's hosts and vCenter's VM and host: a restarted actuator follows vSAN's workflow through them.</summary>
    [Fact]
    public void The_power_off_command_carries_the_hosts_and_vcenters_vm_the_power_on_command_does_not_need_them()
    {
        var (run, _) = Plan("auto");

        var off = VsanClusterPowerSteps.Command(run, VsanClusterPowerSteps.PowerOff)!;
        Assert.Equal(["esx-01", "esx-02", "esx-03"], off.Hosts!.Order());
        Assert.Equal(("vcsa", "esx-02"), (off.VCenterVm, off.VCenterHost));
        var on = VsanClusterPowerSteps.Command(run, VsanClusterPowerSteps.PowerOn)!;
        Assert.Null(on.Hosts);
    }

    [Fact]
    public void A_power_off_followed_after_a_restart_is_done_and_its_history_line_says_so()
    {
        var (run, options) = Plan("auto");
        ShutdownPolicy.Start(run, options, T0);
        var step = run.ClusterSteps.Single(st => st.Kind == VsanClusterPowerSteps.PowerOff);
        (step.Status, run.Phase) = (StepStatus.Requested, RunPhase.ClusterPrepare);
        const string how = "followed after a restart: vCenter did not answer (Unreachable) and vSAN's workflow was under way (vCenter's VM vcsa off on esx-02)";

        Assert.True(VsanClusterPowerSteps.RecordPowerOff(run, new VsanClusterPowerCompleted(run.RunId, "cluster1", VsanClusterPowerSteps.ClusterPoweredOff,
            StepOutcome.Done, true, ["esx-01", "esx-02", "esx-03"], [], null, T0, how), T0));

        Assert.Equal(StepStatus.Done, step.Status);
        Assert.Contains(run.Journal, e => e.Step == VsanClusterPowerSteps.PowerOff && e.Detail.EndsWith($"({how})", StringComparison.Ordinal));
    }

    [Fact]
    public void Auto_with_a_host_in_maintenance_mode_before_the_run_takes_the_per_host_steps_and_names_it()
    {
        var (run, options) = Plan("auto", maintenance: "esx-02");

        Assert.False(PlansApi(run));
        Assert.Equal("per-host steps: esx-02 was in maintenance mode before the run (vSAN's cluster power-on would take it out, which the run could not undo)",
            run.VsanPowerPath);
        ShutdownPolicy.Start(run, options, T0);
        Assert.Contains(run.Journal, e => e.Step == "plan" && e.Detail == run.VsanPowerPath);
    }

    [Fact]
    public void Auto_with_a_host_off_before_the_run_takes_the_per_host_steps()
    {
        var options = Inventories.Cluster();
        var inventory = new ClusterInventoryCaptured(Guid.NewGuid(), "cluster1", [Inventories.Host("esx-01"), Inventories.Host("esx-02", on: false)],
            [Inventories.Vm("app-1", "esx-01")], T0, new ClusterSettings("domain-c7", Before, true, false, null, "8.0.3.0"));

        var path = VsanClusterPowerSteps.Decide(options, inventory.Settings, inventory.Hosts);

        Assert.Equal((false, "per-host steps: esx-02 was not powered on and connected before the run (vSAN's cluster power workflow needs every host of the cluster)"),
            (path.UseApi, path.Reason));
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("always")]
    public void Vsan_off_takes_the_per_host_steps_and_records_no_vsan_line(string mode)
    {
        var (run, _) = Plan(mode, vsan: false);

        Assert.False(PlansApi(run));
        Assert.Null(run.VsanPowerPath);
        Assert.Equal("per-host steps: vSAN is not enabled on the cluster", VsanClusterPowerSteps.Decide(Inventories.Cluster(), run.Settings, []).Reason);
    }

    [Theory]
    [InlineData("always", true)]
    [InlineData("on", true)]
    [InlineData("TRUE", true)]
    [InlineData("never", false)]
    [InlineData("off", false)]
    [InlineData("false", false)]
    public void Always_and_never_and_the_former_boolean_values_override_auto(string mode, bool api)
    {
        // Below 7.0.3 and with a host in maintenance mode: auto would not; always still asks vSAN (which may refuse, then falls back).
        var (run, _) = Plan(mode, apiVersion: "7.0.2.0", maintenance: "esx-01");
        Assert.Equal(api, PlansApi(run));
        var (fine, _) = Plan(mode);
        Assert.Equal(api, PlansApi(fine));
        Assert.Contains(api ? "UseVsanClusterPowerApi=always" : "UseVsanClusterPowerApi=never", fine.VsanPowerPath, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sometimes")]
    [InlineData("")]
    [InlineData("yes")]
    public void An_unknown_mode_is_refused_naming_the_key(string mode)
    {
        var failures = PowerEvents.Hosting.KeyedOptionsValidator<PowerOptions>.Validate(
            new PowerOptions { Clusters = [Inventories.Cluster(o => o.UseVsanClusterPowerApi = mode)] }, "Power");
        Assert.Contains(failures, f => f.StartsWith("Power:Clusters:0:UseVsanClusterPowerApi: ", StringComparison.Ordinal));
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
        var (run, options) = Plan("always");

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
        var (run, options) = Plan("always");

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
    [InlineData("never", true)]
    [InlineData("auto", false)]
    [InlineData("always", false)]
    public void Not_configured_or_not_vsan_plans_no_vsan_power_step(string mode, bool vsan)
    {
        var (run, _) = Plan(mode, vsan);
        Assert.DoesNotContain(run.ClusterSteps, st => st.Kind == VsanClusterPowerSteps.PowerOff);
        Assert.Null(run.Restore.VsanClusterPowerOn);
    }

    [Fact]
    public void The_plan_preview_shows_vsans_power_steps_and_the_per_host_stages_only_as_their_fallback()
    {
        var (run, options) = Plan("always");
        var stages = PlanStages.Of(options, run, run.Restore);

        var off = Assert.Single(stages, s => s.Name.Contains("vSAN cluster power-off", StringComparison.Ordinal));
        Assert.Equal(options.VsanClusterPowerDeadline, off.Deadline);
        Assert.All(stages.Where(s => s.Direction == PlanStages.Shutdown && s.Kind is "host-maintenance" or "host-shutdown"),
            s => Assert.StartsWith("only if vSAN's cluster power-off does not finish", s.Does, StringComparison.Ordinal));
        var on = Assert.Single(stages, s => s.Kind == VsanClusterPowerSteps.PowerOn);
        var exit = Assert.Single(stages, s => s.Kind == "host-exit-maintenance");
        Assert.True(on.Order < exit.Order, "vSAN's power-on comes before the per-host maintenance exits");
        Assert.StartsWith("only if vSAN's cluster power-on does not finish", exit.Does, StringComparison.Ordinal);

        var (plain, plainOptions) = Plan("never");
        var without = PlanStages.Of(plainOptions, plain, plain.Restore);
        Assert.DoesNotContain(without, s => s.Kind == VsanClusterPowerSteps.PowerOn || s.Does.StartsWith("only if", StringComparison.Ordinal));
    }
}
