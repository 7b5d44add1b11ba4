using PowerEvents.Contracts;

namespace PowerEvents.Notifier.Readiness;

/// <summary>The Notifier's memory of one cluster's readiness: the grade it last knew and the assessment that said so.</summary>
/// <param name="Baseline">The grade a change is measured against: the last one known outside a run (null: none yet, treated as ready).</param>
public sealed record ReadinessState(string Grade, DateTimeOffset AssessedAt, string? Baseline = null);

/// <summary>
/// When an assessment is worth a webhook, pure: only a change of grade (the Console republishes when findings change, and
/// after a restart); a first assessment that is ready says nothing; a late (older) assessment is ignored. While the cluster
/// is off by a PowerEvents run (<c>offByRun</c>) nothing is alerted; once it is back, only a grade that differs from the one
/// before the run.
/// </summary>
public static class ReadinessAlertPolicy
{
    public static (ReadinessState Next, bool Alert) Decide(ReadinessState? previous, ClusterReadinessAssessed assessed, bool offByRun = false)
    {
        if (previous is not null && assessed.AssessedAt <= previous.AssessedAt)
            return (previous, false);
        var baseline = previous?.Baseline;
        if (offByRun)
            return (new ReadinessState(assessed.Grade, assessed.AssessedAt, baseline), false);
        var changed = baseline is null ? assessed.Grade != "ready" : !string.Equals(baseline, assessed.Grade, StringComparison.Ordinal);
        return (new ReadinessState(assessed.Grade, assessed.AssessedAt, assessed.Grade), changed);
    }
}
