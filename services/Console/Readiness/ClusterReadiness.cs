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
    DateTimeOffset AssessedAt)
{
    /// <summary>Every shutdown stage of the estimate comes from measured runs (none from the default model).</summary>
    public bool ShutdownMeasured => DurationEstimator.ShutdownMeasured(Durations);
}

/// <summary>Grades a cluster from the read model (<see cref="ReadinessGrader"/>) and estimates its run (<see cref="DurationEstimator"/>).</summary>
public sealed class ClusterReadiness(ConsoleReadModel model, ConsoleOptions options, TimeProvider clock)
{
    // The page asks every 1.5 s and the publisher every interval; runs (thousands of steps each) change far less often.
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long Version, int Vms, int Hosts, DurationEstimate Estimate, IReadOnlyList<RunTimes> Runs)> _estimates =
        new(StringComparer.OrdinalIgnoreCase);

    public ReadinessView Assess(string cluster)
    {
        var input = model.ReadinessInputFor(cluster, options.Readiness.MaxAge);
        var (vms, hosts) = model.Size(cluster);
        var version = model.RunsVersion;
        if (!_estimates.TryGetValue(cluster, out var cached) || (cached.Version, cached.Vms, cached.Hosts) != (version, vms, hosts))
        {
            var runs = model.RunsOf(cluster);
            _estimates[cluster] = cached = (version, vms, hosts, DurationEstimator.Estimate(runs, vms, hosts, options.Readiness.DefaultDurations),
                [.. runs.Select(r => new RunTimes(r.RunId, r.DryRun, r.StartedAt, r.CompletedAt, r.RestoreCompletedAt, r.Interrupted))]);
        }
        input = input with
        {
            OffByRun = ClusterOffByRun.Of(cached.Runs, input.Observed),
        };
        var (grade, findings) = ReadinessGrader.Grade(input);
        var estimate = cached.Estimate;
        return new ReadinessView(input.Cluster, grade, findings, estimate.Shutdown.TotalSeconds, estimate.PowerOn.TotalSeconds, estimate.Basis,
            estimate.Kinds, input.Observed?.ObservedAt, clock.GetUtcNow());
    }

    public IReadOnlyList<ReadinessView> AssessAll() => [.. model.ClusterNames().Select(Assess)];

    public static ClusterReadinessAssessed ToEvent(ReadinessView view) => new(view.Cluster, view.Grade, view.Findings,
        TimeSpan.FromSeconds(view.EstimatedShutdownSeconds), TimeSpan.FromSeconds(view.EstimatedPowerOnSeconds), view.EstimateBasis, view.AssessedAt,
        view.ShutdownMeasured);

    /// <summary>
    /// What makes two assessments "the same" for publishing: the grade, the findings and a measured shutdown estimate to the
    /// minute (the early warning uses it; a default-model estimate and seconds of drift between runs are not news).
    /// </summary>
    public static string Signature(string grade, IEnumerable<ReadinessFinding> findings, TimeSpan? measuredShutdown) =>
        grade + "\n" + string.Join("\n", findings.Select(f => $"{f.Check}|{f.Level}|{f.Subject}|{f.Finding}")) +
        (measuredShutdown is { } m ? $"\nshutdown {Math.Ceiling(m.TotalMinutes):0} min" : "");

    public static string Signature(ReadinessView view) => Signature(view.Grade, view.Findings,
        view.ShutdownMeasured ? TimeSpan.FromSeconds(view.EstimatedShutdownSeconds) : null);

    public static string Signature(ClusterReadinessAssessed stored) => Signature(stored.Grade, stored.Findings,
        stored.ShutdownMeasured ? stored.EstimatedShutdown : null);
}
