using PowerEvents.Contracts;

namespace PowerEvents.Console.Tests;

/// <summary>Plans as the AlarmEvaluator answers them, for the Console's side of the plan preview.</summary>
public static class Plans
{
    /// <summary>A typical small cluster: two tenant VMs, vCLS and HA/DRS, vCenter's VM vcsa on esx-p2 (finished through its ESXi API).</summary>
    public static ClusterPlanPreviewed Typical(string cluster, string zone)
    {
        var min = TimeSpan.FromMinutes(1);
        return new ClusterPlanPreviewed(cluster, zone, DateTimeOffset.UtcNow, false,
        [
            new PlanStage("shutdown", 1, "vm-shutdown", "tier apps", "guest shutdown, 8 at a time", 2, ["app-p1", "app-p2"], 12 * min),
            new PlanStage("shutdown", 2, "cluster-prepare", "vCLS retreat, HA off, DRS manual", "retreat mode; HA off and DRS manual", 2, ["vcls-retreat", "ha-drs-disable"], 15 * min),
            new PlanStage("shutdown", 3, "host-maintenance", "hosts into maintenance mode", "through vCenter", 1, ["esx-p1"], 12 * min),
            new PlanStage("shutdown", 4, "host-shutdown", "hosts powered off", "through vCenter (ShutdownHost_Task)", 1, ["esx-p1"], 12 * min),
            new PlanStage("shutdown", 5, "vm-shutdown", "vCenter's VM vcsa", "guest shutdown last", 1, ["vcsa"], 12 * min),
            new PlanStage("shutdown", 6, "host-shutdown", "esx-p2 through its own ESXi API", "maintenance mode where possible, then ShutdownHost_Task", 1, ["esx-p2"], 15 * min),
            new PlanStage("power-on", 1, "host-power-on", "hosts on through their BMCs", "Redfish power on", 2, ["esx-p1", "esx-p2"], 10 * min),
            new PlanStage("power-on", 2, "vcenter-start", "vCenter's VM vcsa on esx-p2", "powers vcsa on through esx-p2's own ESXi API", 1, ["vcsa"], 20 * min),
            new PlanStage("power-on", 3, "host-exit-maintenance", "hosts out of maintenance mode", "all of them before any VM is started", 2, ["esx-p1", "esx-p2"], 5 * min),
            new PlanStage("power-on", 4, "vm-power-on", "tier apps", "the VMs that ran before, powered on", 2, ["app-p1", "app-p2"], 5 * min),
            new PlanStage("power-on", 5, "cluster-restore", "HA/DRS restore, vCLS restore", "the recorded settings put back after the VMs are on", 2, ["ha-drs-restore", "vcls-restore"], 15 * min),
        ],
        new PlanVCenter("vcsa", "esx-p2", "lockdownDisabled", "Accepted", "the other hosts go into maintenance mode and off through vCenter first; then vcsa; then esx-p2 through its own ESXi API",
            "hosts on through their BMCs; esx-p2 powers vcsa on through its own ESXi API (not autostart)"),
        [new PlanChange("vcls-retreat", "vCLS retreat mode (config.vcls.clusters.domain-c7.enabled = false)"), new PlanChange("ha-drs-disable", "HA off and DRS manual (were HA on, DRS fullyAutomated)")],
        ["HA/DRS back to HA on, DRS fullyAutomated after the VMs are on", "vCLS setting back to true (it did not exist) after the VMs are on"],
        [], [], 1, 54 * min);
    }
}
