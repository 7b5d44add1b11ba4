using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.Notifier;

/// <summary>
/// Writes every alarm transition to the Notifier's log, the one place an operator looks first.
/// Webhook delivery is added by the notifier issue.
/// </summary>
public sealed class AlarmLogConsumer(ILogger<AlarmLogConsumer> logger) :
    IConsumer<AlarmRaised>,
    IConsumer<AlarmCleared>
{
    public Task Consume(ConsumeContext<AlarmRaised> context)
    {
        var alarm = context.Message;
        logger.LogWarning("ALARM RAISED in zone {Zone} at {RaisedAt:O}: threshold {Threshold} °C, {Count} reading(s)",
            alarm.Zone, alarm.RaisedAt, alarm.ThresholdCelsius, alarm.Readings.Count);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<AlarmCleared> context)
    {
        var alarm = context.Message;
        logger.LogInformation("Alarm cleared in zone {Zone} at {ClearedAt:O}: below {Threshold} °C",
            alarm.Zone, alarm.ClearedAt, alarm.ThresholdCelsius);
        return Task.CompletedTask;
    }
}
