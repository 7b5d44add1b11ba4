using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class VsanResyncCheckRequestedConsumer(VCenterSteps steps) : IConsumer<VsanResyncCheckRequested>
{
    public async Task Consume(ConsumeContext<VsanResyncCheckRequested> context) =>
        await context.Publish(await steps.CheckVsanResyncAsync(context.Message, context.CancellationToken));
}
