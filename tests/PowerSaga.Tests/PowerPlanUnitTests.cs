using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>The run as a plan: stages of steps built by the pure planners from inventory and configuration; the run and the drill follow it.</summary>
public sealed class PowerPlanUnitTests
{
    static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    static readonly ClusterHaDrsSettings Before = new(true, true, true, "fullyAutomated");
    static readonly ClusterSettings Settings = new("domain-c7", Before, VsanEnabled: true, HasVcls: true, VclsEnabledSetting: null);

    /// <summary>vCenter's VM on esx-02 (its host known), vSAN, vCLS, HA on: every kind of shutdown stage.</summary>
    static ClusterInventoryCaptured RealCluster(Guid runId) => new(runId, "cluster1",
        [Inventories.Host("esx-01"), Inventories.Host("esx-02"), Inventories.Host("esx-03"), Inventories.Host("esx-04", on: false)],
        [Inventories.Vm("app-1", "esx-01"), Inventories.Vm("app-2", "esx-03"), Inventories.Vm("vcsa", "esx-02", vcenter: true)],
        T0, Settings, VCenterVm: "vcsa", VCenterHost: "esx-02");

    static (PowerRun Run, ClusterOptions Options) Planned(ClusterInventoryCaptured inventory, Action<ClusterOptions>? configure = null)
    {
        var options = Inventories.Cluster(o =>
        {
            o.PowerOnStagger = TimeSpan.FromSeconds(20);
            configure?.Invoke(o);
        });
        var run = ShutdownPlanner.Plan(options, inventory, inventory.RunId, "room-a", dryRun: false);
        run.Restore = RestorePlanner.Plan(options, run, new RestoreRun());
        return (run, options);
    }

    static List<string> Describe(PowerPlan plan) =>
        [.. plan.Stages.Select(s => $"{s.Phase} {s.Name}: {string.Join(", ", s.Steps.Select(st => $"{st.Kind}:{st.Name}{(st.NotAsked is { } n ? $"({n.Outcome})" : "")}"))}")];

    [Fact]
    public void The_shutdown_plan_is_the_tiers_then_the_cluster_then_the_hosts_then_vcenter_and_its_host()
    {
        var (run, options) = Planned(RealCluster(Guid.NewGuid()));

        var plan = ShutdownPlanner.Stages(run, options, retries: 1);

        Assert.Equal(
        [
            "VmTiers apps: VmShutdown:app-1, VmShutdown:app-2",
            "ClusterPrepare cluster-prepare-0: VclsRetreat:cluster1, HaDrsDisable:cluster1",
            "ClusterPrepare cluster-prepare-1: VsanResync:cluster1",
            "Maintenance maintenance: HostMaintenance:esx-01, HostMaintenance:esx-02(Deferred), HostMaintenance:esx-03, HostMaintenance:esx-04(Skipped)",
            "HostShutdown host-shutdown: HostShutdown:esx-01, HostShutdown:esx-03",
            "VmTiers vcenter: VmShutdown:vcsa",
            "VCenterHostShutdown vcenter-host: EsxiHostShutdown:esx-02",
        ], Describe(plan));
        var apps = plan.Stages[0];
        Assert.Equal((options.TierDeadline, options.MaxParallelPerTier, 1), (apps.Deadline, apps.MaxParallel, apps.Retries));
        Assert.Equal([RunOutcome.Graceful, RunOutcome.Forced, RunOutcome.AlreadyOff], apps.DoneWhen);
        Assert.Equal("true", apps.Steps[0].Parameters["hardPowerOffAtDeadline"]);
        Assert.Equal("false", plan.Stages[5].Steps[0].Parameters["hardPowerOffAtDeadline"]);
        Assert.Contains(RunOutcome.StillResyncing, plan.Stages[2].DoneWhen);
        Assert.Equal("noAction", plan.Stages[3].Steps[0].Parameters["vsanObjectAction"]);
        Assert.Equal([options.ClusterStepDeadline, options.ClusterStepDeadline, options.MaintenanceDeadline, options.HostShutdownDeadline],
            plan.Stages.Skip(1).Take(4).Select(s => s.Deadline));
        Assert.Equal(options.EsxiHostShutdownDeadline, plan.Stages[^1].Deadline);
        Assert.All(plan.Stages, s => Assert.False(s.NextMayStartBeforeDone));
    }

    [Fact]
    public void Planning_is_pure_the_same_inventory_and_configuration_give_the_same_plan()
    {
        var inventory = RealCluster(Guid.NewGuid());
        var (first, options) = Planned(inventory);
        var (second, _) = Planned(inventory);

        Assert.Equal(Describe(ShutdownPlanner.Stages(first, options, 1)), Describe(ShutdownPlanner.Stages(second, options, 1)));
        Assert.Equal(Describe(RestorePlanner.Stages(first, options, 1)), Describe(RestorePlanner.Stages(second, options, 1)));
    }

    [Fact]
    public void Without_vcenter_on_the_cluster_there_is_no_cluster_preparation_and_no_esxi_stage()
    {
        var (run, options) = Planned(Inventories.Mixed(Guid.NewGuid()));

        var plan = ShutdownPlanner.Stages(run, options, retries: 1);

        // The inventory did not name vCenter's host: its VM still goes last, and there is nothing to finish through ESXi.
        Assert.Equal(["default", "apps", "databases", "infrastructure", "vcenter", "maintenance", "host-shutdown"], plan.Stages.Select(s => s.Name));
        Assert.Equal(["app-1", "app-2"], plan.Stages[1].Steps.Select(s => s.Name));
        Assert.Empty(plan.Stages[5].Steps[0].Parameters);
    }

    /// <summary>The run asks exactly the plan's steps, stage after stage (the same walk <see cref="RealClusterPolicyUnitTests"/> makes).</summary>
    [Fact]
    public void A_run_asks_the_plans_steps_in_the_plans_order()
    {
        var (run, options) = Planned(RealCluster(Guid.NewGuid()));
        var plan = ShutdownPlanner.Stages(run, options, retries: 1);

        var asked = new List<string>();
        var progress = ShutdownPolicy.Start(run, options, T0);
        while (!progress.IsEmpty)
        {
            asked.AddRange(progress.VmShutdowns.Select(v => $"{StepKind.VmShutdown}:{v.Name}"));
            asked.AddRange(progress.ClusterSteps.Select(s => $"{StepKinds.FromName(s.Kind)}:{run.Cluster}"));
            asked.AddRange(progress.Maintenance.Select(h => $"{StepKind.HostMaintenance}:{h.Name}"));
            asked.AddRange(progress.HostShutdowns.Select(h => $"{StepKind.HostShutdown}:{h.Name}"));
            asked.AddRange(progress.EsxiShutdowns.Select(h => $"{StepKind.EsxiHostShutdown}:{h.Name}"));
            foreach (var vm in progress.VmShutdowns)
                ShutdownPolicy.RecordVm(run, new VmShutDown(run.RunId, run.Cluster, vm.Id, vm.Name, VmShutdownOutcome.Graceful, null, T0), 1, T0);
            foreach (var step in progress.ClusterSteps)
                ShutdownPolicy.RecordClusterStep(run, step.Kind, true, RunOutcome.Done, "", 1, T0);
            foreach (var host in progress.Maintenance)
                ShutdownPolicy.RecordMaintenance(run, new HostEnteredMaintenance(run.RunId, run.Cluster, host.Name, StepOutcome.Done, null, T0), 1, T0);
            foreach (var host in progress.HostShutdowns)
                ShutdownPolicy.RecordHostShutdown(run, new HostPoweredOff(run.RunId, run.Cluster, host.Name, StepOutcome.Done, null, T0), 1, T0);
            foreach (var host in progress.EsxiShutdowns)
                ShutdownPolicy.RecordEsxiHostShutdown(run, new EsxiHostPoweredOff(run.RunId, run.Cluster, host.Name, StepOutcome.Done, true, true, null, T0), 1, T0);
            progress = PlanWalker.Advance(run, options, T0);
        }

        Assert.Equal(plan.Steps.Where(s => s.NotAsked is null).Select(s => $"{s.Kind}:{s.Name}"), asked);
        Assert.NotNull(run.CompletedAt);
    }

    /// <summary>The drill walks the same plan: every step of it asked (recorded, never sent), or recorded as planned not to be.</summary>
    [Fact]
    public void A_drill_walks_the_plan()
    {
        var inventory = RealCluster(Guid.NewGuid());
        var (planned, options) = Planned(inventory);
        var plan = ShutdownPlanner.Stages(planned, options, retries: 1);
        var drill = ShutdownPlanner.Plan(options, inventory, inventory.RunId, "room-a", dryRun: true);

        Assert.True(ShutdownPolicy.Start(drill, options, T0).IsEmpty);

        // Within a stage, what is planned not to be asked is recorded as the stage starts, before the first ask.
        var expected = plan.Stages.SelectMany(stage =>
            stage.Steps.Where(s => s.NotAsked is not null).Select(s => $"{s.Kind.Name()} {s.Name} {s.NotAsked!.Value.Outcome}")
                .Concat(stage.Steps.Where(s => s.NotAsked is null).Select(s => $"{s.Kind.Name()} {s.Name} {RunOutcome.Requested}")));
        Assert.Equal(expected, drill.Journal
            .Where(e => e.Outcome is RunOutcome.Requested or RunOutcome.Skipped or RunOutcome.Deferred && e.Step != ShutdownPolicy.InventoryStep)
            .Select(e => $"{e.Step} {e.Target} {e.Outcome}"));
        Assert.NotNull(drill.CompletedAt);
    }

    [Fact]
    public void The_power_on_plan_is_the_hosts_vcenter_the_reconnect_the_maintenance_exit_the_tiers_reversed_then_the_cluster_settings()
    {
        var (run, options) = Planned(RealCluster(Guid.NewGuid()));

        var plan = RestorePlanner.Stages(run, options, retries: 1);

        Assert.Equal(
        [
            "HostPowerOn host-power-on: HostPowerOn:esx-01, HostPowerOn:esx-02, HostPowerOn:esx-03",
            "VCenterStart vcenter-start: VCenterStart:esx-02",
            "HostReconnect host-reconnect: HostReconnect:esx-01, HostReconnect:esx-02, HostReconnect:esx-03",
            "ExitMaintenance host-exit-maintenance: HostExitMaintenance:esx-01, HostExitMaintenance:esx-02, HostExitMaintenance:esx-03",
            "VmPowerOn vcenter: VmPowerOn:vcsa",
            "VmPowerOn apps: VmPowerOn:app-1, VmPowerOn:app-2",
            "ClusterRestore cluster-restore: HaDrsRestore:cluster1, VclsRestore:cluster1",
        ], Describe(plan));
        var hosts = plan.Stages[0];
        Assert.Equal(options.PowerOnStagger, hosts.Stagger);
        Assert.Equal(options.PowerOnStagger * 2 + options.HostPowerOnDeadline, hosts.Deadline);
        Assert.Equal([RunOutcome.PoweredOn, RunOutcome.AlreadyOn, RunOutcome.WakeOnLanSent], hosts.DoneWhen);
        Assert.Equal("vcsa", plan.Stages[1].Steps[0].Parameters["vm"]);
        Assert.Equal(options.ReconnectPollInterval, plan.Stages[2].PollInterval);
        Assert.Equal((options.PowerOnTierDeadline, options.MaxParallelPerTier), (plan.Stages[5].Deadline, plan.Stages[5].MaxParallel));
    }

    [Fact]
    public void The_power_on_plan_leaves_off_what_was_off_and_in_maintenance_what_was_in_it()
    {
        var runId = Guid.NewGuid();
        var (run, options) = Planned(Inventories.Mixed(runId) with
        {
            Hosts = [Inventories.Host("esx-01"), Inventories.Host("esx-02") with { InMaintenanceMode = true }, Inventories.Host("esx-03", on: false)],
        });

        var plan = RestorePlanner.Stages(run, options, retries: 1);

        Assert.Equal(["esx-01", "esx-02"], plan.Stages[0].Steps.Select(s => s.Name));
        var exit = Assert.Single(plan.Stages, s => s.Phase == RunPhase.ExitMaintenance);
        Assert.Equal([null, RunOutcome.Skipped], exit.Steps.Select(s => s.NotAsked?.Outcome));
        Assert.Equal(["vcenter", "infrastructure", "databases", "apps", "default"], plan.Stages.Where(s => s.Phase == RunPhase.VmPowerOn).Select(s => s.Name));
        Assert.DoesNotContain(plan.Steps, s => s.Name == "old");
        Assert.DoesNotContain(plan.Stages, s => s.Phase is RunPhase.VCenterStart or RunPhase.ClusterRestore);
    }

    [Fact]
    public void The_worst_case_is_each_stage_to_its_deadline_or_a_tiers_batches_of_guest_timeouts()
    {
        var (run, options) = Planned(RealCluster(Guid.NewGuid()));

        // apps: 2 VMs, 2 at once: one guest timeout (30 s); two cluster stages; maintenance, hosts; vCenter's tier; its host.
        Assert.Equal(TimeSpan.FromSeconds(30) + options.ClusterStepDeadline * 2 + options.MaintenanceDeadline + options.HostShutdownDeadline
                     + TimeSpan.FromSeconds(30) + options.EsxiHostShutdownDeadline,
            ShutdownPlanner.WorstCaseDuration(run, options));
    }

    /// <summary>One command per kind of step, whichever direction asks it: the saga sends both plans' steps the same way.</summary>
    [Fact]
    public void Every_kind_of_step_has_its_one_command()
    {
        var (run, _) = Planned(RealCluster(Guid.NewGuid()));
        var expected = new Dictionary<StepKind, Type>
        {
            [StepKind.VmShutdown] = typeof(VmShutdownRequested), [StepKind.VclsRetreat] = typeof(VclsRetreatRequested),
            [StepKind.HaDrsDisable] = typeof(ClusterHaDrsDisableRequested), [StepKind.VsanResync] = typeof(VsanResyncCheckRequested),
            [StepKind.HostMaintenance] = typeof(HostMaintenanceRequested), [StepKind.HostShutdown] = typeof(HostShutdownRequested),
            [StepKind.EsxiHostShutdown] = typeof(EsxiHostShutdownRequested), [StepKind.HostPowerOn] = typeof(PowerOnRequested),
            [StepKind.VCenterStart] = typeof(VCenterStartRequested), [StepKind.HostReconnect] = typeof(ClusterInventoryRequested),
            [StepKind.HostExitMaintenance] = typeof(HostExitMaintenanceRequested), [StepKind.VmPowerOn] = typeof(VmPowerOnRequested),
            [StepKind.HaDrsRestore] = typeof(ClusterHaDrsRestoreRequested), [StepKind.VclsRestore] = typeof(VclsRestoreRequested),
            [StepKind.VsanClusterPowerOff] = typeof(VsanClusterPowerRequested), [StepKind.VsanClusterPowerOn] = typeof(VsanClusterPowerRequested),
        };
        Assert.Equal(Enum.GetValues<StepKind>(), expected.Keys.Order());

        foreach (var (kind, type) in expected)
        {
            var command = StepCommands.For(run, new RunStep(kind, "t", "n", new Dictionary<string, string> { ["guestShutdownTimeout"] = "00:00:30" }));
            Assert.IsType(type, command);
            Assert.Equal(kind, StepKinds.FromName(kind.Name()));
        }
    }

    [Fact]
    public void What_a_policy_asks_goes_out_as_the_plans_steps_with_their_parameters()
    {
        var (run, options) = Planned(RealCluster(Guid.NewGuid()));
        var vm = run.Tiers[0].Vms[0];
        vm.HardPowerOff = true;

        var steps = new Asks
        {
            VmShutdowns = [vm, run.Tiers[0].Vms[1]], Maintenance = [run.Hosts[0]], EsxiShutdowns = [run.Hosts[1]],
            ClusterSteps = [run.Restore.VCenterStart!],
        }.Steps(run, options).ToList();

        var commands = steps.Select(s => StepCommands.For(run, s)).ToList();
        Assert.Equal([TimeSpan.Zero, options.GuestShutdownTimeout], commands.OfType<VmShutdownRequested>().Select(c => c.GuestShutdownTimeout));
        Assert.Equal("noAction", Assert.Single(commands.OfType<HostMaintenanceRequested>()).VsanObjectAction);
        Assert.True(Assert.Single(commands.OfType<EsxiHostShutdownRequested>()).Vsan);
        var start = Assert.Single(commands.OfType<VCenterStartRequested>());
        Assert.Equal(("esx-02", "vcsa"), (start.Host, start.VmName));
        Assert.Equal([StepKind.VmShutdown, StepKind.VmShutdown, StepKind.VCenterStart, StepKind.HostMaintenance, StepKind.EsxiHostShutdown], steps.Select(s => s.Kind));
    }

    /// <summary>vSAN's cluster power API (issue 12) in the plan: one stage after the resync wait, its own deadline, never asked twice; its power-on before the exits.</summary>
    [Fact]
    public void With_vsans_cluster_power_api_the_plans_have_its_stages()
    {
        var (run, options) = Planned(RealCluster(Guid.NewGuid()), o => o.UseVsanClusterPowerApi = "always");

        var shutdown = ShutdownPlanner.Stages(run, options, retries: 1);
        var powerOn = RestorePlanner.Stages(run, options, retries: 1);

        var vsan = Assert.Single(shutdown.Stages, s => s.Steps.Any(st => st.Kind == StepKind.VsanClusterPowerOff));
        Assert.Equal(("cluster-prepare-2", options.VsanClusterPowerDeadline, 0), (vsan.Name, vsan.Deadline, vsan.Retries));
        Assert.Equal(["apps", "cluster-prepare-0", "cluster-prepare-1", "cluster-prepare-2", "maintenance", "host-shutdown", "vcenter", "vcenter-host"],
            shutdown.Stages.Select(s => s.Name));
        Assert.Equal(["host-power-on", "vcenter-start", "host-reconnect", "vsan-cluster-power-on", "host-exit-maintenance", "vcenter", "apps", "cluster-restore"],
            powerOn.Stages.Select(s => s.Name));
        Assert.IsType<VsanClusterPowerRequested>(StepCommands.For(run, vsan.Steps[0]));
        Assert.Equal("vcsa", shutdown.Stages[^1].Steps[0].Parameters["vcenterVm"]);
    }
}
