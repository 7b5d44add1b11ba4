using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// The plan as the ordered stages of both directions, for people: the shutdown (tenant tiers, the cluster changes, the
/// hosts without vCenter, vCenter's VM, its host through its own ESXi API) and the power-on (BMCs, vCenter started on its
/// host, maintenance left, VMs by tier, the changes put back). Pure: from the planners' output and the deadlines.
/// Each stage's <see cref="PlanStage.Kind"/> is the step kind the run's events name, so measured durations can be laid on it.
/// </summary>
public static class PlanStages
{
    public const string Shutdown = "shutdown";
    public const string PowerOn = "power-on";
    const int TargetsShown = 20;

    public static IReadOnlyList<PlanStage> Of(ClusterOptions cluster, PowerRun plan, RestoreRun restore)
    {
        var stages = new List<PlanStage>();
        void Add(string direction, string kind, string name, string does, IReadOnlyCollection<string> targets, TimeSpan? deadline)
        {
            if (targets.Count == 0)
                return;
            stages.Add(new PlanStage(direction, stages.Count(s => s.Direction == direction) + 1, kind, name, does, targets.Count,
                [.. targets.Take(TargetsShown)], deadline));
        }

        var vcenterVm = plan.AllVms.FirstOrDefault(v => v.IsVCenter);
        foreach (var tier in plan.Tiers.Where(t => !t.Vms.Any(v => v.IsVCenter)))
        {
            var withoutTools = tier.Vms.Count(v => !v.ToolsRunning);
            Add(Shutdown, "vm-shutdown", $"tier {tier.Name}",
                $"guest shutdown, {cluster.MaxParallelPerTier} at a time, each within {cluster.GuestShutdownTimeout}, then powered off hard" +
                (withoutTools > 0 ? $"; {withoutTools} without VMware Tools are powered off hard at once" : ""),
                [.. tier.Vms.Select(v => v.Name)], cluster.TierDeadline);
        }
        foreach (var group in plan.ClusterSteps.GroupBy(s => s.Stage).OrderBy(g => g.Key))
            Add(Shutdown, "cluster-prepare", string.Join(", ", group.Select(s => Label(s.Kind))),
                string.Join("; ", group.Select(s => ShutdownPolicy.Describe(s.Kind, plan.Settings))), [.. group.Select(s => s.Kind)],
                VsanClusterPowerSteps.StageDeadline(group, cluster));
        // With vSAN's cluster power API the per-host stages below run only if vSAN's power-off does not finish.
        var fallback = plan.ClusterSteps.Any(st => st.Kind == VsanClusterPowerSteps.PowerOff) ? "only if vSAN's cluster power-off does not finish: " : "";
        var throughVCenter = plan.Hosts.Where(h => h.WasPoweredOn && !h.ViaEsxi).Select(h => h.Name).ToList();
        Add(Shutdown, "host-maintenance", "hosts into maintenance mode",
            fallback + "through vCenter, all at once" + (plan.Settings?.VsanEnabled == true ? ", vSAN objectAction noAction" : ""), throughVCenter, cluster.MaintenanceDeadline);
        Add(Shutdown, "host-shutdown", "hosts powered off", fallback + "through vCenter (ShutdownHost_Task)", throughVCenter, cluster.HostShutdownDeadline);
        if (vcenterVm is not null)
            Add(Shutdown, "vm-shutdown", $"vCenter's VM {vcenterVm.Name}",
                fallback + $"guest shutdown last{(cluster.VCenterHardPowerOff ? ", powered off hard at its tier's deadline" : ", never powered off hard")}; vCenter is gone after it",
                [vcenterVm.Name], cluster.TierDeadline);
        var viaEsxi = plan.Hosts.Where(h => h.WasPoweredOn && h.ViaEsxi).Select(h => h.Name).ToList();
        Add(Shutdown, "host-shutdown", $"{string.Join(", ", viaEsxi)} through its own ESXi API",
            fallback + "maintenance mode where possible, then ShutdownHost_Task, logged in to the host itself", viaEsxi, cluster.EsxiHostShutdownDeadline);

        var hosts = restore.Hosts.Select(h => h.Name).ToList();
        Add(PowerOn, "host-power-on", "hosts on through their BMCs",
            "Redfish power on (Wake-on-LAN where configured)" + (cluster.PowerOnStagger > TimeSpan.Zero ? $", {cluster.PowerOnStagger} apart" : "") +
            $"; then waits up to {cluster.HostReconnectDeadline} for vCenter to see them", hosts, cluster.HostPowerOnDeadline);
        if (restore.VCenterStart is not null && restore.VCenterVm is { } vm && restore.VCenterHost is { } vh)
            Add(PowerOn, "vcenter-start", $"vCenter's VM {vm} on {vh}",
                $"{vh} leaves maintenance mode and powers {vm} on through its own ESXi API (not autostart); vCenter must answer and see the hosts",
                [vm], cluster.VCenterStartDeadline);
        if (restore.VsanClusterPowerOn is not null)
            Add(PowerOn, VsanClusterPowerSteps.PowerOn, Label(VsanClusterPowerSteps.PowerOn),
                VsanClusterPowerSteps.Describe(VsanClusterPowerSteps.PowerOn) ?? "", [cluster.Name], cluster.VsanClusterPowerDeadline);
        Add(PowerOn, "host-exit-maintenance", "hosts out of maintenance mode",
            (restore.VsanClusterPowerOn is not null ? "only if vSAN's cluster power-on does not finish: " : "") + "all of them before any VM is started",
            [.. restore.Hosts.Where(h => !h.WasInMaintenance).Select(h => h.Name)], cluster.ExitMaintenanceDeadline);
        foreach (var tier in restore.Tiers)
        {
            var vms = tier.Vms.Where(v => !(v.IsVCenter && restore.VCenterStart is not null)).Select(v => v.Name).ToList();
            Add(PowerOn, "vm-power-on", $"tier {tier.Name}", "the VMs that ran before, powered on", vms, cluster.PowerOnTierDeadline);
        }
        Add(PowerOn, "cluster-restore", string.Join(", ", restore.ClusterSteps.Select(s => Label(s.Kind))),
            "the recorded settings put back after the VMs are on", [.. restore.ClusterSteps.Select(s => s.Kind)], cluster.ClusterStepDeadline);
        return stages;
    }

    static string Label(string kind) => kind switch
    {
        ClusterStep.VclsRetreat => "vCLS retreat",
        ClusterStep.HaDrsDisable => "HA off, DRS manual",
        ClusterStep.VsanResync => "vSAN resync check",
        ClusterStep.HaDrsRestore => "HA/DRS restore",
        ClusterStep.VclsRestore => "vCLS restore",
        VsanClusterPowerSteps.PowerOff => "vSAN cluster power-off",
        VsanClusterPowerSteps.PowerOn => "vSAN cluster power-on",
        _ => kind,
    };

    /// <summary>The preview as the bus answer to <see cref="ClusterPlanPreviewRequested"/>.</summary>
    public static ClusterPlanPreviewed ToMessage(PlanPreviewResult preview) => new(
        preview.Cluster, preview.Zone, preview.InventoryCapturedAt, preview.DryRun, preview.Stages,
        preview.VCenter is { } v ? new PlanVCenter(v.Vm, v.Host, v.LockdownMode, v.EsxiLogin, v.Shutdown, v.PowerOn) : null,
        [.. preview.ClusterChanges.Select(c => new PlanChange(c.Step, c.Change))], preview.Restores,
        [.. preview.VCenterWarning is { } w ? [w] : Array.Empty<string>(), .. preview.Problems], preview.HostsAlreadyOff, preview.VmsAlreadyOff.Count,
        preview.WorstCaseDuration);
}
