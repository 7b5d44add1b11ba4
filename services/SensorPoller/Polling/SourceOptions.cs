using System.ComponentModel.DataAnnotations;

namespace PowerEvents.SensorPoller.Polling;

/// <summary>Configuration section <c>SensorPoller</c>: the sources to poll.</summary>
public sealed class SensorPollerOptions : IValidatableObject
{
    public const string Section = "SensorPoller";

    /// <summary>Meraki Dashboard API organizations (<c>SensorPoller:Meraki:0:...</c>).</summary>
    public List<MerakiSourceOptions> Meraki { get; set; } = [];

    /// <summary>Generic HTTP/JSON alarm or temperature APIs (<c>SensorPoller:Http:0:...</c>).</summary>
    public List<HttpSourceOptions> Http { get; set; } = [];

    public IEnumerable<SourceOptions> AllSources => Meraki.Cast<SourceOptions>().Concat(Http);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var name in AllSources.GroupBy(s => s.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key))
            yield return new ValidationResult($"source name '{name}' is used twice; names must be unique.", ["Sources"]);
    }
}

/// <summary>What every source has: a name, an interval, retry and validation limits.</summary>
public abstract class SourceOptions : IValidatableObject
{
    /// <summary>Names the source in events and logs.</summary>
    [Required, RegularExpression("^[A-Za-z0-9_.:-]{1,100}$", ErrorMessage = "letters, digits, '_', '.', ':' or '-', at most 100.")]
    public string Name { get; set; } = "";

    /// <summary>Time between the starts of two polls; polls never overlap.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Deadline of one HTTP attempt.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries of one request after a 429, a 5xx, a timeout or a network error.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>First retry delay; doubles with each retry, with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest Retry-After honoured inside one poll; a longer one ends the poll and delays the next.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>While a source keeps failing, the interval doubles up to this.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "1.00:00:00")]
    public TimeSpan FailureBackoffMax { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>A reading older than this (by its own timestamp) is rejected.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan MaxReadingAge { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How far a reading's timestamp may lie ahead of the poller's clock.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Readings below this (°C) are rejected as impossible.</summary>
    [Range(-273.0, 1000.0)]
    public double MinCelsius { get; set; } = -40;

    /// <summary>Readings above this (°C) are rejected as impossible.</summary>
    [Range(-273.0, 1000.0)]
    public double MaxCelsius { get; set; } = 100;

    public virtual IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MinCelsius >= MaxCelsius)
            yield return new ValidationResult($"must be below MaxCelsius ({MaxCelsius}).", [nameof(MinCelsius)]);
        if (FailureBackoffMax < Interval)
            yield return new ValidationResult($"must be at least Interval ({Interval}).", [nameof(FailureBackoffMax)]);
    }
}

/// <summary>One Meraki organization: its latest temperature readings, and the alert overview of some networks.</summary>
public sealed class MerakiSourceOptions : SourceOptions
{
    /// <summary>The API base, https://api.meraki.com/api/v1 (or a regional one such as https://api.meraki.cn/api/v1).</summary>
    [Required]
    public Uri BaseUrl { get; set; } = new("https://api.meraki.com/api/v1/");

    /// <summary>The API key; from <c>SensorPoller__Meraki__0__ApiKey</c> or <c>..._FILE</c>. Never logged.</summary>
    [Required(ErrorMessage = "the Meraki API key is required (set it through the environment or a *_FILE secret).")]
    public string ApiKey { get; set; } = "";

    [Required]
    public string OrganizationId { get; set; } = "";

    /// <summary>Only these networks' readings (<c>networkIds[]</c>); all when empty.</summary>
    public List<string> NetworkIds { get; set; } = [];

    /// <summary>Only these sensors' readings (<c>serials[]</c>); all when empty.</summary>
    public List<string> Serials { get; set; } = [];

    /// <summary>Networks whose current alert overview (<c>counts.temperature</c>) is published as an alarm signal <c>alerts:{networkId}</c>.</summary>
    public List<string> AlertNetworkIds { get; set; } = [];

    /// <summary>Page size of readings/latest (3 to 1000).</summary>
    [Range(3, 1000)]
    public int PerPage { get; set; } = 1000;

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in base.Validate(validationContext))
            yield return result;
        if (!BaseUrl.IsAbsoluteUri || BaseUrl.Scheme is not ("https" or "http"))
            yield return new ValidationResult("must be an absolute http(s) URL.", [nameof(BaseUrl)]);
    }
}

/// <summary>
/// A generic HTTP/JSON API. Paths are dotted (<c>data.sensors</c>, <c>items[0].value</c>). With
/// <see cref="ItemsPath"/> each array element is one sensor or alarm; without it the whole response is one.
/// </summary>
public sealed class HttpSourceOptions : SourceOptions
{
    [Required]
    public Uri Url { get; set; } = null!;

    /// <summary>Header that carries the credential (e.g. <c>Authorization</c>, <c>X-Api-Key</c>).</summary>
    public string? AuthHeaderName { get; set; }

    /// <summary>The header's value (e.g. <c>Bearer …</c>); from the environment or a *_FILE secret. Never logged.</summary>
    public string? AuthHeaderValue { get; set; }

    /// <summary>Zone label put on the events (informational).</summary>
    public string Zone { get; set; } = "";

    public string? ItemsPath { get; set; }

    /// <summary>Path (within an item) of the sensor or alarm id.</summary>
    public string? IdPath { get; set; }

    /// <summary>The id when the response has no id of its own (whole-response mode).</summary>
    public string? FixedId { get; set; }

    /// <summary>Path of a temperature; when set, each item becomes a <c>TemperatureSampled</c>.</summary>
    public string? TemperaturePath { get; set; }

    public TemperatureUnit Unit { get; set; } = TemperatureUnit.Celsius;

    /// <summary>Path of the alarm state; when set, each item becomes an <c>AlarmStateSampled</c>.</summary>
    public string? AlarmStatePath { get; set; }

    /// <summary>Values (compared as text, case-insensitive) that mean "alarm active".</summary>
    public List<string> ActiveValues { get; set; } = [];

    /// <summary>Values that mean "alarm cleared". Anything else is rejected as unknown.</summary>
    public List<string> ClearedValues { get; set; } = [];

    /// <summary>Path of the item's timestamp (ISO 8601 or Unix seconds); without it the time of receipt is used and no age check applies.</summary>
    public string? TimestampPath { get; set; }

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in base.Validate(validationContext))
            yield return result;
        if (Url is not null && (!Url.IsAbsoluteUri || Url.Scheme is not ("https" or "http")))
            yield return new ValidationResult("must be an absolute http(s) URL.", [nameof(Url)]);
        if (string.IsNullOrWhiteSpace(TemperaturePath) && string.IsNullOrWhiteSpace(AlarmStatePath))
            yield return new ValidationResult("set TemperaturePath, AlarmStatePath or both.", [nameof(TemperaturePath)]);
        if (!string.IsNullOrWhiteSpace(AlarmStatePath) && (ActiveValues.Count == 0 || ClearedValues.Count == 0))
            yield return new ValidationResult("an alarm state needs both ActiveValues and ClearedValues.", [nameof(ActiveValues)]);
        if (ActiveValues.Intersect(ClearedValues, StringComparer.OrdinalIgnoreCase).Any())
            yield return new ValidationResult("a value cannot mean both active and cleared.", [nameof(ClearedValues)]);
        if (string.IsNullOrWhiteSpace(IdPath) && string.IsNullOrWhiteSpace(FixedId))
            yield return new ValidationResult("set IdPath or FixedId.", [nameof(IdPath)]);
        if (string.IsNullOrEmpty(AuthHeaderName) != string.IsNullOrEmpty(AuthHeaderValue))
            yield return new ValidationResult("AuthHeaderName and AuthHeaderValue go together.", [nameof(AuthHeaderValue)]);
    }
}

public enum TemperatureUnit
{
    Celsius,
    Fahrenheit,
}
