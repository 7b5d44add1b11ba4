using Prometheus;

namespace PowerEvents.Notifier.Delivery;

/// <summary>Webhook deliveries as Prometheus series (docs/deploy.md, "Metrics"), by destination name: never its URL, which may hold a token.</summary>
public static class DeliveryMetrics
{
    static readonly Counter Deliveries = Metrics.CreateCounter("powerevents_webhook_deliveries_total",
        "Alerts handed to a destination, by result: delivered, or failed after every retry.", "destination", "result");
    static readonly Counter Attempts = Metrics.CreateCounter("powerevents_webhook_attempts_total",
        "HTTP attempts made to deliver alerts (retries included), by destination.", "destination");
    static readonly Histogram Duration = Metrics.CreateHistogram("powerevents_webhook_delivery_duration_seconds",
        "How long a delivery took, retries and their waits included, by destination.", new HistogramConfiguration
        {
            LabelNames = ["destination"],
            Buckets = Histogram.ExponentialBuckets(0.05, 2, 14),
        });

    public static void Record(string destination, DeliveryOutcome outcome, TimeSpan elapsed)
    {
        Deliveries.WithLabels(destination, outcome.Delivered ? "delivered" : "failed").Inc();
        Attempts.WithLabels(destination).Inc(outcome.Attempts);
        Duration.WithLabels(destination).Observe(elapsed.TotalSeconds);
    }
}
