using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class VmPowerOnRequestedConsumer(VCenterSteps steps) : IConsumer<VmPowerOnRequested>
{
    public async Task Consume(ConsumeContext<VmPowerOnRequested> context) =>
        await context.Publish(await steps.PowerOnVmAsync(context.Message, context.CancellationToken));
}
