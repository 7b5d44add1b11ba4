using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.AlarmEvaluator.Persistence;
using PowerEvents.Contracts;
using PowerEvents.Hosting;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// A zone's alarm, turned into one message per protected cluster in that zone, addressed to its saga by id.
/// An alarm the zone's saved state contradicts (raised then cleared while this consumer was away, the messages
/// waiting in its queue) is stale and ignored: acting on it would shut a cool room down, or power a hot one on.
/// </summary>
public sealed class ZoneAlarmConsumer(IOptions<PowerOptions> options, ILogger<ZoneAlarmConsumer> logger, ZoneStore? zones = null)
    : IConsumer<AlarmRaised>, IConsumer<AlarmCleared>
{
    public async Task Consume(ConsumeContext<AlarmRaised> context)
    {
        var alarm = context.Message;
        if (await ContradictedAsync(alarm.Zone, alarm.AlarmId, raised: true, context.CancellationToken))
            return;
        var clusters = ClustersIn(alarm.Zone);
        if (clusters.Count == 0)
            logger.LogInformation("Alarm {AlarmId} in zone {Zone}: no protected cluster in this zone", alarm.AlarmId, alarm.Zone);
        foreach (var cluster in clusters)
            await context.Send(new ClusterShutdownRequested(PowerIds.ForCluster(cluster.Name), cluster.Name, alarm.Zone, alarm.AlarmId, alarm.RaisedAt));
    }

    public async Task Consume(ConsumeContext<AlarmCleared> context)
    {
        var alarm = context.Message;
        if (await ContradictedAsync(alarm.Zone, alarm.AlarmId, raised: false, context.CancellationToken))
            return;
        foreach (var cluster in ClustersIn(alarm.Zone))
            await context.Send(new ClusterAlarmCleared(PowerIds.ForCluster(cluster.Name), cluster.Name, alarm.Zone, alarm.AlarmId, alarm.ClearedAt));
    }

    /// <summary>True when the zone's saved state says otherwise: not in this alarm (raised), or in alarm again (cleared).</summary>
    async Task<bool> ContradictedAsync(string zone, Guid alarmId, bool raised, CancellationToken cancellationToken)
    {
        // No saved state (another evaluator, a drill published by hand): nothing contradicts the message.
        if (zones is null || await zones.LoadAsync(zone, cancellationToken) is not { } state)
            return false;

        var contradicted = raised ? !(state.InAlarm && state.AlarmId == alarmId) : state.InAlarm;
        if (contradicted)
            logger.LogWarning("Ignoring a stale {Transition} of alarm {AlarmId} in zone {Zone}: the zone is {Now} now",
                raised ? "raise" : "clear", alarmId, zone, state.InAlarm ? $"in alarm {state.AlarmId}" : "not in alarm");
        return contradicted;
    }

    List<ClusterOptions> ClustersIn(string zone) =>
        options.Value.Clusters.Where(c => string.Equals(c.Zone, zone, StringComparison.OrdinalIgnoreCase)).ToList();
}

public sealed class ZoneAlarmConsumerDefinition : ConsumerDefinition<ZoneAlarmConsumer>
{
    public ZoneAlarmConsumerDefinition() => EndpointName = "alarm-evaluator-power-zone-alarm";

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<ZoneAlarmConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(r => r.Intervals(100, 500, 2000));
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}

/// <summary>The saga's endpoint: retry (optimistic concurrency conflicts, a database blip) and the in-memory outbox, so nothing is published for a transition that was not saved.</summary>
public sealed class PowerSagaDefinition : SagaDefinition<PowerSagaState>
{
    public PowerSagaDefinition() => EndpointName = CommandRoutes.PowerSagaQueue;

    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<PowerSagaState> sagaConfigurator,
        IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(r => r.Intervals(50, 100, 250, 500, 1000, 2000, 5000));
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}
