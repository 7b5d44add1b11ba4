using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class VmShutdownRequestedConsumer(VCenterSteps steps) : IConsumer<VmShutdownRequested>
{
    public async Task Consume(ConsumeContext<VmShutdownRequested> context) =>
        await context.Publish(await steps.ShutDownVmAsync(context.Message, context.CancellationToken, context.SentTime));
}
