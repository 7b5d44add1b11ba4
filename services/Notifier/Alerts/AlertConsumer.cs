using System.Text.Json;
using System.Text.RegularExpressions;
using MassTransit;
using PowerEvents.Notifier.Delivery;

namespace PowerEvents.Notifier.Alerts;

/// <summary>
/// How one event type becomes an alert's content (registered by <see cref="AlertCatalog"/>); null when
/// this particular event is routine and not worth an alert (a VM that shut down gracefully).
/// </summary>
public sealed record AlertMap<TEvent>(Func<TEvent, AlertContent?> Map) where TEvent : class;

/// <summary>
/// Turns one event into an alert, logs it, and records it for every destination that takes its
/// severity. Delivery happens afterwards, per destination (<see cref="DeliveryService"/>), so a slow or
/// dead webhook never holds a bus message. A fact recorded before (the same event replayed under another
/// message id, or the same message redelivered) is not recorded again.
/// </summary>
public sealed class AlertConsumer<TEvent>(
    AlertMap<TEvent> map,
    AlertRecorder recorder,
    ILogger<AlertConsumer<TEvent>> logger) : IConsumer<TEvent>
    where TEvent : class
{
    static readonly JsonSerializerOptions DetailsJson = new(JsonSerializerDefaults.Web);

    public async Task Consume(ConsumeContext<TEvent> context)
    {
        var content = map.Map(context.Message);
        if (content is not null)
            await RecordAsync(context, content, recorder, logger);
        // After the alert is recorded: a consume that failed and is retried is counted once.
        RunMetrics.Observe(context.Message);
    }

    /// <summary>Builds the alert for an event's content, logs it and records it (also for consumers that decide with state of their own).</summary>
    public static async Task RecordAsync(ConsumeContext<TEvent> context, AlertContent content, AlertRecorder recorder, ILogger logger)
    {
        var alert = new Alert(
            context.MessageId ?? NewId.NextGuid(),
            $"{typeof(TEvent).Name}/{content.Fact}",
            typeof(TEvent).Name,
            content.Severity,
            content.Title,
            content.Summary,
            content.OccurredAt,
            recorder.Site,
            content.Cluster,
            content.Zone,
            content.RunId,
            PowerEvents.Hosting.MessageCorrelation.Find(context.Message) ?? context.CorrelationId,
            content.Facts,
            JsonSerializer.SerializeToElement(context.Message, DetailsJson));

        var level = alert.Severity switch
        {
            Severity.Critical => LogLevel.Warning,
            Severity.Warning => LogLevel.Warning,
            _ => LogLevel.Information,
        };
        logger.Log(level, "{Title} ({Severity}, {EventType}): {Summary}", alert.Title, alert.Severity, alert.EventType, alert.Summary);

        await recorder.RecordAsync(alert, context.CancellationToken);
    }
}

public static class AlertRegistration
{
    /// <summary>One consumer and queue (<c>notifier-&lt;event&gt;</c>) per event type, with its mapping.</summary>
    public static void AddAlert<TEvent>(this IBusRegistrationConfigurator bus, Func<TEvent, AlertContent?> map)
        where TEvent : class
    {
        bus.AddSingleton(new AlertMap<TEvent>(map));
        // PostgreSQL restarting is ridden out by the retry every endpoint gets (TransientFaults); anything else goes to _error.
        bus.AddConsumer<AlertConsumer<TEvent>>()
            .Endpoint(e => e.Name = $"{NotifierHost.ServiceName}-{Kebab(typeof(TEvent).Name)}");
    }

    static string Kebab(string name) => Regex.Replace(name, "(?<=[a-z0-9])([A-Z])", "-$1").ToLowerInvariant();
}
