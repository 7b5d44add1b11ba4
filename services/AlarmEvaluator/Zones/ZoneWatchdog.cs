using PowerEvents.Hosting;
using Microsoft.Extensions.Options;
using PowerEvents.AlarmEvaluator.Persistence;

namespace PowerEvents.AlarmEvaluator.Zones;

/// <summary>
/// Re-evaluates every zone on a timer, so silence is noticed without a new sample (a zone going stale),
/// and publishes outbox rows a crash left behind.
/// </summary>
public sealed class ZoneWatchdog(
    ZoneDirectory zones,
    ZoneStore store,
    OutboxPublisher outbox,
    IOptions<AlarmEvaluatorOptions> options,
    TimeProvider clock,
    ILogger<ZoneWatchdog> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (zones.Zones.Count == 0)
            logger.LogWarning("No zones are configured (AlarmEvaluator:Zones); no alarm can be raised");
        var interval = options.Value.StaleCheckInterval < options.Value.OutboxInterval ? options.Value.StaleCheckInterval : options.Value.OutboxInterval;
        var lastStaleCheck = DateTimeOffset.MinValue;
        using var timer = new PeriodicTimer(interval, clock);
        do
        {
            try
            {
                await outbox.PublishPendingAsync(stoppingToken);
                if (clock.GetUtcNow() - lastStaleCheck >= options.Value.StaleCheckInterval)
                {
                    lastStaleCheck = clock.GetUtcNow();
                    foreach (var zone in zones.Zones)
                    {
                        ZoneState? committed = null;
                        var decision = await store.StepAsync(zone, state =>
                        {
                            committed = state;
                            return zone.Evaluate(state, clock.GetUtcNow());
                        }, stoppingToken);
                        ZoneMetrics.Observe(committed!, decision, fromSample: false);
                        if (!decision.HasTransition)
                            continue;
                        TransitionLog.Write(logger, decision);
                        await outbox.PublishPendingAsync(stoppingToken);
                    }
                }
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // PostgreSQL or the broker away: report and try again on the next tick.
                logger.LogError(ex, "Zone check failed; retrying in {Interval}", interval);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
