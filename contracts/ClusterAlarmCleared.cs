namespace PowerEvents.Contracts;

/// <summary>To the power saga: the alarm of a zone this cluster protects cleared (a running shutdown still finishes).</summary>
/// <param name="ClusterId">The cluster's saga id.</param>
/// <param name="Cluster">The vCenter cluster's name as configured.</param>
/// <param name="Zone">The zone that cleared.</param>
/// <param name="AlarmId">The alarm episode that ended.</param>
/// <param name="ClearedAt">When the alarm cleared.</param>
/// <param name="ZoneSequence">The zone's transition number (<see cref="AlarmRaised.Sequence"/>): the saga ignores a transition older than one it has seen.</param>
public sealed record ClusterAlarmCleared(
    Guid ClusterId,
    string Cluster,
    string Zone,
    Guid AlarmId,
    DateTimeOffset ClearedAt,
    long? ZoneSequence = null);
