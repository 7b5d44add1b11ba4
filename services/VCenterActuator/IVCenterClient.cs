using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator;

/// <summary>The vCenter calls the steps are made of. Every method is one vSphere operation, followed to its end.</summary>
public interface IVCenterClient
{
    /// <summary>Hosts and VMs of a cluster (by name, or <c>datacenter/cluster</c>) in a constant number of round trips.</summary>
    Task<ClusterInventory> GetClusterInventoryAsync(string cluster, CancellationToken ct);

    /// <summary>A VM's power and Tools state; ManagedObjectNotFound if there is no such VM.</summary>
    Task<VmState> GetVmAsync(string vmId, CancellationToken ct);

    /// <summary><c>ShutdownGuest</c>: asks the guest OS to shut down and returns at once.</summary>
    Task ShutdownGuestAsync(string vmId, CancellationToken ct);

    /// <summary><c>PowerOffVM_Task</c>, followed until the task ends.</summary>
    Task PowerOffVmAsync(string vmId, TimeSpan timeout, CancellationToken ct);

    /// <summary><c>PowerOnVM_Task</c>, followed until the task ends.</summary>
    Task PowerOnVmAsync(string vmId, TimeSpan timeout, CancellationToken ct);

    /// <summary>A host of a cluster by its name; NotFound if the cluster has no such host.</summary>
    Task<HostInventory> FindHostAsync(string cluster, string hostName, CancellationToken ct);

    /// <summary>A host's current state by its id.</summary>
    Task<HostInventory> GetHostAsync(string hostId, CancellationToken ct);

    /// <summary><c>EnterMaintenanceMode_Task</c> (vCenter's own timeout set to <paramref name="timeout"/>), followed until it ends.</summary>
    Task EnterMaintenanceModeAsync(string hostId, TimeSpan timeout, CancellationToken ct);

    /// <summary><c>ExitMaintenanceMode_Task</c>, followed until it ends.</summary>
    Task ExitMaintenanceModeAsync(string hostId, TimeSpan timeout, CancellationToken ct);

    /// <summary><c>ShutdownHost_Task</c>, followed until it ends.</summary>
    Task ShutdownHostAsync(string hostId, bool force, TimeSpan timeout, CancellationToken ct);
}

public sealed record ClusterInventory(IReadOnlyList<HostInventory> Hosts, IReadOnlyList<VmInventory> Vms);

/// <summary>What the VM steps need to know about a VM right now.</summary>
public sealed record VmState(string Id, string Name, string PowerState, bool ToolsRunning)
{
    public bool IsOn => PowerState == VimStates.PoweredOn;
    public bool IsOff => PowerState == VimStates.PoweredOff;
}

/// <summary>vSphere enumeration values the steps compare with.</summary>
public static class VimStates
{
    public const string PoweredOn = "poweredOn";
    public const string PoweredOff = "poweredOff";
    public const string Connected = "connected";
    public const string NotResponding = "notResponding";
    public const string ToolsRunning = "guestToolsRunning";
}
