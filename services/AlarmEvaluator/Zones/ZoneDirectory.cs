using Microsoft.Extensions.Options;

namespace PowerEvents.AlarmEvaluator.Zones;

/// <summary>The configured zones, and which zone each sensor votes in.</summary>
public sealed class ZoneDirectory
{
    readonly Dictionary<string, ZoneEvaluator> _bySensor = new(StringComparer.Ordinal);

    public ZoneDirectory(IOptions<AlarmEvaluatorOptions> options, TimeProvider clock, ShutdownEstimates estimates)
    {
        var startedAt = clock.GetUtcNow();
        Zones = options.Value.Zones.Select(z => new ZoneEvaluator(z, startedAt, measuredShutdown: estimates.For)).ToList();
        foreach (var zone in Zones)
            foreach (var sensor in zone.Zone.Sensors)
                _bySensor[sensor] = zone;
    }

    public IReadOnlyList<ZoneEvaluator> Zones { get; }

    public ZoneEvaluator? ForSensor(string sensorId) => _bySensor.GetValueOrDefault(sensorId);
}
