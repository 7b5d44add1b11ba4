using System.ComponentModel.DataAnnotations;

namespace PowerEvents.AlarmEvaluator.Zones;

/// <summary>What a zone does when its temperature is predicted to reach the high threshold before a shutdown could finish.</summary>
public enum EarlyWarningMode
{
    /// <summary>No prediction (the default).</summary>
    Off,
    /// <summary>Publish <c>ZoneEarlyWarningChanged</c> once per episode; the Notifier alerts it.</summary>
    Warn,
    /// <summary>Raise the zone's alarm at once, with a reason saying it was predicted.</summary>
    Act,
}

/// <summary><c>AlarmEvaluator:Zones:N:EarlyWarning</c>: predicting the high threshold from the zone's rate of rise.</summary>
public sealed class EarlyWarningOptions : IValidatableObject
{
    // A string, not the enum: the binder drops a zone (a list item) whose enum value does not convert, silently.
    /// <summary><c>off</c>, <c>warn</c> or <c>act</c>.</summary>
    [Required]
    public string Mode { get; set; } = nameof(EarlyWarningMode.Off);

    public EarlyWarningMode ModeKind => Parse(Mode) ?? EarlyWarningMode.Off;

    /// <summary>How long a shutdown of what this zone protects takes, until runs have measured it (<see cref="ShutdownEstimates"/>).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan EstimatedShutdown { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Added to <see cref="EstimatedShutdown"/>: the prediction is uncertain and the shutdown should end before the threshold.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan Margin { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Each sensor's slope is fitted (least squares) over its readings of this long; longer is steadier and slower.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "1.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>A sensor needs this many readings in the window, spanning at least half of it, before its slope counts.</summary>
    [Range(3, 10_000)]
    public int MinSamples { get; set; } = 5;

    /// <summary>The episode ends once the prediction is longer than this many lead times (hysteresis: no flapping at the edge).</summary>
    [Range(1.0, 10.0)]
    public double ClearFactor { get; set; } = 1.5;

    public TimeSpan LeadTime => EstimatedShutdown + Margin;

    static EarlyWarningMode? Parse(string? value) =>
        Enum.GetNames<EarlyWarningMode>().FirstOrDefault(n => string.Equals(n, value?.Trim(), StringComparison.OrdinalIgnoreCase)) is { } name
            ? Enum.Parse<EarlyWarningMode>(name) : null;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Parse(Mode) is null)
            yield return new ValidationResult($"must be off, warn or act, not '{Mode}'.", [nameof(Mode)]);
        else if (ModeKind != EarlyWarningMode.Off && LeadTime <= TimeSpan.Zero)
            yield return new ValidationResult("EstimatedShutdown plus Margin must be more than zero when the early warning is on.", [nameof(EstimatedShutdown)]);
    }
}

/// <summary>One temperature reading kept for the slope, on the sensor's own clock.</summary>
public sealed record TrendPoint(DateTimeOffset At, double Celsius);

/// <summary>A sensor's fitted trend: its rate of rise (the slope's lower bound) and the fitted temperature at its newest reading.</summary>
public sealed record SensorTrend(string SensorId, double RisePerMinute, double FittedCelsius, DateTimeOffset At, TimeSpan? TimeToHigh);

/// <summary>
/// The zone's prediction: the quorum-th shortest time to the high threshold among fresh sensors that have a trend,
/// so that fewer sensors than the quorum can never decide. Null <see cref="TimeToHigh"/>: the quorum is not rising.
/// </summary>
public sealed record ZoneForecast(TimeSpan? TimeToHigh, SensorTrend Deciding, IReadOnlyList<SensorTrend> Trends);

/// <summary>Rate-of-rise prediction, pure: least squares per sensor, then the quorum over sensors.</summary>
public static class RiseForecast
{
    const double UncertaintySigmas = 3;

    /// <summary>
    /// The least-squares trend of one sensor's points in the window ending at its newest point; null with too few
    /// points or too short a span (a slope from two close readings is noise).
    /// </summary>
    public static SensorTrend? Trend(string sensorId, IReadOnlyList<TrendPoint> points, double highCelsius, EarlyWarningOptions options)
    {
        if (points.Count == 0)
            return null;
        var newest = points[^1].At;
        var window = points.Where(p => newest - p.At <= options.Window).ToList();
        if (window.Count < options.MinSamples || newest - window[0].At < options.Window / 2)
            return null;

        // Minutes relative to the newest point keep the sums small and the intercept the fitted value "now".
        var xs = window.Select(p => (p.At - newest).TotalMinutes).ToList();
        var ys = window.Select(p => p.Celsius).ToList();
        double meanX = xs.Average(), meanY = ys.Average();
        double sxx = 0, sxy = 0;
        for (var i = 0; i < xs.Count; i++)
        {
            sxx += (xs[i] - meanX) * (xs[i] - meanX);
            sxy += (xs[i] - meanX) * (ys[i] - meanY);
        }
        if (sxx <= 0)
            return null;
        var fittedSlope = sxy / sxx;
        var fitted = meanY - fittedSlope * meanX;

        // The rate counted is the slope's lower bound (minus three standard errors): noise around a flat line
        // gives a slope too, but an uncertain one; a real ramp's is certain and barely reduced.
        var residuals = 0.0;
        for (var i = 0; i < xs.Count; i++)
            residuals += Math.Pow(ys[i] - (fitted + fittedSlope * xs[i]), 2);
        var standardError = Math.Sqrt(residuals / (xs.Count - 2) / sxx);
        var slope = fittedSlope - UncertaintySigmas * standardError;

        TimeSpan? timeToHigh = fitted >= highCelsius ? TimeSpan.Zero
            : slope > 0 ? TimeSpan.FromMinutes(Math.Min((highCelsius - fitted) / slope, TimeSpan.MaxValue.TotalMinutes / 2))
            : null;
        return new SensorTrend(sensorId, slope, fitted, newest, timeToHigh);
    }

    /// <summary>
    /// The zone's forecast from its fresh sensors' points, or null when fewer than <paramref name="quorum"/> of them have a
    /// trend yet (not enough data: nothing is decided, neither a start nor an end of an episode).
    /// </summary>
    public static ZoneForecast? Forecast(IEnumerable<(string SensorId, IReadOnlyList<TrendPoint> Points)> freshSensors,
        double highCelsius, int quorum, EarlyWarningOptions options)
    {
        var trends = freshSensors
            .Select(s => Trend(s.SensorId, s.Points, highCelsius, options))
            .OfType<SensorTrend>()
            .OrderBy(t => t.TimeToHigh ?? TimeSpan.MaxValue)
            .ThenBy(t => t.SensorId, StringComparer.Ordinal)
            .ToList();
        if (trends.Count < quorum)
            return null;
        var deciding = trends[quorum - 1];
        return new ZoneForecast(deciding.TimeToHigh, deciding, trends);
    }

    /// <summary>Whether an episode starts (or, when already active, continues) given the forecast.</summary>
    public static bool? Episode(ZoneForecast? forecast, bool active, EarlyWarningOptions options, TimeSpan? leadTime = null)
    {
        if (forecast is null)
            return null;
        var lead = leadTime ?? options.LeadTime;
        var limit = active ? lead * options.ClearFactor : lead;
        return forecast.TimeToHigh is { } t && t <= limit;
    }
}
