using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace PowerEvents.Hosting;

/// <summary>
/// One versioned change to a component's tables. Versions of a component are applied in order, each once; the
/// first version of a component that predates the runner keeps <c>IF NOT EXISTS</c> so that an existing database adopts it.
/// </summary>
public sealed record Migration(int Version, string Name, string Sql);

/// <summary>
/// The project's one schema mechanism: a component (<c>power</c>, <c>zones</c>, …) owns an ordered list of
/// <see cref="Migration"/>s; <see cref="EnsureAppliedAsync"/> applies the missing ones in one transaction under an
/// advisory lock (several instances may start at once) and records them in <c>schema_migrations</c>. Registered with
/// <see cref="SchemaMigrationRegistration.AddSchemaMigrations"/>, applied at start by <see cref="SchemaMigrationService"/>;
/// a store may call <see cref="EnsureAppliedAsync"/> before its first query too (a message can arrive before the
/// start finished) — it costs nothing once applied.
/// </summary>
public sealed class SchemaMigrations
{
    const long LockKey = 7420100;
    const string Bookkeeping = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            component  text NOT NULL,
            version    integer NOT NULL,
            name       text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (component, version)
        );
        """;

    readonly SemaphoreSlim _gate = new(1, 1);

    // Per database: tests (and tools) run several services against different databases in one process.
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _applied = new(StringComparer.Ordinal);

    public SchemaMigrations(string component, IReadOnlyList<Migration> migrations)
    {
        if (migrations.Select(m => m.Version).Distinct().Count() != migrations.Count || migrations.Any(m => m.Version < 1))
            throw new ArgumentException($"Migrations of '{component}' need distinct positive versions", nameof(migrations));
        Component = component;
        Migrations = [.. migrations.OrderBy(m => m.Version)];
    }

    public string Component { get; }
    public IReadOnlyList<Migration> Migrations { get; }

    /// <summary>Applies the versions not yet recorded; returns how many it applied (0 when the schema was up to date).</summary>
    public async Task<int> EnsureAppliedAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var database = dataSource.ConnectionString;
        if (_applied.ContainsKey(database))
            return 0;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_applied.ContainsKey(database))
                return 0;
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var command = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({LockKey}); {Bookkeeping}", connection, transaction))
                await command.ExecuteNonQueryAsync(cancellationToken);

            var done = new HashSet<int>();
            await using (var select = new NpgsqlCommand("SELECT version FROM schema_migrations WHERE component = $1", connection, transaction))
            {
                select.Parameters.Add(new NpgsqlParameter { Value = Component });
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                    done.Add(reader.GetInt32(0));
            }

            var applied = 0;
            foreach (var migration in Migrations.Where(m => !done.Contains(m.Version)))
            {
                await using (var apply = new NpgsqlCommand(migration.Sql, connection, transaction))
                    await apply.ExecuteNonQueryAsync(cancellationToken);
                await using var record = new NpgsqlCommand(
                    "INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2, $3)", connection, transaction);
                record.Parameters.Add(new NpgsqlParameter { Value = Component });
                record.Parameters.Add(new NpgsqlParameter { Value = migration.Version });
                record.Parameters.Add(new NpgsqlParameter { Value = migration.Name });
                await record.ExecuteNonQueryAsync(cancellationToken);
                applied++;
            }
            await transaction.CommitAsync(cancellationToken);
            _applied[database] = true;
            return applied;
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>Applies every registered component's migrations at start, waiting for PostgreSQL if it comes up after the service.</summary>
public sealed class SchemaMigrationService(IEnumerable<SchemaMigrations> components, NpgsqlDataSource dataSource, ILogger<SchemaMigrationService> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var component in components)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    var applied = await component.EnsureAppliedAsync(dataSource, cancellationToken);
                    logger.LogInformation("Schema {Component}: {Applied} migration(s) applied, {Total} known", component.Component, applied, component.Migrations.Count);
                    break;
                }
                catch (NpgsqlException ex) when (attempt < 30)
                {
                    logger.LogWarning("Schema {Component} not migrated yet (attempt {Attempt}): {Error}", component.Component, attempt, ex.Message);
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                }
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class SchemaMigrationRegistration
{
    /// <summary>Registers a component's migrations (applied at start, in registration order across components). Needs an <see cref="NpgsqlDataSource"/>.</summary>
    public static IServiceCollection AddSchemaMigrations(this IServiceCollection services, SchemaMigrations component)
    {
        services.AddSingleton(component);
        if (!services.Any(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(SchemaMigrationService)))
            services.AddHostedService<SchemaMigrationService>();
        return services;
    }
}
