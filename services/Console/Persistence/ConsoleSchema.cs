using Npgsql;

namespace PowerEvents.Console.Persistence;

/// <summary>
/// The console's own tables, created and evolved by numbered steps applied once each at start (hosting has no shared
/// migrations runner yet). Other services' tables are never read.
/// </summary>
public sealed class ConsoleSchema(NpgsqlDataSource dataSource)
{
    static readonly string[] Migrations =
    [
        """
        CREATE TABLE console_events (
            id bigserial PRIMARY KEY,
            kind text NOT NULL,
            body jsonb NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now());
        CREATE INDEX console_events_kind_received ON console_events (kind, received_at);
        CREATE TABLE console_users (
            name text PRIMARY KEY,
            role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
            password_hash text NOT NULL,
            failed_logins int NOT NULL DEFAULT 0,
            locked_until timestamptz,
            created_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE console_tokens (
            token_hash bytea PRIMARY KEY,
            user_name text NOT NULL REFERENCES console_users (name) ON DELETE CASCADE,
            label text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz);
        CREATE TABLE console_audit (
            id bigserial PRIMARY KEY,
            at timestamptz NOT NULL,
            user_name text NOT NULL,
            action text NOT NULL,
            cluster text,
            reason text NOT NULL,
            outcome text NOT NULL);
        CREATE TABLE console_windows (
            id bigserial PRIMARY KEY,
            cluster text NOT NULL,
            days text NOT NULL,
            off_at time,
            on_at time,
            enabled boolean NOT NULL DEFAULT true,
            created_by text NOT NULL,
            last_off_on date,
            last_on_on date);
        """,
    ];

    readonly SemaphoreSlim _once = new(1, 1);
    bool _done;

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (_done)
            return;
        await _once.WaitAsync(cancellationToken);
        try
        {
            if (_done)
                return;
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // Two console instances starting together must not both apply a step.
            await Execute(connection, "SELECT pg_advisory_xact_lock(7170001)", cancellationToken);
            await Execute(connection, "CREATE TABLE IF NOT EXISTS console_schema (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", cancellationToken);
            await using var read = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM console_schema", connection);
            var version = (int)(await read.ExecuteScalarAsync(cancellationToken))!;
            for (var i = version; i < Migrations.Length; i++)
            {
                await Execute(connection, Migrations[i], cancellationToken);
                await Execute(connection, $"INSERT INTO console_schema (version) VALUES ({i + 1})", cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            _done = true;
        }
        finally
        {
            _once.Release();
        }
    }

    static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
