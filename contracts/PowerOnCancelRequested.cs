namespace PowerEvents.Contracts;

/// <summary>
/// Command to the power saga, from an operator in the Console: do not power the cluster on by itself when its alarm
/// clears and the minimum off time passes; it stays off until a <see cref="ClusterPowerOnNowRequested"/>.
/// A power-on already under way is not interrupted (the saga never interleaves destructive and restorative actions).
/// </summary>
/// <param name="ClusterId">The cluster's saga id (<c>PowerIds.ForCluster(Cluster)</c>).</param>
/// <param name="Cluster">The vCenter cluster's name as configured.</param>
/// <param name="RequestedBy">The operator's account name.</param>
/// <param name="Reason">Why, as the operator typed it.</param>
/// <param name="RequestedAt">When it was confirmed.</param>
public sealed record PowerOnCancelRequested(
    Guid ClusterId,
    string Cluster,
    string RequestedBy,
    string Reason,
    DateTimeOffset RequestedAt);
