namespace PowerEvents.Contracts;

/// <summary>Outcome of a <see cref="HostExitMaintenanceRequested"/>.</summary>
/// <param name="Outcome">Done (exited), AlreadyInState (was not in maintenance mode), or Failed.</param>
/// <param name="Fault">Why it failed (e.g. <c>HostNotConnected</c>); null otherwise.</param>
public sealed record HostExitedMaintenance(
    Guid RunId,
    string Cluster,
    string Host,
    StepOutcome Outcome,
    VCenterFault? Fault,
    DateTimeOffset CompletedAt);
