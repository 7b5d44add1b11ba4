namespace PowerEvents.Contracts;

/// <summary>
/// The Console asks the power saga's service for the plan it would run on a cluster now (a request: answered with
/// <see cref="ClusterPlanPreviewed"/> or <see cref="ClusterPlanPreviewFailed"/>). Sent to the queue
/// <c>alarm-evaluator-plan-preview</c>; reads a fresh inventory and touches nothing.
/// </summary>
/// <param name="Cluster">The protected cluster's name as configured.</param>
/// <param name="RequestedBy">The console account that asked (for the log).</param>
/// <param name="RequestedAt">When it asked.</param>
public sealed record ClusterPlanPreviewRequested(
    string Cluster,
    string RequestedBy,
    DateTimeOffset RequestedAt);
