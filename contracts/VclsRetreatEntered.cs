namespace PowerEvents.Contracts;

/// <summary>Outcome of a <see cref="VclsRetreatRequested"/>.</summary>
/// <param name="Outcome">Done (set, VMs gone), AlreadyInState (the setting was already false and no vCLS VM runs), Failed.</param>
/// <param name="PreviousValue">The setting's value this step replaced; null: it did not exist. A restore sets it back
/// (the run's first inventory, <see cref="ClusterSettings.VclsEnabledSetting"/>, holds the same value read before any step).</param>
/// <param name="Fault">Why it failed (e.g. <c>Timeout</c>: vCLS VMs still running at the deadline); null otherwise.</param>
public sealed record VclsRetreatEntered(
    Guid RunId,
    string Cluster,
    StepOutcome Outcome,
    string? PreviousValue,
    VCenterFault? Fault,
    DateTimeOffset CompletedAt);
