using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;
using NpgsqlTypes;
using PowerEvents.Hosting;
using PowerEvents.Notifier.Alerts;

namespace PowerEvents.Notifier.Delivery;

/// <summary>A delivery waiting to be sent: which row, and the alert it carries.</summary>
public sealed record PendingDelivery(long DeliveryId, Alert Alert);

/// <summary>How a delivery ended: sent, or given up after <paramref name="Attempts"/> attempts.</summary>
public sealed record DeliveryOutcome(bool Delivered, int Attempts, int? StatusCode, string? Error);

/// <summary>
/// The Notifier's state in PostgreSQL (schema <c>notifier</c>): each fact once (its <see cref="Alert.Fact"/> key is
/// unique, which makes redeliveries and replays under new message ids harmless) and one delivery row per destination,
/// <c>pending</c> → <c>delivered</c> or <c>failed</c>. Failed rows are kept: they are the dead letters.
/// </summary>
public sealed class AlertStore(NpgsqlDataSource dataSource)
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    /// <summary>The Notifier's tables as versioned migrations (component <c>notifier</c>), run by the hosting library's one runner.</summary>
    public static readonly SchemaMigrations Schema = new("notifier",
    [
        // json, not jsonb: the event's details keep their order as published.
        new Migration(1, "alerts and deliveries", """
            CREATE SCHEMA IF NOT EXISTS notifier;
            CREATE TABLE IF NOT EXISTS notifier.alerts (
                id          uuid PRIMARY KEY,
                event_type  text NOT NULL,
                severity    text NOT NULL,
                title       text NOT NULL,
                alert       json NOT NULL,
                received_at timestamptz NOT NULL DEFAULT now());
            CREATE TABLE IF NOT EXISTS notifier.deliveries (
                id          bigserial PRIMARY KEY,
                alert_id    uuid NOT NULL REFERENCES notifier.alerts (id) ON DELETE CASCADE,
                destination text NOT NULL,
                status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
                attempts    integer NOT NULL DEFAULT 0,
                last_status integer,
                last_error  text,
                updated_at  timestamptz NOT NULL DEFAULT now(),
                UNIQUE (alert_id, destination));
            CREATE INDEX IF NOT EXISTS deliveries_pending ON notifier.deliveries (destination, id) WHERE status = 'pending';
            """),
        // Alerts once per fact: rows recorded before it have no fact and are never matched.
        new Migration(2, "alert facts", """
            ALTER TABLE notifier.alerts ADD COLUMN IF NOT EXISTS fact text;
            CREATE UNIQUE INDEX IF NOT EXISTS alerts_fact ON notifier.alerts (fact);
            """),
    ]);

    /// <summary>Applies the migrations if this process has not yet (an event can arrive before the start finished).</summary>
    public Task EnsureSchemaAsync(CancellationToken cancellationToken) => Schema.EnsureAppliedAsync(dataSource, cancellationToken);

    /// <summary>Records the alert and a pending delivery per destination; false when its fact (or its id) was recorded before.</summary>
    public async Task<bool> RecordAsync(Alert alert, IReadOnlyList<string> destinations, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var insert = new NpgsqlCommand("""
            INSERT INTO notifier.alerts (id, fact, event_type, severity, title, alert)
            VALUES (@id, @fact, @event_type, @severity, @title, @alert)
            ON CONFLICT DO NOTHING
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue("id", alert.Id);
            insert.Parameters.AddWithValue("fact", alert.Fact);
            insert.Parameters.AddWithValue("event_type", alert.EventType);
            insert.Parameters.AddWithValue("severity", alert.Severity.ToString());
            insert.Parameters.AddWithValue("title", alert.Title);
            insert.Parameters.AddWithValue("alert", NpgsqlDbType.Json, JsonSerializer.Serialize(alert, Json));
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
                return false;
        }

        if (destinations.Count > 0)
        {
            await using var deliveries = new NpgsqlCommand("""
                INSERT INTO notifier.deliveries (alert_id, destination)
                SELECT @id, unnest(@destinations)
                """, connection, transaction);
            deliveries.Parameters.AddWithValue("id", alert.Id);
            deliveries.Parameters.AddWithValue("destinations", destinations.ToArray());
            await deliveries.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>The oldest pending delivery for a destination: each destination sends in the order alerts arrived.</summary>
    public async Task<PendingDelivery?> NextPendingAsync(string destination, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        await using var command = dataSource.CreateCommand("""
            SELECT d.id, a.alert::text
            FROM notifier.deliveries d JOIN notifier.alerts a ON a.id = d.alert_id
            WHERE d.destination = @destination AND d.status = 'pending'
            ORDER BY d.id
            LIMIT 1
            """);
        command.Parameters.AddWithValue("destination", destination);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        var alert = JsonSerializer.Deserialize<Alert>(reader.GetString(1), Json)
            ?? throw new InvalidDataException($"delivery {reader.GetInt64(0)} holds no alert");
        return new PendingDelivery(reader.GetInt64(0), alert);
    }

    public async Task CompleteAsync(long deliveryId, DeliveryOutcome outcome, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE notifier.deliveries
            SET status = @status, attempts = attempts + @attempts, last_status = @last_status, last_error = @last_error, updated_at = now()
            WHERE id = @id
            """);
        command.Parameters.AddWithValue("id", deliveryId);
        command.Parameters.AddWithValue("status", outcome.Delivered ? "delivered" : "failed");
        command.Parameters.AddWithValue("attempts", outcome.Attempts);
        command.Parameters.AddWithValue("last_status", (object?)outcome.StatusCode ?? DBNull.Value);
        command.Parameters.AddWithValue("last_error", (object?)outcome.Error ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Pending deliveries per destination name (to warn about names no longer configured).</summary>
    public async Task<IReadOnlyDictionary<string, long>> PendingByDestinationAsync(CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        await using var command = dataSource.CreateCommand(
            "SELECT destination, count(*) FROM notifier.deliveries WHERE status = 'pending' GROUP BY destination");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var pending = new Dictionary<string, long>();
        while (await reader.ReadAsync(cancellationToken))
            pending[reader.GetString(0)] = reader.GetInt64(1);
        return pending;
    }

    /// <summary>Forgets alerts older than the retention whose deliveries all succeeded; failed ones stay until an operator acts.</summary>
    public async Task<int> PruneAsync(TimeSpan retention, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        await using var command = dataSource.CreateCommand("""
            DELETE FROM notifier.alerts a
            WHERE a.received_at < now() - @retention
              AND NOT EXISTS (SELECT 1 FROM notifier.deliveries d WHERE d.alert_id = a.id AND d.status <> 'delivered')
            """);
        command.Parameters.AddWithValue("retention", retention);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
