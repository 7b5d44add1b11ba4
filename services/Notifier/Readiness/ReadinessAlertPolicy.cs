using PowerEvents.Contracts;

namespace PowerEvents.Notifier.Readiness;

/// <summary>The Notifier's memory of one cluster's readiness: the grade it last knew and the assessment that said so.</summary>
public sealed record ReadinessState(string Grade, DateTimeOffset AssessedAt);

/// <summary>
/// When an assessment is worth a webhook, pure: only a change of grade (the Console republishes when findings change, and
/// after a restart); a first assessment that is ready says nothing; a late (older) assessment is ignored.
/// </summary>
public static class ReadinessAlertPolicy
{
    public static (ReadinessState Next, bool Alert) Decide(ReadinessState? previous, ClusterReadinessAssessed assessed)
    {
        if (previous is not null && assessed.AssessedAt <= previous.AssessedAt)
            return (previous, false);
        var next = new ReadinessState(assessed.Grade, assessed.AssessedAt);
        var changed = previous is null ? assessed.Grade != "ready" : !string.Equals(previous.Grade, assessed.Grade, StringComparison.Ordinal);
        return (next, changed);
    }
}
