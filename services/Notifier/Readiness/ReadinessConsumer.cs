using System.Globalization;
using MassTransit;
using Npgsql;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.Notifier.Alerts;
using PowerEvents.Notifier.Delivery;
using PowerEvents.Notifier.Quiet;

namespace PowerEvents.Notifier.Readiness;

/// <summary>
/// Turns the Console's readiness assessments into one alert per change of grade (<see cref="ReadinessAlertPolicy"/>).
/// The last assessment per cluster lives in <c>notifier.readiness</c> (locked per cluster for the step; also what the daily
/// summary reads); the alert's fact names the cluster, the grade and the assessment, so a redelivered message is alerted once.
/// While the cluster is off by a PowerEvents run (<c>notifier.cluster_off</c>) no change is alerted.
/// </summary>
public sealed class ReadinessConsumer(NpgsqlDataSource dataSource, AlertRecorder recorder, ILogger<ReadinessConsumer> logger) : IConsumer<ClusterReadinessAssessed>
{
    public static readonly SchemaMigrations Schema = new("notifier-readiness",
    [
        new Migration(1, "last readiness assessment per cluster", """
            CREATE SCHEMA IF NOT EXISTS notifier;
            CREATE TABLE IF NOT EXISTS notifier.readiness (
                cluster     text PRIMARY KEY,
                grade       text NOT NULL,
                assessed_at timestamptz NOT NULL,
                assessment  json NOT NULL);
            """),
        new Migration(2, "the grade changes are measured against (kept through a run)", """
            ALTER TABLE notifier.readiness ADD COLUMN IF NOT EXISTS baseline text;
            UPDATE notifier.readiness SET baseline = grade WHERE baseline IS NULL;
            """),
    ]);

    public async Task Consume(ConsumeContext<ClusterReadinessAssessed> context)
    {
        var assessed = context.Message;
        var token = context.CancellationToken;
        await Schema.EnsureAppliedAsync(dataSource, token);
        await ClusterOffConsumer.Schema.EnsureAppliedAsync(dataSource, token);

        await using var connection = await dataSource.OpenConnectionAsync(token);
        await using var transaction = await connection.BeginTransactionAsync(token);
        ReadinessState? previous = null;
        await using (var select = new NpgsqlCommand("SELECT grade, assessed_at, baseline FROM notifier.readiness WHERE cluster = $1 FOR UPDATE", connection, transaction))
        {
            select.Parameters.Add(new NpgsqlParameter { Value = assessed.Cluster });
            await using var reader = await select.ExecuteReaderAsync(token);
            if (await reader.ReadAsync(token))
                previous = new ReadinessState(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.IsDBNull(2) ? null : reader.GetString(2));
        }

        var off = QuietPolicy.OffAt(assessed.Cluster, assessed.AssessedAt,
            await ClusterOffConsumer.ReadAsync(connection, transaction, [assessed.Cluster], forUpdate: false, token));
        var (next, alert) = ReadinessAlertPolicy.Decide(previous, assessed, off is not null);
        if (off is not null && previous?.Grade != assessed.Grade)
            logger.LogInformation("Cluster {Cluster} readiness {Grade} not alerted: {Window}", assessed.Cluster, assessed.Grade, off.Describe());
        if (alert)
            await AlertConsumer<ClusterReadinessAssessed>.RecordAsync(context, Content(assessed, previous?.Baseline), recorder, logger);
        if (next != previous)
        {
            await using var upsert = new NpgsqlCommand("""
                INSERT INTO notifier.readiness (cluster, grade, assessed_at, assessment, baseline) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (cluster) DO UPDATE SET grade = EXCLUDED.grade, assessed_at = EXCLUDED.assessed_at, assessment = EXCLUDED.assessment,
                    baseline = EXCLUDED.baseline
                """, connection, transaction);
            upsert.Parameters.Add(new NpgsqlParameter { Value = assessed.Cluster });
            upsert.Parameters.Add(new NpgsqlParameter { Value = assessed.Grade });
            upsert.Parameters.Add(new NpgsqlParameter { Value = assessed.AssessedAt });
            upsert.Parameters.Add(new NpgsqlParameter { Value = System.Text.Json.JsonSerializer.Serialize(assessed, ReadinessText.Json), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Json });
            upsert.Parameters.Add(new NpgsqlParameter { Value = (object?)next.Baseline ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            await upsert.ExecuteNonQueryAsync(token);
        }
        await transaction.CommitAsync(token);
    }

    public static AlertContent Content(ClusterReadinessAssessed e, string? previousGrade)
    {
        var problems = e.Findings.Where(f => f.Level != "info").ToList();
        var (severity, title) = e.Grade switch
        {
            "ready" => (Severity.Info, $"Cluster {e.Cluster} is ready again"),
            "not-ready" => (Severity.Warning, $"Cluster {e.Cluster} is NOT READY for a protective shutdown"),
            _ => (Severity.Warning, $"Cluster {e.Cluster} readiness degraded"),
        };
        var summary = problems.Count == 0
            ? $"Every check passes (was {previousGrade ?? "unknown"}). {ReadinessText.Estimate(e)}"
            : $"{problems.Count} finding(s), was {previousGrade ?? "unknown"}: {problems[0].Subject}: {problems[0].Finding}. {ReadinessText.Estimate(e)}";
        return new AlertContent(severity, title, summary, e.AssessedAt)
        {
            Fact = $"{e.Cluster}/{e.Grade}/{e.AssessedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)}",
            Cluster = e.Cluster,
            Facts = [.. problems.Take(8).Select(f => new AlertFact(f.Subject, $"{f.Finding} → {f.Action}"))],
        };
    }
}

public sealed class ReadinessConsumerDefinition : ConsumerDefinition<ReadinessConsumer>
{
    public ReadinessConsumerDefinition()
    {
        EndpointName = $"{NotifierHost.ServiceName}-cluster-readiness-assessed";
        // One at a time: a cluster's assessments are decided in the order they arrive.
        ConcurrentMessageLimit = 1;
    }
}

static class ReadinessText
{
    public static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web);

    public static string Estimate(ClusterReadinessAssessed e) => e.EstimatedShutdown is { } shutdown
        ? $"Estimated shutdown {Minutes(shutdown)}, power-on {(e.EstimatedPowerOn is { } on ? Minutes(on) : "unknown")} ({e.EstimateBasis})."
        : "";

    public static string Minutes(TimeSpan t) => t.TotalMinutes >= 1 ? $"{t.TotalMinutes:0} min" : $"{t.TotalSeconds:0} s";
}
