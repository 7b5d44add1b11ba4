namespace PowerEvents.Contracts;

/// <summary>Outcome of a <see cref="VmShutdownRequested"/>.</summary>
/// <param name="RunId">As in the command.</param>
/// <param name="Cluster">As in the command.</param>
/// <param name="VmId">As in the command.</param>
/// <param name="VmName">As in the command.</param>
/// <param name="Outcome">Graceful, forced, already off, or failed.</param>
/// <param name="Fault">Why the step failed, or why a forced power-off was needed (e.g. <c>ToolsUnavailable</c>, <c>Timeout</c>); null otherwise.</param>
/// <param name="CompletedAt">When the actuator finished the step.</param>
public sealed record VmShutDown(
    Guid RunId,
    string Cluster,
    string VmId,
    string VmName,
    VmShutdownOutcome Outcome,
    VCenterFault? Fault,
    DateTimeOffset CompletedAt);
