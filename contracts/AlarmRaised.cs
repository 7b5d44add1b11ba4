namespace PowerEvents.Contracts;

/// <summary>A zone's high-temperature alarm became active.</summary>
/// <param name="AlarmId">Identifies this alarm episode; the matching <see cref="AlarmCleared"/> carries it too.</param>
/// <param name="Zone">The zone in alarm.</param>
/// <param name="RaisedAt">When the evaluator decided the alarm.</param>
/// <param name="ThresholdCelsius">The high threshold that was crossed.</param>
/// <param name="Readings">The temperature readings that caused the transition.</param>
/// <param name="Signals">The alarm-state votes (generic alarm APIs, Meraki alert overview) that took part, if any.</param>
/// <param name="Sequence">The zone's transition number: each raise and each clear of the zone counts it up by one, so a
/// consumer can tell an older transition (redelivered, or overtaken) from the newest without reading the zone's state.
/// Null from a publisher that does not count (a drill published by hand).</param>
/// <param name="Reason">Why, when not simply the threshold crossed: an early warning in <c>act</c> mode says it was predicted.</param>
public sealed record AlarmRaised(
    Guid AlarmId,
    string Zone,
    DateTimeOffset RaisedAt,
    double ThresholdCelsius,
    IReadOnlyList<SensorReading> Readings,
    IReadOnlyList<AlarmSignalReading>? Signals = null,
    long? Sequence = null,
    string? Reason = null);
