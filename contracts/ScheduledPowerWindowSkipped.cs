namespace PowerEvents.Contracts;

/// <summary>
/// The Console did not carry out a cluster's scheduled power window because an alarm held (or a run was under way);
/// published so that the Notifier can alert the operator.
/// </summary>
/// <param name="Cluster">The vCenter cluster's name.</param>
/// <param name="Action"><c>power-off</c> or <c>power-on</c>.</param>
/// <param name="ScheduledFor">The window's time that was skipped.</param>
/// <param name="Reason">Why it was skipped, for the operator.</param>
/// <param name="SkippedAt">When the Console decided.</param>
public sealed record ScheduledPowerWindowSkipped(
    string Cluster,
    string Action,
    DateTimeOffset ScheduledFor,
    string Reason,
    DateTimeOffset SkippedAt);
