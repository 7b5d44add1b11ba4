using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>The saga rows (<c>power_saga</c>) and the run history (<c>power_run_history</c>). Tables are created by <see cref="PowerSchema"/>.</summary>
public sealed class PowerDbContext(DbContextOptions<PowerDbContext> options) : DbContext(options)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new RunOutcomeJsonConverter(), new JsonStringEnumConverter() } };

    public DbSet<PowerSagaState> Sagas => Set<PowerSagaState>();
    public DbSet<PowerRunHistoryRow> History => Set<PowerRunHistoryRow>();

    /// <summary>The run's header as stored in <c>power_saga.run</c>: the VM and host steps are rows of their own (<see cref="PowerSteps"/>).</summary>
    internal static readonly JsonSerializerOptions HeaderJson = new(Json)
    {
        TypeInfoResolver = new DefaultJsonTypeInfoResolver
        {
            Modifiers =
            {
                info =>
                {
                    // The VMs and the hosts are step rows (power_step), not part of the header.
                    var rows = info.Type == typeof(TierRun) || info.Type == typeof(RestoreTier) ? "vms"
                        : info.Type == typeof(PowerRun) || info.Type == typeof(RestoreRun) ? "hosts"
                        : null;
                    if (rows is not null && info.Properties.FirstOrDefault(p => p.Name == rows) is { } property)
                        info.Properties.Remove(property);
                },
            },
        },
    };

    public override async Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        // The run is plain data mutated in place: its header text is refreshed once here, then EF compares strings;
        // its step rows are written in the same transaction (only those that changed).
        var sagas = ChangeTracker.Entries<PowerSagaState>().Select(e => (e.Entity, e.State)).ToList();
        foreach (var (saga, _) in sagas)
            saga.CaptureRun();
        if (sagas.Count == 0)
            return await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);

        var own = Database.CurrentTransaction is null ? await Database.BeginTransactionAsync(cancellationToken) : null;
        try
        {
            var written = await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
            var connection = (NpgsqlConnection)Database.GetDbConnection();
            var transaction = (NpgsqlTransaction)Database.CurrentTransaction!.GetDbTransaction();
            foreach (var (saga, state) in sagas)
            {
                if (state == EntityState.Deleted)
                    await PowerSteps.DeleteAllAsync(connection, transaction, saga.CorrelationId, cancellationToken);
                else
                    await saga.SaveStepsAsync(connection, transaction, cancellationToken);
            }
            if (own is not null)
                await own.CommitAsync(cancellationToken);
            return written;
        }
        finally
        {
            if (own is not null)
                await own.DisposeAsync();
        }
    }

    public override int SaveChanges(bool acceptAllChangesOnSuccess) =>
        SaveChangesAsync(acceptAllChangesOnSuccess).GetAwaiter().GetResult();

    /// <summary>Reads the step rows of a saga read without the repository (which reads them itself).</summary>
    public async Task LoadStepsAsync(PowerSagaState saga, CancellationToken cancellationToken = default)
    {
        await Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await saga.LoadStepsAsync((NpgsqlConnection)Database.GetDbConnection(),
                (NpgsqlTransaction?)Database.CurrentTransaction?.GetDbTransaction(), cancellationToken);
        }
        finally
        {
            await Database.CloseConnectionAsync();
        }
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        var saga = modelBuilder.Entity<PowerSagaState>();
        saga.ToTable("power_saga");
        saga.HasKey(x => x.CorrelationId);
        saga.Property(x => x.CorrelationId).HasColumnName("correlation_id").ValueGeneratedNever();
        saga.Property(x => x.CurrentState).HasColumnName("current_state");
        saga.Property(x => x.Version).HasColumnName("version").IsConcurrencyToken();
        saga.Property(x => x.Cluster).HasColumnName("cluster");
        saga.Property(x => x.RunId).HasColumnName("run_id");
        saga.Property(x => x.AlarmId).HasColumnName("alarm_id");
        saga.Property(x => x.StartedAt).HasColumnName("started_at");
        saga.Property(x => x.CompletedAt).HasColumnName("completed_at");
        saga.Property(x => x.AlarmClearedAt).HasColumnName("alarm_cleared_at");
        saga.Property(x => x.ZoneSequence).HasColumnName("zone_sequence");
        saga.Property(x => x.ZoneTransitionAt).HasColumnName("zone_transition_at");
        saga.Property(x => x.Step).HasColumnName("step");
        saga.Property(x => x.Deadline).HasColumnName("deadline");
        saga.Ignore(x => x.Run);
        saga.Property(x => x.RunJson).HasColumnName("run").HasColumnType("jsonb").HasField("_runJson").UsePropertyAccessMode(PropertyAccessMode.Field);

        var history = modelBuilder.Entity<PowerRunHistoryRow>();
        history.ToTable("power_run_history");
        history.HasKey(x => x.Id);
        history.Property(x => x.Id).HasColumnName("id").UseIdentityAlwaysColumn();
        history.Property(x => x.RunId).HasColumnName("run_id");
        history.Property(x => x.Cluster).HasColumnName("cluster");
        history.Property(x => x.At).HasColumnName("at");
        history.Property(x => x.Step).HasColumnName("step");
        history.Property(x => x.Target).HasColumnName("target");
        history.Property(x => x.Outcome).HasColumnName("outcome");
        history.Property(x => x.Detail).HasColumnName("detail");
    }
}

/// <summary>
/// Writes run-history lines in one statement, in their order (the identity column orders a run's history): a stage's
/// start adds a line per step it asks (a thousand at once), which EF Core inserted one by one, each returning its id.
/// </summary>
public static class PowerHistory
{
    public static async Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyCollection<HistoryEntry> history,
        CancellationToken cancellationToken)
    {
        if (history.Count == 0)
            return;
        await using var insert = new NpgsqlCommand("""
            INSERT INTO power_run_history (run_id, cluster, at, step, target, outcome, detail)
            SELECT run_id, cluster, at, step, target, outcome, detail
            FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[])
                 WITH ORDINALITY AS h(run_id, cluster, at, step, target, outcome, detail, n)
            ORDER BY n
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

public sealed class PowerRunHistoryRow
{
    public long Id { get; set; }
    public Guid RunId { get; set; }
    public string Cluster { get; set; } = "";
    public DateTimeOffset At { get; set; }
    public string Step { get; set; } = "";
    public string Target { get; set; } = "";
    public string Outcome { get; set; } = "";
    public string Detail { get; set; } = "";
}
