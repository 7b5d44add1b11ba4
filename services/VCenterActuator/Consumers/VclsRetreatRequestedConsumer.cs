using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class VclsRetreatRequestedConsumer(VCenterSteps steps) : IConsumer<VclsRetreatRequested>
{
    public async Task Consume(ConsumeContext<VclsRetreatRequested> context) =>
        await context.Publish(await steps.EnterVclsRetreatAsync(context.Message, context.CancellationToken));
}
