using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class VsanClusterPowerRequestedConsumer(VCenterSteps steps) : IConsumer<VsanClusterPowerRequested>
{
    public async Task Consume(ConsumeContext<VsanClusterPowerRequested> context) =>
        await context.Publish(await steps.PowerVsanClusterAsync(context.Message, context.CancellationToken));
}
