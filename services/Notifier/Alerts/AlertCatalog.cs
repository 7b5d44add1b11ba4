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
        bus.AddAlert<PowerRunStarted>(e => new AlertContent(
            Severity.Critical,
            $"{(e.DryRun ? "DRILL: " : "")}SHUTDOWN STARTED: cluster {e.Cluster}",
            $"Zone {e.Zone} is in alarm: shutting down {e.VmsToShutDown} VM(s) in {e.Tiers.Count} tier(s) ({string.Join(" → ", e.Tiers)}), then {e.Hosts} host(s).",
            e.StartedAt)
        {
            Cluster = e.Cluster, Zone = e.Zone, RunId = e.RunId,
        });

        bus.AddAlert<PowerRunStepFailed>(e => new AlertContent(
            Severity.Warning,
            $"Shutdown step {e.Outcome}: {e.Target}",
            $"{e.Step} of {e.Target} on cluster {e.Cluster}: {e.Outcome}. {e.Detail}".TrimEnd(),
            e.At)
        {
            Cluster = e.Cluster, RunId = e.RunId,
        });

        bus.AddAlert<PowerRunCompleted>(e => new AlertContent(
            e.Failures.Count == 0 ? Severity.Info : Severity.Critical,
            e.Failures.Count == 0 ? $"Cluster {e.Cluster} shut down" : $"Cluster {e.Cluster} shut down WITH {e.Failures.Count} FAILURE(S)",
            e.Failures.Count == 0
                ? $"Every VM and host is off ({(e.CompletedAt - e.StartedAt).TotalSeconds:0} s)."
                : $"Not everything went down as planned: {string.Join("; ", e.Failures.Take(5))}{(e.Failures.Count > 5 ? "; …" : "")}",
            e.CompletedAt)
        {
            Cluster = e.Cluster, RunId = e.RunId,
            Facts = [Fact("Alarm cleared during the run", e.AlarmClearedDuringRun ? "yes" : "no"), .. e.Failures.Take(5).Select(f => Fact("Failure", f))],
        });

        bus.AddAlert<VCenterVmOnProtectedCluster>(e => new AlertContent(
            Severity.Critical,
            $"vCenter's own VM runs on protected cluster {e.Cluster}",
            $"{e.VmName} (host {e.Host}) is shut down last; after it vCenter cannot put hosts into maintenance or power them off. Move it off the cluster.",
            e.DetectedAt)
        {
            Cluster = e.Cluster, RunId = e.RunId == Guid.Empty ? null : e.RunId,
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
