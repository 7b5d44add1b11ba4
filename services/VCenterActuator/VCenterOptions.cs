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

    /// <summary>Deadline for a cluster's vCLS VMs to go after retreat mode is set (vCenter: within about a minute).</summary>
    public TimeSpan VclsRetreatTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Deadline for a vSAN resync to finish before the hosts go down.</summary>
    public TimeSpan VsanResyncTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How often the resync figures are asked for while waiting (vSAN pushes nothing).</summary>
    public TimeSpan VsanResyncPollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Deadline, from vCenter's VM powering on, for vCenter to answer a login and see its hosts connected.</summary>
    public TimeSpan VCenterStartTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How often vCenter is tried while it starts (it answers nothing until its services run).</summary>
    public TimeSpan VCenterStartPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// ESXi hosts reached through their own API (<c>https://&lt;host&gt;/sdk</c>), by the host's name as vCenter knows it:
    /// <c>VCenter:Hosts:&lt;name&gt;:Username</c>, <c>…:Password</c> (or <c>VCenter__Hosts__&lt;name&gt;__Password_FILE</c>),
    /// <c>…:CertificateFingerprint</c>, <c>…:Url</c>. Needed for the host that runs vCenter's VM.
    /// </summary>
    public Dictionary<string, EsxiHostOptions> Hosts { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Url is not null && (!Url.IsAbsoluteUri || Url.Scheme != Uri.UriSchemeHttps))
            yield return new ValidationResult("must be an absolute https:// URL (vCenter's /sdk endpoint)", [nameof(Url)]);
        foreach (var (name, value) in new[]
                 {
                     (nameof(RequestTimeout), RequestTimeout), (nameof(GuestShutdownTimeout), GuestShutdownTimeout),
                     (nameof(PollInterval), PollInterval), (nameof(MaintenanceTimeout), MaintenanceTimeout),
                     (nameof(PowerTaskTimeout), PowerTaskTimeout), (nameof(HostShutdownTimeout), HostShutdownTimeout),
                     (nameof(VclsRetreatTimeout), VclsRetreatTimeout), (nameof(VsanResyncTimeout), VsanResyncTimeout),
                     (nameof(VsanResyncPollInterval), VsanResyncPollInterval), (nameof(VCenterStartTimeout), VCenterStartTimeout),
                     (nameof(VCenterStartPollInterval), VCenterStartPollInterval),
                 })
        {
            if (value <= TimeSpan.Zero)
                yield return new ValidationResult("must be a positive duration (e.g. 00:00:30)", [name]);
        }
        foreach (var (name, host) in Hosts)
        {
            if (host.Url is { } url && (!url.IsAbsoluteUri || url.Scheme != Uri.UriSchemeHttps))
                yield return new ValidationResult("must be an absolute https:// URL (the host's /sdk endpoint)", [$"{nameof(Hosts)}:{name}:{nameof(EsxiHostOptions.Url)}"]);
            if (!System.Text.RegularExpressions.Regex.IsMatch(host.CertificateFingerprint, "^$|^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$"))
                yield return new ValidationResult("must be a SHA-256 fingerprint", [$"{nameof(Hosts)}:{name}:{nameof(EsxiHostOptions.CertificateFingerprint)}"]);
        }
    }

    /// <summary>The options of a connection to one host's own API (the vCenter settings for timeouts and limits).</summary>
    public VCenterOptions ForHost(string name, EsxiHostOptions host) => new()
    {
        Url = host.Url ?? new Uri($"https://{name}/sdk"),
        Username = host.Username,
        Password = host.Password,
        CertificateFingerprint = host.CertificateFingerprint,
        MaxConcurrentCalls = Math.Min(MaxConcurrentCalls, 4),
        MaxConcurrentSteps = MaxConcurrentSteps,
        RequestTimeout = RequestTimeout,
        InventoryPageSize = InventoryPageSize,
        GuestShutdownTimeout = GuestShutdownTimeout,
        MaintenanceTimeout = MaintenanceTimeout,
        PowerTaskTimeout = PowerTaskTimeout,
        HostShutdownTimeout = HostShutdownTimeout,
        ForceHostShutdown = ForceHostShutdown,
        Retry = Retry,
    };
}

/// <summary>One ESXi host's own API (configuration <c>VCenter:Hosts:&lt;name&gt;</c>). The password is a secret: never logged.</summary>
public sealed class EsxiHostOptions
{
    /// <summary>The host's SOAP endpoint; default <c>https://&lt;name&gt;/sdk</c>.</summary>
    public Uri? Url { get; set; }

    public string Username { get; set; } = "";

    /// <summary>From configuration or a file named by <c>VCenter__Hosts__&lt;name&gt;__Password_FILE</c>.</summary>
    public string Password { get; set; } = "";

    /// <summary>SHA-256 fingerprint of the host's certificate (ESXi's is self-signed unless replaced); empty: chain validation.</summary>
    public string CertificateFingerprint { get; set; } = "";
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
