namespace PowerEvents.Contracts;

/// <summary>
/// A zone has too few fresh sensors to decide (<paramref name="Stale"/> true), or has enough again (false).
/// A stale zone neither raises nor clears an alarm by itself.
/// </summary>
/// <param name="Zone">The zone.</param>
/// <param name="Stale">True when the zone went stale, false when it is fresh again.</param>
/// <param name="FreshSensors">How many of its sensors have a recent reading.</param>
/// <param name="RequiredSensors">How many it needs to decide (its quorum).</param>
/// <param name="ChangedAt">When the evaluator noticed the change.</param>
public sealed record ZoneStalenessChanged(
    string Zone,
    bool Stale,
    int FreshSensors,
    int RequiredSensors,
    DateTimeOffset ChangedAt);
