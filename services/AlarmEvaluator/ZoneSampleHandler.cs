using PowerEvents.Hosting;
using PowerEvents.AlarmEvaluator.Persistence;
using PowerEvents.AlarmEvaluator.Zones;

namespace PowerEvents.AlarmEvaluator;

/// <summary>Routes a sample to its zone, runs the zone's step in PostgreSQL, logs and publishes what it caused.</summary>
public sealed class ZoneSampleHandler(
    ZoneDirectory zones,
    ZoneStore store,
    OutboxPublisher outbox,
    TimeProvider clock,
    ILogger<ZoneSampleHandler> logger)
{
    readonly HashSet<string> _unknownSensors = [];

    public async Task HandleAsync(Sample sample, string source, CancellationToken cancellationToken)
    {
        var zone = zones.ForSensor(sample.SensorId);
        if (zone is null)
        {
            lock (_unknownSensors)
                if (_unknownSensors.Add(sample.SensorId))
                    logger.LogInformation("Sensor {SensorId} from {Source} belongs to no configured zone; its readings are ignored", sample.SensorId, source);
            return;
        }

        ZoneState? committed = null;
        var decision = await store.StepAsync(zone, state =>
        {
            committed = state;
            return zone.Apply(state, sample, clock.GetUtcNow());
        }, cancellationToken);
        ZoneMetrics.Observe(committed!, decision, fromSample: true);
        if (decision.Verdict is not (Verdict.Accepted or Verdict.Duplicate))
            logger.LogInformation("Zone {Zone}: reading of {SensorId} at {SampledAt:O} ignored: {Verdict}",
                zone.Zone.Name, sample.SensorId, sample.SampledAt, decision.Verdict);
        if (decision.HasTransition)
        {
            TransitionLog.Write(logger, decision);
            await outbox.PublishPendingAsync(cancellationToken);
        }
    }
}
