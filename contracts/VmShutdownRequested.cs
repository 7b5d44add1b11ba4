namespace PowerEvents.Contracts;

/// <summary>Command to the vCenter actuator: shut this VM's guest down, powering it off hard when that fails or times out.</summary>
/// <param name="RunId">The shutdown/power-on run this step belongs to.</param>
/// <param name="Cluster">The vCenter cluster the VM runs in.</param>
/// <param name="VmId">The VM's managed object id (e.g. <c>vm-42</c>), as in <see cref="VmInventory.Id"/>.</param>
/// <param name="VmName">The VM's name, for people reading logs and alerts.</param>
/// <param name="GuestShutdownTimeout">How long to wait for the guest to power off before a hard power-off; null: the actuator's configured default.</param>
public sealed record VmShutdownRequested(
    Guid RunId,
    string Cluster,
    string VmId,
    string VmName,
    TimeSpan? GuestShutdownTimeout);
