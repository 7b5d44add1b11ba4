namespace PowerEvents.Contracts;

/// <summary>Command to the vCenter actuator: take this ESXi host out of maintenance mode.</summary>
/// <param name="RunId">The shutdown/power-on run this step belongs to.</param>
/// <param name="Cluster">The vCenter cluster the host belongs to.</param>
/// <param name="Host">The host's name as vCenter knows it.</param>
public sealed record HostExitMaintenanceRequested(
    Guid RunId,
    string Cluster,
    string Host);
