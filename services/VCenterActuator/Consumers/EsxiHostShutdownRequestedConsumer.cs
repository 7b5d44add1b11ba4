using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class EsxiHostShutdownRequestedConsumer(VCenterSteps steps) : IConsumer<EsxiHostShutdownRequested>
{
    public async Task Consume(ConsumeContext<EsxiHostShutdownRequested> context) =>
        await context.Publish(await steps.ShutDownEsxiHostAsync(context.Message, context.CancellationToken));
}
