namespace PowerEvents.Contracts;

/// <summary>The answer to <see cref="ClusterPlanPreviewRequested"/> when no plan could be made.</summary>
/// <param name="Cluster">As asked.</param>
/// <param name="Status"><c>not-found</c> (no protected cluster by that name), <c>inventory-failed</c> (vCenter answered
/// with a fault) or <c>timeout</c> (no inventory from the vCenter actuator within the cluster's inventory deadline).</param>
/// <param name="Reason">For people, one line.</param>
public sealed record ClusterPlanPreviewFailed(
    string Cluster,
    string Status,
    string Reason);
