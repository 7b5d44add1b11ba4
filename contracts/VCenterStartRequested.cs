namespace PowerEvents.Contracts;

/// <summary>
/// Command to the vCenter actuator, on power-on: through the own API of the host that holds vCenter's VM, leave maintenance
/// mode and power the VM on (never relying on autostart, which HA clusters disable); then wait until vCenter answers a login
/// and sees the cluster's hosts connected. vCenter unreachable in between is expected, not a failure.
/// </summary>
/// <param name="Host">The host vCenter's VM is registered on (the inventory's <see cref="ClusterInventoryCaptured.VCenterHost"/>).</param>
/// <param name="VmName">vCenter's VM (the inventory's <see cref="ClusterInventoryCaptured.VCenterVm"/>).</param>
/// <param name="Timeout">How long to wait for vCenter after the VM is on; null: <c>VCenter:VCenterStartTimeout</c>.</param>
public sealed record VCenterStartRequested(
    Guid RunId,
    string Cluster,
    string Host,
    string VmName,
    TimeSpan? Timeout = null);
