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

        return new PowerRun
        {
            Settings = inventory.Settings,
            VCenterVm = byTier.TryGetValue(VCenterTier, out var vcenterVms) ? vcenterVms[0].Name : null,
            VCenterHost = vcenterHost,
            ClusterSteps = [.. ClusterSteps(inventory.Settings), .. VsanClusterPowerSteps.Plan(options, inventory.Settings)],
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

    /// <summary>The worst case: every tier runs to its deadline or its batches' guest timeouts, every host step to its deadline.</summary>
    public static TimeSpan WorstCaseDuration(PowerRun plan, ClusterOptions options)
    {
        var total = TimeSpan.Zero;
        foreach (var tier in plan.Tiers)
        {
            var batches = (tier.Vms.Count + options.MaxParallelPerTier - 1) / options.MaxParallelPerTier;
            var guest = options.GuestShutdownTimeout * batches;
            total += guest < options.TierDeadline ? guest : options.TierDeadline;
        }
        if (plan.ClusterSteps.Count > 0)
            total += options.ClusterStepDeadline * (plan.ClusterSteps.Max(s => s.Stage) + 1);
        if (plan.Hosts.Any(h => h.WasPoweredOn && !h.ViaEsxi))
            total += options.MaintenanceDeadline + options.HostShutdownDeadline;
        if (plan.Hosts.Any(h => h.WasPoweredOn && h.ViaEsxi))
            total += options.EsxiHostShutdownDeadline;
        return total;
    }

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
