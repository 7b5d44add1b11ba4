using MassTransit;
using PowerEvents.AlarmEvaluator.Persistence;
using PowerEvents.AlarmEvaluator.Zones;
using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator;

/// <summary>
/// Feeds each sample (a temperature or an alarm-state vote) to its zone: one locked step in PostgreSQL,
/// then the transitions it caused are published from the outbox.
/// </summary>
public sealed class TemperatureSampledConsumer(ZoneSampleHandler handler) :
    IConsumer<TemperatureSampled>,
    IConsumer<AlarmStateSampled>
{
    public Task Consume(ConsumeContext<TemperatureSampled> context) =>
        handler.HandleAsync(Sample.From(context.Message), context.Message.Source, context.CancellationToken);

    public Task Consume(ConsumeContext<AlarmStateSampled> context) =>
        handler.HandleAsync(Sample.From(context.Message), context.Message.Source, context.CancellationToken);
}

/// <summary>
/// One consumer at a time: samples of a sensor arrive in order, so none is rejected as out-of-order
/// because of our own concurrency. Database hiccups are retried; the sample stays unacknowledged meanwhile.
/// </summary>
public sealed class TemperatureSampledConsumerDefinition : ConsumerDefinition<TemperatureSampledConsumer>
{
    public TemperatureSampledConsumerDefinition() => ConcurrentMessageLimit = 1;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<TemperatureSampledConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseMessageRetry(r => r.Intervals(200, 1000, 5000));
}

public sealed class ZoneSampleHandler(
    ZoneDirectory zones,
    ZoneStore store,
    OutboxDispatcher outbox,
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

        var decision = await store.StepAsync(zone, state => zone.Apply(state, sample, clock.GetUtcNow()), cancellationToken);
        if (decision.Verdict is not (Verdict.Accepted or Verdict.Duplicate))
            logger.LogInformation("Zone {Zone}: reading of {SensorId} at {SampledAt:O} ignored: {Verdict}",
                zone.Zone.Name, sample.SensorId, sample.SampledAt, decision.Verdict);
        if (decision.HasTransition)
        {
            Log(decision);
            await outbox.PublishPendingAsync(cancellationToken);
        }
    }

    void Log(ZoneDecision decision)
    {
        if (decision.Staleness is { } s)
            logger.LogWarning("Zone {Zone} is {Staleness}: {Fresh} fresh sensor(s), {Required} needed", s.Zone, s.Stale ? "STALE" : "fresh again", s.FreshSensors, s.RequiredSensors);
        if (decision.Raised is { } r)
            logger.LogWarning("ALARM RAISED in zone {Zone} ({AlarmId}): at or above {Threshold} °C: {Readings}", r.Zone, r.AlarmId, r.ThresholdCelsius,
                string.Join(", ", r.Readings.Select(x => $"{x.SensorId}={x.Celsius:F1}")));
        if (decision.Cleared is { } c)
            logger.LogWarning("Alarm cleared in zone {Zone} ({AlarmId}): below {Threshold} °C: {Readings}", c.Zone, c.AlarmId, c.ThresholdCelsius,
                string.Join(", ", c.Readings.Select(x => $"{x.SensorId}={x.Celsius:F1}")));
    }
}
