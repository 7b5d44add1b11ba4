namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>What a power-on must bring back: a pure function of the shutdown run(s) and the configuration.</summary>
public static class RestorePlanner
{
    /// <summary>
    /// The part of <paramref name="previous"/>'s restore set that is still owed: all of it when that run was never
    /// restored (the cluster stayed off, or its power-on was interrupted by a new alarm), nothing once it was.
    /// Statuses start afresh.
    /// </summary>
    public static RestoreRun CarryOver(PowerRun? previous)
    {
        if (previous is null || previous.DryRun || (previous.Restore.CompletedAt is not null && !previous.Restore.Interrupted))
            return new RestoreRun();
        return new RestoreRun
        {
            HaDrs = previous.Restore.HaDrs,
            RestoreVcls = previous.Restore.RestoreVcls,
            VclsValue = previous.Restore.VclsValue,
            VCenterVm = previous.Restore.VCenterVm,
            VCenterHost = previous.Restore.VCenterHost,
            VsanClusterPowerOn = VsanClusterPowerSteps.CarryOver(previous),
            Hosts = previous.Restore.Hosts.Select(h => new RestoreHost { Name = h.Name, WasInMaintenance = h.WasInMaintenance }).ToList(),
            Tiers = previous.Restore.Tiers.Select(t => new RestoreTier
            {
                Name = t.Name,
                Vms = t.Vms.Select(v => new RestoreVm { Id = v.Id, Name = v.Name, Host = v.Host, IsVCenter = v.IsVCenter }).ToList(),
            }).ToList(),
        };
    }

    /// <summary>
    /// The hosts that were on and the VMs that were running when <paramref name="run"/>'s inventory was read, joined
    /// with <paramref name="carried"/> (by host name and VM id; the earlier record of a host's maintenance mode wins),
    /// tiers in reverse shutdown order: vCenter's own VM first, then infrastructure, the configured tiers backwards, default.
    /// </summary>
    public static RestoreRun Plan(ClusterOptions options, PowerRun run, RestoreRun carried)
    {
        var hosts = carried.Hosts.Select(h => new RestoreHost { Name = h.Name, WasInMaintenance = h.WasInMaintenance }).ToList();
        foreach (var host in run.Hosts.Where(h => h.WasPoweredOn))
        {
            if (!hosts.Any(h => string.Equals(h.Name, host.Name, StringComparison.OrdinalIgnoreCase)))
                hosts.Add(new RestoreHost { Name = host.Name, WasInMaintenance = host.WasInMaintenance });
        }

        var tierOf = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var vms = new Dictionary<string, RestoreVm>(StringComparer.Ordinal);
        foreach (var tier in carried.Tiers)
        {
            foreach (var vm in tier.Vms)
            {
                tierOf[vm.Id] = tier.Name;
                vms[vm.Id] = new RestoreVm { Id = vm.Id, Name = vm.Name, Host = vm.Host, IsVCenter = vm.IsVCenter };
            }
        }
        foreach (var tier in run.Tiers)
        {
            foreach (var vm in tier.Vms.Where(v => !vms.ContainsKey(v.Id)))
            {
                tierOf[vm.Id] = tier.Name;
                vms[vm.Id] = new RestoreVm { Id = vm.Id, Name = vm.Name, Host = vm.Host, IsVCenter = vm.IsVCenter };
            }
        }

        // Tiers carried from a run planned under another configuration keep their place after the known ones.
        var order = ShutdownPlanner.TierOrder(options).Reverse()
            .Concat(tierOf.Values.Distinct(StringComparer.OrdinalIgnoreCase))
            .Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (order.Remove(ShutdownPlanner.VCenterTier))
            order.Insert(0, ShutdownPlanner.VCenterTier);

        // The settings to put back are the first ones recorded: a run on a cluster a previous run left changed reads the changed values.
        var haDrs = carried.HaDrs ?? (run.ClusterSteps.Any(st => st.Kind == ClusterStep.HaDrsDisable) ? run.Settings?.HaDrs : null);
        var restoreVcls = carried.RestoreVcls || run.ClusterSteps.Any(st => st.Kind == ClusterStep.VclsRetreat);
        var vclsValue = carried.RestoreVcls ? carried.VclsValue : run.Settings?.VclsEnabledSetting;
        var vcenterHost = run.VCenterHost ?? carried.VCenterHost;
        var clusterSteps = new List<ClusterStep>();
        if (haDrs is not null)
            clusterSteps.Add(new ClusterStep { Kind = ClusterStep.HaDrsRestore });
        if (restoreVcls)
            clusterSteps.Add(new ClusterStep { Kind = ClusterStep.VclsRestore });

        return new RestoreRun
        {
            HaDrs = haDrs,
            RestoreVcls = restoreVcls,
            VclsValue = vclsValue,
            VCenterVm = run.VCenterVm ?? carried.VCenterVm,
            VCenterHost = vcenterHost,
            VCenterStart = vcenterHost is null ? null : new ClusterStep { Kind = ClusterStep.VCenterStart },
            VsanClusterPowerOn = VsanClusterPowerSteps.PlanPowerOn(run, carried),
            ClusterSteps = clusterSteps,
            Hosts = hosts.OrderBy(h => h.Name, StringComparer.Ordinal).ToList(),
            Tiers = order
                .Select(name => new RestoreTier
                {
                    Name = name,
                    Vms = vms.Values.Where(v => string.Equals(tierOf[v.Id], name, StringComparison.OrdinalIgnoreCase))
                        .OrderBy(v => v.Name, StringComparer.Ordinal).ToList(),
                })
                .Where(t => t.Vms.Count > 0).ToList(),
        };
    }

    /// <summary>What counts as a host powered on: the BMC switched it on, it was on, or a Wake-on-LAN packet went out (vCenter seeing it is the proof).</summary>
    public static readonly IReadOnlyList<RunOutcome> HostOn = [RunOutcome.PoweredOn, RunOutcome.AlreadyOn, RunOutcome.WakeOnLanSent];

    /// <summary>
    /// The power-on as a plan, from what the shutdown recorded (<see cref="PowerRun.Restore"/>) and the configuration: hosts on
    /// through their BMCs (staggered), vCenter's VM started through its host's ESXi API, every host reconnected in vCenter (by
    /// polling the inventory), out of maintenance mode unless it was in it before, the VMs that ran, tier by tier in reverse,
    /// then HA/DRS and vCLS put back. Pure: the same run and configuration give the same plan.
    /// </summary>
    public static PowerPlan Stages(PowerRun run, ClusterOptions options, int retries)
    {
        var restore = run.Restore;
        var stages = new List<RunStage>();
        if (restore.Hosts.Count > 0)
            stages.Add(new RunStage(RunPhase.HostPowerOn, "host-power-on", [.. restore.Hosts.Select(h => new RunStep(StepKind.HostPowerOn, h.Name, h.Name))],
                options.PowerOnStagger * Math.Max(0, restore.Hosts.Count - 1) + options.HostPowerOnDeadline, 0, retries, HostOn)
            {
                Stagger = options.PowerOnStagger,
            });
        if (restore.VCenterStart is not null)
            stages.Add(new RunStage(RunPhase.VCenterStart, "vcenter-start",
                [new RunStep(StepKind.VCenterStart, restore.VCenterHost ?? run.Cluster, restore.VCenterHost ?? run.Cluster,
                    new Dictionary<string, string> { ["vm"] = restore.VCenterVm ?? "" })],
                options.VCenterStartDeadline, 0, retries, ShutdownPlanner.StepDone));
        if (restore.Hosts.Count > 0)
        {
            stages.Add(new RunStage(RunPhase.HostReconnect, "host-reconnect", [.. restore.Hosts.Select(h => new RunStep(StepKind.HostReconnect, h.Name, h.Name))],
                options.HostReconnectDeadline, 0, 0, [RunOutcome.Connected])
            {
                PollInterval = options.ReconnectPollInterval,
            });
            // vSAN's cluster power-on, when its power-off ran, takes the hosts out of maintenance mode; the exits are its fallback.
            if (restore.VsanClusterPowerOn is not null)
                stages.Add(new RunStage(RunPhase.ExitMaintenance, "vsan-cluster-power-on", [new RunStep(StepKind.VsanClusterPowerOn, run.Cluster, run.Cluster)],
                    options.VsanClusterPowerDeadline, 0, 0, ShutdownPlanner.StepDone));
            stages.Add(new RunStage(RunPhase.ExitMaintenance, "host-exit-maintenance",
                [.. restore.Hosts.Select(h => new RunStep(StepKind.HostExitMaintenance, h.Name, h.Name)
                {
                    NotAsked = h.WasInMaintenance ? (RunOutcome.Skipped, "it was in maintenance mode before the shutdown: left in it") : null,
                })],
                options.ExitMaintenanceDeadline, 0, retries, ShutdownPlanner.StepDone));
        }
        stages.AddRange(restore.Tiers.Select(t => new RunStage(RunPhase.VmPowerOn, t.Name,
            [.. t.Vms.Select(v => new RunStep(StepKind.VmPowerOn, v.Id, v.Name, new Dictionary<string, string> { ["host"] = v.Host }))],
            options.PowerOnTierDeadline, options.MaxParallelPerTier, retries, ShutdownPlanner.StepDone)));
        if (restore.ClusterSteps.Count > 0)
            stages.Add(new RunStage(RunPhase.ClusterRestore, "cluster-restore",
                [.. restore.ClusterSteps.Select(st => new RunStep(StepKinds.FromName(st.Kind), run.Cluster, run.Cluster))],
                options.ClusterStepDeadline, 0, retries, ShutdownPlanner.StepDone));
        return new PowerPlan(stages);
    }
}
