namespace PowerEvents.Contracts;

/// <summary>
/// An alarm state read from a source that reports alarms rather than temperatures (a generic alarm API,
/// the Meraki per-network alert overview). The evaluator counts it as one vote in its zone's quorum.
/// </summary>
/// <param name="Source">Configured name of the source.</param>
/// <param name="SignalId">The signal's id (for the Meraki overview <c>alerts:{networkId}</c>); unique across sources.</param>
/// <param name="Zone">A label from the source; informational, as in <see cref="TemperatureSampled"/>.</param>
/// <param name="Active">True when the source says the high-temperature alarm is active, false when it says cleared.</param>
/// <param name="Detail">What the source said, for the log (e.g. "counts.temperature=2").</param>
/// <param name="SampledAt">The source's timestamp for the state, or when it was read if the source gives none.</param>
/// <param name="ReceivedAt">When the poller received it.</param>
public sealed record AlarmStateSampled(
    string Source,
    string SignalId,
    string Zone,
    bool Active,
    string Detail,
    DateTimeOffset SampledAt,
    DateTimeOffset ReceivedAt);
