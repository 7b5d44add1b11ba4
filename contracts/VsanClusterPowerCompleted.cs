namespace PowerEvents.Contracts;

/// <summary>Outcome of a <see cref="VsanClusterPowerRequested"/>.</summary>
/// <param name="Outcome"><c>Failed</c> with a fault that starts before vSAN changed anything (<see cref="Started"/> false) leaves
/// the cluster as it was: the run may fall back to its per-host steps.</param>
/// <param name="Started">vSAN accepted the request (its task ran): the cluster may be partly changed.</param>
/// <param name="HostsOff">Hosts seen off (or no longer answering) after a power-off.</param>
/// <param name="Detail">How the outcome was reached when it is not the plain one (e.g. the workflow was followed after the
/// actuator restarted, through the hosts' own APIs).</param>
/// <param name="HostsUnconfirmed">Hosts whose power-off could not be confirmed (vCenter gone, no ESXi API configured for them).</param>
public sealed record VsanClusterPowerCompleted(
    Guid RunId,
    string Cluster,
    string TargetPowerStatus,
    StepOutcome Outcome,
    bool Started,
    IReadOnlyList<string> HostsOff,
    IReadOnlyList<string> HostsUnconfirmed,
    VCenterFault? Fault,
    DateTimeOffset CompletedAt,
    string? Detail = null);
