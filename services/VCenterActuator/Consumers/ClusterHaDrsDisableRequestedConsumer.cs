using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class ClusterHaDrsDisableRequestedConsumer(VCenterSteps steps) : IConsumer<ClusterHaDrsDisableRequested>
{
    public async Task Consume(ConsumeContext<ClusterHaDrsDisableRequested> context) =>
        await context.Publish(await steps.DisableHaDrsAsync(context.Message, context.CancellationToken));
}
