using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.Contracts;
using PowerEvents.Hosting;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// The Console's commands (queue <c>alarm-evaluator-power-commands</c>, docs/console.md) into the saga's queue. A drill and
/// a shutdown-now become the saga's own <see cref="ClusterShutdownRequested"/> (without a zone transition, carrying who and
/// why), so they take the very path an alarm takes; a power-on-now and a cancel go to the saga as they are. A command for a
/// cluster that is not configured is logged and dropped (its id names no saga).
/// </summary>
public sealed class PowerCommandConsumer(IOptions<PowerOptions> options, ILogger<PowerCommandConsumer> logger)
    : IConsumer<ClusterDrillRequested>, IConsumer<ClusterShutdownNowRequested>, IConsumer<ClusterPowerOnNowRequested>, IConsumer<PowerOnCancelRequested>
{
    /// <summary>The zone a run started by an operator names (there is no alarm).</summary>
    public const string OperatorZone = "operator";

    public Task Consume(ConsumeContext<ClusterDrillRequested> context) =>
        ToSaga(context, "drill", context.Message.Cluster, context.Message.RequestedBy, m => new ClusterShutdownRequested(
            PowerIds.ForCluster(m.Name), m.Name, OperatorZone, NewId.NextGuid(), context.Message.RequestedAt, null, DryRun: true,
            context.Message.RequestedBy, context.Message.Reason));

    public Task Consume(ConsumeContext<ClusterShutdownNowRequested> context) =>
        ToSaga(context, "shutdown now", context.Message.Cluster, context.Message.RequestedBy, m => new ClusterShutdownRequested(
            PowerIds.ForCluster(m.Name), m.Name, OperatorZone, NewId.NextGuid(), context.Message.RequestedAt, null, DryRun: false,
            context.Message.RequestedBy, context.Message.Reason));

    public Task Consume(ConsumeContext<ClusterPowerOnNowRequested> context) =>
        ToSaga(context, "power-on now", context.Message.Cluster, context.Message.RequestedBy, m => context.Message with { ClusterId = PowerIds.ForCluster(m.Name), Cluster = m.Name });

    public Task Consume(ConsumeContext<PowerOnCancelRequested> context) =>
        ToSaga(context, "power-on cancel", context.Message.Cluster, context.Message.RequestedBy, m => context.Message with { ClusterId = PowerIds.ForCluster(m.Name), Cluster = m.Name });

    async Task ToSaga<T>(ConsumeContext context, string what, string clusterName, string requestedBy, Func<ClusterOptions, T> command)
        where T : class
    {
        if (options.Value.FindCluster(clusterName) is not { } cluster)
        {
            logger.LogWarning("Operator {RequestedBy}: {Command} for cluster {Cluster} dropped: no such protected cluster", requestedBy, what, clusterName);
            return;
        }
        var message = command(cluster);
        logger.LogWarning("Operator {RequestedBy}: {Command} for cluster {Cluster}", requestedBy, what, cluster.Name);
        var saga = await context.GetSendEndpoint(new Uri($"queue:{CommandRoutes.PowerSagaQueue}"));
        await saga.Send(message, context.CancellationToken);
    }
}

public sealed class PowerCommandConsumerDefinition : ConsumerDefinition<PowerCommandConsumer>
{
    /// <summary>The queue the Console sends to (<c>Console:SagaCommandQueue</c>).</summary>
    public const string Queue = "alarm-evaluator-power-commands";

    public PowerCommandConsumerDefinition() => EndpointName = Queue;
}
