namespace PowerEvents.Contracts;

/// <summary>
/// Command to the power saga, from an operator in the Console (or a scheduled power window): power the cluster on now
/// (hosts through their BMCs, then the VMs that ran before). The saga still refuses while an alarm of the cluster's
/// zone holds, and before the minimum off time unless <paramref name="OverrideMinimumOffTime"/> is set.
/// </summary>
/// <param name="ClusterId">The cluster's saga id (<c>PowerIds.ForCluster(Cluster)</c>).</param>
/// <param name="Cluster">The vCenter cluster's name as configured.</param>
/// <param name="RequestedBy">The operator's account name, or <c>schedule:&lt;window&gt;</c>.</param>
/// <param name="Reason">Why, as the operator typed it.</param>
/// <param name="OverrideMinimumOffTime">Power on even though the minimum off time has not passed.</param>
/// <param name="OverrideReason">Why the minimum off time is overridden (required when it is); empty otherwise.</param>
/// <param name="RequestedAt">When it was confirmed.</param>
public sealed record ClusterPowerOnNowRequested(
    Guid ClusterId,
    string Cluster,
    string RequestedBy,
    string Reason,
    bool OverrideMinimumOffTime,
    string OverrideReason,
    DateTimeOffset RequestedAt);
