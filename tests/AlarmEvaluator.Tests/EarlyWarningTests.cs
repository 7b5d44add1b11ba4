using PowerEvents.AlarmEvaluator.Zones;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.AlarmEvaluator.Tests;

/// <summary>
/// The early warning, pure: the least-squares trend per sensor, the quorum over sensors, and the zone evaluator's
/// episodes (warn) and predicted alarms (act). Samples every 30 s; high 35 °C; shutdown 15 min + margin 5 min.
/// </summary>
public sealed class EarlyWarningTests
{
    static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    static readonly TimeSpan Every = TimeSpan.FromSeconds(30);

    static EarlyWarningOptions Options(string mode = "warn") => new()
    {
        Mode = mode,
        EstimatedShutdown = TimeSpan.FromMinutes(15),
        Margin = TimeSpan.FromMinutes(5),
        Window = TimeSpan.FromMinutes(5),
        MinSamples = 5,
    };

    static ZoneOptions Zone(string mode, int quorum = 1, params string[] sensors) => new()
    {
        Name = "room",
        Sensors = sensors.Length == 0 ? ["A"] : [.. sensors],
        Quorum = quorum,
        HighCelsius = 35,
        LowCelsius = 30,
        StaleAfter = TimeSpan.FromMinutes(2),
        MaxClockSkew = TimeSpan.FromMinutes(1),
        EarlyWarning = Options(mode),
    };

    static List<TrendPoint> Ramp(double start, double perMinute, int count, Func<int, double>? noise = null) =>
        Enumerable.Range(0, count).Select(i => new TrendPoint(T0 + Every * i, start + perMinute * i * Every.TotalMinutes + (noise?.Invoke(i) ?? 0))).ToList();

    // Deterministic noise of up to ±0.5 °C, no trend.
    static double Noise(int i) => ((i * 7919 % 11) - 5) / 10.0;

    /// <summary>Feeds each sensor's series (one value per 30 s step) to a fresh evaluator and collects every decision.</summary>
    static (List<ZoneDecision> Decisions, ZoneState State) Run(ZoneOptions zone, params (string Sensor, Func<int, double?> Celsius)[] sensors) =>
        Run(zone, null, sensors);

    /// <summary>As above, with the measured shutdown estimate the evaluator is given (<see cref="ShutdownEstimates.For"/>).</summary>
    static (List<ZoneDecision> Decisions, ZoneState State) Run(ZoneOptions zone, Func<string, TimeSpan, (TimeSpan, bool)>? measuredShutdown,
        params (string Sensor, Func<int, double?> Celsius)[] sensors)
    {
        var evaluator = new ZoneEvaluator(zone, T0, measuredShutdown: measuredShutdown);
        var state = evaluator.NewState();
        var decisions = new List<ZoneDecision>();
        for (var i = 0; i < 60; i++)
        {
            var at = T0 + Every * i;
            foreach (var (sensor, celsius) in sensors)
                if (celsius(i) is { } c)
                    decisions.Add(evaluator.Apply(state, new Sample(sensor, c, null, at, at), at));
            decisions.Add(evaluator.Evaluate(state, at + TimeSpan.FromSeconds(1)));
        }
        return (decisions, state);
    }

    [Fact]
    public void A_straight_ramp_gives_its_slope_and_the_time_left_to_the_threshold()
    {
        var trend = RiseForecast.Trend("A", Ramp(25, 0.5, 11), 35, Options())!;

        Assert.Equal(0.5, trend.RisePerMinute, 6);
        Assert.Equal(27.5, trend.FittedCelsius, 6);
        Assert.Equal(15, trend.TimeToHigh!.Value.TotalMinutes, 3);
    }

    [Fact]
    public void Too_few_readings_or_too_short_a_span_give_no_trend()
    {
        Assert.Null(RiseForecast.Trend("A", Ramp(25, 2, 4), 35, Options()));
        // Five readings in two minutes: less than half the five-minute window.
        Assert.Null(RiseForecast.Trend("A", Ramp(25, 2, 5), 35, Options()));
        Assert.NotNull(RiseForecast.Trend("A", Ramp(25, 2, 6), 35, Options()));
    }

    [Fact]
    public void A_falling_or_flat_sensor_is_not_rising()
    {
        Assert.Null(RiseForecast.Trend("A", Ramp(30, -0.5, 11), 35, Options())!.TimeToHigh);
        Assert.Null(RiseForecast.Trend("A", Ramp(30, 0, 11), 35, Options())!.TimeToHigh);
    }

    [Fact]
    public void One_fast_sensor_never_decides_a_two_sensor_quorum()
    {
        var forecast = RiseForecast.Forecast([("A", Ramp(25, 2, 11)), ("B", Ramp(25, 0, 11, Noise))], 35, quorum: 2, Options());

        Assert.NotNull(forecast);
        Assert.Equal("B", forecast.Deciding.SensorId);
        Assert.False(RiseForecast.Episode(forecast, active: false, Options()));
    }

    [Fact]
    public void Two_fast_sensors_decide_a_two_sensor_quorum_by_the_slower_of_them()
    {
        var forecast = RiseForecast.Forecast([("A", Ramp(25, 2, 11)), ("B", Ramp(25, 1, 11)), ("C", Ramp(25, 0, 11))], 35, quorum: 2, Options())!;

        Assert.Equal("B", forecast.Deciding.SensorId);
        Assert.True(RiseForecast.Episode(forecast, active: false, Options()));
    }

    [Fact]
    public void Fewer_sensors_with_a_trend_than_the_quorum_decide_nothing()
    {
        Assert.Null(RiseForecast.Forecast([("A", Ramp(25, 2, 11)), ("B", Ramp(25, 2, 3))], 35, quorum: 2, Options()));
        Assert.Null(RiseForecast.Episode(null, active: true, Options()));
    }

    [Fact]
    public void An_open_episode_closes_only_past_the_clear_factor()
    {
        // 0.4 °C/min from 27.5 °C: 18.75 min left; opens under 20 min, stays open up to 30 min.
        var near = RiseForecast.Forecast([("A", Ramp(25.5, 0.4, 11))], 35, 1, Options())!;
        Assert.True(RiseForecast.Episode(near, active: false, Options()));
        var further = RiseForecast.Forecast([("A", Ramp(22, 0.4, 11))], 35, 1, Options())!;
        Assert.False(RiseForecast.Episode(further, active: false, Options()));
        Assert.True(RiseForecast.Episode(further, active: true, Options()));
    }

    [Fact]
    public void Warn_opens_one_episode_on_a_fast_rise_and_closes_it_once_the_room_cools()
    {
        // +0.5 °C/min from 24 °C for 10 min (29 °C, 12 min left), then falling.
        var (decisions, state) = Run(Zone("warn"), ("A", i => i <= 20 ? 24 + 0.25 * i : 29 - 0.25 * (i - 20)));

        var changes = decisions.Select(d => d.EarlyWarning).OfType<ZoneEarlyWarningChanged>().ToList();
        Assert.Equal([true, false], changes.Select(c => c.Active));
        Assert.True(changes[0].PredictedTimeToHigh < TimeSpan.FromMinutes(20));
        Assert.Equal(0.5, changes[0].RisePerMinute!.Value, 3);
        Assert.Equal(TimeSpan.FromMinutes(20), changes[0].LeadTime);
        Assert.DoesNotContain(decisions, d => d.Raised is not null);
        Assert.False(state.EarlyWarning);
    }

    [Fact]
    public void Act_raises_the_alarm_early_on_a_fast_rise_with_a_predicted_reason()
    {
        var (decisions, state) = Run(Zone("act"), ("A", i => 24 + 0.25 * i));

        var raised = Assert.Single(decisions.Select(d => d.Raised).OfType<AlarmRaised>());
        Assert.StartsWith("predicted:", raised.Reason);
        Assert.All(raised.Readings, r => Assert.True(r.Celsius < 35, $"{r.Celsius} °C is already at the threshold"));
        Assert.DoesNotContain(decisions, d => d.EarlyWarning is not null);
        Assert.True(state.InAlarm);
    }

    [Fact]
    public void A_predicted_alarm_clears_once_the_room_cools_and_no_longer_rises()
    {
        // Up to 29 °C in 10 min, then falling 0.5 °C/min: below 30 °C, but only cleared once the fall shows in the slope.
        var (decisions, state) = Run(Zone("act"), ("A", i => i <= 20 ? 24 + 0.25 * i : 29 - 0.25 * (i - 20)));

        var raised = Assert.Single(decisions.Select(d => d.Raised).OfType<AlarmRaised>());
        var cleared = Assert.Single(decisions.Select(d => d.Cleared).OfType<AlarmCleared>());
        Assert.Equal(raised.AlarmId, cleared.AlarmId);
        Assert.True(cleared.ClearedAt > T0 + Every * 20, $"cleared at {cleared.ClearedAt:T}, while still rising");
        Assert.False(state.InAlarm);
    }

    [Fact]
    public void A_measured_long_shutdown_warns_of_a_rise_the_configured_estimate_would_not()
    {
        // +0.1 °C/min from 24 °C: 35 °C in about 110 min, beyond 15 + 5 min, within a measured 2 h + 5 min.
        var (configured, _) = Run(Zone("warn"), ("A", i => 24 + 0.05 * i));
        Assert.DoesNotContain(configured, d => d.HasTransition);

        var (measured, _) = Run(Zone("warn"), (_, _) => (TimeSpan.FromHours(2), true), ("A", i => 24 + 0.05 * i));
        var opened = Assert.Single(measured.Select(d => d.EarlyWarning).OfType<ZoneEarlyWarningChanged>());
        Assert.True(opened.Active);
        Assert.Equal(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(5), opened.LeadTime);
    }

    [Fact]
    public void A_measured_short_shutdown_acts_later_and_says_its_estimate_was_measured()
    {
        // The fast rise that raises the alarm early with 15 + 5 min: with a measured 1 min + 5 min it raises later, and says why.
        var (configured, _) = Run(Zone("act"), ("A", i => 24 + 0.25 * i));
        var (measured, _) = Run(Zone("act"), (_, _) => (TimeSpan.FromMinutes(1), true), ("A", i => 24 + 0.25 * i));

        var early = Assert.Single(configured.Select(d => d.Raised).OfType<AlarmRaised>());
        var later = Assert.Single(measured.Select(d => d.Raised).OfType<AlarmRaised>());
        Assert.True(later.RaisedAt > early.RaisedAt, $"raised at {later.RaisedAt:T}, not after {early.RaisedAt:T}");
        Assert.Contains("00:01:00 (measured)", later.Reason, StringComparison.Ordinal);
        Assert.Contains("00:15:00 (configured)", early.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("warn")]
    [InlineData("act")]
    public void A_slow_rise_warns_of_nothing(string mode)
    {
        // +0.1 °C/min: 35 °C is hours away.
        var (decisions, _) = Run(Zone(mode), ("A", i => 24 + 0.05 * i));

        Assert.DoesNotContain(decisions, d => d.HasTransition);
    }

    [Theory]
    [InlineData("warn")]
    [InlineData("act")]
    public void A_noisy_flat_room_warns_of_nothing(string mode)
    {
        var (decisions, _) = Run(Zone(mode, quorum: 2, "A", "B"), ("A", i => 27 + Noise(i)), ("B", i => 27 + Noise(i + 3)));

        Assert.DoesNotContain(decisions, d => d.HasTransition);
    }

    [Theory]
    [InlineData("warn")]
    [InlineData("act")]
    public void One_fast_sensor_of_a_two_of_three_zone_warns_of_nothing(string mode)
    {
        var (decisions, _) = Run(Zone(mode, quorum: 2, "A", "B", "C"),
            ("A", i => 24 + 0.5 * i), ("B", i => 25 + Noise(i)), ("C", i => 25 + Noise(i + 5)));

        Assert.DoesNotContain(decisions, d => d.EarlyWarning is not null || d.Raised?.Reason is not null);
    }

    [Fact]
    public void A_sensor_that_went_silent_mid_rise_does_not_count_towards_the_quorum()
    {
        // B rose fast for 3 min and went silent; A starts rising once B is stale: B's old rise must not make up A's quorum.
        var (decisions, _) = Run(Zone("act", quorum: 2, "A", "B", "C"),
            ("A", i => i < 10 ? 24 : 24 + 0.25 * (i - 10)), ("B", i => i < 6 ? 24 + 1.0 * i : null), ("C", i => 25 + Noise(i)));

        Assert.DoesNotContain(decisions, d => d.Raised?.Reason is not null);
    }

    [Fact]
    public void Off_keeps_no_trend_and_decides_nothing_early()
    {
        var (decisions, state) = Run(Zone("off"), ("A", i => 24 + 0.25 * i));

        Assert.Null(state.Sensors["A"].Trend);
        Assert.Null(Assert.Single(decisions.Select(d => d.Raised).OfType<AlarmRaised>()).Reason);
    }

    [Fact]
    public void A_mistyped_mode_is_refused()
    {
        var failures = PowerEvents.Hosting.KeyedOptionsValidator<ZoneOptions>.Validate(Zone("warm"), "AlarmEvaluator:Zones:0");
        Assert.Contains(failures, f => f.Contains("EarlyWarning:Mode", StringComparison.Ordinal) && f.Contains("warm", StringComparison.Ordinal));
    }
}
