namespace PowerEvents.Contracts;

/// <summary>A reading carried inside an alarm event: the evidence for the transition.</summary>
public sealed record SensorReading(
    string SensorId,
    double Celsius,
    DateTimeOffset SampledAt);
