namespace PowerEvents.Contracts;

/// <summary>Outcome of a <see cref="ClusterHaDrsRestoreRequested"/>.</summary>
/// <param name="Outcome">Done, AlreadyInState (already as recorded), Failed.</param>
/// <param name="Replaced">The settings the restore replaced; null if it failed before reading them.</param>
public sealed record ClusterHaDrsRestored(
    Guid RunId,
    string Cluster,
    StepOutcome Outcome,
    ClusterHaDrsSettings? Replaced,
    VCenterFault? Fault,
    DateTimeOffset CompletedAt);
