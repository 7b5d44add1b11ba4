namespace PowerEvents.Contracts;

/// <summary>Outcome of a <see cref="VclsRestoreRequested"/>.</summary>
/// <param name="Outcome">Done, AlreadyInState (the setting already had the value), Failed.</param>
/// <param name="Value">The value now set.</param>
/// <param name="ReplacedValue">The value it replaced; null: absent.</param>
public sealed record VclsRestored(
    Guid RunId,
    string Cluster,
    StepOutcome Outcome,
    string Value,
    string? ReplacedValue,
    VCenterFault? Fault,
    DateTimeOffset CompletedAt);
