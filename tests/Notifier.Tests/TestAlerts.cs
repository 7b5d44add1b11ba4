using System.Text.Json;
using PowerEvents.Contracts;
using PowerEvents.Notifier.Alerts;

namespace PowerEvents.Notifier.Tests;

/// <summary>Alerts and events for the tests, built the way the consumer builds them.</summary>
static class TestAlerts
{
    public static AlarmRaised Raised(string zone = "server-room", params double[] celsius) => new(
        Guid.NewGuid(), zone, new DateTimeOffset(2026, 11, 21, 10, 32, 14, TimeSpan.Zero), 35,
        [.. (celsius.Length == 0 ? [36.2, 35.4] : celsius).Select((c, i) => new SensorReading($"Q3CA-AAAA-000{i + 1}", c, new DateTimeOffset(2026, 11, 21, 10, 32, 10, TimeSpan.Zero)))]);

    public static AlarmCleared Cleared(string zone = "server-room") => new(
        Guid.NewGuid(), zone, new DateTimeOffset(2026, 11, 21, 11, 5, 0, TimeSpan.Zero), 30,
        [new SensorReading("Q3CA-AAAA-0001", 28.9, new DateTimeOffset(2026, 11, 21, 11, 4, 55, TimeSpan.Zero))]);

    public static Alert Alert(Severity severity = Severity.Critical, string title = "ALARM RAISED in zone server-room",
        string summary = "High temperature in zone server-room: 36.2 °C against a threshold of 35.0 °C.", IReadOnlyList<AlertFact>? facts = null) => new(
        Guid.Parse("0b7c6a52-3f1e-4a4e-9d53-2f1f0c8e9a11"),
        "AlarmRaised/6f1d2c3b-4a5e-4f60-8b7a-9c0d1e2f3a4b/server-room",
        "AlarmRaised",
        severity,
        title,
        summary,
        new DateTimeOffset(2026, 11, 21, 10, 32, 14, TimeSpan.Zero),
        "dc1",
        null,
        "server-room",
        null,
        Guid.Parse("6f1d2c3b-4a5e-4f60-8b7a-9c0d1e2f3a4b"),
        facts ?? [new AlertFact("Threshold", "35.0 °C"), new AlertFact("Sensor Q3CA-AAAA-0001", "36.2 °C at 10:32:10 UTC")],
        JsonSerializer.SerializeToElement(new { alarmId = "6f1d2c3b-4a5e-4f60-8b7a-9c0d1e2f3a4b", zone = "server-room", thresholdCelsius = 35.0 }));
}
