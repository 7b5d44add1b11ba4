using PowerEvents.Contracts;

namespace PowerEvents.Notifier.Preflight;

/// <summary>The Notifier's memory of one check: its last result and when it last alerted.</summary>
public sealed record PreflightCheckState(bool Ok, DateTimeOffset Since, DateTimeOffset CheckedAt, DateTimeOffset? AlertedAt);

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
/// </summary>
public static class PreflightAlertPolicy
{
    public static (PreflightCheckState Next, PreflightAlertKind Alert) Decide(PreflightCheckState? previous, PreflightCheckCompleted result, TimeSpan remindEvery)
    {
        var at = result.CheckedAt;
        if (previous is not null && at <= previous.CheckedAt)
            return (previous, PreflightAlertKind.None);
        if (result.Ok)
            return previous is { Ok: false }
                ? (new PreflightCheckState(true, at, at, at), PreflightAlertKind.Recovered)
                : (new PreflightCheckState(true, previous?.Since ?? at, at, previous?.AlertedAt), PreflightAlertKind.None);
        if (previous is not { Ok: false })
            return (new PreflightCheckState(false, at, at, at), PreflightAlertKind.Failing);
        return previous.AlertedAt is { } alerted && at - alerted < remindEvery
            ? (previous with { CheckedAt = at }, PreflightAlertKind.None)
            : (previous with { CheckedAt = at, AlertedAt = at }, PreflightAlertKind.StillFailing);
    }
}
