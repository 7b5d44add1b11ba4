using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.Contracts;
using PowerEvents.Hosting;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// A zone's alarm, turned into one message per protected cluster in that zone, sent to its saga by id. It reads no
/// other component's tables: the zone's transition number travels in the alarm (<c>Sequence</c>) and on to the saga,
/// which ignores a transition older than the newest it has seen (a stale raise never shuts a cluster down again, a
/// stale clear never powers a hot room on).
/// </summary>
public sealed class ZoneAlarmConsumer(IOptions<PowerOptions> options, ILogger<ZoneAlarmConsumer> logger)
    : IConsumer<AlarmRaised>, IConsumer<AlarmCleared>
{
    public async Task Consume(ConsumeContext<AlarmRaised> context)
    {
        var alarm = context.Message;
        var clusters = ClustersIn(alarm.Zone);
        if (clusters.Count == 0)
            logger.LogInformation("Alarm {AlarmId} in zone {Zone}: no protected cluster in this zone", alarm.AlarmId, alarm.Zone);
        foreach (var cluster in clusters)
            await context.Send(new ClusterShutdownRequested(PowerIds.ForCluster(cluster.Name), cluster.Name, alarm.Zone, alarm.AlarmId, alarm.RaisedAt, alarm.Sequence));
    }

    public async Task Consume(ConsumeContext<AlarmCleared> context)
    {
        var alarm = context.Message;
        foreach (var cluster in ClustersIn(alarm.Zone))
            await context.Send(new ClusterAlarmCleared(PowerIds.ForCluster(cluster.Name), cluster.Name, alarm.Zone, alarm.AlarmId, alarm.ClearedAt, alarm.Sequence));
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
        // Outer: an outage (PostgreSQL or the broker restarting) is held for about two minutes, as everywhere (an endpoint's
        // own retry replaces the bus-wide one); inner: quick retries for a conflict or a blip.
        endpointConfigurator.UseMessageRetry(TransientFaults.Configure);
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
        endpointConfigurator.UseMessageRetry(TransientFaults.Configure); // an outage: held, as everywhere (see above)
        endpointConfigurator.UseMessageRetry(r => r.Intervals(50, 100, 250, 500, 1000, 2000, 5000));
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}
