using System.Globalization;
using System.Text.Json;
using PowerEvents.Contracts;
using PowerEvents.SensorPoller.Polling;

namespace PowerEvents.SensorPoller.Meraki;

/// <summary>
/// A Meraki organization as a source with separate signals: the readings (each sensor's newest temperature
/// becomes a <see cref="TemperatureSampled"/>, once per new timestamp, published page by page) and each
/// configured network's alert overview (an <see cref="AlarmStateSampled"/>, active when <c>counts.temperature</c>
/// is above zero). A network the key cannot read fails its own signal, never the readings.
/// </summary>
public sealed class MerakiSource : ISensorSource
{
    readonly MerakiSourceOptions _options;

    public MerakiSource(MerakiSourceOptions options, MerakiClient client, TimeProvider clock)
    {
        _options = options;
        Signals = [new ReadingsSignal(options, client, clock), .. options.AlertNetworkIds.Select(id => new AlertOverviewSignal(options, client, clock, id))];
    }

    public SourceOptions Options => _options;

    public IReadOnlyList<ISignal> Signals { get; }

    sealed class ReadingsSignal(MerakiSourceOptions options, MerakiClient client, TimeProvider clock) : ISignal
    {
        // The API returns a sensor's newest reading on every poll until it reports again; publish it once.
        readonly Dictionary<string, DateTimeOffset> _lastPublished = new(StringComparer.Ordinal);

        public string HealthName => options.Name;

        public async Task<IReadOnlyList<SourceProblem>> PollAsync(Func<IReadOnlyList<object>, CancellationToken, Task> publish, CancellationToken cancellationToken)
        {
            var problems = new List<SourceProblem>();
            await foreach (var page in client.GetLatestTemperatureReadingPagesAsync(cancellationToken))
            {
                var receivedAt = clock.GetUtcNow();
                var samples = new List<TemperatureSampled>();
                foreach (var item in page)
                {
                    var (sample, problem) = ParseReading(options, item, receivedAt);
                    if (problem is not null)
                        problems.Add(problem);
                    else if (sample is not null && !(_lastPublished.TryGetValue(sample.SensorId, out var last) && sample.SampledAt <= last))
                        samples.Add(sample);
                }
                await publish(samples, cancellationToken);
                foreach (var sample in samples)
                    _lastPublished[sample.SensorId] = sample.SampledAt;
            }
            return problems;
        }
    }

    sealed class AlertOverviewSignal(MerakiSourceOptions options, MerakiClient client, TimeProvider clock, string networkId) : ISignal
    {
        public string HealthName => $"{options.Name}/alerts:{networkId}";

        public async Task<IReadOnlyList<SourceProblem>> PollAsync(Func<IReadOnlyList<object>, CancellationToken, Task> publish, CancellationToken cancellationToken)
        {
            var overview = await client.GetCurrentAlertOverviewAsync(networkId, cancellationToken);
            var signal = ParseOverview(options.Name, networkId, overview, clock.GetUtcNow(), out var problem);
            if (signal is not null)
                await publish([signal], cancellationToken);
            return problem is null ? [] : [problem];
        }
    }

    /// <summary>One element of readings/latest: a sample, a problem, or nothing (a sensor without a temperature metric).</summary>
    public static (TemperatureSampled? Sample, SourceProblem? Problem) ParseReading(MerakiSourceOptions options, JsonElement item, DateTimeOffset receivedAt)
    {
        if (item.ValueKind != JsonValueKind.Object
            || !item.TryGetProperty("serial", out var serialElement) || serialElement.ValueKind != JsonValueKind.String
            || serialElement.GetString() is not { Length: > 0 } serial)
            return (null, new SourceProblem("item:no-serial", "a reading without a serial"));

        var zone = item.TryGetProperty("network", out var network) && network.ValueKind == JsonValueKind.Object
            && network.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() ?? "" : "";

        if (!item.TryGetProperty("readings", out var readings) || readings.ValueKind != JsonValueKind.Array)
            return (null, new SourceProblem($"{serial}:missing-fields", $"sensor {serial}: no readings array"));

        var temperatureReading = readings.EnumerateArray().FirstOrDefault(r => r.ValueKind == JsonValueKind.Object
            && r.TryGetProperty("metric", out var metric) && metric.ValueKind == JsonValueKind.String && metric.GetString() == "temperature");
        // Not a temperature sensor (a door or water sensor in the same network): nothing to read, nothing wrong.
        if (temperatureReading.ValueKind != JsonValueKind.Object)
            return (null, null);

        if (!temperatureReading.TryGetProperty("ts", out var tsElement) || tsElement.ValueKind != JsonValueKind.String
            || !DateTimeOffset.TryParse(tsElement.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var ts))
            return (null, new SourceProblem($"{serial}:missing-fields", $"sensor {serial}: temperature reading without a valid ts"));

        if (!temperatureReading.TryGetProperty("temperature", out var temperature) || temperature.ValueKind != JsonValueKind.Object
            || !temperature.TryGetProperty("celsius", out var celsiusElement) || celsiusElement.ValueKind != JsonValueKind.Number)
            return (null, new SourceProblem($"{serial}:missing-fields", $"sensor {serial}: temperature reading without temperature.celsius"));

        var celsius = celsiusElement.GetDouble();
        double? fahrenheit = temperature.TryGetProperty("fahrenheit", out var fahrenheitElement) && fahrenheitElement.ValueKind == JsonValueKind.Number
            ? fahrenheitElement.GetDouble() : null;
        if ((ReadingRules.CheckUnits(serial, celsius, fahrenheit) ?? ReadingRules.Check(options, serial, celsius, ts, receivedAt)) is { } problem)
            return (null, problem);

        return (new TemperatureSampled(options.Name, serial, zone, celsius, ts, receivedAt), null);
    }

    /// <summary>An alert overview: active when counts.temperature &gt; 0. Without a temperature metric it is no signal.</summary>
    public static AlarmStateSampled? ParseOverview(string source, string networkId, JsonElement overview, DateTimeOffset receivedAt, out SourceProblem? problem)
    {
        problem = null;
        if (overview.ValueKind != JsonValueKind.Object
            || !overview.TryGetProperty("supportedMetrics", out var metrics) || metrics.ValueKind != JsonValueKind.Array)
        {
            problem = new SourceProblem($"alerts:{networkId}:missing-fields", $"network {networkId}: alert overview without supportedMetrics");
            return null;
        }
        if (!metrics.EnumerateArray().Any(m => m.ValueKind == JsonValueKind.String && m.GetString() == "temperature"))
        {
            problem = new SourceProblem($"alerts:{networkId}:no-temperature", $"network {networkId}: no temperature sensors support alerts");
            return null;
        }
        if (!overview.TryGetProperty("counts", out var counts) || counts.ValueKind != JsonValueKind.Object
            || !counts.TryGetProperty("temperature", out var count) || count.ValueKind != JsonValueKind.Number
            || !count.TryGetInt32(out var alerting) || alerting < 0)
        {
            problem = new SourceProblem($"alerts:{networkId}:missing-fields", $"network {networkId}: alert overview without counts.temperature");
            return null;
        }
        return new AlarmStateSampled(source, $"alerts:{networkId}", networkId, alerting > 0,
            $"counts.temperature={alerting}", receivedAt, receivedAt);
    }
}
