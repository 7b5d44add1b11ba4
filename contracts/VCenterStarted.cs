namespace PowerEvents.Contracts;

/// <summary>Outcome of a <see cref="VCenterStartRequested"/>.</summary>
/// <param name="Outcome">Done (VM powered on here, vCenter answers), AlreadyInState (vCenter already answered with the hosts connected), Failed.</param>
/// <param name="HostsConnected">The cluster's hosts vCenter showed connected at the end.</param>
/// <param name="StartedOn">The host whose own API powered the VM on: <see cref="VCenterStartRequested.Host"/>, or another
/// configured host where the VM was found (it moved since the plan); null when nothing was started.</param>
/// <param name="Fault">Why it failed (naming the host for a refused login; <c>Timeout</c> when vCenter did not come back); null otherwise.</param>
public sealed record VCenterStarted(
    Guid RunId,
    string Cluster,
    string Host,
    string VmName,
    StepOutcome Outcome,
    IReadOnlyList<string> HostsConnected,
    VCenterFault? Fault,
    DateTimeOffset CompletedAt,
    string? StartedOn = null);
