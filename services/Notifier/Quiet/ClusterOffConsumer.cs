using MassTransit;
using Npgsql;
using PowerEvents.Contracts;
using PowerEvents.Hosting;

namespace PowerEvents.Notifier.Quiet;

/// <summary>
/// The windows in which a cluster is off by a PowerEvents run, in <c>notifier.cluster_off</c> (one row per cluster, the latest
/// run): opened by <see cref="PowerRunStarted"/> (not a drill), closed by a <see cref="PowerRestoreCompleted"/> that was not
/// interrupted. The preflight and readiness consumers read them to keep expected failures quiet.
/// </summary>
public sealed class ClusterOffConsumer(NpgsqlDataSource dataSource, ILogger<ClusterOffConsumer> logger)
    : IConsumer<PowerRunStarted>, IConsumer<PowerRunCompleted>, IConsumer<PowerRestoreStarted>, IConsumer<PowerRestoreCompleted>
{
    public static readonly SchemaMigrations Schema = new("notifier-cluster-off",
    [
        new Migration(1, "clusters off by a PowerEvents run", """
            CREATE SCHEMA IF NOT EXISTS notifier;
            CREATE TABLE IF NOT EXISTS notifier.cluster_off (
                cluster      text PRIMARY KEY,
                run_id       uuid NOT NULL,
                since        timestamptz NOT NULL,
                shut_down_at timestamptz,
                ended_at     timestamptz,
                restoring_at timestamptz);
            """),
    ]);

    public async Task Consume(ConsumeContext<PowerRunStarted> context)
    {
        var e = context.Message;
        if (e.DryRun)
            return;
        var token = context.CancellationToken;
        await Schema.EnsureAppliedAsync(dataSource, token);
        await using var connection = await dataSource.OpenConnectionAsync(token);
        await using var transaction = await connection.BeginTransactionAsync(token);
        var current = (await ReadAsync(connection, transaction, [e.Cluster], forUpdate: true, token)).FirstOrDefault();
        var next = QuietPolicy.Opened(current, e.Cluster, e.RunId, e.StartedAt);
        await using (var upsert = new NpgsqlCommand("""
            INSERT INTO notifier.cluster_off (cluster, run_id, since, shut_down_at, ended_at) VALUES ($1, $2, $3, $4, NULL)
            ON CONFLICT (cluster) DO UPDATE SET run_id = EXCLUDED.run_id, since = EXCLUDED.since, shut_down_at = EXCLUDED.shut_down_at, ended_at = NULL, restoring_at = NULL
            """, connection, transaction))
        {
            upsert.Parameters.Add(new NpgsqlParameter { Value = e.Cluster });
            upsert.Parameters.Add(new NpgsqlParameter { Value = next.RunId });
            upsert.Parameters.Add(new NpgsqlParameter { Value = next.Since });
            upsert.Parameters.Add(new NpgsqlParameter { Value = (object?)next.ShutDownAt ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
            await upsert.ExecuteNonQueryAsync(token);
        }
        await transaction.CommitAsync(token);
        logger.LogInformation("Cluster {Cluster} is off by run {RunId}: failures of its vcenter/esxi checks are expected and not alerted until it is back", e.Cluster, e.RunId);
    }

    public Task Consume(ConsumeContext<PowerRunCompleted> context) =>
        UpdateAsync("UPDATE notifier.cluster_off SET shut_down_at = $3 WHERE cluster = $1 AND run_id = $2 AND ended_at IS NULL",
            context.Message.Cluster, context.Message.RunId, context.Message.CompletedAt, context.CancellationToken);

    /// <summary>A power-on under way: only its completion ends the window (hosts that answer early do not).</summary>
    public Task Consume(ConsumeContext<PowerRestoreStarted> context) =>
        UpdateAsync("UPDATE notifier.cluster_off SET restoring_at = $3 WHERE cluster = $1 AND run_id = $2 AND ended_at IS NULL",
            context.Message.Cluster, context.Message.RunId, context.Message.StartedAt, context.CancellationToken);

    public async Task Consume(ConsumeContext<PowerRestoreCompleted> context)
    {
        var e = context.Message;
        // Interrupted: the alarm is back and the shutdown runs again, the cluster stays off.
        if (e.Interrupted)
            return;
        if (await UpdateAsync("UPDATE notifier.cluster_off SET ended_at = $3 WHERE cluster = $1 AND run_id = $2 AND ended_at IS NULL",
                e.Cluster, e.RunId, e.CompletedAt, context.CancellationToken) > 0)
            logger.LogInformation("Cluster {Cluster} is back from run {RunId}: a check that still fails is alerted", e.Cluster, e.RunId);
    }

    async Task<int> UpdateAsync(string sql, string cluster, Guid runId, DateTimeOffset at, CancellationToken token)
    {
        await Schema.EnsureAppliedAsync(dataSource, token);
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = cluster });
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        command.Parameters.Add(new NpgsqlParameter { Value = at });
        return await command.ExecuteNonQueryAsync(token);
    }

    /// <summary>The windows of these clusters (the schema must be applied).</summary>
    public static async Task<IReadOnlyList<ClusterOffWindow>> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<string> clusters,
        bool forUpdate, CancellationToken token)
    {
        if (clusters.Count == 0)
            return [];
        await using var select = new NpgsqlCommand(
            "SELECT cluster, run_id, since, shut_down_at, ended_at FROM notifier.cluster_off WHERE cluster = ANY($1)" + (forUpdate ? " FOR UPDATE" : ""),
            connection, transaction);
        select.Parameters.Add(new NpgsqlParameter { Value = clusters.ToArray() });
        await using var reader = await select.ExecuteReaderAsync(token);
        var windows = new List<ClusterOffWindow>();
        while (await reader.ReadAsync(token))
            windows.Add(new ClusterOffWindow(reader.GetString(0), reader.GetGuid(1), reader.GetFieldValue<DateTimeOffset>(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3), reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4)));
        return windows;
    }
}
