namespace PowerEvents.Contracts;

/// <summary>A step of a shutdown run (or of its power-on) did not go as planned: a VM forced off, a step failed or missed its deadline, a VM not restored.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Cluster">The vCenter cluster.</param>
/// <param name="Step">What was asked: <c>vm-shutdown</c>, <c>host-maintenance</c>, <c>host-shutdown</c>, <c>inventory</c>; power-on: <c>host-power-on</c>, <c>host-reconnect</c>, <c>host-exit-maintenance</c>, <c>vm-power-on</c>.</param>
/// <param name="Target">The VM or host name.</param>
/// <param name="Outcome">What happened: <c>Forced</c>, <c>Failed</c>, <c>Late</c>, <c>Skipped</c>, <c>NotRestored</c>.</param>
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
