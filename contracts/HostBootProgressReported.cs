namespace PowerEvents.Contracts;

/// <summary>
/// The BMC actuator saw a host's boot move on while it powers the host on (where the BMC reports boot progress:
/// HPE <c>Oem.Hpe.PostState</c>, DMTF <c>BootProgress.LastState</c>), so a run's timeline shows "POST" and
/// "booting OS" rather than a silent wait. Informational: the saga needs none of these; one per change of stage.
/// </summary>
/// <param name="RunId">The run the power-on belongs to (as in <see cref="PowerOnRequested"/>).</param>
/// <param name="Cluster">The cluster, as in the request.</param>
/// <param name="Host">The host, as in the request.</param>
/// <param name="Stage">In words for the timeline: <c>POST</c>, <c>booting OS</c> or <c>OS running</c>.</param>
/// <param name="BmcState">What the BMC reported, with the property, e.g. <c>Oem.Hpe.PostState InPost</c>.</param>
/// <param name="ReportedAt">When the BMC was read.</param>
public sealed record HostBootProgressReported(
    Guid RunId,
    string Cluster,
    string Host,
    string Stage,
    string BmcState,
    DateTimeOffset ReportedAt);
