using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator;

/// <summary>
/// Receives every sample. Zone evaluation (thresholds, hysteresis, quorum, staleness) is the sensing
/// issue's work; until then the evaluator only records that the sample arrived.
/// </summary>
public sealed class TemperatureSampledConsumer(ILogger<TemperatureSampledConsumer> logger) : IConsumer<TemperatureSampled>
{
    public Task Consume(ConsumeContext<TemperatureSampled> context)
    {
        var sample = context.Message;
        logger.LogDebug("Sample {Source}/{SensorId} zone {Zone}: {Celsius:F1} °C at {SampledAt:O}",
            sample.Source, sample.SensorId, sample.Zone, sample.Celsius, sample.SampledAt);
        return Task.CompletedTask;
    }
}
