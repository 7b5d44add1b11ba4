namespace PowerEvents.Contracts;

/// <summary>An alarm-state vote carried inside an alarm event (see <see cref="AlarmStateSampled"/>).</summary>
public sealed record AlarmSignalReading(
    string SignalId,
    bool Active,
    DateTimeOffset SampledAt);
