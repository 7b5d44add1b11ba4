namespace PowerEvents.Contracts;

/// <summary>Outcome of a <see cref="HostShutdownRequested"/>.</summary>
/// <param name="Outcome">Done (vCenter accepted the shutdown and the host went off), AlreadyInState (was off or unreachable after a shutdown), or Failed.</param>
/// <param name="Fault">Why it failed (e.g. <c>InvalidState</c> when the host is not in maintenance mode); null otherwise.</param>
public sealed record HostPoweredOff(
    Guid RunId,
    string Cluster,
    string Host,
    StepOutcome Outcome,
    VCenterFault? Fault,
    DateTimeOffset CompletedAt);
