using System.Globalization;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.Notifier.Alerts;
using PowerEvents.Notifier.Delivery;

namespace PowerEvents.Notifier.Readiness;

/// <summary>
/// Once a day at <c>Notifier:Readiness:DailySummaryAt</c>: one alert with every cluster's last grade (from
/// <c>notifier.readiness</c>). Its fact is the day, so a restart around that time sends it once; nothing is sent while no
/// cluster has been assessed.
/// </summary>
public sealed class ReadinessSummaryService(NpgsqlDataSource dataSource, AlertRecorder recorder, IOptions<ReadinessSummaryOptions> options,
    TimeProvider clock, ILogger<ReadinessSummaryService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            logger.LogInformation("Daily readiness summary off (Notifier:Readiness:DailySummaryAt)");
            return;
        }
        var (at, zone) = (settings.SummaryTime(), settings.SummaryZone());
        while (!stoppingToken.IsCancellationRequested)
        {
            var due = DailySchedule.NextDue(clock.GetUtcNow(), at, zone);
            var wait = due - clock.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                // In slices: a machine that slept or had its clock set does not oversleep the next day.
                await Task.Delay(wait < TimeSpan.FromMinutes(10) ? wait : TimeSpan.FromMinutes(10), clock, stoppingToken).ConfigureAwait(false);
                continue;
            }
            try
            {
                await SendAsync(DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(due, zone).DateTime), due, stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Daily readiness summary not recorded ({Error}); trying again in a minute", ex.Message);
                await Task.Delay(TimeSpan.FromMinutes(1), clock, stoppingToken);
                continue;
            }
            // Past this day's grace: the next due time is tomorrow's.
            var after = due + DailySchedule.Grace + TimeSpan.FromSeconds(1) - clock.GetUtcNow();
            if (after > TimeSpan.Zero)
                await Task.Delay(after, clock, stoppingToken);
        }
    }

    async Task SendAsync(DateOnly day, DateTimeOffset due, CancellationToken cancellationToken)
    {
        await ReadinessConsumer.Schema.EnsureAppliedAsync(dataSource, cancellationToken);
        var clusters = new List<ClusterReadinessAssessed>();
        await using (var command = dataSource.CreateCommand("SELECT assessment::text FROM notifier.readiness ORDER BY cluster"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken))
                if (JsonSerializer.Deserialize<ClusterReadinessAssessed>(reader.GetString(0), ReadinessText.Json) is { } assessed)
                    clusters.Add(assessed);
        if (clusters.Count == 0)
        {
            logger.LogInformation("Daily readiness summary: no cluster assessed yet, nothing sent");
            return;
        }
        var content = Content(day, clusters, due);
        var alert = new Alert(NewId.NextGuid(), $"ReadinessSummary/{content.Fact}", "ReadinessSummary", content.Severity, content.Title, content.Summary,
            content.OccurredAt, recorder.Site, null, null, null, null, content.Facts,
            JsonSerializer.SerializeToElement(new { day = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), clusters }, ReadinessText.Json));
        logger.LogInformation("{Title}: {Summary}", alert.Title, alert.Summary);
        await recorder.RecordAsync(alert, cancellationToken);
    }

    public static AlertContent Content(DateOnly day, IReadOnlyList<ClusterReadinessAssessed> clusters, DateTimeOffset at)
    {
        int Count(string grade) => clusters.Count(c => c.Grade == grade);
        var worst = Count("not-ready") > 0 ? Severity.Warning : Count("degraded") > 0 ? Severity.Warning : Severity.Info;
        return new AlertContent(worst, $"Readiness summary {day:yyyy-MM-dd}: {Count("ready")} ready, {Count("degraded")} degraded, {Count("not-ready")} not ready",
            string.Join("; ", clusters.Select(c => $"{c.Cluster}: {c.Grade}" +
                (c.Findings.FirstOrDefault(f => f.Level != "info") is { } first ? $" ({first.Subject}: {first.Finding})" : "") +
                (c.EstimatedShutdown is { } s ? $", shutdown ≈ {ReadinessText.Minutes(s)}" : ""))), at)
        {
            Fact = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            Facts = [.. clusters.Take(10).Select(c => new AlertFact(c.Cluster,
                $"{c.Grade}, {c.Findings.Count(f => f.Level != "info")} finding(s), assessed {c.AssessedAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC"))],
        };
    }
}

public static class ReadinessRegistration
{
    /// <summary>Alerts for readiness changes and refused operator commands (their consumers), on the bus.</summary>
    public static void AddReadinessAlerts(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<ReadinessConsumer, ReadinessConsumerDefinition>();
        // The saga refused an operator's command: whoever asked may not be looking at the console.
        bus.AddAlert<OperatorCommandRefused>(e => new AlertContent(Severity.Warning, $"{e.Command} refused for cluster {e.Cluster}",
            $"The power saga refused {e.Command} from {e.RequestedBy}: {e.Reason}", e.RefusedAt)
        {
            Fact = $"{e.Cluster}/{e.Command}/{e.RequestedBy}/{e.RefusedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)}",
            Cluster = e.Cluster,
        });
    }

    /// <summary>The readiness table, the daily summary and delivery reports.</summary>
    public static IServiceCollection AddReadiness(this IServiceCollection services)
    {
        services.AddValidatedOptions<ReadinessSummaryOptions>(ReadinessSummaryOptions.Section);
        services.AddSchemaMigrations(ReadinessConsumer.Schema);
        services.AddHostedService<ReadinessSummaryService>();
        services.AddSingleton<DeliveryReports>();
        return services;
    }
}
