using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>The saga rows (<c>power_saga</c>) and the run history (<c>power_run_history</c>). Tables are created by <see cref="PowerSchema"/>.</summary>
public sealed class PowerDbContext(DbContextOptions<PowerDbContext> options) : DbContext(options)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public DbSet<PowerSagaState> Sagas => Set<PowerSagaState>();
    public DbSet<PowerRunHistoryRow> History => Set<PowerRunHistoryRow>();

    public override Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        // The run is plain data mutated in place: its text is refreshed once here, then EF compares strings.
        foreach (var entry in ChangeTracker.Entries<PowerSagaState>())
            entry.Entity.CaptureRun();
        return base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
    }

    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        foreach (var entry in ChangeTracker.Entries<PowerSagaState>())
            entry.Entity.CaptureRun();
        return base.SaveChanges(acceptAllChangesOnSuccess);
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
