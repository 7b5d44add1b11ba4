namespace PowerEvents.Contracts;

/// <summary>
/// A zone's temperature rises fast enough that it is predicted to reach its high threshold sooner than a
/// shutdown takes (<paramref name="Active"/> true), or no longer is (false). Published on the change only:
/// once per episode. Only zones whose early warning is <c>warn</c> publish it; <c>act</c> raises the alarm instead.
/// </summary>
/// <param name="Zone">The zone.</param>
/// <param name="Active">True when the episode starts, false when the prediction no longer holds.</param>
/// <param name="PredictedTimeToHigh">The quorum's predicted time until the high threshold (null when the zone no longer rises).</param>
/// <param name="LeadTime">The estimated shutdown duration plus the margin the prediction was compared with.</param>
/// <param name="RisePerMinute">The deciding sensor's rate of rise (°C per minute), the quorum-th fastest to reach the threshold.</param>
/// <param name="ThresholdCelsius">The zone's high threshold.</param>
/// <param name="Readings">The zone's fresh temperature readings at the change.</param>
/// <param name="ChangedAt">When the evaluator noticed the change.</param>
public sealed record ZoneEarlyWarningChanged(
    string Zone,
    bool Active,
    TimeSpan? PredictedTimeToHigh,
    TimeSpan LeadTime,
    double? RisePerMinute,
    double ThresholdCelsius,
    IReadOnlyList<SensorReading> Readings,
    DateTimeOffset ChangedAt);
