using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using PowerEvents.Notifier.Alerts;

namespace PowerEvents.Notifier.Delivery;

/// <summary>
/// Routes an alert by severity to the destinations that take it, records it once, and wakes those
/// destinations' workers.
/// </summary>
public sealed class AlertRecorder(AlertStore store, DeliverySignals signals, IOptions<NotifierOptions> options, ILogger<AlertRecorder> logger)
{
    public string? Site => options.Value.Site;

    public async Task RecordAsync(Alert alert, CancellationToken cancellationToken)
    {
        var destinations = options.Value.Destinations.Where(d => d.Accepts(alert.Severity)).Select(d => d.Name).ToList();
        if (!await store.RecordAsync(alert, destinations, cancellationToken))
        {
            logger.LogInformation("Alert {AlertId} ({Fact}) was recorded before: a replay of the same fact, not sent again", alert.Id, alert.Fact);
            return;
        }

        if (destinations.Count == 0)
            logger.LogInformation("Alert {AlertId} ({Severity}) goes to no destination: none takes this severity", alert.Id, alert.Severity);
        foreach (var destination in destinations)
            signals.Notify(destination);
    }
}

/// <summary>One wake-up signal per destination, so a new alert is sent at once instead of at the next poll.</summary>
public sealed class DeliverySignals
{
    readonly ConcurrentDictionary<string, Channel<bool>> _signals = new(StringComparer.OrdinalIgnoreCase);

    public void Notify(string destination) => For(destination).Writer.TryWrite(true);

    /// <summary>Returns when notified or after <paramref name="timeout"/>, whichever comes first.</summary>
    public async Task WaitAsync(string destination, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            await For(destination).Reader.ReadAsync(timer.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The poll interval passed: look for work anyway.
        }
    }

    // Capacity one, extra signals dropped: "there is work" needs saying only once.
    Channel<bool> For(string destination) => _signals.GetOrAdd(destination, static _ =>
        Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite }));
}
