using System.ComponentModel.DataAnnotations;
using PowerEvents.Hosting;

namespace PowerEvents.SensorPoller.Polling;

/// <summary>Configuration section <c>SensorPoller</c>: the sources to poll.</summary>
public sealed class SensorPollerOptions : IValidatableObject
{
    public const string Section = "SensorPoller";

    /// <summary>Meraki Dashboard API organizations (<c>SensorPoller:Meraki:0:...</c>).</summary>
    public List<MerakiSourceOptions> Meraki { get; set; } = [];

    /// <summary>Generic HTTP/JSON alarm or temperature APIs (<c>SensorPoller:Http:0:...</c>).</summary>
    public List<HttpSourceOptions> Http { get; set; } = [];

    /// <summary>MQTT brokers carrying Meraki MT readings pushed by a local gateway (<c>SensorPoller:Mqtt:0:...</c>).</summary>
    public List<MqttSourceOptions> Mqtt { get; set; } = [];

    /// <summary>Every source. A method, not a property: the options validator walks properties, and would report each
    /// source's error a second time under a key that is not in the configuration (<c>SensorPoller:AllSources:0</c>).</summary>
    public IEnumerable<SourceOptions> AllSources() => Meraki.Cast<SourceOptions>().Concat(Http).Concat(Mqtt);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var name in AllSources().GroupBy(s => s.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key))
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

    /// <summary>While a source keeps failing, the interval doubles up to this. Unset: the interval itself, so a
    /// source is tried again within one interval of its API answering again (a longer cap delays recovery).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "1.00:00:00")]
    public TimeSpan? FailureBackoffMax { get; set; }

    public TimeSpan EffectiveFailureBackoffMax => FailureBackoffMax ?? Interval;

    /// <summary>Allows an <c>http://</c> URL for this source (a lab or a simulator); credentials then cross the network in clear. Logged at start.</summary>
    public bool AllowInsecureHttp { get; set; }

    /// <summary>Hosts besides the configured origin that may receive the credentials on a redirect or a next-page
    /// link: <c>host</c>, <c>host:port</c> or <c>*.domain</c>, https only. Any other target is refused and logged.</summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>SHA-256 fingerprint of the server's own (self-signed) certificate, hex with or without colons: only that
    /// certificate is accepted (for every host the source talks to). Empty: normal verification against the trusted roots.</summary>
    public string? CertificateFingerprint { get; set; }

    /// <summary>Checks a server certificate: the pinned one when <see cref="CertificateFingerprint"/> is set, else no TLS errors.</summary>
    public bool AcceptsCertificate(System.Security.Cryptography.X509Certificates.X509Certificate? certificate, System.Net.Security.SslPolicyErrors errors) =>
        CertificateProblem(certificate, errors) is null;

    /// <summary>Why <see cref="AcceptsCertificate"/> refuses a server certificate (null: accepted); fingerprints are public, safe to report.</summary>
    public string? CertificateProblem(System.Security.Cryptography.X509Certificates.X509Certificate? certificate, System.Net.Security.SslPolicyErrors errors) =>
        CertificatePinning.Problem(certificate, errors, CertificateFingerprint);

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
        if (!CertificatePinning.IsValidSetting(CertificateFingerprint))
            yield return new ValidationResult("must be a SHA-256 fingerprint: 64 hex digits, colons allowed.", [nameof(CertificateFingerprint)]);
        foreach (var host in AllowedHosts.Where(h => !CredentialScope.IsValidPattern(h)))
            yield return new ValidationResult($"'{host}' is not a host name, host:port or *.domain.", [nameof(AllowedHosts)]);
    }

    /// <summary>The URL scheme check every source shares: https, or http with <see cref="AllowInsecureHttp"/>.</summary>
    protected IEnumerable<ValidationResult> ValidateUrl(Uri? url, string property, params string[] schemes)
    {
        if (url is null)
            yield break;
        if (!url.IsAbsoluteUri || !schemes.Contains(url.Scheme))
            yield return new ValidationResult($"must be an absolute {schemes[0]}:// URL.", [property]);
        else if (!string.IsNullOrEmpty(url.UserInfo))
            // URLs are logged; credentials belong in their own (secret) keys.
            yield return new ValidationResult("must not contain credentials.", [property]);
        else if (url.Scheme == schemes[^1] && schemes.Length > 1 && !AllowInsecureHttp)
            yield return new ValidationResult($"is {url.Scheme}://; use {schemes[0]}:// (or set AllowInsecureHttp=true for a lab or a simulator).", [property]);
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

    /// <summary>Client-side pace for the organization: requests per second, shared by every source and signal
    /// that uses this organization (Meraki allows 10 per second per organization). 429 stays the exception.</summary>
    public double RequestsPerSecond { get; set; } = 10;

    /// <summary>Requests that may go at once after a quiet spell (the token bucket's size).</summary>
    [Range(1, 1000)]
    public int Burst { get; set; } = 10;

    /// <summary>Page size of readings/latest (3 to 1000).</summary>
    [Range(3, 1000)]
    public int PerPage { get; set; } = 1000;

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in base.Validate(validationContext))
            yield return result;
        foreach (var result in ValidateUrl(BaseUrl, nameof(BaseUrl), "https", "http"))
            yield return result;
        if (RequestsPerSecond < 0.01 || RequestsPerSecond > 1000)
            yield return new ValidationResult("must be between 0.01 and 1000.", [nameof(RequestsPerSecond)]);
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

    /// <summary><c>GET</c> (default) or <c>POST</c> (JSON-RPC APIs such as Zabbix).</summary>
    [RegularExpression("^(GET|POST|get|post)$", ErrorMessage = "GET or POST.")]
    public string Method { get; set; } = "GET";

    /// <summary>The JSON body sent with POST (e.g. a JSON-RPC call). Not secret: credentials go in <see cref="Headers"/>.</summary>
    public string? Body { get; set; }

    /// <summary>Request headers, e.g. <c>Headers:Authorization=Bearer …</c>; values from the environment or a *_FILE secret. Never logged.</summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The API lists only what is alarming now (Alertmanager, Zabbix problem.get): an expected id that is
    /// absent from a successful answer is published as cleared.</summary>
    public bool AbsentMeansCleared { get; set; }

    /// <summary>With <see cref="AbsentMeansCleared"/>: the ids cleared when absent (besides <see cref="FixedId"/> and ids seen active before).</summary>
    public List<string> SignalIds { get; set; } = [];

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

    /// <summary>Values that mean "alarm cleared". Anything else is rejected as unknown (optional with <see cref="AbsentMeansCleared"/>).</summary>
    public List<string> ClearedValues { get; set; } = [];

    /// <summary>Path of the item's timestamp (ISO 8601, or Unix seconds as a number or a string); without it the time of receipt is used and no age check applies.</summary>
    public string? TimestampPath { get; set; }

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in base.Validate(validationContext))
            yield return result;
        foreach (var result in ValidateUrl(Url, nameof(Url), "https", "http"))
            yield return result;
        if (string.IsNullOrWhiteSpace(TemperaturePath) && string.IsNullOrWhiteSpace(AlarmStatePath) && !AbsentMeansCleared)
            yield return new ValidationResult("set TemperaturePath, AlarmStatePath, AbsentMeansCleared or a combination.", [nameof(TemperaturePath)]);
        if (!string.IsNullOrWhiteSpace(AlarmStatePath) && (ActiveValues.Count == 0 || (ClearedValues.Count == 0 && !AbsentMeansCleared)))
            yield return new ValidationResult("an alarm state needs ActiveValues and ClearedValues (ClearedValues is optional with AbsentMeansCleared).", [nameof(ActiveValues)]);
        if (AbsentMeansCleared && string.IsNullOrWhiteSpace(FixedId) && SignalIds.Count == 0)
            yield return new ValidationResult("AbsentMeansCleared needs FixedId or SignalIds: the ids to clear when the API no longer lists them.", [nameof(SignalIds)]);
        if (AbsentMeansCleared && string.IsNullOrWhiteSpace(ItemsPath))
            yield return new ValidationResult("AbsentMeansCleared needs ItemsPath (the list of what is alarming now).", [nameof(ItemsPath)]);
        if (Method.Equals("GET", StringComparison.OrdinalIgnoreCase) && Body is not null)
            yield return new ValidationResult("a Body needs Method=POST.", [nameof(Body)]);
        if (Body is not null && !IsJson(Body))
            yield return new ValidationResult("must be JSON.", [nameof(Body)]);
        if (string.IsNullOrEmpty(AuthHeaderName) != string.IsNullOrEmpty(AuthHeaderValue))
            yield return new ValidationResult("AuthHeaderName and AuthHeaderValue go together.", [nameof(AuthHeaderValue)]);
        if (ActiveValues.Intersect(ClearedValues, StringComparer.OrdinalIgnoreCase).Any())
            yield return new ValidationResult("a value cannot mean both active and cleared.", [nameof(ClearedValues)]);
        if (string.IsNullOrWhiteSpace(IdPath) && string.IsNullOrWhiteSpace(FixedId))
            yield return new ValidationResult("set IdPath or FixedId.", [nameof(IdPath)]);
    }

    static bool IsJson(string text)
    {
        try
        {
            using var _ = System.Text.Json.JsonDocument.Parse(text);
            return true;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}

public enum TemperatureUnit
{
    Celsius,
    Fahrenheit,
}

/// <summary>
/// A broker to which Meraki MR/MV gateways publish MT readings (Meraki's MT MQTT telemetry:
/// <c>meraki/v1/mt/{networkId}/ble/{sensorMac}/temperature</c>). Works while the Meraki cloud or the site's
/// internet link is down. <see cref="SourceOptions.Interval"/> is the longest wait between reconnection attempts.
/// </summary>
public sealed class MqttSourceOptions : SourceOptions
{
    /// <summary><c>mqtts://broker:8883</c> (TLS), or <c>mqtt://broker:1883</c> with AllowInsecureHttp.</summary>
    [Required]
    public Uri BrokerUrl { get; set; } = null!;

    /// <summary>From the environment or a *_FILE secret. RabbitMQ: <c>vhost:user</c> picks a virtual host.</summary>
    public string? Username { get; set; }

    /// <summary>From the environment or a *_FILE secret. Never logged.</summary>
    public string? Password { get; set; }

    /// <summary>The MQTT client id; unique per broker.</summary>
    public string? ClientId { get; set; }

    /// <summary>The topic root the gateways publish under (the broker settings in the Meraki dashboard).</summary>
    [Required]
    public string TopicPrefix { get; set; } = "meraki/v1/mt";

    /// <summary>Only these networks (one subscription each); all (<c>+</c>) when empty.</summary>
    public List<string> NetworkIds { get; set; } = [];

    /// <summary>Sensor MAC → the id the readings carry (its serial), so that MQTT and cloud polling feed the same
    /// sensor of a zone. Keys are the MAC's 12 hex digits without separators (configuration keys cannot hold ':'),
    /// e.g. <c>SensorIds:a4b1c2d3e4f5=Q3CA-AAAA-0001</c>. A MAC not listed keeps the MAC as its id.</summary>
    public Dictionary<string, string> SensorIds { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The MAC as a <see cref="SensorIds"/> key: hex digits only, lower case.</summary>
    public static string MacKey(string mac) => new(mac.Where(Uri.IsHexDigit).Select(char.ToLowerInvariant).ToArray());

    /// <summary>Zone label on the events; the network id when empty.</summary>
    public string Zone { get; set; } = "";

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in base.Validate(validationContext))
            yield return result;
        foreach (var result in ValidateUrl(BrokerUrl, nameof(BrokerUrl), "mqtts", "mqtt"))
            yield return result;
        if (string.IsNullOrEmpty(Username) != string.IsNullOrEmpty(Password))
            yield return new ValidationResult("Username and Password go together.", [nameof(Password)]);
        foreach (var mac in SensorIds.Keys.Where(k => k.Length != 12 || MacKey(k) != k.ToLowerInvariant()))
            yield return new ValidationResult($"'{mac}' is not a MAC as 12 hex digits without separators.", [nameof(SensorIds)]);
        if (TopicPrefix.Contains('+', StringComparison.Ordinal) || TopicPrefix.Contains('#', StringComparison.Ordinal))
            yield return new ValidationResult("must not contain wildcards.", [nameof(TopicPrefix)]);
    }

}
