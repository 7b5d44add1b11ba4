using Npgsql;
using PowerEvents.Hosting;

namespace PowerEvents.Console.Persistence;

/// <summary>The console's own tables (component <c>console</c>) through the hosting library's one migrations runner. Other services' tables are never read.</summary>
public sealed class ConsoleSchema(NpgsqlDataSource dataSource)
{
    public static readonly SchemaMigrations Schema = new("console",
    [
        new Migration(1, "events, accounts, tokens, audit, power windows", """
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
            """),
    ]);

    /// <summary>Applies the migrations if this process has not yet (an event can arrive before the start finished).</summary>
    public Task EnsureAsync(CancellationToken cancellationToken) => Schema.EnsureAppliedAsync(dataSource, cancellationToken);
}
