using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator;

/// <summary>The vCenter calls the steps are made of. Every method is one vSphere operation, followed to its end.</summary>
public interface IVCenterClient
{
    /// <summary>Hosts and VMs of a cluster (by name, or <c>datacenter/cluster</c>) in a constant number of round trips.</summary>
    Task<ClusterInventory> GetClusterInventoryAsync(string cluster, CancellationToken ct);

    /// <summary>A VM's power and Tools state; ManagedObjectNotFound if there is no such VM.</summary>
    Task<VmState> GetVmAsync(string vmId, CancellationToken ct);

    /// <summary>Keeps the object (<c>VirtualMachine</c>, <c>HostSystem</c>) on the update stream until disposed: a step's reads and waits share it.</summary>
    IDisposable Watch(string type, string id);

    /// <summary>A VM's state from the update stream: VMs that start being watched together are read together, in one call.</summary>
    Task<VmState> ReadVmAsync(string vmId, CancellationToken ct);

    /// <summary>
    /// Waits, without polling (vCenter pushes the changes), until the VM's state satisfies <paramref name="until"/> or
    /// <paramref name="timeout"/> passes; returns whether it did and the latest state.
    /// </summary>
    Task<(bool Met, VmState Vm)> WaitForVmAsync(string vmId, Func<VmState, bool> until, TimeSpan timeout, CancellationToken ct);

    /// <summary>As <see cref="WaitForVmAsync"/>, for a host.</summary>
    Task<(bool Met, HostInventory Host)> WaitForHostAsync(string hostId, Func<HostInventory, bool> until, TimeSpan timeout, CancellationToken ct);

    /// <summary>
    /// The latest of the entity's recent tasks with this <c>descriptionId</c> (e.g. <c>HostSystem.shutdown</c>) that is
    /// queued, running or succeeded; null if there is none. A task started before a crash is found this way.
    /// </summary>
    Task<RecentTask?> FindRecentTaskAsync(string entityType, string entityId, string descriptionId, CancellationToken ct);

    /// <summary>Follows an existing task until it ends (success returns, error throws its fault).</summary>
    Task FollowTaskAsync(string taskId, string what, TimeSpan timeout, CancellationToken ct);

    /// <summary>What vCenter's events say our account did to the VM since it last powered on.</summary>
    Task<VmShutdownHistory> GetShutdownHistoryAsync(string vmId, CancellationToken ct);

    /// <summary><c>ShutdownGuest</c>: asks the guest OS to shut down and returns at once.</summary>
    Task ShutdownGuestAsync(string vmId, CancellationToken ct);

    /// <summary><c>PowerOffVM_Task</c>, followed until the task ends.</summary>
    Task PowerOffVmAsync(string vmId, TimeSpan timeout, CancellationToken ct);

    /// <summary><c>PowerOnVM_Task</c>, followed until the task ends.</summary>
    Task PowerOnVmAsync(string vmId, TimeSpan timeout, CancellationToken ct);

    /// <summary>A host of a cluster by its name; NotFound if the cluster has no such host.</summary>
    Task<HostInventory> FindHostAsync(string cluster, string hostName, CancellationToken ct);

    /// <summary>
    /// The VMs on one host, vCenter's own marked (no folders): a view over the host, so the cost is its VMs, not the cluster's.
    /// </summary>
    Task<IReadOnlyList<VmInventory>> ListHostVmsAsync(string cluster, HostInventory host, CancellationToken ct);

    /// <summary>A host's current state by its id.</summary>
    Task<HostInventory> GetHostAsync(string hostId, CancellationToken ct);

    /// <summary><c>EnterMaintenanceMode_Task</c> (vCenter's own timeout set to <paramref name="timeout"/>), followed until it ends.</summary>
    Task EnterMaintenanceModeAsync(string hostId, TimeSpan timeout, CancellationToken ct, string? vsanObjectAction = null);

    /// <summary>The cluster's id, HA/DRS settings and whether it has vSAN (<c>configurationEx</c>).</summary>
    Task<(Vim.MoRef Cluster, ClusterHaDrsSettings HaDrs, bool Vsan)> ReadClusterConfigAsync(string cluster, CancellationToken ct);

    /// <summary>An advanced setting of vCenter; null when it does not exist.</summary>
    Task<string?> QueryOptionAsync(string key, CancellationToken ct);

    /// <summary>Sets an advanced setting of vCenter.</summary>
    Task UpdateOptionAsync(string key, string value, CancellationToken ct);

    /// <summary>The cluster's vCLS VMs now.</summary>
    Task<IReadOnlyList<VmState>> ListVclsVmsAsync(string cluster, CancellationToken ct);

    /// <summary><c>ReconfigureComputeResource_Task</c>: only the non-null fields change.</summary>
    Task ReconfigureHaDrsAsync(string cluster, bool? haEnabled, bool? admissionControl, bool? drsEnabled, string? drsBehavior, CancellationToken ct);

    /// <summary>The cluster's vSAN resync figures.</summary>
    Task<VsanResync> QueryVsanResyncAsync(string cluster, CancellationToken ct);

    /// <summary>
    /// <c>PerformClusterPowerAction</c> on vCenter's <c>/vsan</c> endpoint (vSAN 7.0 U3+); returns its task's id (follow it with
    /// <see cref="FollowTaskAsync"/>). vSAN refuses at once, before changing anything, what it cannot do (user VMs on, resync running).
    /// </summary>
    Task<string> StartVsanClusterPowerActionAsync(string cluster, string targetPowerStatus, string? reason, CancellationToken ct);

    /// <summary>The cluster's hosts now (with lockdown mode).</summary>
    Task<IReadOnlyList<HostInventory>> ListHostsAsync(string cluster, CancellationToken ct);

    /// <summary>Every VM the endpoint lists (a host's own API: its VMs).</summary>
    Task<IReadOnlyList<VmState>> ListVmsAsync(CancellationToken ct);

    /// <summary><c>ExitMaintenanceMode_Task</c>, followed until it ends.</summary>
    Task ExitMaintenanceModeAsync(string hostId, TimeSpan timeout, CancellationToken ct);

    /// <summary><c>ShutdownHost_Task</c>, followed until it ends.</summary>
    Task ShutdownHostAsync(string hostId, bool force, TimeSpan timeout, CancellationToken ct);
}

public sealed record ClusterInventory(IReadOnlyList<HostInventory> Hosts, IReadOnlyList<VmInventory> Vms, ClusterSettings? Settings = null);

/// <summary>vSAN's resync figures for a cluster.</summary>
public sealed record VsanResync(long Objects, long Bytes, long EtaSeconds)
{
    public bool Idle => Objects == 0 && Bytes == 0;
}

/// <summary>What the VM steps need to know about a VM right now.</summary>
public sealed record VmState(string Id, string Name, string PowerState, bool ToolsRunning, string GuestState = "")
{
    /// <summary>The guest is shutting down (someone asked it to).</summary>
    public bool ShuttingDown => GuestState == "shuttingDown";

    public bool IsOn => PowerState == VimStates.PoweredOn;
    public bool IsOff => PowerState == VimStates.PoweredOff;
}

/// <summary>A task vCenter still lists for an entity, and when it was queued (vCenter's clock, UTC).</summary>
public sealed record RecentTask(string Id, string State, DateTime? QueuedAt)
{
    public bool Running => State is "queued" or "running";
}

/// <summary>From vCenter's events since the VM last powered on: when our account asked its guest to shut down, and when it powered it off (UTC).</summary>
public sealed record VmShutdownHistory(DateTime? GuestShutdownAskedAt, DateTime? PoweredOffByUsAt);

/// <summary>vSphere enumeration values the steps compare with.</summary>
public static class VimStates
{
    public const string PoweredOn = "poweredOn";
    public const string PoweredOff = "poweredOff";
    public const string Connected = "connected";
    public const string NotResponding = "notResponding";
    public const string ToolsRunning = "guestToolsRunning";
}
