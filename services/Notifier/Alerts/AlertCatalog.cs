using System.Globalization;
using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.Notifier.Alerts;

/// <summary>
/// Every event the Notifier turns into an alert, with its severity, title, summary and facts: the one
/// place to read (and extend) the severity mapping documented in docs/notifier.md.
/// </summary>
/// <remarks>
/// To alert on a new event: add one <c>bus.AddAlert&lt;TheEvent&gt;(e =&gt; new AlertContent(...))</c> line
/// below. It gets its own queue (<c>notifier-the-event</c>), dedupe, routing, retries and every format.
/// </remarks>
public static class AlertCatalog
{
    public static void AddAlerts(this IBusRegistrationConfigurator bus)
    {
        bus.AddAlert<AlarmRaised>(e => new AlertContent(
            Severity.Critical,
            $"ALARM RAISED in zone {e.Zone}",
            $"High temperature in zone {e.Zone}: {Hottest(e.Readings)} against a threshold of {Celsius(e.ThresholdCelsius)}. " +
            "A protective shutdown follows if the cluster's policy says so.",
            e.RaisedAt)
        {
            Zone = e.Zone,
            Facts = [Fact("Threshold", Celsius(e.ThresholdCelsius)), .. Readings(e.Readings)],
        });

        bus.AddAlert<AlarmCleared>(e => new AlertContent(
            Severity.Info,
            $"Alarm cleared in zone {e.Zone}",
            $"Zone {e.Zone} is back below {Celsius(e.ThresholdCelsius)} ({Hottest(e.Readings)} now).",
            e.ClearedAt)
        {
            Zone = e.Zone,
            Facts = [Fact("Clear threshold", Celsius(e.ThresholdCelsius)), .. Readings(e.Readings)],
        });
    }

    static AlertFact Fact(string label, string value) => new(label, value);

    static string Celsius(double value) => value.ToString("0.0", CultureInfo.InvariantCulture) + " °C";

    static string Hottest(IReadOnlyList<SensorReading> readings) => readings.Count == 0
        ? "no reading"
        : Celsius(readings.Max(r => r.Celsius));

    // A chat message is no place for fifty sensors: the hottest few, the full list stays in the details.
    static IEnumerable<AlertFact> Readings(IReadOnlyList<SensorReading> readings) => readings
        .OrderByDescending(r => r.Celsius)
        .Take(5)
        .Select(r => Fact($"Sensor {r.SensorId}", $"{Celsius(r.Celsius)} at {r.SampledAt.UtcDateTime:HH:mm:ss} UTC"));
}
