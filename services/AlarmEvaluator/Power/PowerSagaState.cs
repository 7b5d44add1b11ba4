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

    /// <summary>
    /// The run, read from <see cref="RunJson"/> on first use and written back once per save (<see cref="CaptureRun"/>,
    /// called by <see cref="PowerDbContext"/>): EF Core compares and stores the text, instead of serialising the whole
    /// run several times per message through a value comparer.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Schema.NotMapped]
    public PowerRun? Run
    {
        get
        {
            if (!_runRead)
            {
                _run = _runJson is null ? null : System.Text.Json.JsonSerializer.Deserialize<PowerRun>(_runJson, PowerDbContext.Json);
                _runRead = true;
            }
            return _run;
        }
        set
        {
            _run = value;
            _runRead = true;
        }
    }

    /// <summary>The <c>run</c> jsonb column as stored.</summary>
    public string? RunJson
    {
        get => _runJson;
        set
        {
            _runJson = value;
            _runRead = false;
            _run = null;
        }
    }

    PowerRun? _run;
    bool _runRead;
    string? _runJson;

    /// <summary>Serialises the run into <see cref="RunJson"/> if it was read or set (once per save).</summary>
    public void CaptureRun()
    {
        if (_runRead)
            _runJson = _run is null ? null : System.Text.Json.JsonSerializer.Serialize(_run, PowerDbContext.Json);
    }
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
