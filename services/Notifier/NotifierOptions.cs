using System.ComponentModel.DataAnnotations;
using PowerEvents.Notifier.Alerts;

namespace PowerEvents.Notifier;

/// <summary>Configuration section <c>Notifier</c>: where alerts go and how hard delivery tries.</summary>
public sealed class NotifierOptions : IValidatableObject
{
    public const string Section = "Notifier";

    /// <summary>Optional name of this installation (e.g. "dc1 basement"), shown in every alert.</summary>
    [StringLength(80)]
    public string? Site { get; set; }

    public List<DestinationOptions> Destinations { get; set; } = [];

    [Required]
    public DeliveryOptions Delivery { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var duplicates = Destinations.GroupBy(d => d.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Key.Length > 0 && g.Count() > 1);
        foreach (var duplicate in duplicates)
            yield return new ValidationResult($"destination name '{duplicate.Key}' is used more than once; names must be unique.", [nameof(Destinations)]);
    }
}

public enum WebhookFormat
{
    Generic,
    Slack,
    Teams,
    Discord,
}

/// <summary>One webhook (<c>Notifier:Destinations:N</c>).</summary>
public sealed class DestinationOptions : IValidatableObject
{
    /// <summary>Shown in logs and kept with each delivery; the URL never is.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", ErrorMessage = "must be 1-63 letters, digits, '-', '_' or '.'.")]
    public string Name { get; set; } = "";

    /// <summary>A secret (Slack, Discord and Teams put their token in it): <c>Notifier__Destinations__N__Url</c> or <c>..._FILE</c>. https:// unless <see cref="AllowHttp"/>.</summary>
    [Required]
    public string Url { get; set; } = "";

    /// <summary>Lets this one destination use plain <c>http://</c> (a receiver on the same host or network); logged at start.</summary>
    public bool AllowHttp { get; set; }

    public bool IsPlainHttp => Uri.TryCreate(Url, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp;

    // Strings, not enums: the binder silently drops a list item whose enum value does not convert,
    // which would make a mistyped destination vanish instead of stopping the service.

    /// <summary><c>generic</c>, <c>slack</c>, <c>teams</c> or <c>discord</c>.</summary>
    [Required]
    public string Format { get; set; } = nameof(WebhookFormat.Generic);

    /// <summary><c>info</c>, <c>warning</c> or <c>critical</c>: alerts below it are not sent here.</summary>
    [Required]
    public string MinimumSeverity { get; set; } = nameof(Severity.Info);

    public WebhookFormat FormatKind => Parse<WebhookFormat>(Format) ?? WebhookFormat.Generic;

    public Severity Minimum => Parse<Severity>(MinimumSeverity) ?? Severity.Info;

    /// <summary>HMAC-SHA256 key for the generic format (<c>Notifier__Destinations__N__SigningSecret</c> or <c>..._FILE</c>).</summary>
    public string? SigningSecret { get; set; }

    public bool Accepts(Severity severity) => severity >= Minimum;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // The URL is a secret: say what is wrong with it, never what it is.
        if (!string.IsNullOrEmpty(Url)
            && (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)))
            yield return new ValidationResult("must be an absolute https:// URL.", [nameof(Url)]);
        else if (IsPlainHttp && !AllowHttp)
            yield return new ValidationResult("must use https://: alerts (and a chat service's token in the URL) would cross the network in clear. " +
                "For a receiver you trust on a local network, set AllowHttp=true on this destination.", [nameof(Url)]);

        if (Parse<WebhookFormat>(Format) is null)
            yield return new ValidationResult($"must be one of {string.Join(", ", Enum.GetNames<WebhookFormat>().Select(n => n.ToLowerInvariant()))}, not '{Format}'.", [nameof(Format)]);
        if (Parse<Severity>(MinimumSeverity) is null)
            yield return new ValidationResult($"must be one of {string.Join(", ", Enum.GetNames<Severity>().Select(n => n.ToLowerInvariant()))}, not '{MinimumSeverity}'.", [nameof(MinimumSeverity)]);

        if (FormatKind == WebhookFormat.Generic && (SigningSecret is null || SigningSecret.Length < 32))
            yield return new ValidationResult("the generic format signs every payload: set a secret of at least 32 characters.", [nameof(SigningSecret)]);
    }

    static T? Parse<T>(string? value) where T : struct, Enum =>
        Enum.GetNames<T>().FirstOrDefault(n => string.Equals(n, value?.Trim(), StringComparison.OrdinalIgnoreCase)) is { } name ? Enum.Parse<T>(name) : null;
}

/// <summary>Retries and timeouts (<c>Notifier:Delivery</c>), the same for every destination.</summary>
public sealed class DeliveryOptions
{
    /// <summary>Retries after the first attempt; past them the delivery is kept as failed.</summary>
    [Range(0, 20)]
    public int MaxRetries { get; set; } = 6;

    /// <summary>The first retry waits this long, each further one twice as long (plus jitter).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Up to this fraction is added at random to each backoff delay, so retries from many alerts spread out.</summary>
    [Range(0.0, 1.0)]
    public double Jitter { get; set; } = 0.25;

    /// <summary>Longest wait a 429/503 <c>Retry-After</c> may impose; a longer one is cut to this.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>One HTTP attempt (connect, send, answer) may take this long.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often a destination's worker looks for work it was not told about (e.g. deliveries re-queued by hand).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Delivered alerts are forgotten after this long; it is also how long duplicates are recognised. Failed ones are kept.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);
}
