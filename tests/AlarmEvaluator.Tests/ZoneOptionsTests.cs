using PowerEvents.AlarmEvaluator.Zones;
using PowerEvents.Hosting;
using Xunit;

namespace PowerEvents.AlarmEvaluator.Tests;

/// <summary>Invalid zone configuration is refused with the key an operator has to fix.</summary>
public sealed class ZoneOptionsTests
{
    static ZoneOptions Zone(string name = "server-room", params string[] sensors) => new() { Name = name, Sensors = sensors.Length > 0 ? [.. sensors] : ["Q-1", "Q-2", "Q-3"] };

    static IReadOnlyList<string> Validate(params ZoneOptions[] zones) =>
        KeyedOptionsValidator<AlarmEvaluatorOptions>.Validate(new AlarmEvaluatorOptions { Zones = [.. zones] }, AlarmEvaluatorOptions.Section);

    [Fact]
    public void The_seed_defaults_are_valid()
    {
        var zone = Zone();
        Assert.Equal((35.0, 30.0), (zone.HighCelsius, zone.LowCelsius));
        Assert.Empty(Validate(zone));
    }

    [Fact]
    public void A_low_threshold_not_below_the_high_one_is_refused()
    {
        var zone = Zone();
        zone.LowCelsius = 35;
        Assert.Contains(Validate(zone), f => f.StartsWith("AlarmEvaluator:Zones:0:LowCelsius:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_quorum_larger_than_the_zone_is_refused()
    {
        var zone = Zone();
        zone.Quorum = 4;
        Assert.Contains(Validate(zone), f => f.StartsWith("AlarmEvaluator:Zones:0:Quorum:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_zone_without_sensors_is_refused() =>
        Assert.Contains(Validate(new ZoneOptions { Name = "empty" }), f => f.StartsWith("AlarmEvaluator:Zones:0:Sensors:", StringComparison.Ordinal));

    [Fact]
    public void A_sensor_in_two_zones_is_refused() =>
        Assert.Contains(Validate(Zone("a", "Q-1"), Zone("b", "Q-1")), f => f.Contains("'Q-1' belongs to more than one zone", StringComparison.Ordinal));

    [Fact]
    public void A_zero_staleness_limit_is_refused()
    {
        var zone = Zone();
        zone.StaleAfter = TimeSpan.Zero;
        Assert.Contains(Validate(zone), f => f.StartsWith("AlarmEvaluator:Zones:0:StaleAfter:", StringComparison.Ordinal));
    }
}
