using MassTransit;
using PowerEvents.AlarmEvaluator.Zones;
using PowerEvents.Contracts;
using PowerEvents.Hosting;

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
/// because of our own concurrency. A database outage is retried (TransientFaults); the sample stays unacknowledged meanwhile.
/// </summary>
public sealed class TemperatureSampledConsumerDefinition : ConsumerDefinition<TemperatureSampledConsumer>
{
    public TemperatureSampledConsumerDefinition() => ConcurrentMessageLimit = 1;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<TemperatureSampledConsumer> consumerConfigurator, IRegistrationContext context) =>
        // The outage policy (about two minutes of retries for a PostgreSQL or broker restart): a retry of the endpoint's own
        // replaces the bus-wide one, and three quick ones dead-lettered a reading in a 10-second outage (issue 15).
        endpointConfigurator.UseMessageRetry(TransientFaults.Configure);
}
