using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using PowerEvents.AlarmEvaluator.Zones;
using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator.Persistence;

/// <summary>
/// Zone state and the outbox in PostgreSQL. One step of a zone (a sample or the silence check) runs in one
/// transaction that locks the zone's row, saves the new state and writes the transitions it caused to the
/// outbox; the outbox is published after the commit. So a crash either loses the whole step (the sample is
/// redelivered and decided again) or keeps both the state and the pending events (published at restart).
/// </summary>
public sealed class ZoneStore(NpgsqlDataSource dataSource, ILogger<ZoneStore> logger)
{
    const string Schema = """
        CREATE TABLE IF NOT EXISTS alarm_zone_state (
            zone        text PRIMARY KEY,
            state       jsonb NOT NULL,
            updated_at  timestamptz NOT NULL
        );
        CREATE TABLE IF NOT EXISTS alarm_outbox (
            seq           bigserial PRIMARY KEY,
            message_id    uuid NOT NULL UNIQUE,
            message_type  text NOT NULL,
            payload       jsonb NOT NULL,
            created_at    timestamptz NOT NULL,
            published_at  timestamptz
        );
        CREATE INDEX IF NOT EXISTS alarm_outbox_pending ON alarm_outbox (seq) WHERE published_at IS NULL;
        """;

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static readonly IReadOnlyDictionary<string, Type> MessageTypes = new[]
    {
        typeof(AlarmRaised), typeof(AlarmCleared), typeof(ZoneStalenessChanged), typeof(ZoneEarlyWarningChanged),
    }.ToDictionary(t => t.Name, StringComparer.Ordinal);

    readonly SemaphoreSlim _schemaLock = new(1, 1);
    volatile bool _schemaReady;

    /// <summary>Creates the tables if they are missing; safe to run from several instances at once.</summary>
    public async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        if (_schemaReady)
            return;
        await _schemaLock.WaitAsync(cancellationToken);
        try
        {
            if (_schemaReady)
                return;
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // Serialises concurrent first starts: CREATE ... IF NOT EXISTS alone can still race on the catalog.
            await using (var gate = new NpgsqlCommand("SELECT pg_advisory_xact_lock(7420001)", connection, transaction))
                await gate.ExecuteNonQueryAsync(cancellationToken);
            await using (var create = new NpgsqlCommand(Schema, connection, transaction))
                await create.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            _schemaReady = true;
            logger.LogInformation("Zone state schema ready");
        }
        finally
        {
            _schemaLock.Release();
        }
    }

    /// <summary>Runs one step of a zone under its row lock; returns the decision (its events are in the outbox once this returns).</summary>
    public async Task<ZoneDecision> StepAsync(ZoneEvaluator evaluator, Func<ZoneState, ZoneDecision> step, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        var zone = evaluator.Zone.Name;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var insert = new NpgsqlCommand(
            "INSERT INTO alarm_zone_state (zone, state, updated_at) VALUES ($1, $2, now()) ON CONFLICT (zone) DO NOTHING", connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = zone });
            insert.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(evaluator.NewState(), Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        ZoneState state;
        await using (var select = new NpgsqlCommand("SELECT state::text FROM alarm_zone_state WHERE zone = $1 FOR UPDATE", connection, transaction))
        {
            select.Parameters.Add(new NpgsqlParameter { Value = zone });
            var text = (string)(await select.ExecuteScalarAsync(cancellationToken))!;
            state = JsonSerializer.Deserialize<ZoneState>(text, Json) ?? evaluator.NewState();
        }

        var before = JsonSerializer.Serialize(state, Json);
        var decision = step(state);
        var after = JsonSerializer.Serialize(state, Json);
        if (after == before)
        {
            await transaction.RollbackAsync(cancellationToken);
            return decision;
        }

        await using (var update = new NpgsqlCommand("UPDATE alarm_zone_state SET state = $2, updated_at = now() WHERE zone = $1", connection, transaction))
        {
            update.Parameters.Add(new NpgsqlParameter { Value = zone });
            update.Parameters.Add(new NpgsqlParameter { Value = after, NpgsqlDbType = NpgsqlDbType.Jsonb });
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var message in decision.Events())
        {
            await using var outbox = new NpgsqlCommand(
                "INSERT INTO alarm_outbox (message_id, message_type, payload, created_at) VALUES ($1, $2, $3, now())", connection, transaction);
            outbox.Parameters.Add(new NpgsqlParameter { Value = Guid.NewGuid() });
            outbox.Parameters.Add(new NpgsqlParameter { Value = message.GetType().Name });
            outbox.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(message, message.GetType(), Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
            await outbox.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return decision;
    }

    /// <summary>The saved state of a zone, or null (for tests and diagnostics).</summary>
    public async Task<ZoneState?> LoadAsync(string zone, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        await using var command = dataSource.CreateCommand("SELECT state::text FROM alarm_zone_state WHERE zone = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = zone });
        return await command.ExecuteScalarAsync(cancellationToken) is string text ? JsonSerializer.Deserialize<ZoneState>(text, Json) : null;
    }

    /// <summary>
    /// Publishes pending outbox rows in order, each with its row's message id, and marks them published.
    /// A crash between the publish and the mark publishes that row again at restart, with the same
    /// message id and alarm id, so a consumer can tell it is the same transition.
    /// </summary>
    public async Task<int> PublishPendingAsync(Func<object, Guid, CancellationToken, Task> publish, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var pending = new List<(long Seq, Guid Id, string Type, string Payload)>();
        await using (var select = new NpgsqlCommand(
            "SELECT seq, message_id, message_type, payload::text FROM alarm_outbox WHERE published_at IS NULL ORDER BY seq LIMIT 100 FOR UPDATE SKIP LOCKED",
            connection, transaction))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                pending.Add((reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3)));
        }

        foreach (var (seq, id, type, payload) in pending)
        {
            if (!MessageTypes.TryGetValue(type, out var messageType))
            {
                logger.LogError("Outbox row {Seq} has an unknown message type {Type}; left unpublished", seq, type);
                continue;
            }
            var message = JsonSerializer.Deserialize(payload, messageType, Json)!;
            await publish(message, id, cancellationToken);
            await using var mark = new NpgsqlCommand("UPDATE alarm_outbox SET published_at = now() WHERE seq = $1", connection, transaction);
            mark.Parameters.Add(new NpgsqlParameter { Value = seq });
            await mark.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return pending.Count;
    }
}
