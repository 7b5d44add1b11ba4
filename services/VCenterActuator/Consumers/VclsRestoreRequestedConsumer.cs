using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class VclsRestoreRequestedConsumer(VCenterSteps steps) : IConsumer<VclsRestoreRequested>
{
    public async Task Consume(ConsumeContext<VclsRestoreRequested> context) =>
        await context.Publish(await steps.RestoreVclsAsync(context.Message, context.CancellationToken));
}
