using System.Globalization;
using PowerEvents.AlarmEvaluator.Zones;
using Xunit;

namespace PowerEvents.AlarmEvaluator.Tests;

/// <summary>
/// Unit tests of the pure zone state machine, table-driven. Each row is a script of steps and the
/// transitions it must produce. A step is "&lt;received s&gt; &lt;sensor&gt; &lt;value&gt; [@&lt;sampled s&gt;]"
/// (value: °C, NaN, active or cleared; sampled defaults to received) or "&lt;s&gt; tick" (the silence
/// check). Expected transitions read "&lt;s&gt; raised|cleared|stale|fresh".
/// Defaults: high 35, low 30, 3 consecutive samples, no hold time, stale after 300 s, skew 60 s.
/// </summary>
public sealed class ZoneEvaluatorTests
{
    static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    public sealed record Scenario(string Name, string[] Steps, string[] Expected, Action<ZoneOptions>? Configure = null)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Scenario> Scenarios =>
    [
        new("A sustained excursion raises once, on the third consecutive sample",
            ["0 A 36", "60 A 36.5", "120 A 37", "180 A 38", "240 A 38"],
            ["120 raised"]),
        new("An excursion that ends clears once, after three samples below low",
            ["0 A 36", "60 A 36", "120 A 36", "180 A 29", "240 A 28", "300 A 29.9", "360 A 25"],
            ["120 raised", "300 cleared"]),
        new("Readings inside the hysteresis band neither raise nor clear",
            ["0 A 31", "60 A 34.9", "120 A 33", "180 A 34.99", "240 A 30"],
            []),
        new("Flapping across the high threshold never confirms",
            ["0 A 36", "60 A 34", "120 A 36", "180 A 34", "240 A 36", "300 A 36", "360 A 34"],
            []),
        new("Flapping inside the band after a raise does not clear",
            ["0 A 36", "60 A 36", "120 A 36", "180 A 29", "240 A 31", "300 A 29", "360 A 31", "420 A 29", "480 A 33"],
            ["120 raised"]),
        new("Exactly the high threshold counts as high, exactly the low one does not count as low",
            ["0 A 35", "60 A 35", "120 A 35", "180 A 30", "240 A 30", "300 A 30"],
            ["120 raised"]),
        new("One sensor of three going wild does not raise a two-of-three zone",
            ["0 A 95", "0 B 25", "0 C 25", "60 A 120", "60 B 25", "60 C 25", "120 A 99", "120 B 25", "120 C 26", "180 A 150", "180 B 25", "180 C 25"],
            [], z => ThreeSensors(z, quorum: 2)),
        new("Two sensors of three high raise a two-of-three zone",
            ["0 A 36", "0 B 36", "0 C 25", "60 A 36", "60 B 36", "60 C 25", "120 A 36", "120 B 37", "120 C 25"],
            ["120 raised"], z => ThreeSensors(z, quorum: 2)),
        new("A two-of-three zone with one sensor reporting does not raise, and is stale once the grace is over",
            ["0 A 36", "60 A 36", "120 A 36", "180 A 36", "240 A 36", "300 A 36", "360 A 36"],
            ["300 stale"], z => ThreeSensors(z, quorum: 2)),
        new("A zone whose sensor goes silent turns stale on the timer and does not clear",
            ["0 A 36", "60 A 36", "120 A 36", "300 tick", "421 tick", "600 tick"],
            ["120 raised", "421 stale"]),
        new("A silent zone recovers when readings return, and clears only on confirmed readings",
            ["0 A 36", "60 A 36", "120 A 36", "421 tick", "500 A 25", "560 A 25", "620 A 25"],
            ["120 raised", "421 stale", "500 fresh", "620 cleared"]),
        new("A gap longer than the staleness limit breaks a streak",
            ["0 A 36", "60 A 36", "400 A 36", "460 A 36", "520 A 36"],
            ["520 raised"], z => z.StaleAfter = TimeSpan.FromSeconds(300)),
        new("Silence never raises: a zone that never hears from its sensors is reported stale once the grace after start is over",
            ["0 tick", "299 tick", "300 tick", "600 tick", "1200 tick"],
            ["300 stale"]),
        new("Duplicates of one reading count once",
            ["0 A 36", "30 A 36 @0", "60 A 36 @0", "90 A 36 @0", "120 A 36 @60"],
            []),
        new("Out-of-order readings are ignored",
            ["0 A 36", "120 A 36", "130 A 36 @60", "140 A 36 @90"],
            []),
        new("Readings stamped beyond the clock skew allowance are ignored",
            ["0 A 36 @120", "60 A 36 @180", "120 A 36 @240", "180 A 36 @300"],
            []),
        new("Readings stamped ahead within the clock skew allowance count",
            ["0 A 36 @30", "60 A 36 @90", "120 A 36 @150"],
            ["120 raised"]),
        new("Readings older than the staleness limit are ignored",
            ["400 A 36 @0", "460 A 36 @60", "520 A 36 @120"],
            ["400 stale"]),
        new("NaN is never a reading",
            ["0 A NaN", "60 A NaN", "120 A NaN"],
            []),
        new("A hold time must pass on the sensor's clock as well as the count",
            ["0 A 36", "60 A 36", "120 A 36", "150 A 36", "180 A 36"],
            ["180 raised"], z => z.HoldTime = TimeSpan.FromSeconds(180)),
        new("One consecutive sample with no hold raises at once",
            ["0 A 40"],
            ["0 raised"], z => z.ConsecutiveSamples = 1),
        new("An alarm signal votes like a sensor: active raises, cleared clears",
            ["0 alerts:N1 active", "60 alerts:N1 active", "120 alerts:N1 active", "180 alerts:N1 cleared", "240 alerts:N1 cleared", "300 alerts:N1 cleared"],
            ["120 raised", "300 cleared"], z => z.Sensors = ["alerts:N1"]),
        new("A sensor outside the zone does not count",
            ["0 X 40", "60 X 40", "120 X 40"],
            []),
        new("A raised zone does not raise again while the excursion continues for long",
            ["0 A 36", "60 A 36", "120 A 36", "180 A 36", "240 A 37", "300 A 38", "360 A 39", "420 A 40"],
            ["120 raised"]),
    ];

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Zone_transitions_follow_the_rules(Scenario scenario)
    {
        var zone = new ZoneOptions
        {
            Name = "server-room",
            Sensors = ["A"],
            StaleAfter = TimeSpan.FromSeconds(300),
            MaxClockSkew = TimeSpan.FromSeconds(60),
        };
        scenario.Configure?.Invoke(zone);
        var evaluator = new ZoneEvaluator(zone, T0);
        var state = evaluator.NewState();
        var observed = new List<string>();

        foreach (var step in scenario.Steps)
        {
            var parts = step.Split(' ');
            var at = T0.AddSeconds(double.Parse(parts[0], CultureInfo.InvariantCulture));
            var decision = parts[1] == "tick"
                ? evaluator.Evaluate(state, at)
                : evaluator.Apply(state, ParseSample(parts, at), at);
            var seconds = (at - T0).TotalSeconds.ToString(CultureInfo.InvariantCulture);
            if (decision.Staleness is { } s) observed.Add($"{seconds} {(s.Stale ? "stale" : "fresh")}");
            if (decision.Raised is not null) observed.Add($"{seconds} raised");
            if (decision.Cleared is not null) observed.Add($"{seconds} cleared");
        }

        Assert.Equal(scenario.Expected, observed);
    }

    [Fact]
    public void A_raise_carries_the_readings_that_caused_it_and_the_clear_carries_the_same_alarm_id()
    {
        var zone = new ZoneOptions { Name = "z", Sensors = ["A", "B"], Quorum = 2, ConsecutiveSamples = 1 };
        var evaluator = new ZoneEvaluator(zone, T0);
        var state = evaluator.NewState();

        evaluator.Apply(state, new Sample("A", 36.5, null, T0, T0), T0);
        var raise = evaluator.Apply(state, new Sample("B", 37.25, null, T0, T0), T0).Raised;

        Assert.NotNull(raise);
        Assert.Equal(35, raise.ThresholdCelsius);
        Assert.Equal([("A", 36.5), ("B", 37.25)], raise.Readings.Select(r => (r.SensorId, r.Celsius)));

        // Two of two must agree to raise, so one confirmed low reading ends the alarm.
        var clear = evaluator.Apply(state, new Sample("A", 20, null, T0.AddSeconds(60), T0.AddSeconds(60)), T0.AddSeconds(60)).Cleared;
        Assert.NotNull(clear);
        Assert.Equal([("A", 20.0), ("B", 37.25)], clear.Readings.Select(r => (r.SensorId, r.Celsius)));
        Assert.Equal(raise.AlarmId, clear.AlarmId);
        Assert.Equal(30, clear.ThresholdCelsius);

        // Each transition counts the zone's sequence up (it travels to the saga instead of the saga reading this state).
        Assert.Equal(1, raise.Sequence);
        Assert.Equal(2, clear.Sequence);
        Assert.Equal(2, state.Sequence);
    }

    [Theory]
    [InlineData("0 A 36", "30 A 36 @0", Verdict.Duplicate)]
    [InlineData("60 A 36", "70 A 36 @30", Verdict.OutOfOrder)]
    [InlineData("0 A 36", "400 A 36 @10", Verdict.TooOld)]
    [InlineData("0 A 36", "10 A 36 @200", Verdict.FromTheFuture)]
    [InlineData("0 A 36", "10 A NaN", Verdict.Invalid)]
    [InlineData("0 A 36", "10 Z 36", Verdict.NotInZone)]
    [InlineData("0 A 36", "10 A 36", Verdict.Accepted)]
    public void A_second_sample_gets_the_right_verdict(string first, string second, Verdict expected)
    {
        var zone = new ZoneOptions { Name = "z", Sensors = ["A"], StaleAfter = TimeSpan.FromSeconds(300), MaxClockSkew = TimeSpan.FromSeconds(60) };
        var evaluator = new ZoneEvaluator(zone, T0);
        var state = evaluator.NewState();
        foreach (var (step, index) in new[] { first, second }.Select((s, i) => (s, i)))
        {
            var parts = step.Split(' ');
            var at = T0.AddSeconds(double.Parse(parts[0], CultureInfo.InvariantCulture));
            var verdict = evaluator.Apply(state, ParseSample(parts, at), at).Verdict;
            if (index == 1)
                Assert.Equal(expected, verdict);
        }
    }

    static void ThreeSensors(ZoneOptions zone, int quorum)
    {
        zone.Sensors = ["A", "B", "C"];
        zone.Quorum = quorum;
    }

    static Sample ParseSample(string[] parts, DateTimeOffset receivedAt)
    {
        var sampledAt = parts.Length > 3 ? T0.AddSeconds(double.Parse(parts[3][1..], CultureInfo.InvariantCulture)) : receivedAt;
        return parts[2] switch
        {
            "active" => new Sample(parts[1], null, true, sampledAt, receivedAt),
            "cleared" => new Sample(parts[1], null, false, sampledAt, receivedAt),
            var value => new Sample(parts[1], double.Parse(value, CultureInfo.InvariantCulture), null, sampledAt, receivedAt),
        };
    }
}
