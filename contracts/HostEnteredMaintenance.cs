namespace PowerEvents.Contracts;

/// <summary>Outcome of a <see cref="HostMaintenanceRequested"/>.</summary>
/// <param name="Outcome">Done (entered), AlreadyInState (was in maintenance mode), or Failed.</param>
/// <param name="Fault">Why it failed (e.g. <c>Timedout</c> while VMs were still on, <c>HostNotConnected</c>); null otherwise.</param>
public sealed record HostEnteredMaintenance(
    Guid RunId,
    string Cluster,
    string Host,
    StepOutcome Outcome,
    VCenterFault? Fault,
    DateTimeOffset CompletedAt);
