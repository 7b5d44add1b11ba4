using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Contracts;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>Plain test data: clusters and inventories as the actuator reports them.</summary>
static class Inventories
{
    public static ClusterOptions Cluster(Action<ClusterOptions>? configure = null)
    {
        var options = new ClusterOptions
        {
            Name = "cluster1",
            Zone = "room-a",
            Tiers =
            [
                new TierOptions { Name = "apps", VmNamePatterns = ["^app-"] },
                new TierOptions { Name = "databases", VmNamePatterns = ["^db-"], Folders = ["databases"] },
            ],
            InfrastructureVmPatterns = ["^dns-", "^storage-"],
            MaxParallelPerTier = 2,
            GuestShutdownTimeout = TimeSpan.FromSeconds(30),
            TierDeadline = TimeSpan.FromSeconds(60),
            MaintenanceDeadline = TimeSpan.FromSeconds(60),
            HostShutdownDeadline = TimeSpan.FromSeconds(60),
            InventoryDeadline = TimeSpan.FromSeconds(10),
        };
        configure?.Invoke(options);
        return options;
    }

    public static VmInventory Vm(string name, string host = "esx-01", bool on = true, bool tools = true, string folder = "dc1/vm", bool vcenter = false) =>
        new($"id-{name}", name, on ? "poweredOn" : "poweredOff", tools, host, folder, vcenter);

    public static HostInventory Host(string name, bool on = true) =>
        new($"id-{name}", name, on ? "connected" : "notResponding", on ? "poweredOn" : "poweredOff", false);

    public static ClusterInventoryCaptured Inventory(Guid runId, IReadOnlyList<VmInventory> vms, params HostInventory[] hosts) =>
        new(runId, "cluster1", hosts.Length == 0 ? [Host("esx-01"), Host("esx-02")] : hosts, vms, DateTimeOffset.UtcNow);

    /// <summary>Two apps, two databases (one by folder), one other VM (default tier), DNS (infrastructure), vCenter, one VM already off.</summary>
    public static ClusterInventoryCaptured Mixed(Guid runId) => Inventory(runId,
    [
        Vm("vcsa", vcenter: true),
        Vm("dns-1", "esx-02"),
        Vm("db-1"),
        Vm("reporting", folder: "dc1/vm/databases"),
        Vm("app-2", "esx-02"),
        Vm("app-1"),
        Vm("misc"),
        Vm("old", on: false),
    ]);
}
