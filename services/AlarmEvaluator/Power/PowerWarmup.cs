using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using PowerEvents.Contracts;
using PowerEvents.Hosting;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// The power saga's first-run paths, warmed at start (<see cref="StartupWarmup"/>): without it the first alarm after a
/// restart spent ≈ 0.6 s in the saga's first transition (EF Core's model, the row's query and insert, the run's header
/// JSON, the step rows, the outbox insert) on the 2-core test machine. It walks those paths for real, in one PostgreSQL
/// transaction that is rolled back: a run planned from a made-up two-host inventory of the first configured cluster is
/// inserted as a saga row with its step rows, history line and outbox row, read back <c>FOR UPDATE</c> as the repository
/// does, updated, and thrown away. Nothing is committed and nothing is sent.
/// </summary>
static class PowerWarmup
{
    public static readonly WarmupStep SagaRepository = new("power saga repository (plan, insert, read FOR UPDATE, update; rolled back)", RunAsync);

    /// <summary>
    /// <paramref name="count"/> pooled connections opened at once, the run's tables read on each, all returned to the pool,
    /// which keeps them (<c>AddPostgres(keepOpen)</c>). Each new connection is a new PostgreSQL server process that loads its
    /// catalog caches on first use: a 4,096-VM run opened 40 of them during its first tier (its outcomes are recorded side by
    /// side), when PostgreSQL took a third of the 2-core test machine's CPU samples. Runs beside the other warm-up steps
    /// (PostgreSQL starting its processes is most of it).
    /// </summary>
    public static WarmupStep Connections(int count) => new($"PostgreSQL connections ({count} opened, kept)", async (services, ct) =>
    {
        var dataSource = services.GetRequiredService<NpgsqlDataSource>();
        await PowerSchema.Migrations.EnsureAppliedAsync(dataSource, ct);
        await Outbox.Migrations.EnsureAppliedAsync(dataSource, ct);
        var connections = new List<NpgsqlConnection>(count);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
            {
                var connection = await dataSource.OpenConnectionAsync(ct);
                lock (connections)
                    connections.Add(connection);
                await using var command = new NpgsqlCommand(
                    "SELECT 1 FROM power_step s, power_run_history h, power_saga r, outbox o WHERE false", connection);
                await command.ExecuteNonQueryAsync(ct);
            }));
        }
        finally
        {
            foreach (var connection in connections)
                await connection.DisposeAsync();
        }
    }, Alongside: true);

    static async Task RunAsync(IServiceProvider services, CancellationToken ct)
    {
        var options = services.GetRequiredService<IOptions<PowerOptions>>().Value;
        if (options.Clusters.FirstOrDefault() is not { } cluster)
            return;
        var dataSource = services.GetRequiredService<NpgsqlDataSource>();
        await PowerSchema.Migrations.EnsureAppliedAsync(dataSource, ct);
        await Outbox.Migrations.EnsureAppliedAsync(dataSource, ct);

        var now = DateTimeOffset.UtcNow;
        var hosts = new[] { "warm-up-host-1", "warm-up-host-2" };
        var inventory = new ClusterInventoryCaptured(Guid.Empty, cluster.Name,
            [.. hosts.Select(h => new HostInventory(h, h, "connected", "poweredOn", false))],
            [.. hosts.SelectMany(h => Enumerable.Range(1, 3).Select(i => new VmInventory($"{h}-vm-{i}", $"{h}-vm-{i}", "poweredOn", true, h, "vm", false)))],
            now);
        var run = ShutdownPlanner.Plan(cluster, inventory, Guid.NewGuid(), cluster.Zone, dryRun: true);

        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PowerDbContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        try
        {
            var id = Guid.NewGuid();
            // The repository's own statements (same SQL text, so EF Core's query cache serves the real ones).
            _ = await db.Sagas.FromSql($"SELECT * FROM power_saga WHERE correlation_id = {id} FOR UPDATE").SingleOrDefaultAsync(ct);
            var saga = new PowerSagaState { CorrelationId = id, CurrentState = "WarmUp", Version = 1, Cluster = cluster.Name, RunId = run.RunId, StartedAt = now, Run = run };
            db.Sagas.Add(saga);
            await db.SaveChangesAsync(ct);
            await PowerHistory.WriteAsync((NpgsqlConnection)db.Database.GetDbConnection(), (NpgsqlTransaction)transaction.GetDbTransaction(),
                [new HistoryEntry(run.RunId, cluster.Name, now, "warm-up", cluster.Name, RunOutcome.Done, "")], ct);
            await Outbox.WriteAsync(dataSource, (NpgsqlConnection)db.Database.GetDbConnection(), (NpgsqlTransaction)transaction.GetDbTransaction(),
                [new ClusterInventoryRequested(run.RunId, cluster.Name)], ct);

            db.ChangeTracker.Clear();
            var read = await db.Sagas.FromSql($"SELECT * FROM power_saga WHERE correlation_id = {id} FOR UPDATE").SingleOrDefaultAsync(ct)
                ?? throw new InvalidOperationException("the warm-up row was not read back");
            await read.LoadStepsAsync((NpgsqlConnection)db.Database.GetDbConnection(), (NpgsqlTransaction)transaction.GetDbTransaction(), ct);
            _ = read.Run;
            read.Version++;
            read.Step++;
            await db.SaveChangesAsync(ct);
        }
        finally
        {
            await transaction.RollbackAsync(CancellationToken.None);
        }
    }
}
