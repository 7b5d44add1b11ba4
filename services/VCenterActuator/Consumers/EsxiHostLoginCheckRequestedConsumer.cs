using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.VCenterActuator.Consumers;

public sealed class EsxiHostLoginCheckRequestedConsumer(VCenterSteps steps) : IConsumer<EsxiHostLoginCheckRequested>
{
    public async Task Consume(ConsumeContext<EsxiHostLoginCheckRequested> context)
    {
        var answer = await steps.CheckEsxiLoginAsync(context.Message, context.CancellationToken);
        // Asked through a request client (plan preview, preflight): answer the caller only. Otherwise publish.
        if (context.ResponseAddress is not null)
            await context.RespondAsync(answer);
        else
            await context.Publish(answer);
    }
}
