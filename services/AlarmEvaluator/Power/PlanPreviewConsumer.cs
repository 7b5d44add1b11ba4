using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// The Console's request for a cluster's plan (queue <c>alarm-evaluator-plan-preview</c>), answered from the same code as
/// <c>GET /power/plan/{cluster}</c> and sharing its inventory read: the Console never calls this service's HTTP.
/// </summary>
public sealed class PlanPreviewConsumer(IServiceProvider services, ILogger<PlanPreviewConsumer> logger) : IConsumer<ClusterPlanPreviewRequested>
{
    public async Task Consume(ConsumeContext<ClusterPlanPreviewRequested> context)
    {
        var request = context.Message;
        var (preview, failure) = await PlanPreviewStartupFilter.PreviewAsync(services, request.Cluster, context.CancellationToken);
        if (preview is not null)
        {
            logger.LogInformation("Plan preview of {Cluster} for {RequestedBy}: {Stages} stage(s)", preview.Cluster, request.RequestedBy, preview.Stages.Count);
            await context.RespondAsync(PlanStages.ToMessage(preview));
            return;
        }
        logger.LogWarning("Plan preview of {Cluster} for {RequestedBy}: {Status}, {Reason}", request.Cluster, request.RequestedBy, failure!.Status, failure.Reason);
        await context.RespondAsync(new ClusterPlanPreviewFailed(request.Cluster, failure.Status,
            failure.Fault is { } fault ? $"{failure.Reason}: {fault.Message}" : failure.Reason));
    }
}

public sealed class PlanPreviewConsumerDefinition : ConsumerDefinition<PlanPreviewConsumer>
{
    /// <summary>The queue the Console sends its requests to; its broker account may write only this one of ours.</summary>
    public const string Queue = "alarm-evaluator-plan-preview";

    public PlanPreviewConsumerDefinition() => EndpointName = Queue;
}
