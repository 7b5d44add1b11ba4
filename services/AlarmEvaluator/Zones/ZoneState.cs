namespace PowerEvents.AlarmEvaluator.Zones;

/// <summary>Where a reading lies relative to the zone's thresholds.</summary>
public enum Level
{
    /// <summary>Below the low threshold (or an alarm signal that says cleared).</summary>
    Low,
    /// <summary>Inside the hysteresis band.</summary>
    Band,
    /// <summary>At or above the high threshold (or an alarm signal that says active).</summary>
    High,
}

/// <summary>A zone's persisted state: plain data, saved as JSON, so a restart resumes mid-streak.</summary>
public sealed class ZoneState
{
    public string Zone { get; set; } = "";
    public bool InAlarm { get; set; }
    public Guid? AlarmId { get; set; }
    public bool Stale { get; set; }
    public DateTimeOffset? ChangedAt { get; set; }

    /// <summary>Counts every raise and clear of the zone; travels in <c>AlarmRaised.Sequence</c> / <c>AlarmCleared.Sequence</c>.</summary>
    public long Sequence { get; set; }
    /// <summary>An early-warning episode is open (published once when it opened).</summary>
    public bool EarlyWarning { get; set; }
    public Dictionary<string, SensorState> Sensors { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The newest accepted reading of one sensor and the streak it is part of.</summary>
public sealed class SensorState
{
    public double? Celsius { get; set; }
    public bool? Active { get; set; }
    public DateTimeOffset SampledAt { get; set; }
    public Level Level { get; set; }
    /// <summary>Consecutive accepted samples at <see cref="Level"/>.</summary>
    public int Streak { get; set; }
    /// <summary>Sensor timestamp of the first sample of the streak.</summary>
    public DateTimeOffset StreakSince { get; set; }
    /// <summary>Recent temperatures for the early warning's slope (only kept while it is on, and only within its window).</summary>
    public List<TrendPoint>? Trend { get; set; }
}
