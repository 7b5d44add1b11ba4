using PowerEvents.Contracts;

namespace PowerEvents.Notifier.Preflight;

/// <summary>The Notifier's memory of one check: its last result and when it last alerted.</summary>
/// <param name="QuietFor">The failure was expected and not alerted: this cluster was off by a PowerEvents run (null otherwise).</param>
public sealed record PreflightCheckState(bool Ok, DateTimeOffset Since, DateTimeOffset CheckedAt, DateTimeOffset? AlertedAt, string? QuietFor = null);

public enum PreflightAlertKind
{
    None,
    Failing,
    StillFailing,
    Recovered,
}

/// <summary>
/// When a check's result is worth an alert, pure: on a change (failing, recovered) and, while it keeps failing, a
/// reminder every <c>RemindEvery</c>; a first result that is fine says nothing, and neither does a late (older) result.
/// A failure explained by a cluster that PowerEvents itself powered off (<paramref name="explainedBy"/>) is recorded but not
/// alerted, nor is its recovery; if it still fails once nothing explains it (the power-on completed), it is alerted then.
/// </summary>
public static class PreflightAlertPolicy
{
    public static (PreflightCheckState Next, PreflightAlertKind Alert) Decide(PreflightCheckState? previous, PreflightCheckCompleted result, TimeSpan remindEvery,
        string? explainedBy = null)
    {
        var at = result.CheckedAt;
        if (previous is not null && at <= previous.CheckedAt)
            return (previous, PreflightAlertKind.None);
        if (result.Ok)
            return previous switch
            {
                { Ok: false, QuietFor: not null } => (new PreflightCheckState(true, at, at, previous.AlertedAt), PreflightAlertKind.None),
                { Ok: false } => (new PreflightCheckState(true, at, at, at), PreflightAlertKind.Recovered),
                _ => (new PreflightCheckState(true, previous?.Since ?? at, at, previous?.AlertedAt), PreflightAlertKind.None),
            };
        if (explainedBy is not null)
            // Expected while the cluster is off: recorded, not alerted; a failure alerted before the run is not reminded of meanwhile.
            return previous is { Ok: false }
                ? (previous with { CheckedAt = at }, PreflightAlertKind.None)
                : (new PreflightCheckState(false, at, at, null, explainedBy), PreflightAlertKind.None);
        if (previous is { Ok: false, QuietFor: not null })
            // The cluster is back and this still fails: a real failure, alerted now (its fact is the failure's start, once).
            return (previous with { CheckedAt = at, AlertedAt = at, QuietFor = null }, PreflightAlertKind.Failing);
        if (previous is not { Ok: false })
            return (new PreflightCheckState(false, at, at, at), PreflightAlertKind.Failing);
        return previous.AlertedAt is { } alerted && at - alerted < remindEvery
            ? (previous with { CheckedAt = at }, PreflightAlertKind.None)
            : (previous with { CheckedAt = at, AlertedAt = at }, PreflightAlertKind.StillFailing);
    }
}
