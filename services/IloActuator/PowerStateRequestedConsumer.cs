using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.Contracts;

namespace PowerEvents.IloActuator;

/// <summary>Reads a host's power state without changing it (preflight) and answers with <see cref="HostPowerStateReported"/>.</summary>
public sealed class PowerStateRequestedConsumer(IBmcClient bmc, TimeProvider clock) : IConsumer<PowerStateRequested>
{
    public async Task Consume(ConsumeContext<PowerStateRequested> context)
    {
        var request = context.Message;
        var state = await bmc.ReadPowerStateAsync(request.Host, context.CancellationToken);
        await context.Publish(new HostPowerStateReported(
            request.RunId, request.Cluster, request.Host, state.Reachable, state.PowerState, state.Reason, clock.GetUtcNow()));
    }
}

public sealed class PowerStateRequestedConsumerDefinition : ConsumerDefinition<PowerStateRequestedConsumer>
{
    readonly int _concurrency;

    public PowerStateRequestedConsumerDefinition(IOptions<BmcOptions> options)
    {
        _concurrency = options.Value.MaxConcurrentHosts;
        ConcurrentMessageLimit = _concurrency;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<PowerStateRequestedConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = (ushort)Math.Max(_concurrency, 1);
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}
