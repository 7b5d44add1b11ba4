namespace PowerEvents.Contracts;

/// <summary>Outcome of a <see cref="VmPowerOnRequested"/>.</summary>
/// <param name="Outcome">Done (powered on), AlreadyInState (was on), or Failed.</param>
/// <param name="Fault">Why it failed; null otherwise.</param>
public sealed record VmPoweredOn(
    Guid RunId,
    string Cluster,
    string VmId,
    string VmName,
    StepOutcome Outcome,
    VCenterFault? Fault,
    DateTimeOffset CompletedAt);
