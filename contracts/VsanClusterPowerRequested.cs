namespace PowerEvents.Contracts;

/// <summary>
/// Command to the vCenter actuator: power a whole vSAN cluster off or on through vSAN's own workflow
/// (<c>VsanClusterPowerSystem.PerformClusterPowerAction</c> on vCenter's <c>/vsan</c> endpoint, vSAN 7.0 U3+), instead of
/// per-host maintenance mode and shutdown. Every user VM must be off before <c>clusterPoweredOff</c> (vSAN refuses otherwise).
/// </summary>
/// <param name="TargetPowerStatus"><c>clusterPoweredOff</c> or <c>clusterPoweredOn</c>.</param>
/// <param name="Reason">vSAN's <c>powerOffReason</c> (under 512 characters).</param>
public sealed record VsanClusterPowerRequested(
    Guid RunId,
    string Cluster,
    string TargetPowerStatus,
    string? Reason = null);
