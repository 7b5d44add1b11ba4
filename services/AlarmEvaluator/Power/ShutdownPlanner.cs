using System.Text.RegularExpressions;
using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>Turns a cluster's inventory into the ordered shutdown plan: a pure function of configuration and inventory.</summary>
public static class ShutdownPlanner
{
    public const string ImplicitDefaultTier = "default";
    public const string InfrastructureTier = "infrastructure";
    public const string VCenterTier = "vcenter";

    /// <summary>
    /// Tiers in order: the implicit default tier (when no tier is named default), the configured tiers, the
    /// infrastructure VMs, and vCenter's own VM alone at the very end. Only powered-on VMs are planned; empty
    /// tiers are left out. Hosts in name order.
    /// </summary>
    public static PowerRun Plan(ClusterOptions options, ClusterInventoryCaptured inventory, Guid runId, string zone, bool dryRun)
    {
        var infrastructure = options.InfrastructureVmPatterns.Select(Pattern).ToList();
        var tiers = options.Tiers.Select(t => (Options: t, Patterns: t.VmNamePatterns.Select(Pattern).ToList())).ToList();
        var byTier = new Dictionary<string, List<VmRun>>(StringComparer.OrdinalIgnoreCase);
        var alreadyOff = new List<string>();

        foreach (var vm in inventory.Vms.OrderBy(v => v.Name, StringComparer.Ordinal))
        {
            // vCenter's agent owns vCLS VMs: retreat mode removes them, and they are never shut down or restored by a run.
            if (vm.IsVcls)
                continue;
            if (!string.Equals(vm.PowerState, "poweredOn", StringComparison.OrdinalIgnoreCase))
            {
                alreadyOff.Add(vm.Name);
                continue;
            }

            var tier = vm.IsVCenter ? VCenterTier
                : infrastructure.Any(p => p.IsMatch(vm.Name)) ? InfrastructureTier
                : tiers.FirstOrDefault(t => t.Patterns.Any(p => p.IsMatch(vm.Name)) || t.Options.Folders.Any(f => InFolder(vm.Folder, f))).Options?.Name
                  ?? (options.DefaultTier.Length > 0 ? tiers.First(t => string.Equals(t.Options.Name, options.DefaultTier, StringComparison.OrdinalIgnoreCase)).Options.Name : ImplicitDefaultTier);

            if (!byTier.TryGetValue(tier, out var list))
                byTier[tier] = list = [];
            list.Add(new VmRun
            {
                Id = vm.Id, Name = vm.Name, Host = vm.Host, Folder = vm.Folder, ToolsRunning = vm.ToolsRunning, IsVCenter = vm.IsVCenter,
            });
        }

        var order = TierOrder(options);
        // vCenter's VM runs here: its host is finished through its own ESXi API once that VM is off (vCenter cannot do it then).
        var vcenterHost = byTier.ContainsKey(VCenterTier) && !string.IsNullOrEmpty(inventory.VCenterHost) ? inventory.VCenterHost : null;

        var vsanPath = VsanClusterPowerSteps.Decide(options, inventory.Settings, inventory.Hosts);
        return new PowerRun
        {
            Settings = inventory.Settings,
            VsanPowerPath = inventory.Settings?.VsanEnabled == true ? vsanPath.Reason : null,
            VCenterVm = byTier.TryGetValue(VCenterTier, out var vcenterVms) ? vcenterVms[0].Name : null,
            VCenterHost = vcenterHost,
            ClusterSteps = [.. ClusterSteps(inventory.Settings), .. VsanClusterPowerSteps.Plan(vsanPath)],
            RunId = runId,
            Cluster = options.Name,
            Zone = zone,
            DryRun = dryRun,
            Phase = RunPhase.VmTiers,
            Tiers = order.Where(byTier.ContainsKey).Select(name => new TierRun { Name = name, Vms = byTier[name] }).ToList(),
            Hosts = inventory.Hosts.OrderBy(h => h.Name, StringComparer.Ordinal).Select(h => new HostRun
            {
                Name = h.Name,
                WasPoweredOn = string.Equals(h.PowerState, "poweredOn", StringComparison.OrdinalIgnoreCase),
                WasInMaintenance = h.InMaintenanceMode,
                ViaEsxi = string.Equals(h.Name, vcenterHost, StringComparison.OrdinalIgnoreCase),
            }).ToList(),
            AlreadyOff = alreadyOff,
        };
    }

    /// <summary>
    /// The cluster-wide steps before the host steps, as data: vCLS retreat (only where vCLS VMs run) and HA off / DRS manual
    /// (only where either is on) first, then vSAN's resync check (only on vSAN). None when the inventory did not read the settings.
    /// </summary>
    public static List<ClusterStep> ClusterSteps(ClusterSettings? settings)
    {
        var steps = new List<ClusterStep>();
        if (settings is null)
            return steps;
        if (settings.HasVcls)
            steps.Add(new ClusterStep { Kind = ClusterStep.VclsRetreat, Stage = 0 });
        if (ChangesHaDrs(settings.HaDrs))
            steps.Add(new ClusterStep { Kind = ClusterStep.HaDrsDisable, Stage = 0 });
        if (settings.VsanEnabled)
            steps.Add(new ClusterStep { Kind = ClusterStep.VsanResync, Stage = 1 });
        return steps;
    }

    /// <summary>HA on or DRS automating: the run turns HA off and DRS to manual (and puts them back afterwards).</summary>
    public static bool ChangesHaDrs(ClusterHaDrsSettings haDrs) =>
        haDrs.HaEnabled || (haDrs.DrsEnabled && !string.Equals(haDrs.DrsBehavior, "manual", StringComparison.OrdinalIgnoreCase));

    /// <summary>Every tier name in shutdown order, whether or not it has VMs.</summary>
    public static IReadOnlyList<string> TierOrder(ClusterOptions options)
    {
        var order = new List<string>();
        if (options.DefaultTier.Length == 0)
            order.Add(ImplicitDefaultTier);
        order.AddRange(options.Tiers.Select(t => t.Name));
        order.Add(InfrastructureTier);
        order.Add(VCenterTier);
        return order;
    }

    /// <summary>What counts as a VM shut down: gracefully, forced off after the guest timeout (or without Tools), or off already.</summary>
    public static readonly IReadOnlyList<RunOutcome> VmOff = [RunOutcome.Graceful, RunOutcome.Forced, RunOutcome.AlreadyOff];

    /// <summary>What counts as a host or cluster step done: done now, or it was so already.</summary>
    public static readonly IReadOnlyList<RunOutcome> StepDone = [RunOutcome.Done, RunOutcome.AlreadyInState];

    /// <summary>vSAN's resync check is done whatever it found, except a failure: a resync still running is reported, and the run goes on.</summary>
    public static readonly IReadOnlyList<RunOutcome> ResyncChecked = [RunOutcome.Idle, RunOutcome.Finished, RunOutcome.StillResyncing, RunOutcome.NotVsan];

    /// <summary>
    /// The shutdown as a plan, from the run's inventory (<see cref="Plan"/>) and the configuration: the VM tiers in order
    /// (vCenter's own tier held back while its host is known), the cluster's preparation (vCLS retreat and HA/DRS together,
    /// then the vSAN resync check), every powered-on host into maintenance mode, then off; then vCenter's tier and its host
    /// through its own ESXi API. Pure: the same run and configuration give the same plan.
    /// </summary>
    public static PowerPlan Stages(PowerRun run, ClusterOptions options, int retries)
    {
        var stages = new List<RunStage>();
        var vcenterLast = run.VCenterHost is not null && run.Tiers.Count > 0 && run.Tiers[^1].Name == VCenterTier;
        var tenantTiers = vcenterLast ? run.Tiers.Take(run.Tiers.Count - 1) : run.Tiers;
        stages.AddRange(tenantTiers.Select(t => VmStage(t, options, retries)));

        var vsan = run.Settings?.VsanEnabled == true;
        foreach (var group in run.ClusterSteps.GroupBy(st => st.Stage).OrderBy(g => g.Key))
            stages.Add(new RunStage(RunPhase.ClusterPrepare, $"cluster-prepare-{group.Key}",
                [.. group.Select(st => new RunStep(StepKinds.FromName(st.Kind), run.Cluster, run.Cluster))], VsanClusterPowerSteps.StageDeadline(group, options), 0,
                // vSAN's cluster power-off is not asked twice (a workflow under way); a refusal falls back to the host stages.
                group.Any(st => st.Kind == VsanClusterPowerSteps.PowerOff) ? 0 : retries,
                group.All(st => st.Kind == ClusterStep.VsanResync) ? ResyncChecked : StepDone));

        var hosts = run.Hosts.Where(h => h.WasPoweredOn && !h.ViaEsxi).ToList();
        // Every host's maintenance step is recorded (asked, or why not) whenever the cluster has hosts, even if none is asked.
        if (run.Hosts.Count > 0)
        {
            var objectAction = new Dictionary<string, string>();
            if (vsan)
                objectAction["vsanObjectAction"] = "noAction";
            stages.Add(new RunStage(RunPhase.Maintenance, "maintenance",
                [.. run.Hosts.Select(h => new RunStep(StepKind.HostMaintenance, h.Name, h.Name, objectAction)
                {
                    NotAsked = !h.WasPoweredOn ? (RunOutcome.Skipped, "host was not powered on")
                        : h.ViaEsxi ? (RunOutcome.Deferred, "runs vCenter's VM: finished through its own ESXi API after that VM is off")
                        : null,
                })], options.MaintenanceDeadline, 0, retries, StepDone));
            stages.Add(new RunStage(RunPhase.HostShutdown, "host-shutdown",
                [.. hosts.Select(h => new RunStep(StepKind.HostShutdown, h.Name, h.Name))], options.HostShutdownDeadline, 0, retries, StepDone));
        }

        if (vcenterLast)
            stages.Add(VmStage(run.Tiers[^1], options, retries));
        var esxi = run.Hosts.Where(h => h.ViaEsxi && h.WasPoweredOn).ToList();
        if (esxi.Count > 0)
            stages.Add(new RunStage(RunPhase.VCenterHostShutdown, "vcenter-host",
                [.. esxi.Select(h => new RunStep(StepKind.EsxiHostShutdown, h.Name, h.Name, Asks.EsxiParameters(run)))],
                options.EsxiHostShutdownDeadline, 0, retries, StepDone));
        return new PowerPlan(stages);
    }

    static RunStage VmStage(TierRun tier, ClusterOptions options, int retries) =>
        new(RunPhase.VmTiers, tier.Name,
            [.. tier.Vms.Select(v => new RunStep(StepKind.VmShutdown, v.Id, v.Name, new Dictionary<string, string>
            {
                ["host"] = v.Host,
                // vCenter's own VM is powered off hard at its tier's deadline only when configured; every other VM is.
                ["guestShutdownTimeout"] = options.GuestShutdownTimeout.ToString("c"),
                ["hardPowerOffAtDeadline"] = !v.IsVCenter || options.VCenterHardPowerOff ? "true" : "false",
            }))],
            options.TierDeadline, options.MaxParallelPerTier, retries, VmOff);

    /// <summary>The worst case: every tier runs to its deadline or its batches' guest timeouts, every other stage to its deadline.</summary>
    public static TimeSpan WorstCaseDuration(PowerRun plan, ClusterOptions options) =>
        Stages(plan, options, retries: 0).WorstCase(options.GuestShutdownTimeout);

    static Regex Pattern(string pattern) =>
        new(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    /// <summary>A folder path (<c>dc1/vm/prod/db</c>) is in <paramref name="folder"/> if it is it, ends with it, or lies below it.</summary>
    public static bool InFolder(string path, string folder)
    {
        folder = folder.Trim('/');
        if (folder.Length == 0 || path.Length == 0)
            return false;
        var segments = "/" + path.Trim('/') + "/";
        return string.Equals(path.Trim('/'), folder, StringComparison.OrdinalIgnoreCase)
            || segments.Contains("/" + folder + "/", StringComparison.OrdinalIgnoreCase);
    }
}
