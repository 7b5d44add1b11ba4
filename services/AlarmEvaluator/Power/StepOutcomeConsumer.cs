using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using PowerEvents.Contracts;
using PowerEvents.Hosting;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>Registered with the saga's PostgreSQL repository: VM outcomes are recorded by <see cref="StepOutcomeConsumer"/>, not by the saga.</summary>
public sealed class StepRowRecording;

/// <summary>
/// Records VM outcomes (shutdown and power-on) on their step rows, many at once, without the saga: the outcome's row is
/// updated under its own row lock (never the run's header), a freed slot of the stage claims the next step
/// (<c>FOR UPDATE SKIP LOCKED</c>, so concurrent outcomes never wait for each other) and its command is written to the
/// outbox in the same transaction, with the history lines and alerts. Only when the stage has no open step left does the
/// saga hear of it (<see cref="PowerStageCompleted"/>, after the commit; the saga ignores a second copy, and after a crash
/// in between its resume pass finds the stage complete). The decisions are <see cref="StageEngine"/>'s, as in the saga.
/// </summary>
public sealed class StepOutcomeConsumer(
    NpgsqlDataSource dataSource,
    OutboxPublisher publisher,
    IOptions<PowerOptions> options,
    TimeProvider clock,
    ILogger<StepOutcomeConsumer> logger) : IConsumer<VmShutDown>, IConsumer<VmPoweredOn>
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
            _ => (m.Outcome != StepOutcome.Failed, StageEngine.Detail(m.Fault)));
    }

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
            string name;
            StepStatus status;
            int attempts;
            bool isVCenter;
            await using (var select = new NpgsqlCommand(
                "SELECT saga_id, stage, name, status, attempts, is_vcenter FROM power_step WHERE run_id = $1 AND kind = $2 AND target = $3 FOR UPDATE",
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
            if (decided == StepStatus.Pending)
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
    /// One statement (data-modifying CTEs, one round trip): the step's new status with its history line, and/or the claim of
    /// <paramref name="claimStage"/>'s next Pending step (it becomes Requested; its history line and command are added to
    /// <paramref name="history"/> and <paramref name="messages"/>, written with the outbox). True: a step was claimed.
    /// </summary>
    async Task<bool> RecordAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid runId, string kind, string target,
        StepStatus? decided, RunOutcome reported, string detail, HistoryEntry? recorded, int? claimStage, ClusterOptions cluster, DateTimeOffset now,
        List<HistoryEntry> history, List<object> messages, CancellationToken cancellationToken)
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
                       WHERE run_id = $1 AND kind = $2 AND stage = $7 AND status = 'Pending'
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

        var claimed = false;
        var requested = new List<HistoryEntry>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                claimed = true;
                var (vmId, vmName, attempts, hardPowerOff, stageName) = (reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetBoolean(3), reader.GetString(4));
                requested.Add(new HistoryEntry(runId, cluster.Name, now, kind, vmName, RunOutcome.Requested, $"tier {stageName}, attempt {attempts}"));
                messages.Add(kind == PowerSteps.VmShutdown
                    ? new VmShutdownRequested(runId, cluster.Name, vmId, vmName, hardPowerOff ? TimeSpan.Zero : cluster.GuestShutdownTimeout)
                    : new VmPowerOnRequested(runId, cluster.Name, vmId, vmName));
            }
        }
        if (requested.Count > 0)
            await WriteHistoryAsync(connection, transaction, requested, cancellationToken);
        history.AddRange(requested);
        return claimed;
    }

    async Task<long> OpenStepsAsync(Guid runId, string kind, int stage, CancellationToken cancellationToken)
    {
        await using var count = dataSource.CreateCommand(
            "SELECT count(*) FROM power_step WHERE run_id = $1 AND kind = $2 AND stage = $3 AND status IN ('Pending', 'Requested')");
        count.Parameters.Add(new NpgsqlParameter { Value = runId });
        count.Parameters.Add(new NpgsqlParameter { Value = kind });
        count.Parameters.Add(new NpgsqlParameter { Value = stage });
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
    }

    static async Task WriteHistoryAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<HistoryEntry> history, CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand("""
            INSERT INTO power_run_history (run_id, cluster, at, step, target, outcome, detail)
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[])
            """, connection, transaction);
        insert.Parameters.Add(new NpgsqlParameter { Value = history.Select(h => h.RunId).ToArray() });
        insert.Parameters.Add(new NpgsqlParameter { Value = history.Select(h => h.Cluster).ToArray() });
        insert.Parameters.Add(new NpgsqlParameter { Value = history.Select(h => h.At).ToArray() });
        insert.Parameters.Add(new NpgsqlParameter { Value = history.Select(h => h.Step).ToArray() });
        insert.Parameters.Add(new NpgsqlParameter { Value = history.Select(h => h.Target).ToArray() });
        insert.Parameters.Add(new NpgsqlParameter { Value = history.Select(h => h.Outcome.ToString()).ToArray() });
        insert.Parameters.Add(new NpgsqlParameter { Value = history.Select(h => h.Detail).ToArray() });
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>Its own queue, with concurrency: outcomes of one stage are recorded side by side (each locks only its own row).</summary>
public sealed class StepOutcomeConsumerDefinition : ConsumerDefinition<StepOutcomeConsumer>
{
    public StepOutcomeConsumerDefinition()
    {
        EndpointName = "alarm-evaluator-power-step-outcome";
        // Each outcome holds one pooled connection for a few statements; the pool (100 by default) leaves room for the saga.
        ConcurrentMessageLimit = 48;
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
