using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.Notifier.Alerts;

namespace PowerEvents.Notifier.Delivery;

/// <summary>
/// Publishes <see cref="WebhookDelivered"/> once a delivery is finished (delivered, or failed after its retries), for the
/// Console's list. The destination's name only: its URL and secret stay here. A broker that is away costs the report,
/// never the delivery (the row in notifier.deliveries is the record).
/// </summary>
public sealed class DeliveryReports(IBus bus, TimeProvider clock, ILogger<DeliveryReports> logger)
{
    public async Task ReportAsync(string destination, Alert alert, DeliveryOutcome outcome, CancellationToken cancellationToken)
    {
        try
        {
            await bus.Publish(new WebhookDelivered(destination, alert.Id, alert.EventType, alert.Severity.ToString().ToLowerInvariant(), alert.Title,
                outcome.Delivered, outcome.Attempts, outcome.StatusCode, outcome.Error, clock.GetUtcNow()), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("Delivery of alert {AlertId} to {Destination} not reported on the bus ({Error})", alert.Id, destination, ex.Message);
        }
    }
}
