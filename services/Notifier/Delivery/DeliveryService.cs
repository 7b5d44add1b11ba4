using Microsoft.Extensions.Options;
using SerilogLogContext = Serilog.Context.LogContext;

namespace PowerEvents.Notifier.Delivery;

/// <summary>
/// One worker per destination, each sending its own pending deliveries in order. Destinations share
/// nothing but the database, so one that is down (and waits out its retries) never delays another.
/// </summary>
public sealed class DeliveryService(
    AlertStore store,
    WebhookSender sender,
    DeliverySignals signals,
    DeliveryReports reports,
    IOptions<NotifierOptions> options,
    TimeProvider clock,
    ILogger<DeliveryService> logger) : BackgroundService
{
    static readonly TimeSpan PruneInterval = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var notifier = options.Value;
        if (notifier.Destinations.Count == 0)
            logger.LogWarning("No destinations configured (Notifier:Destinations): alerts are logged and recorded, not sent");
        foreach (var d in notifier.Destinations)
        {
            logger.LogInformation("Destination {Destination}: {Format} to {Url}, {MinimumSeverity} and above",
                d.Name, d.FormatKind, UrlMask.Mask(d.Url), d.Minimum);
            if (d.IsPlainHttp)
                logger.LogWarning("Destination {Destination} sends alerts unencrypted over http:// (AllowHttp is set for it)", d.Name);
        }

        var workers = notifier.Destinations.Select(d => Task.Run(() => RunDestinationAsync(d, stoppingToken), CancellationToken.None)).ToList();
        workers.Add(Task.Run(() => HousekeepingAsync(stoppingToken), CancellationToken.None));
        await Task.WhenAll(workers);
    }

    async Task RunDestinationAsync(DestinationOptions destination, CancellationToken stoppingToken)
    {
        var delivery = options.Value.Delivery;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var next = await store.NextPendingAsync(destination.Name, stoppingToken);
                if (next is null)
                {
                    await signals.WaitAsync(destination.Name, delivery.PollInterval, stoppingToken);
                    continue;
                }

                var alert = next.Alert;
                using (SerilogLogContext.PushProperty("CorrelationId", alert.CorrelationId ?? alert.Id))
                {
                    var started = clock.GetTimestamp();
                    var outcome = await sender.SendAsync(destination, alert, stoppingToken);
                    await store.CompleteAsync(next.DeliveryId, outcome, CancellationToken.None);
                    DeliveryMetrics.Record(destination.Name, outcome, clock.GetElapsedTime(started));
                    await reports.ReportAsync(destination.Name, alert, outcome, stoppingToken);
                    if (outcome.Delivered)
                        logger.LogInformation("Alert {AlertId} ({EventType}, {Severity}) delivered to {Destination} after {Attempts} attempt(s)",
                            alert.Id, alert.EventType, alert.Severity, destination.Name, outcome.Attempts);
                    else
                        logger.LogError("Alert {AlertId} ({EventType}, {Severity}: {Title}) could not be delivered to {Destination} ({Url}) after {Attempts} attempt(s): {Error}. " +
                            "Kept as failed delivery {DeliveryId} in notifier.deliveries",
                            alert.Id, alert.EventType, alert.Severity, alert.Title, destination.Name, UrlMask.Mask(destination.Url), outcome.Attempts, outcome.Error, next.DeliveryId);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // Stopping: an unfinished delivery stays pending and is sent after the restart.
                return;
            }
            catch (Exception ex)
            {
                logger.LogError("Destination {Destination}: cannot read or update its deliveries ({Error}); trying again in {PollInterval}",
                    destination.Name, ex.Message, delivery.PollInterval);
                await Wait(delivery.PollInterval, stoppingToken);
            }
        }
    }

    async Task HousekeepingAsync(CancellationToken stoppingToken)
    {
        var configured = options.Value.Destinations.Select(d => d.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var warned = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!warned)
                {
                    foreach (var (name, count) in await store.PendingByDestinationAsync(stoppingToken))
                        if (!configured.Contains(name))
                            logger.LogWarning("{Count} pending alert(s) for destination {Destination}, which is no longer configured: they stay in notifier.deliveries", count, name);
                    warned = true;
                }

                var pruned = await store.PruneAsync(options.Value.Delivery.Retention, stoppingToken);
                if (pruned > 0)
                    logger.LogInformation("Forgot {Count} delivered alert(s) older than {Retention}", pruned, options.Value.Delivery.Retention);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning("Housekeeping of notifier.alerts failed ({Error}); trying again later", ex.Message);
            }
            await Wait(warned ? PruneInterval : options.Value.Delivery.PollInterval, stoppingToken);
        }
    }

    static async Task Wait(TimeSpan delay, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(delay, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
