namespace PowerEvents.Contracts;

/// <summary>A zone's high-temperature alarm is no longer active.</summary>
/// <param name="AlarmId">The alarm episode that ended (as in <see cref="AlarmRaised"/>).</param>
/// <param name="Zone">The zone that cleared.</param>
/// <param name="ClearedAt">When the evaluator decided the alarm cleared.</param>
/// <param name="ThresholdCelsius">The low threshold the zone fell below.</param>
/// <param name="Readings">The temperature readings that caused the transition.</param>
/// <param name="Signals">The alarm-state votes (generic alarm APIs, Meraki alert overview) that took part, if any.</param>
/// <param name="Sequence">The zone's transition number: each raise and each clear of the zone counts it up by one, so a
/// consumer can tell an older transition (redelivered, or overtaken) from the newest without reading the zone's state.
/// Null from a publisher that does not count (a drill published by hand).</param>
public sealed record AlarmCleared(
    Guid AlarmId,
    string Zone,
    DateTimeOffset ClearedAt,
    double ThresholdCelsius,
    IReadOnlyList<SensorReading> Readings,
    IReadOnlyList<AlarmSignalReading>? Signals = null,
    long? Sequence = null);
