namespace PowerEvents.Contracts;

/// <summary>
/// Command to the power saga, from an operator in the Console: walk the cluster's shutdown plan as a drill (dry run:
/// recorded and reported, nothing sent to vCenter or a BMC).
/// </summary>
/// <param name="ClusterId">The cluster's saga id (<c>PowerIds.ForCluster(Cluster)</c>).</param>
/// <param name="Cluster">The vCenter cluster's name as configured.</param>
/// <param name="RequestedBy">The operator's account name (or <c>schedule</c>), for the audit trail.</param>
/// <param name="Reason">Why, as the operator typed it.</param>
/// <param name="RequestedAt">When the operator confirmed it.</param>
public sealed record ClusterDrillRequested(
    Guid ClusterId,
    string Cluster,
    string RequestedBy,
    string Reason,
    DateTimeOffset RequestedAt);
