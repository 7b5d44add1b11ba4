using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class ClusterInventoryRequestedConsumer(VCenterSteps steps) : IConsumer<ClusterInventoryRequested>
{
    public async Task Consume(ConsumeContext<ClusterInventoryRequested> context)
    {
        var outcome = await steps.CaptureInventoryAsync(context.Message, context.CancellationToken);
        object answer = outcome.Captured is not null ? outcome.Captured : outcome.Failed!;
        // Asked through a request client (the saga's plan preview): answer the caller only. Otherwise publish.
        if (context.ResponseAddress is not null)
            await context.RespondAsync(answer, answer.GetType());
        else
            await context.Publish(answer, answer.GetType());
    }
}
