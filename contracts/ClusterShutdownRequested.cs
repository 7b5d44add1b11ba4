namespace PowerEvents.Contracts;

/// <summary>Command to the power saga: a zone this cluster protects is in alarm; shut the cluster down.</summary>
/// <param name="ClusterId">The cluster's saga id (derived from its name, so every message for it finds the one instance).</param>
/// <param name="Cluster">The vCenter cluster's name as configured.</param>
/// <param name="Zone">The zone in alarm.</param>
/// <param name="AlarmId">The alarm episode that asked for it.</param>
/// <param name="RequestedAt">When the alarm was raised.</param>
/// <param name="ZoneSequence">The zone's transition number (<see cref="AlarmRaised.Sequence"/>): the saga ignores a transition older than one it has seen.</param>
/// <param name="DryRun">A drill asked by an operator (<see cref="ClusterDrillRequested"/>): the plan is walked, nothing is touched.</param>
/// <param name="RequestedBy">The operator (or <c>schedule:&lt;window&gt;</c>) who asked, when it was not an alarm; null for an alarm.</param>
/// <param name="Reason">Why, as the operator typed it; null for an alarm.</param>
public sealed record ClusterShutdownRequested(
    Guid ClusterId,
    string Cluster,
    string Zone,
    Guid AlarmId,
    DateTimeOffset RequestedAt,
    long? ZoneSequence = null,
    bool DryRun = false,
    string? RequestedBy = null,
    string? Reason = null);
