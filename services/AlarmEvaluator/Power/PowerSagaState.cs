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
    /// The run: its header (everything but the VM steps) in <see cref="RunJson"/>, its VM steps in <c>power_step</c>
    /// (<see cref="PowerSteps"/>), read by <see cref="LoadStepsAsync"/> and written back by <see cref="PowerDbContext"/>
    /// once per save: only the step rows that changed, so an outcome rewrites one row, not the whole run.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Schema.NotMapped]
    public PowerRun? Run
    {
        get
        {
            if (!_runRead)
            {
                if (_runJson is not null && _stepsRead is null)
                    throw new InvalidOperationException("The run's steps were not read (PowerSagaState.LoadStepsAsync)");
                // Read with the full contract: a header saved before the steps had rows of their own still carries its
                // VMs or hosts (a run in flight during the upgrade); they are kept, and the next save moves them into rows.
                _run = _runJson is null ? null : System.Text.Json.JsonSerializer.Deserialize<PowerRun>(_runJson, PowerDbContext.Json);
                if (_run is not null && _stepsRead is not null)
                    PowerSteps.Attach(_run, _stepsRead.Values);
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

    /// <summary>The <c>run</c> jsonb column as stored: the run without its VM steps.</summary>
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

    /// <summary>The step rows as last read or written: a save writes the difference.</summary>
    Dictionary<(Guid RunId, string Kind, string Target), PowerStepRow>? _stepsRead;

    /// <summary>Reads the step rows of the runs the header names (the run and the one before it).</summary>
    public async Task LoadStepsAsync(Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        _stepsRead = [];
        _runRead = false;
        if (_runJson is null)
            return;
        var header = System.Text.Json.JsonSerializer.Deserialize<PowerRun>(_runJson, PowerDbContext.HeaderJson);
        var runIds = PowerSteps.Runs(header).Select(r => r.RunId).ToList();
        // While the cluster steps and the hosts run, the run needs of its VM steps only those that failed (for its failure
        // list) and its shutdowns still to come (vCenter's own tier, after the hosts): a host's outcome then reads a handful
        // of rows. Not its power-on steps (all still pending, one per VM: reading them made each host outcome cost
        // O(VMs)) nor the previous run's steps: nothing before the power-on reads them, and a save writes only rows read.
        // Its hosts' steps are always read (a handful); its power-on VM steps too when the power-on has no host: then whether
        // it is empty (PowerOnPolicy.Schedule) depends on them.
        var onlyFailedOf = header?.Phase is RunPhase.ClusterPrepare or RunPhase.Maintenance or RunPhase.HostShutdown or RunPhase.VCenterHostShutdown
            ? header.RunId : (Guid?)null;
        foreach (var row in await PowerSteps.ReadAsync(connection, transaction, runIds, cancellationToken, onlyFailedOf))
            _stepsRead[(row.RunId, row.Kind, row.Target)] = row;
    }

    /// <summary>Serialises the run's header into <see cref="RunJson"/> if it was read or set (once per save).</summary>
    public void CaptureRun()
    {
        if (_runRead)
            _runJson = _run is null ? null : System.Text.Json.JsonSerializer.Serialize(_run, PowerDbContext.HeaderJson);
    }

    /// <summary>Writes the step rows that changed since they were read (nothing when the run was not touched).</summary>
    public async Task SaveStepsAsync(Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        if (!_runRead)
            return;
        var now = PowerSteps.Rows(_run);
        await PowerSteps.WriteAsync(connection, transaction, CorrelationId, _stepsRead ?? [], now, cancellationToken);
        _stepsRead = now;
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
