namespace PowerEvents.Contracts;

/// <summary>
/// The power saga refused an operator's command (a Console action or a scheduled power window): an alarm holds, the
/// minimum off time has not passed, a run is under way… Published so that the Console shows it and the Notifier can alert.
/// </summary>
/// <param name="Cluster">The vCenter cluster's name as configured.</param>
/// <param name="Command">The command's contract name, e.g. <c>ClusterPowerOnNowRequested</c>.</param>
/// <param name="RequestedBy">As in the command: the operator's account, or <c>schedule:&lt;window&gt;</c>.</param>
/// <param name="Reason">Why the saga refused, for the operator.</param>
/// <param name="RefusedAt">When the saga decided.</param>
public sealed record OperatorCommandRefused(
    string Cluster,
    string Command,
    string RequestedBy,
    string Reason,
    DateTimeOffset RefusedAt);
