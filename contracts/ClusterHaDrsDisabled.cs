namespace PowerEvents.Contracts;

/// <summary>Outcome of a <see cref="ClusterHaDrsDisableRequested"/>.</summary>
/// <param name="Outcome">Done, AlreadyInState (HA already off and DRS off or manual), Failed.</param>
/// <param name="Previous">The settings this step replaced (null if it failed before reading them); the restore command carries
/// them back. After a crash in between, the run's first inventory (<see cref="ClusterSettings.HaDrs"/>) holds them too.</param>
public sealed record ClusterHaDrsDisabled(
    Guid RunId,
    string Cluster,
    StepOutcome Outcome,
    ClusterHaDrsSettings? Previous,
    VCenterFault? Fault,
    DateTimeOffset CompletedAt);
