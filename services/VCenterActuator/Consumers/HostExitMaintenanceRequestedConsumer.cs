using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class HostExitMaintenanceRequestedConsumer(VCenterSteps steps) : IConsumer<HostExitMaintenanceRequested>
{
    public async Task Consume(ConsumeContext<HostExitMaintenanceRequested> context) =>
        await context.Publish(await steps.ExitMaintenanceAsync(context.Message, context.CancellationToken));
}
