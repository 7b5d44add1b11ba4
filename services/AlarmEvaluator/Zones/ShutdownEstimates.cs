using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator.Zones;

/// <summary>
/// How long the shutdown of what each zone protects takes, as measured by past runs (the Console's readiness
/// estimate, <see cref="ClusterReadinessAssessed.ShutdownMeasured"/>): the early warning's lead time counts on it instead
/// of the configured <c>EarlyWarning:EstimatedShutdown</c>. Kept in memory: after a restart the configured estimate
/// holds until the Console publishes its next assessment.
/// </summary>
public sealed class ShutdownEstimates(IOptions<PowerOptions> power)
{
    readonly ConcurrentDictionary<string, TimeSpan> _measured = new(StringComparer.OrdinalIgnoreCase);
    readonly ConcurrentDictionary<string, ClusterReadinessAssessed> _latest = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The Console's latest assessment of <paramref name="cluster"/> (its estimate is shown in the plan preview); null: none since the start.</summary>
    public ClusterReadinessAssessed? Latest(string cluster) => _latest.GetValueOrDefault(cluster);

    public void Record(ClusterReadinessAssessed assessment)
    {
        _latest.AddOrUpdate(assessment.Cluster, assessment, (_, known) => known.AssessedAt > assessment.AssessedAt ? known : assessment);
        if (assessment is { ShutdownMeasured: true, EstimatedShutdown: { } estimate } && estimate > TimeSpan.Zero)
            _measured[assessment.Cluster] = estimate;
        else
            _measured.TryRemove(assessment.Cluster, out _);
    }

    /// <summary>
    /// The zone's shutdown estimate: the longest over the clusters it protects, each its measured estimate or, never
    /// measured, <paramref name="configured"/> (a cluster without history is not assumed faster than configured).
    /// </summary>
    /// <returns>The estimate, and whether it is a measured one (false: <paramref name="configured"/> decided it).</returns>
    public (TimeSpan Estimate, bool Measured) For(string zone, TimeSpan configured)
    {
        (TimeSpan Estimate, bool Measured)? longest = null;
        foreach (var cluster in power.Value.Clusters.Where(c => string.Equals(c.Zone, zone, StringComparison.Ordinal)))
        {
            var (estimate, measured) = _measured.TryGetValue(cluster.Name, out var m) ? (m, true) : (configured, false);
            // On a tie an unmeasured cluster decides: the zone's figure is then not wholly measured.
            if (longest is not { } l || estimate > l.Estimate || (estimate == l.Estimate && !measured))
                longest = (estimate, measured);
        }
        return longest ?? (configured, false);
    }
}

/// <summary>Keeps <see cref="ShutdownEstimates"/> current from the Console's readiness assessments.</summary>
public sealed class ShutdownEstimateConsumer(ShutdownEstimates estimates, ILogger<ShutdownEstimateConsumer> logger) : IConsumer<ClusterReadinessAssessed>
{
    public Task Consume(ConsumeContext<ClusterReadinessAssessed> context)
    {
        var assessment = context.Message;
        estimates.Record(assessment);
        if (assessment.ShutdownMeasured)
            logger.LogInformation("Cluster {Cluster}: the early warning counts on a measured shutdown of {Estimate} ({Basis})",
                assessment.Cluster, assessment.EstimatedShutdown, assessment.EstimateBasis);
        return Task.CompletedTask;
    }
}
