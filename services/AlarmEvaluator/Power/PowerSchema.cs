using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// Creates the saga's tables if they are missing, at start. Plain idempotent DDL rather than EnsureCreated: the
/// sensing tables share the database, and EnsureCreated does nothing when any table exists.
/// </summary>
public sealed class PowerSchema(NpgsqlDataSource dataSource, IServiceScopeFactory scopes, ILogger<PowerSchema> logger) : IHostedService
{
    public const string Ddl = """
        CREATE TABLE IF NOT EXISTS power_saga (
            correlation_id   uuid PRIMARY KEY,
            current_state    text NOT NULL,
            version          integer NOT NULL,
            cluster          text NOT NULL,
            run_id           uuid NULL,
            alarm_id         uuid NULL,
            started_at       timestamptz NULL,
            completed_at     timestamptz NULL,
            alarm_cleared_at timestamptz NULL,
            step             integer NOT NULL,
            deadline         timestamptz NULL,
            run              jsonb NULL
        );
        CREATE INDEX IF NOT EXISTS power_saga_deadline ON power_saga (deadline) WHERE deadline IS NOT NULL;
        CREATE TABLE IF NOT EXISTS power_run_history (
            id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            run_id   uuid NOT NULL,
            cluster  text NOT NULL,
            at       timestamptz NOT NULL,
            step     text NOT NULL,
            target   text NOT NULL,
            outcome  text NOT NULL,
            detail   text NOT NULL
        );
        CREATE INDEX IF NOT EXISTS power_run_history_run ON power_run_history (run_id, id);
        """;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // The database may come up after the service (docker-compose): keep trying rather than fail the start.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var command = dataSource.CreateCommand(Ddl);
                await command.ExecuteNonQueryAsync(cancellationToken);
                // Build EF Core's model now, not when the first alarm arrives.
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<PowerDbContext>().Sagas.AsNoTracking().AnyAsync(cancellationToken);
                return;
            }
            catch (NpgsqlException ex) when (attempt < 30)
            {
                logger.LogWarning("Power saga tables not created yet (attempt {Attempt}): {Error}", attempt, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
