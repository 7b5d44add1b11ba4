using MassTransit;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>One protected cluster's saga row. The run itself is plain data (<see cref="PowerRun"/>), stored as jsonb.</summary>
public sealed class PowerSagaState : SagaStateMachineInstance
{
    /// <summary>Derived from the cluster's name (<see cref="PowerIds.ForCluster"/>).</summary>
    public Guid CorrelationId { get; set; }

    public string CurrentState { get; set; } = "";

    /// <summary>Optimistic concurrency: a save that finds another version fails and the message is retried.</summary>
    public int Version { get; set; }

    public string Cluster { get; set; } = "";
    public Guid? RunId { get; set; }
    public Guid? AlarmId { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    public DateTimeOffset? AlarmClearedAt { get; set; }

    /// <summary>The newest zone transition this cluster has acted on (<c>ZoneSequence</c> of its alarms); older ones are stale.</summary>
    public long? ZoneSequence { get; set; }

    /// <summary>When that transition happened (a zone whose count restarted, e.g. its state was wiped, is newer in time).</summary>
    public DateTimeOffset? ZoneTransitionAt { get; set; }

    /// <summary>The current step's number and deadline, copied from the run so that the watchdog can query them.</summary>
    public int Step { get; set; }
    public DateTimeOffset? Deadline { get; set; }

    public PowerRun? Run { get; set; }
}

public static class PowerIds
{
    /// <summary>A stable id per cluster name (a name-based UUID), so commands and outcomes find the one instance without a query.</summary>
    public static Guid ForCluster(string cluster)
    {
        var bytes = System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes("powerevents/cluster/" + cluster.ToUpperInvariant()));
        var id = bytes.AsSpan(0, 16).ToArray();
        id[7] = (byte)((id[7] & 0x0F) | 0x50); // version 5-style marker (little-endian Guid layout)
        id[8] = (byte)((id[8] & 0x3F) | 0x80);
        return new Guid(id);
    }
}
