using System.ComponentModel.DataAnnotations;

namespace PowerEvents.VCenterActuator;

/// <summary>How to reach vCenter and how patiently to work with it (configuration section <c>VCenter</c>).</summary>
public sealed class VCenterOptions : IValidatableObject
{
    public const string Section = "VCenter";

    /// <summary>The SOAP endpoint, e.g. <c>https://vcenter.example.local/sdk</c>.</summary>
    [Required]
    public Uri? Url { get; set; }

    [Required]
    public string Username { get; set; } = "";

    /// <summary>From <c>VCenter__Password</c> or a file named by <c>VCenter__Password_FILE</c>. Never logged.</summary>
    [Required]
    public string Password { get; set; } = "";

    /// <summary>
    /// SHA-256 fingerprint of vCenter's certificate (hex, colons optional). When set, the server must present
    /// exactly this certificate; a self-signed vCenter is accepted only this way. Empty: normal chain validation.
    /// </summary>
    [RegularExpression("^$|^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$", ErrorMessage = "must be a SHA-256 fingerprint: 64 hex digits, colons optional")]
    public string CertificateFingerprint { get; set; } = "";

    /// <summary>Most SOAP calls in flight at once, whatever the number of steps running.</summary>
    [Range(1, 64)]
    public int MaxConcurrentCalls { get; set; } = 8;

    /// <summary>
    /// Most steps (commands) worked on at once per command type (and the RabbitMQ prefetch). A waiting step costs no
    /// thread and no call (vCenter pushes the changes it waits for), so this is a memory bound, not a load on vCenter:
    /// <see cref="MaxConcurrentCalls"/> bounds that.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxConcurrentSteps { get; set; } = 2_000;

    /// <summary>One SOAP call's time limit.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Objects per RetrievePropertiesEx page; the inventory takes about 5 + objects/page round trips.</summary>
    [Range(100, 100_000)]
    public int InventoryPageSize { get; set; } = 5000;

    /// <summary>How long a guest may take to shut down before the VM is powered off hard (a command may give its own).</summary>
    public TimeSpan GuestShutdownTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Power off hard, without trying a guest shutdown, a VM whose VMware Tools are not running. False: such a VM fails with ToolsUnavailable.</summary>
    public bool HardPowerOffWithoutTools { get; set; } = true;

    /// <summary>Unused since the steps wait on vCenter's update stream; kept so that existing settings still load.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Deadline for entering or leaving maintenance mode (also passed to vCenter as the task's timeout).</summary>
    public TimeSpan MaintenanceTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Deadline for VM power tasks (power on, hard power off).</summary>
    public TimeSpan PowerTaskTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Deadline for a host shutdown: the task, then the host reported off or not responding.</summary>
    public TimeSpan HostShutdownTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Shut a host down even when it is not in maintenance mode (vCenter's <c>force</c>). Off by default: the saga enters maintenance first.</summary>
    public bool ForceHostShutdown { get; set; }

    public VCenterRetryOptions Retry { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Url is not null && (!Url.IsAbsoluteUri || Url.Scheme != Uri.UriSchemeHttps))
            yield return new ValidationResult("must be an absolute https:// URL (vCenter's /sdk endpoint)", [nameof(Url)]);
        foreach (var (name, value) in new[]
                 {
                     (nameof(RequestTimeout), RequestTimeout), (nameof(GuestShutdownTimeout), GuestShutdownTimeout),
                     (nameof(PollInterval), PollInterval), (nameof(MaintenanceTimeout), MaintenanceTimeout),
                     (nameof(PowerTaskTimeout), PowerTaskTimeout), (nameof(HostShutdownTimeout), HostShutdownTimeout),
                 })
        {
            if (value <= TimeSpan.Zero)
                yield return new ValidationResult("must be a positive duration (e.g. 00:00:30)", [name]);
        }
    }
}

/// <summary>Retries of calls that are safe to repeat (reads, and steps that re-check state first).</summary>
public sealed class VCenterRetryOptions : IValidatableObject
{
    /// <summary>Retries after the first attempt; 0 disables retrying.</summary>
    [Range(0, 20)]
    public int MaxAttempts { get; set; } = 4;

    /// <summary>First backoff; it doubles each retry, with jitter.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest single backoff.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (BaseDelay <= TimeSpan.Zero)
            yield return new ValidationResult("must be a positive duration", [nameof(BaseDelay)]);
        if (MaxDelay < BaseDelay)
            yield return new ValidationResult("must not be shorter than BaseDelay", [nameof(MaxDelay)]);
    }
}
