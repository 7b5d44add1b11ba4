namespace PowerEvents.Contracts;

/// <summary>One temperature reading from one sensor, as the source reported it (validated by the poller).</summary>
/// <param name="Source">Configured name of the source that produced the reading.</param>
/// <param name="SensorId">The sensor's id at its source (a Meraki serial, a generic API's key); unique across sources.</param>
/// <param name="Zone">A label from the source (the Meraki network name, a generic source's configured zone); informational:
/// the evaluator's own zone configuration decides which zone a sensor belongs to.</param>
/// <param name="Celsius">The temperature in degrees Celsius.</param>
/// <param name="SampledAt">The sensor's own timestamp for the reading.</param>
/// <param name="ReceivedAt">When the poller received it.</param>
public sealed record TemperatureSampled(
    string Source,
    string SensorId,
    string Zone,
    double Celsius,
    DateTimeOffset SampledAt,
    DateTimeOffset ReceivedAt);
