using PowerEvents.Console.ReadModel;
using PowerEvents.Contracts;

namespace PowerEvents.Console.Readiness;

/// <summary>A cluster's readiness as the API and the page show it.</summary>
public sealed record ReadinessView(
    string Cluster,
    string Grade,
    IReadOnlyList<ReadinessFinding> Findings,
    double EstimatedShutdownSeconds,
    double EstimatedPowerOnSeconds,
    string EstimateBasis,
    IReadOnlyList<KindDuration> Durations,
    DateTimeOffset? ObservedAt,
    DateTimeOffset AssessedAt);

/// <summary>Grades a cluster from the read model (<see cref="ReadinessGrader"/>) and estimates its run (<see cref="DurationEstimator"/>).</summary>
public sealed class ClusterReadiness(ConsoleReadModel model, ConsoleOptions options, TimeProvider clock)
{
    // The page asks every 1.5 s and the publisher every interval; runs (thousands of steps each) change far less often.
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long Version, int Vms, int Hosts, DurationEstimate Estimate)> _estimates =
        new(StringComparer.OrdinalIgnoreCase);

    public ReadinessView Assess(string cluster)
    {
        var input = model.ReadinessInputFor(cluster, options.Readiness.MaxAge);
        var (grade, findings) = ReadinessGrader.Grade(input);
        var (vms, hosts) = model.Size(cluster);
        var version = model.RunsVersion;
        if (!_estimates.TryGetValue(cluster, out var cached) || (cached.Version, cached.Vms, cached.Hosts) != (version, vms, hosts))
            _estimates[cluster] = cached = (version, vms, hosts, DurationEstimator.Estimate(model.RunsOf(cluster), vms, hosts, options.Readiness.DefaultDurations));
        var estimate = cached.Estimate;
        return new ReadinessView(input.Cluster, grade, findings, estimate.Shutdown.TotalSeconds, estimate.PowerOn.TotalSeconds, estimate.Basis,
            estimate.Kinds, input.Observed?.ObservedAt, clock.GetUtcNow());
    }

    public IReadOnlyList<ReadinessView> AssessAll() => [.. model.ClusterNames().Select(Assess)];

    public static ClusterReadinessAssessed ToEvent(ReadinessView view) => new(view.Cluster, view.Grade, view.Findings,
        TimeSpan.FromSeconds(view.EstimatedShutdownSeconds), TimeSpan.FromSeconds(view.EstimatedPowerOnSeconds), view.EstimateBasis, view.AssessedAt);

    /// <summary>What makes two assessments "the same" for publishing: the grade and the findings (estimates move with every run).</summary>
    public static string Signature(string grade, IEnumerable<ReadinessFinding> findings) =>
        grade + "\n" + string.Join("\n", findings.Select(f => $"{f.Check}|{f.Level}|{f.Subject}|{f.Finding}"));
}
