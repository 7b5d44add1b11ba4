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
    /// <summary>
    /// The longest the delivery worker waits for one report's publish. After a broker outage a publish can wait on a channel
    /// that never learns its connection died, and the worker would wait with it, holding every later delivery.
    /// </summary>
    public static readonly TimeSpan PublishLimit = TimeSpan.FromSeconds(10);

    public async Task ReportAsync(string destination, Alert alert, DeliveryOutcome outcome, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(PublishLimit);
        try
        {
            // Not waited for beyond the limit even if the publish ignores its token.
            await bus.Publish(new WebhookDelivered(destination, alert.Id, alert.EventType, alert.Severity.ToString().ToLowerInvariant(), alert.Title,
                    outcome.Delivered, outcome.Attempts, outcome.StatusCode, outcome.Error, clock.GetUtcNow()), limit.Token)
                .WaitAsync(PublishLimit + TimeSpan.FromSeconds(1), clock, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Delivery of alert {AlertId} to {Destination} not reported on the bus ({Error})", alert.Id, destination,
                ex is OperationCanceledException or TimeoutException ? $"no broker confirm within {PublishLimit.TotalSeconds:0} s" : ex.Message);
        }
    }
}
