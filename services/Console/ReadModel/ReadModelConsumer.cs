using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.Hosting;

namespace PowerEvents.Console.ReadModel;

/// <summary>Every event the console follows goes through here: stored, then applied to the read model.</summary>
public sealed class ReadModelConsumer(EventLog events) :
    IConsumer<TemperatureSampled>, IConsumer<AlarmRaised>, IConsumer<AlarmCleared>, IConsumer<ZoneStalenessChanged>,
    IConsumer<SourceHealthChanged>, IConsumer<ClusterInventoryCaptured>, IConsumer<PowerRunStarted>, IConsumer<VmShutDown>,
    IConsumer<HostEnteredMaintenance>, IConsumer<HostPoweredOff>, IConsumer<EsxiHostPoweredOff>, IConsumer<VsanClusterPowerCompleted>, IConsumer<PowerRunStepFailed>, IConsumer<PowerRunCompleted>,
    IConsumer<PowerRestoreStarted>, IConsumer<HostPowerOnCompleted>, IConsumer<HostBootProgressReported>,
    IConsumer<HostExitedMaintenance>, IConsumer<VmPoweredOn>, IConsumer<PowerRestoreCompleted>, IConsumer<HostPowerStateReported>,
    IConsumer<ScheduledPowerWindowSkipped>, IConsumer<ClusterObserved>, IConsumer<PreflightCheckCompleted>, IConsumer<ClusterReadinessAssessed>,
    IConsumer<WebhookDelivered>, IConsumer<OperatorCommandRefused>
{
    public Task Consume(ConsumeContext<TemperatureSampled> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<AlarmRaised> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<AlarmCleared> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<ZoneStalenessChanged> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<SourceHealthChanged> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<ClusterInventoryCaptured> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<PowerRunStarted> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<VmShutDown> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<HostEnteredMaintenance> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<HostPoweredOff> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<EsxiHostPoweredOff> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<VsanClusterPowerCompleted> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<PowerRunStepFailed> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<PowerRunCompleted> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<PowerRestoreStarted> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<HostPowerOnCompleted> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<HostBootProgressReported> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<HostExitedMaintenance> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<VmPoweredOn> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<PowerRestoreCompleted> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<HostPowerStateReported> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<ScheduledPowerWindowSkipped> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<ClusterObserved> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<PreflightCheckCompleted> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<ClusterReadinessAssessed> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<WebhookDelivered> context) => events.AppendAsync(context.Message, context.CancellationToken);
    public Task Consume(ConsumeContext<OperatorCommandRefused> context) => events.AppendAsync(context.Message, context.CancellationToken);
}

public sealed class ReadModelConsumerDefinition : ConsumerDefinition<ReadModelConsumer>
{
    public ReadModelConsumerDefinition()
    {
        // One at a time: the read model applies events in the order they arrive.
        ConcurrentMessageLimit = 1;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<ReadModelConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // The outage policy (about two minutes for a PostgreSQL or broker restart): an endpoint's own retry replaces the
        // bus-wide one, and three quick retries would dead-letter an event in a 10-second outage (issue 15).
        endpointConfigurator.UseMessageRetry(TransientFaults.Configure);
    }
}
