using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class VCenterStartRequestedConsumer(VCenterSteps steps) : IConsumer<VCenterStartRequested>
{
    public async Task Consume(ConsumeContext<VCenterStartRequested> context) =>
        await context.Publish(await steps.StartVCenterAsync(context.Message, context.CancellationToken));
}
