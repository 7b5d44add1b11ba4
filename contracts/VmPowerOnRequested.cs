namespace PowerEvents.Contracts;

/// <summary>Command to the vCenter actuator: power this VM on.</summary>
/// <param name="RunId">The shutdown/power-on run this step belongs to.</param>
/// <param name="Cluster">The vCenter cluster the VM runs in.</param>
/// <param name="VmId">The VM's managed object id, as in <see cref="VmInventory.Id"/>.</param>
/// <param name="VmName">The VM's name, for people reading logs and alerts.</param>
public sealed record VmPowerOnRequested(
    Guid RunId,
    string Cluster,
    string VmId,
    string VmName);
