namespace PowerEvents.Contracts;

/// <summary>
/// Command to the vCenter actuator: wait until the cluster's vSAN resync has finished (<c>QuerySyncingVsanObjectsSummary</c>
/// on vCenter's <c>/vsan</c> endpoint), before the hosts go down.
/// </summary>
/// <param name="Timeout">How long to wait; null: the actuator's <c>VCenter:VsanResyncTimeout</c>.</param>
public sealed record VsanResyncCheckRequested(
    Guid RunId,
    string Cluster,
    TimeSpan? Timeout = null);
