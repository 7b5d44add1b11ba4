using MassTransit;
using PowerEvents.Console.ReadModel;

namespace PowerEvents.Console.Readiness;

/// <summary>
/// Grades every known cluster every <c>Console:Readiness:Interval</c> and publishes <c>ClusterReadinessAssessed</c> when a
/// grade, its findings or a measured shutdown estimate (to the minute) differ from the last one published (remembered from the console's own stored events, so a
/// restart does not repeat an unchanged grade). The Notifier decides what is worth a webhook.
/// </summary>
public sealed class ReadinessPublisher(ClusterReadiness readiness, ConsoleReadModel model, EventLog events, IBus bus, ConsoleOptions options,
    TimeProvider clock, ILogger<ReadinessPublisher> log) : BackgroundService
{
    readonly Dictionary<string, string> _published = new(StringComparer.OrdinalIgnoreCase);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await events.Replayed.WaitAsync(stoppingToken);
        if (options.Readiness.SettleTime > TimeSpan.Zero)
            await Task.Delay(options.Readiness.SettleTime, clock, stoppingToken);
        using var timer = new PeriodicTimer(options.Readiness.Interval, clock);
        do
        {
            try
            {
                await PublishChangesAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                log.LogWarning("Readiness not published this time ({Error}); trying again in {Interval}", ex.Message, options.Readiness.Interval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    async Task PublishChangesAsync(CancellationToken cancellationToken)
    {
        foreach (var view in readiness.AssessAll())
        {
            var signature = ClusterReadiness.Signature(view);
            if (!_published.TryGetValue(view.Cluster, out var last) && model.LastAssessed(view.Cluster) is { } stored)
                last = ClusterReadiness.Signature(stored);
            if (last == signature)
            {
                _published[view.Cluster] = signature;
                continue;
            }
            await bus.Publish(ClusterReadiness.ToEvent(view), cancellationToken);
            _published[view.Cluster] = signature;
            log.LogInformation("Cluster {Cluster} readiness: {Grade} ({Findings} finding(s))", view.Cluster, view.Grade, view.Findings.Count);
        }
    }
}
