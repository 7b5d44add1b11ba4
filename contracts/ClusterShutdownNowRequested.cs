namespace PowerEvents.Contracts;

/// <summary>
/// Command to the power saga, from an operator in the Console (or a scheduled power window): shut the cluster down now,
/// in the same safe order as for an alarm, without an alarm.
/// </summary>
/// <param name="ClusterId">The cluster's saga id (<c>PowerIds.ForCluster(Cluster)</c>).</param>
/// <param name="Cluster">The vCenter cluster's name as configured.</param>
/// <param name="RequestedBy">The operator's account name, or <c>schedule:&lt;window&gt;</c> for a scheduled power window.</param>
/// <param name="Reason">Why, as the operator typed it (or the window's description).</param>
/// <param name="RequestedAt">When it was confirmed.</param>
public sealed record ClusterShutdownNowRequested(
    Guid ClusterId,
    string Cluster,
    string RequestedBy,
    string Reason,
    DateTimeOffset RequestedAt);
