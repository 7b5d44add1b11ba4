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
}
