using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class ClusterInventoryRequestedConsumer(VCenterSteps steps) : IConsumer<ClusterInventoryRequested>
{
    public async Task Consume(ConsumeContext<ClusterInventoryRequested> context)
    {
        var outcome = await steps.CaptureInventoryAsync(context.Message, context.CancellationToken);
        if (outcome.Captured is not null)
            await context.Publish(outcome.Captured);
        else
            await context.Publish(outcome.Failed!);
    }
}
