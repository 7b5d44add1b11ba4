using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class HostShutdownRequestedConsumer(VCenterSteps steps) : IConsumer<HostShutdownRequested>
{
    public async Task Consume(ConsumeContext<HostShutdownRequested> context) =>
        await context.Publish(await steps.ShutDownHostAsync(context.Message, context.CancellationToken, context.SentTime));
}
