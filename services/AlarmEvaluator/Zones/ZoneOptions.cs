using System.ComponentModel.DataAnnotations;

namespace PowerEvents.AlarmEvaluator.Zones;

/// <summary>Configuration section <c>AlarmEvaluator</c>: the zones and how often silence is checked.</summary>
public sealed class AlarmEvaluatorOptions : IValidatableObject
{
    public const string Section = "AlarmEvaluator";

    /// <summary>The zones; with none, samples are received and ignored (a warning says so at start).</summary>
    public List<ZoneOptions> Zones { get; set; } = [];

    /// <summary>How often every zone is re-evaluated without a new sample, so that silence is noticed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan StaleCheckInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often transitions saved but not yet published (after a crash) are retried.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan OutboxInterval { get; set; } = TimeSpan.FromSeconds(5);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var name in Zones.GroupBy(z => z.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key))
            yield return new ValidationResult($"zone '{name}' is configured twice.", [nameof(Zones)]);

        foreach (var sensor in Zones.SelectMany(z => z.Sensors.Distinct(StringComparer.Ordinal))
                     .GroupBy(s => s, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key))
            yield return new ValidationResult($"sensor '{sensor}' belongs to more than one zone.", [nameof(Zones)]);
    }
}

/// <summary>One zone: its sensors and the rules that turn their readings into an alarm.</summary>
public sealed class ZoneOptions : IValidatableObject
{
    [Required, RegularExpression("^[A-Za-z0-9_.:-]{1,100}$", ErrorMessage = "letters, digits, '_', '.', ':' or '-', at most 100.")]
    public string Name { get; set; } = "";

    /// <summary>Sensor ids (Meraki serials, generic sensor ids) and alarm signal ids whose readings vote in this zone.</summary>
    [MinLength(1, ErrorMessage = "a zone needs at least one sensor.")]
    public List<string> Sensors { get; set; } = [];

    /// <summary>Raise when readings reach this (°C).</summary>
    [Range(-40.0, 150.0)]
    public double HighCelsius { get; set; } = 35;

    /// <summary>Clear when readings fall below this (°C); below <see cref="HighCelsius"/> (hysteresis).</summary>
    [Range(-40.0, 150.0)]
    public double LowCelsius { get; set; } = 30;

    /// <summary>How many sensors must agree (k of n) to raise; fewer fresh sensors than this make the zone stale.</summary>
    [Range(1, 1000)]
    public int Quorum { get; set; } = 1;

    /// <summary>Consecutive samples a sensor must show above (or below) the threshold before it counts.</summary>
    [Range(1, 1000)]
    public int ConsecutiveSamples { get; set; } = 3;

    /// <summary>How long (sensor time) a sensor must stay above (or below) the threshold before it counts.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan HoldTime { get; set; } = TimeSpan.Zero;

    /// <summary>A sensor whose newest reading is older than this is silent; a gap longer than this breaks a streak.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How far a reading's timestamp may lie ahead of the time it was received.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Predicting the high threshold from the rate of rise (off by default).</summary>
    [Required]
    public EarlyWarningOptions EarlyWarning { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (LowCelsius >= HighCelsius)
            yield return new ValidationResult($"must be below HighCelsius ({HighCelsius}).", [nameof(LowCelsius)]);
        if (Sensors.Count > 0 && Quorum > Sensors.Distinct(StringComparer.Ordinal).Count())
            yield return new ValidationResult($"cannot exceed the number of sensors ({Sensors.Count}).", [nameof(Quorum)]);
        if (Sensors.Any(string.IsNullOrWhiteSpace))
            yield return new ValidationResult("sensor ids cannot be empty.", [nameof(Sensors)]);
    }
}
