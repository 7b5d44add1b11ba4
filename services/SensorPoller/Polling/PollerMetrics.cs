using Prometheus;

namespace PowerEvents.SensorPoller.Polling;

/// <summary>
/// The sources as Prometheus series (docs/deploy.md, "Metrics"), labelled by the source's configured name (never its
/// URL: a URL may carry a key).
/// </summary>
public static class PollerMetrics
{
    static readonly Gauge Healthy = Metrics.CreateGauge("powerevents_source_healthy",
        "1 while the source (or signal) is healthy, 0 while it fails (the state SourceHealthChanged reports).", "source");
    static readonly Counter Polls = Metrics.CreateCounter("powerevents_source_polls_total",
        "Polls of a source's signal, by outcome: ok, failed, throttled.", "source", "outcome");
    static readonly Histogram PollDuration = Metrics.CreateHistogram("powerevents_source_poll_duration_seconds",
        "How long one poll of a signal took, retries included.", new HistogramConfiguration
        {
            LabelNames = ["source"],
            Buckets = Histogram.ExponentialBuckets(0.01, 2, 14),
        });
    static readonly Counter Requests = Metrics.CreateCounter("powerevents_source_http_requests_total",
        "HTTP requests sent to a source (each attempt, retry and redirect), by status code or 'error'.", "source", "status");
    static readonly Counter Messages = Metrics.CreateCounter("powerevents_source_messages_published_total",
        "Readings (and alarm-state samples) published to the bus, by source.", "source");

    public static void Health(string source, bool healthy) => Healthy.WithLabels(source).Set(healthy ? 1 : 0);

    public static void Poll(string source, string outcome, TimeSpan elapsed)
    {
        Polls.WithLabels(source, outcome).Inc();
        PollDuration.WithLabels(source).Observe(elapsed.TotalSeconds);
    }

    public static void Published(string source, int count) => Messages.WithLabels(source).Inc(count);

    public static void Request(string source, string status) => Requests.WithLabels(source, status).Inc();

    /// <summary>Counts every attempt that reaches the wire (under retries, redirects and pacing).</summary>
    internal sealed class RequestCounter(string source) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            try
            {
                var response = await base.SendAsync(request, cancellationToken);
                Request(source, ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
                return response;
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                Request(source, "error");
                throw;
            }
        }
    }
}
