namespace PowerEvents.Contracts;

/// <summary>One temperature reading from one sensor, as the source reported it.</summary>
/// <param name="Source">Configured name of the source that produced the reading.</param>
/// <param name="SensorId">The sensor's id at its source (a Meraki serial, a generic API's key).</param>
/// <param name="Zone">The zone the sensor is configured into; empty when it belongs to none.</param>
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
