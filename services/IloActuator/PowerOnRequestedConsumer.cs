using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.Contracts;

namespace PowerEvents.IloActuator;

/// <summary>
/// Powers one host on and always answers with <see cref="HostPowerOnCompleted"/>, also when it failed; meanwhile
/// publishes <see cref="HostBootProgressReported"/> for each boot stage the BMC reports.
/// </summary>
public sealed class PowerOnRequestedConsumer(IBmcClient bmc, IBus bus, TimeProvider clock) : IConsumer<PowerOnRequested>
{
    public async Task Consume(ConsumeContext<PowerOnRequested> context)
    {
        var request = context.Message;
        // Through the bus, not the consume context: the context's outbox would hold progress back until the power-on ends.
        var result = await bmc.PowerOnAsync(request.Host, context.CancellationToken, (progress, cancellationToken) =>
            bus.Publish(new HostBootProgressReported(request.RunId, request.Cluster, request.Host, progress.Stage, progress.BmcState, clock.GetUtcNow()),
                cancellationToken));
        await context.Publish(new HostPowerOnCompleted(
            request.RunId, request.Cluster, request.Host, result.Outcome, result.Reason, result.Method, clock.GetUtcNow()));
    }
}

/// <summary>Many hosts at once: a BMC that hangs holds one slot until its deadline, never the queue.</summary>
public sealed class PowerOnRequestedConsumerDefinition : ConsumerDefinition<PowerOnRequestedConsumer>
{
    readonly int _concurrency;

    public PowerOnRequestedConsumerDefinition(IOptions<BmcOptions> options)
    {
        _concurrency = options.Value.MaxConcurrentHosts;
        ConcurrentMessageLimit = _concurrency;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<PowerOnRequestedConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = (ushort)Math.Max(_concurrency, 1);
        // Retries are the Redfish client's business (it knows what is safe to repeat); the outcome is published once.
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}
