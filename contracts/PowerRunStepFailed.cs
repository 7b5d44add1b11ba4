namespace PowerEvents.Contracts;

/// <summary>A step of a shutdown run did not go as planned: a VM forced off, a step failed or missed its deadline.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Cluster">The vCenter cluster.</param>
/// <param name="Step">What was asked: <c>vm-shutdown</c>, <c>host-maintenance</c>, <c>host-shutdown</c>, <c>inventory</c>.</param>
/// <param name="Target">The VM or host name.</param>
/// <param name="Outcome">What happened: <c>Forced</c>, <c>Failed</c>, <c>Late</c>, <c>Skipped</c>.</param>
/// <param name="Detail">The fault or reason, for the operator.</param>
/// <param name="At">When the saga recorded it.</param>
public sealed record PowerRunStepFailed(
    Guid RunId,
    string Cluster,
    string Step,
    string Target,
    string Outcome,
    string Detail,
    DateTimeOffset At);
