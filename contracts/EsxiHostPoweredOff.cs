namespace PowerEvents.Contracts;

/// <summary>Outcome of an <see cref="EsxiHostShutdownRequested"/>.</summary>
/// <param name="Outcome">Done, AlreadyInState (the host did not answer: already down), Failed.</param>
/// <param name="WasInMaintenance">Whether the host was in maintenance mode before this step (null: not known); the power-on
/// leaves maintenance mode only where this step entered it.</param>
/// <param name="EnteredMaintenance">This step put the host into maintenance mode.</param>
/// <param name="Fault">Why it failed, naming the host (e.g. <c>InvalidLogin</c>, lockdown mode, <c>InvalidState</c>); null otherwise.</param>
/// <param name="FollowedTo">vCenter's VM was found on this other host (it moved since the plan), which was finished through its
/// own API as well, before <paramref name="Host"/>; null: it was where planned (or not asked).</param>
public sealed record EsxiHostPoweredOff(
    Guid RunId,
    string Cluster,
    string Host,
    StepOutcome Outcome,
    bool? WasInMaintenance,
    bool EnteredMaintenance,
    VCenterFault? Fault,
    DateTimeOffset CompletedAt,
    string? FollowedTo = null);
