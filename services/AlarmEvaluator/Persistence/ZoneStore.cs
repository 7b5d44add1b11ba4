using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using PowerEvents.Hosting;
using PowerEvents.AlarmEvaluator.Zones;

namespace PowerEvents.AlarmEvaluator.Persistence;

/// <summary>
/// Zone state in PostgreSQL. One step of a zone (a sample or the silence check) runs in one
/// transaction that locks the zone's row, saves the new state and writes the transitions it caused to the
/// project's outbox (<see cref="Outbox"/>); the outbox is delivered after the commit. So a crash either loses the whole step (the sample is
/// redelivered and decided again) or keeps both the state and the pending events (published at restart).
/// </summary>
public sealed class ZoneStore(NpgsqlDataSource dataSource, ILogger<ZoneStore> logger)
{
    /// <summary>The zone tables as versioned migrations (component <c>zones</c>), run by the hosting library's one runner.</summary>
    public static readonly SchemaMigrations Schema = new("zones",
    [
        new Migration(1, "zone state and outbox", """
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
            """),
        // The zone's own outbox gives way to the project's one outbox (hosting Outbox); transitions still pending move there.
        new Migration(2, "pending transitions to the shared outbox", """
            DO $$
            BEGIN
                IF to_regclass('outbox') IS NOT NULL THEN
                    INSERT INTO outbox (message_id, message_type, destination, payload, created_at)
                    SELECT message_id, 'PowerEvents.Contracts.' || message_type, NULL, payload, created_at
                    FROM alarm_outbox WHERE published_at IS NULL ORDER BY seq
                    ON CONFLICT (message_id) DO NOTHING;
                END IF;
            END $$;
            DROP TABLE IF EXISTS alarm_outbox;
            """),
    ]);

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Applies the zone migrations if this process has not yet (a sample can arrive before the start finished).</summary>
    public async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        await Outbox.Migrations.EnsureAppliedAsync(dataSource, cancellationToken);
        if (await Schema.EnsureAppliedAsync(dataSource, cancellationToken) > 0)
            logger.LogInformation("Zone state schema ready");
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

        await Outbox.WriteAsync(dataSource, connection, transaction, [.. decision.Events()], cancellationToken);

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
}
