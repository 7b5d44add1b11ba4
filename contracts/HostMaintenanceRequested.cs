namespace PowerEvents.Contracts;

/// <summary>Command to the vCenter actuator: put this ESXi host into maintenance mode (its VMs are expected off).</summary>
/// <param name="RunId">The shutdown/power-on run this step belongs to.</param>
/// <param name="Cluster">The vCenter cluster the host belongs to.</param>
/// <param name="Host">The host's name as vCenter knows it.</param>
public sealed record HostMaintenanceRequested(
    Guid RunId,
    string Cluster,
    string Host);
