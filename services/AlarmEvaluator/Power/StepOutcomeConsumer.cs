using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using PowerEvents.Contracts;
using PowerEvents.Hosting;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>Registered with the saga's PostgreSQL repository: VM and host outcomes are recorded by <see cref="StepOutcomeConsumer"/>, not by the saga.</summary>
public sealed class StepRowRecording;

/// <summary>
/// Records VM outcomes (shutdown and power-on) and the hosts' maintenance, shutdown (through vCenter) and maintenance-exit
/// outcomes on their step rows, many at once, without the saga: the outcome's row is
/// updated under its own row lock (never the run's header), a freed slot of the stage claims the next step
/// (<c>FOR UPDATE SKIP LOCKED</c>, so concurrent outcomes never wait for each other) and its command is written to the
/// outbox in the same transaction, with the history lines and alerts. Only when the stage has no open step left does the
/// saga hear of it (<see cref="PowerStageCompleted"/>, after the commit; the saga ignores a second copy, and after a crash
/// in between its resume pass finds the stage complete). The decisions are <see cref="StageEngine"/>'s, as in the saga.
/// A host stage asks all its steps at once (no bound): a host's retry asks that host again, and a host step given up on
/// notes why on the host's detail (both rows of the host's direction carry it). Left to the saga: a host's power-on (its
/// stage is staggered by the saga's wake-ups, the reconnect stage reads it, and an <c>AlreadyOn</c> answer is republished
/// as the fact "powered on by this run") and the ESXi shutdown of vCenter's host (it may follow vCenter's VM to another
/// host and move where the power-on starts vCenter).
/// </summary>
public sealed class StepOutcomeConsumer(
    NpgsqlDataSource dataSource,
    OutboxPublisher publisher,
    IOptions<PowerOptions> options,
    TimeProvider clock,
    ILogger<StepOutcomeConsumer> logger)
    : IConsumer<VmShutDown>, IConsumer<VmPoweredOn>, IConsumer<HostEnteredMaintenance>, IConsumer<HostPoweredOff>, IConsumer<HostExitedMaintenance>
{
    public Task Consume(ConsumeContext<VmShutDown> context)
    {
        var m = context.Message;
        return RecordAsync(context, m.RunId, m.Cluster, PowerSteps.VmShutdown, m.VmId, RunOutcomes.Of(m.Outcome),
            isVCenter => ShutdownPolicy.Judge(isVCenter, m.Outcome, m.Fault));
    }

    public Task Consume(ConsumeContext<VmPoweredOn> context)
    {
        var m = context.Message;
        return RecordAsync(context, m.RunId, m.Cluster, PowerSteps.VmPowerOn, m.VmId, RunOutcomes.Of(m.Outcome),
            _ => NotFailed(m.Outcome, m.Fault));
    }

    public Task Consume(ConsumeContext<HostEnteredMaintenance> context)
    {
        var m = context.Message;
        return RecordAsync(context, m.RunId, m.Cluster, PowerSteps.HostMaintenance, m.Host, RunOutcomes.Of(m.Outcome),
            _ => NotFailed(m.Outcome, m.Fault));
    }

    public Task Consume(ConsumeContext<HostPoweredOff> context)
    {
        var m = context.Message;
        return RecordAsync(context, m.RunId, m.Cluster, PowerSteps.HostShutdown, m.Host, RunOutcomes.Of(m.Outcome),
            _ => NotFailed(m.Outcome, m.Fault));
    }

    public Task Consume(ConsumeContext<HostExitedMaintenance> context)
    {
        var m = context.Message;
        return RecordAsync(context, m.RunId, m.Cluster, PowerSteps.HostExitMaintenance, m.Host, RunOutcomes.Of(m.Outcome),
            _ => NotFailed(m.Outcome, m.Fault));
    }

    /// <summary>The judgement of every step but a VM's shutdown (whose hard power-off and vCenter's own VM count apart).</summary>
    static (bool Succeeded, string Detail) NotFailed(StepOutcome outcome, VCenterFault? fault) => (outcome != StepOutcome.Failed, StageEngine.Detail(fault));

    /// <summary>The host kinds recorded here, with their sibling row (the other step of the host's direction, which shares its detail).</summary>
    static readonly Dictionary<string, string> HostSibling = new()
    {
        [PowerSteps.HostMaintenance] = PowerSteps.HostShutdown,
        [PowerSteps.HostShutdown] = PowerSteps.HostMaintenance,
        [PowerSteps.HostExitMaintenance] = PowerSteps.HostPowerOn,
    };

    /// <summary>What a host step given up on notes on the host (as the saga did: <c>ShutdownPolicy</c>, <c>PowerOnPolicy</c>).</summary>
    static string GivenUp(string kind, string detail) => kind == PowerSteps.HostExitMaintenance ? $"still in maintenance mode: {detail}" : $"{kind}: {detail}";

    async Task RecordAsync(ConsumeContext context, Guid runId, string clusterName, string kind, string target, RunOutcome reported,
        Func<bool, (bool Succeeded, string Detail)> judge)
    {
        var cluster = options.Value.FindCluster(clusterName);
        if (cluster is null)
            return; // not a protected cluster: no run of ours asked for it
        var cancellationToken = context.CancellationToken;
        var now = clock.GetUtcNow();
        var history = new List<HistoryEntry>();
        var messages = new List<object>();
        Guid sagaId;
        int stage;
        bool lastOfStage;

        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            var isHost = HostSibling.ContainsKey(kind);
            string name;
            StepStatus status;
            int attempts;
            bool isVCenter;
            await using (var select = new NpgsqlCommand(
                isHost
                    // Host names are matched as vCenter does, without case (a handful of rows of the run's kind).
                    ? "SELECT saga_id, stage, name, status, attempts, is_vcenter, target FROM power_step WHERE run_id = $1 AND kind = $2 AND lower(target) = lower($3) FOR UPDATE"
                    : "SELECT saga_id, stage, name, status, attempts, is_vcenter, target FROM power_step WHERE run_id = $1 AND kind = $2 AND target = $3 FOR UPDATE",
                connection, transaction))
            {
                select.Parameters.Add(new NpgsqlParameter { Value = runId });
                select.Parameters.Add(new NpgsqlParameter { Value = kind });
                select.Parameters.Add(new NpgsqlParameter { Value = target });
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                if (!await reader.ReadAsync(cancellationToken))
                    return; // another run's step (an older run, a plan preview): not ours
                sagaId = reader.GetGuid(0);
                stage = reader.GetInt32(1);
                name = reader.GetString(2);
                status = Enum.Parse<StepStatus>(reader.GetString(3));
                attempts = reader.GetInt32(4);
                isVCenter = reader.GetBoolean(5);
                target = reader.GetString(6);
            }

            var (succeeded, detail) = judge(isVCenter);
            // A Requested step's stage is the current one: a stage's deadline makes its open steps Late before the run moves on.
            if (StageEngine.Decide(status, attempts, succeeded, stageCurrent: true, options.Value.StepRetries) is not { } decided)
            {
                // Not news: a duplicate, or a step not waiting for an outcome. A redelivery after this very outcome was
                // committed but before its stage's completion was sent (the broker away for a moment) sends it now.
                if (status is StepStatus.Done or StepStatus.Failed && await OpenStepsAsync(runId, kind, stage, cancellationToken) == 0)
                    await context.Send(new PowerStageCompleted(sagaId, runId, kind, stage));
                return;
            }

            var recorded = new HistoryEntry(runId, cluster.Name, now, kind, name, StageEngine.HistoryOutcome(decided, reported), detail);
            // A step that held a slot (a Late one's stage has moved on) hands it to the stage's next step; when there is
            // none, this may have been the stage's last open step.
            var held = status == StepStatus.Requested;
            if (isHost)
            {
                // A host stage asked every step at once: nothing waits for a slot. A retry asks this host again.
                history.Add(recorded);
                await RecordHostAsync(connection, transaction, runId, kind, target, decided, detail, recorded, cancellationToken);
                if (decided == StepStatus.Pending)
                {
                    await RecordAsync(connection, transaction, runId, kind, target, null, reported, detail, null, stage, cluster, now, history, messages,
                        cancellationToken, sagaId);
                    lastOfStage = false;
                }
                else
                    lastOfStage = held;
            }
            else if (decided == StepStatus.Pending)
            {
                // A retry: the step itself is Pending again and may be the one the claim picks, so it is written first.
                await RecordAsync(connection, transaction, runId, kind, target, decided, reported, detail, recorded, claimStage: null, cluster, now, [], [], cancellationToken);
                history.Add(recorded);
                lastOfStage = !await RecordAsync(connection, transaction, runId, kind, target, null, reported, detail, null, stage, cluster, now, history, messages,
                    cancellationToken);
            }
            else
            {
                // One statement: the outcome, its history line and (when it held a slot) the claim of the stage's next step.
                history.Add(recorded);
                lastOfStage = !await RecordAsync(connection, transaction, runId, kind, target, decided, reported, detail, recorded, held ? stage : null,
                    cluster, now, history, messages, cancellationToken) && held;
            }

            foreach (var entry in history.Where(ShutdownPolicy.IsNoteworthy))
            {
                logger.LogWarning("Cluster {Cluster}: {Step} {Target} {Outcome} {Detail}", entry.Cluster, entry.Step, entry.Target, entry.Outcome, entry.Detail);
                messages.Add(new PowerRunStepFailed(runId, cluster.Name, entry.Step, entry.Target, entry.Outcome.ToString(), entry.Detail, entry.At));
            }
            await Outbox.WriteAsync(dataSource, connection, transaction, messages, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        // The outbox's own loop delivers the claimed step's command at once. Not waited for here: delivery is one at a
        // time, and an outcome waiting for it held its consumer slot while ~1,000 commands of a stage went out (the
        // outcomes queued behind them: seconds per outcome at 4,096 VMs).
        if (messages.Count > 0)
            publisher.Kick();

        // Counted after the commit, so that of two last outcomes recorded at once at least one sees the stage empty.
        if (lastOfStage && await OpenStepsAsync(runId, kind, stage, cancellationToken) == 0)
            await context.Send(new PowerStageCompleted(sagaId, runId, kind, stage));
    }

    /// <summary>
    /// A host step's outcome and its history line in one statement; a host step given up on notes why on both of the host's
    /// rows of this direction (the run reads the host's detail from either). The outcome column stays as the saga writes it.
    /// </summary>
    static async Task RecordHostAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid runId, string kind, string target,
        StepStatus decided, string detail, HistoryEntry recorded, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            WITH recorded AS (UPDATE power_step SET status = $4 WHERE run_id = $1 AND kind = $2 AND target = $3 RETURNING 1),
                 noted AS (UPDATE power_step SET detail = $5 WHERE $6 AND run_id = $1 AND kind = ANY($7) AND target = $3 RETURNING 1),
                 history AS (INSERT INTO power_run_history (run_id, cluster, at, step, target, outcome, detail)
                             VALUES ($1, $8, $9, $2, $10, $11, $12) RETURNING 1)
            SELECT (SELECT count(*) FROM recorded) + (SELECT count(*) FROM noted) + (SELECT count(*) FROM history)
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        command.Parameters.Add(new NpgsqlParameter { Value = kind });
        command.Parameters.Add(new NpgsqlParameter { Value = target });
        command.Parameters.Add(new NpgsqlParameter { Value = decided.ToString() });
        command.Parameters.Add(new NpgsqlParameter { Value = GivenUp(kind, detail) });
        command.Parameters.Add(new NpgsqlParameter { Value = decided == StepStatus.Failed });
        command.Parameters.Add(new NpgsqlParameter { Value = new[] { kind, HostSibling[kind] } });
        command.Parameters.Add(new NpgsqlParameter { Value = recorded.Cluster });
        command.Parameters.Add(new NpgsqlParameter { Value = recorded.At });
        command.Parameters.Add(new NpgsqlParameter { Value = recorded.Target });
        command.Parameters.Add(new NpgsqlParameter { Value = recorded.Outcome.Text() });
        command.Parameters.Add(new NpgsqlParameter { Value = recorded.Detail });
        await command.ExecuteScalarAsync(cancellationToken);
    }

    /// <summary>
    /// One statement (data-modifying CTEs, one round trip): the step's new status with its history line, and/or the claim of
    /// <paramref name="claimStage"/>'s next Pending step (it becomes Requested; its history line and command are added to
    /// <paramref name="history"/> and <paramref name="messages"/>, written with the outbox). True: a step was claimed.
    /// </summary>
    async Task<bool> RecordAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid runId, string kind, string target,
        StepStatus? decided, RunOutcome reported, string detail, HistoryEntry? recorded, int? claimStage, ClusterOptions cluster, DateTimeOffset now,
        List<HistoryEntry> history, List<object> messages, CancellationToken cancellationToken, Guid sagaId = default)
    {
        var parts = new List<string>();
        if (decided is not null)
        {
            parts.Add("recorded AS (UPDATE power_step SET status = $4, outcome = $5, detail = $6 WHERE run_id = $1 AND kind = $2 AND target = $3 RETURNING 1)");
            parts.Add("""
                history AS (INSERT INTO power_run_history (run_id, cluster, at, step, target, outcome, detail)
                            VALUES ($1, $8, $9, $2, $10, $11, $6) RETURNING 1)
                """);
        }
        parts.Add(claimStage is null
            ? "claimed AS (SELECT ''::text AS target, ''::text AS name, 0 AS attempts, false AS hard_power_off, ''::text AS stage_name WHERE false)"
            : """
              next AS (SELECT run_id, kind, target FROM power_step
                       WHERE run_id = $1 AND kind = $2 AND stage = $7 AND status = 'Pending' AND (NOT $12 OR target = $3)
                       ORDER BY ord LIMIT 1 FOR UPDATE SKIP LOCKED),
              claimed AS (UPDATE power_step s SET status = 'Requested', attempts = s.attempts + 1
                          FROM next WHERE s.run_id = next.run_id AND s.kind = next.kind AND s.target = next.target
                          RETURNING s.target, s.name, s.attempts, s.hard_power_off, s.stage_name)
              """);
        await using var command = new NpgsqlCommand($"WITH {string.Join(",\n", parts)} SELECT target, name, attempts, hard_power_off, stage_name FROM claimed",
            connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        command.Parameters.Add(new NpgsqlParameter { Value = kind });
        command.Parameters.Add(new NpgsqlParameter { Value = target });
        command.Parameters.Add(new NpgsqlParameter { Value = decided?.ToString() ?? "", NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = reported.Text(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = detail, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = claimStage ?? -1, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = cluster.Name, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = recorded?.At ?? now, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = recorded?.Target ?? "", NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = recorded?.Outcome.Text() ?? "", NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        // A host's retry asks that host again, never another: a host not in the stage (off before, or finished through its
        // own ESXi API) keeps a Pending row of the kind.
        command.Parameters.Add(new NpgsqlParameter { Value = HostSibling.ContainsKey(kind), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Boolean });

        var claimed = false;
        var requested = new List<HistoryEntry>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                claimed = true;
                var (vmId, vmName, attempts, hardPowerOff, stageName) = (reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetBoolean(3), reader.GetString(4));
                var isHost = HostSibling.ContainsKey(kind);
                requested.Add(new HistoryEntry(runId, cluster.Name, now, kind, vmName, RunOutcome.Requested,
                    isHost ? $"attempt {attempts}" : $"tier {stageName}, attempt {attempts}"));
                messages.Add(kind switch
                {
                    PowerSteps.VmShutdown => new VmShutdownRequested(runId, cluster.Name, vmId, vmName, hardPowerOff ? TimeSpan.Zero : cluster.GuestShutdownTimeout),
                    PowerSteps.VmPowerOn => new VmPowerOnRequested(runId, cluster.Name, vmId, vmName),
                    PowerSteps.HostMaintenance => new HostMaintenanceRequested(runId, cluster.Name, vmId, null),
                    PowerSteps.HostShutdown => new HostShutdownRequested(runId, cluster.Name, vmId),
                    _ => (object)new HostExitMaintenanceRequested(runId, cluster.Name, vmId),
                });
            }
        }
        // A vSAN cluster's hosts enter maintenance mode without moving data (as the plan asked them the first time).
        if (kind == PowerSteps.HostMaintenance && requested.Count > 0 && await VsanAsync(connection, transaction, sagaId, cancellationToken))
        {
            for (var i = 0; i < messages.Count; i++)
            {
                if (messages[i] is HostMaintenanceRequested ask)
                    messages[i] = ask with { VsanObjectAction = "noAction" };
            }
        }
        if (requested.Count > 0)
            await PowerHistory.WriteAsync(connection, transaction, requested, cancellationToken);
        history.AddRange(requested);
        return claimed;
    }

    /// <summary>Whether the run's cluster has vSAN (its header's settings), read without a lock: only a host's maintenance retry needs it.</summary>
    static async Task<bool> VsanAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid sagaId, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand(
            "SELECT coalesce((run -> 'settings' ->> 'vsanEnabled') = 'true', false) FROM power_saga WHERE correlation_id = $1", connection, transaction);
        select.Parameters.Add(new NpgsqlParameter { Value = sagaId });
        return await select.ExecuteScalarAsync(cancellationToken) is true;
    }

    async Task<long> OpenStepsAsync(Guid runId, string kind, int stage, CancellationToken cancellationToken)
    {
        await using var count = dataSource.CreateCommand(
            "SELECT count(*) FROM power_step WHERE run_id = $1 AND kind = $2 AND stage = $3 AND status IN ('Pending', 'Requested') " +
            // The host-shutdown stage holds the hosts that were on, less those finished through their own ESXi API (a stage
            // of its own, later): the others' rows stay Pending, never asked.
            "AND (kind <> 'host-shutdown' OR (was_powered_on AND NOT via_esxi))");
        count.Parameters.Add(new NpgsqlParameter { Value = runId });
        count.Parameters.Add(new NpgsqlParameter { Value = kind });
        count.Parameters.Add(new NpgsqlParameter { Value = stage });
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
    }
}

/// <summary>Its own queue, with concurrency: outcomes of one stage are recorded side by side (each locks only its own row).</summary>
public sealed class StepOutcomeConsumerDefinition : ConsumerDefinition<StepOutcomeConsumer>
{
    /// <summary>Outcomes recorded at once. Each holds one pooled connection for a few statements, and the evaluator keeps that
    /// many open (AlarmEvaluatorHost): each is a PostgreSQL server process, and docker-compose allows 100 to all services.</summary>
    public const int Concurrency = 48;

    public StepOutcomeConsumerDefinition()
    {
        EndpointName = "alarm-evaluator-power-step-outcome";
        ConcurrentMessageLimit = Concurrency;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<StepOutcomeConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        // An outage is held for about two minutes, as everywhere (an endpoint's own retry replaces the bus-wide one); inside
        // it, a serialization failure or a dropped connection is retried quickly: the same outcome again is safe (the row
        // says whether it is news).
        endpointConfigurator.UseMessageRetry(TransientFaults.Configure);
        endpointConfigurator.UseMessageRetry(r => r.Intervals(50, 100, 250, 500, 1000, 2000, 5000));
    }
}
