using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class ClusterHaDrsRestoreRequestedConsumer(VCenterSteps steps) : IConsumer<ClusterHaDrsRestoreRequested>
{
    public async Task Consume(ConsumeContext<ClusterHaDrsRestoreRequested> context) =>
        await context.Publish(await steps.RestoreHaDrsAsync(context.Message, context.CancellationToken));
}
