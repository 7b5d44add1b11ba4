namespace PowerEvents.Contracts;

/// <summary>
/// Command to the vCenter actuator: power a whole vSAN cluster off or on through vSAN's own workflow
/// (<c>VsanClusterPowerSystem.PerformClusterPowerAction</c> on vCenter's <c>/vsan</c> endpoint, vSAN 7.0 U3+), instead of
/// per-host maintenance mode and shutdown. Every user VM must be off before <c>clusterPoweredOff</c> (vSAN refuses otherwise).
/// </summary>
/// <param name="TargetPowerStatus"><c>clusterPoweredOff</c> or <c>clusterPoweredOn</c>.</param>
/// <param name="Reason">vSAN's <c>powerOffReason</c> (under 512 characters).</param>
/// <param name="Hosts">The cluster's hosts as the run planned them (power-off): when vCenter does not answer, a repeated request
/// (after the actuator restarted) asks these hosts' own APIs whether vSAN's workflow is under way, and follows it.</param>
/// <param name="VCenterVm">vCenter's own VM when it runs on the cluster (power-off): off is a sign of vSAN's workflow under way.</param>
/// <param name="VCenterHost">The host that ran <paramref name="VCenterVm"/> in the plan.</param>
public sealed record VsanClusterPowerRequested(
    Guid RunId,
    string Cluster,
    string TargetPowerStatus,
    string? Reason = null,
    IReadOnlyList<string>? Hosts = null,
    string? VCenterVm = null,
    string? VCenterHost = null);
