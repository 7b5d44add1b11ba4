namespace PowerEvents.Contracts;

/// <summary>Answer to <see cref="ClusterInventoryRequested"/> when the inventory could not be read.</summary>
/// <param name="Fault">Why (e.g. <c>NotFound</c> for an unknown cluster, <c>InvalidLogin</c>, <c>Unreachable</c>).</param>
public sealed record ClusterInventoryFailed(
    Guid RunId,
    string Cluster,
    VCenterFault Fault,
    DateTimeOffset FailedAt);
