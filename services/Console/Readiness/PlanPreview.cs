using System.Globalization;
using MassTransit;
using PowerEvents.Console.ReadModel;
using PowerEvents.Contracts;

namespace PowerEvents.Console.Readiness;

/// <summary>A stage of the plan with the console's estimate of it.</summary>
/// <param name="EstimateSeconds">The stage's expected duration; null where another stage of its kind carries the kind's figure, or where nothing estimates it.</param>
/// <param name="EstimateBasis">Where the figure comes from (<c>measured: median of 3 run(s)</c>, <c>default model</c>), or why there is none.</param>
public sealed record PlanStageView(string Direction, int Order, string Kind, string Name, string Does, int Steps, IReadOnlyList<string> Targets,
    double? DeadlineSeconds, double? EstimateSeconds, string EstimateBasis);

/// <summary>The saga's plan for a cluster now, with estimated durations per stage and in total (<c>GET /api/clusters/{c}/plan</c>).</summary>
public sealed record PlanView(
    string Cluster, string Zone, DateTimeOffset InventoryCapturedAt, bool DryRun, IReadOnlyList<PlanStageView> Stages,
    PlanVCenter? VCenter, IReadOnlyList<PlanChange> Changes, IReadOnlyList<string> Restores, IReadOnlyList<string> Problems,
    IReadOnlyList<string> HostsAlreadyOff, int VmsAlreadyOff, double WorstCaseShutdownSeconds,
    double EstimatedShutdownSeconds, double EstimatedPowerOnSeconds, string EstimateBasis);

/// <summary>Why no plan could be shown: <c>not-found</c>, <c>inventory-failed</c>, <c>timeout</c> (also: the AlarmEvaluator did not answer),
/// <c>failed</c> (the AlarmEvaluator's consumer faulted).</summary>
public sealed record PlanFailure(string Cluster, string Status, string Reason);

/// <summary>
/// Lays the console's estimate (<see cref="DurationEstimator"/>, the one the readiness shows, scaled to the plan's own step
/// counts per kind: <see cref="StepsOf"/>) on the saga's plan, pure: each
/// kind of step the estimator knows gives its figure to the first stage of that kind in its direction (the estimator times
/// a kind as one stage: every tier's guest shutdowns together); later stages of the kind say where they are counted.
/// Kinds it does not measure (the cluster changes, vCenter's start) are shown without a figure, saying so.
/// </summary>
public static class PlanEstimate
{
    public static PlanView Apply(ClusterPlanPreviewed plan, DurationEstimate estimate)
    {
        var stages = new List<PlanStageView>();
        foreach (var stage in plan.Stages)
        {
            var kind = estimate.Kinds.FirstOrDefault(k => k.Kind == stage.Kind);
            var first = stages.FirstOrDefault(s => s.Direction == stage.Direction && s.Kind == stage.Kind);
            var (seconds, basis) = kind is null ? ((double?)null, "no estimate: the console does not time this kind of step yet")
                : first is not null ? (null, $"counted in stage {first.Order} ({first.Name})")
                : (kind.StageSeconds, Basis(kind));
            stages.Add(new PlanStageView(stage.Direction, stage.Order, stage.Kind, stage.Name, stage.Does, stage.Steps, stage.Targets,
                stage.Deadline?.TotalSeconds, seconds, basis));
        }
        double Total(string direction) => stages.Where(s => s.Direction == direction).Sum(s => s.EstimateSeconds ?? 0);
        return new PlanView(plan.Cluster, plan.Zone, plan.InventoryCapturedAt, plan.DryRun, stages, plan.VCenter, plan.Changes, plan.Restores,
            plan.Problems, plan.HostsAlreadyOff, plan.VmsAlreadyOff, plan.WorstCaseShutdown.TotalSeconds,
            Total("shutdown"), Total("power-on"), estimate.Basis);
    }

    static string Basis(KindDuration kind) => kind.Basis == "history"
        ? string.Create(CultureInfo.InvariantCulture, $"measured: median of {kind.Samples} run(s)") +
          (kind.PerItemSeconds is { } perItem ? string.Create(CultureInfo.InvariantCulture, $", {perItem:0.#} s per host") : "")
        : "default model (Console:Readiness:DefaultDurations)";

    /// <summary>How many steps of <paramref name="kind"/> the plan has (both directions' kinds differ): what the estimate is scaled to.</summary>
    public static int StepsOf(ClusterPlanPreviewed plan, string kind) => plan.Stages.Where(s => s.Kind == kind).Sum(s => s.Steps);
}

/// <summary>Asks the power saga's service for a cluster's plan over the bus and adds the estimate (the console calls no service's HTTP).</summary>
public sealed class ClusterPlans(IRequestClient<ClusterPlanPreviewRequested> client, ConsoleReadModel model, ConsoleOptions options, TimeProvider clock)
{
    /// <summary>Where the AlarmEvaluator answers (<c>PlanPreviewConsumerDefinition</c>).</summary>
    public const string Queue = "alarm-evaluator-plan-preview";

    public async Task<(PlanView? Plan, PlanFailure? Failure)> PreviewAsync(string cluster, string requestedBy, CancellationToken cancellationToken)
    {
        // The whole call is bounded, the send too: a send the broker refuses (permissions, a queue declared otherwise) is retried without end.
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(options.PlanPreviewTimeout);
        try
        {
            var response = await client.GetResponse<ClusterPlanPreviewed, ClusterPlanPreviewFailed>(
                new ClusterPlanPreviewRequested(cluster, requestedBy, clock.GetUtcNow()), bounded.Token, RequestTimeout.After(ms: (int)options.PlanPreviewTimeout.TotalMilliseconds));
            if (response.Is(out Response<ClusterPlanPreviewed>? previewed))
            {
                var plan = previewed!.Message;
                var estimate = DurationEstimator.Estimate(model.RunsOf(plan.Cluster), kind => PlanEstimate.StepsOf(plan, kind), options.Readiness.DefaultDurations);
                return (PlanEstimate.Apply(plan, estimate), null);
            }
            response.Is(out Response<ClusterPlanPreviewFailed>? failed);
            return (null, new PlanFailure(cluster, failed!.Message.Status, failed.Message.Reason));
        }
        catch (RequestFaultException ex)
        {
            return (null, new PlanFailure(cluster, "failed", $"the AlarmEvaluator failed to make the plan: {ex.Fault?.Exceptions.FirstOrDefault()?.Message ?? ex.Message}"));
        }
        catch (Exception ex) when (ex is RequestTimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return (null, new PlanFailure(cluster, "timeout", $"no plan from the AlarmEvaluator within {options.PlanPreviewTimeout} (is it running? queue {Queue})"));
        }
    }
}
