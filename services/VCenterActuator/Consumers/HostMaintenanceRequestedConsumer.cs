using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class HostMaintenanceRequestedConsumer(VCenterSteps steps) : IConsumer<HostMaintenanceRequested>
{
    public async Task Consume(ConsumeContext<HostMaintenanceRequested> context) =>
        await context.Publish(await steps.EnterMaintenanceAsync(context.Message, context.CancellationToken, context.SentTime));
}
