using System.ComponentModel.DataAnnotations;

namespace PowerEvents.VCenterActuator;

/// <summary>How to reach vCenter and how patiently to work with it (configuration section <c>VCenter</c>).</summary>
public sealed class VCenterOptions : IValidatableObject
{
    public const string Section = "VCenter";

    /// <summary>
    /// The SOAP endpoint of the default vCenter, e.g. <c>https://vcenter.example.local/sdk</c>: every cluster not named under
    /// <see cref="Clusters"/> lives on it. Optional only when <see cref="VCenters"/> or <see cref="Clusters"/> name the platforms.
    /// </summary>
    public Uri? Url { get; set; }

    public string Username { get; set; } = "";

    /// <summary>From <c>VCenter__Password</c> or a file named by <c>VCenter__Password_FILE</c>. Never logged.</summary>
    public string Password { get; set; } = "";

    /// <summary>The default vCenter's name in preflight results and <c>ClusterObserved</c>; empty: the URL's host.</summary>
    public string Name { get; set; } = "";

    /// <summary>
    /// Further vCenters by name: <c>VCenter:VCenters:&lt;name&gt;:Url</c>, <c>…:Username</c>, <c>…:Password</c> (or
    /// <c>VCenter__VCenters__&lt;name&gt;__Password_FILE</c>), <c>…:CertificateFingerprint</c>. Timeouts and limits are the
    /// <c>VCenter</c> section's.
    /// </summary>
    public Dictionary<string, VCenterPlatformOptions> VCenters { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Protected clusters by the name the saga's commands carry: <c>VCenter:Clusters:&lt;cluster&gt;:VCenter</c> names the vCenter
    /// it lives on (a <see cref="VCenters"/> key, or the default's <see cref="PlatformName"/>), or
    /// <c>VCenter:Clusters:&lt;cluster&gt;:Hosts:0..n</c> makes it a set of standalone ESXi hosts reached through their own API
    /// (each configured under <see cref="Hosts"/>). A cluster not named here lives on the default vCenter.
    /// </summary>
    public Dictionary<string, ClusterPlatformOptions> Clusters { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The default vCenter's platform name.</summary>
    public string PlatformName => Name.Length > 0 ? Name : Url?.Host ?? "vcenter";

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

    /// <summary>Deadline for vSAN's cluster power workflow (its task, then every host seen off); VMware's own module waits 30 min for hosts.</summary>
    public TimeSpan VsanClusterPowerTimeout { get; set; } = TimeSpan.FromMinutes(30);

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
        if (Url is null && VCenters.Count == 0 && Clusters.Count == 0)
            yield return new ValidationResult("required (or name the platforms under VCenter:VCenters and VCenter:Clusters)", [nameof(Url)]);
        if (Url is not null && Username.Length == 0)
            yield return new ValidationResult("required with VCenter:Url", [nameof(Username)]);
        if (Url is not null && Password.Length == 0)
            yield return new ValidationResult("required with VCenter:Url (VCenter__Password or VCenter__Password_FILE)", [nameof(Password)]);
        if (Url is not null && VCenters.ContainsKey(PlatformName))
            yield return new ValidationResult($"the default vCenter is already called '{PlatformName}' (VCenter:Name)", [$"{nameof(VCenters)}:{PlatformName}"]);
        foreach (var (name, vcenter) in VCenters)
        {
            var key = $"{nameof(VCenters)}:{name}";
            if (vcenter.Url is null)
                yield return new ValidationResult("required", [$"{key}:{nameof(VCenterPlatformOptions.Url)}"]);
            else if (!vcenter.Url.IsAbsoluteUri || vcenter.Url.Scheme != Uri.UriSchemeHttps)
                yield return new ValidationResult("must be an absolute https:// URL (vCenter's /sdk endpoint)", [$"{key}:{nameof(VCenterPlatformOptions.Url)}"]);
            if (vcenter.Username.Length == 0)
                yield return new ValidationResult("required", [$"{key}:{nameof(VCenterPlatformOptions.Username)}"]);
            if (vcenter.Password.Length == 0)
                yield return new ValidationResult($"required (or VCenter__VCenters__{name}__Password_FILE)", [$"{key}:{nameof(VCenterPlatformOptions.Password)}"]);
            if (!IsFingerprint(vcenter.CertificateFingerprint))
                yield return new ValidationResult("must be a SHA-256 fingerprint: 64 hex digits, colons optional", [$"{key}:{nameof(VCenterPlatformOptions.CertificateFingerprint)}"]);
        }
        foreach (var (name, cluster) in Clusters)
        {
            var key = $"{nameof(Clusters)}:{name}";
            var standalone = cluster.Hosts.Count > 0;
            if (standalone && cluster.VCenter.Length > 0)
                yield return new ValidationResult("either VCenter or Hosts, not both (a cluster lives on one vCenter or is a set of standalone hosts)", [key]);
            else if (!standalone && cluster.VCenter.Length == 0)
                yield return new ValidationResult("needs VCenter (the vCenter it lives on) or Hosts (its standalone ESXi hosts)", [key]);
            else if (!standalone && !VCenters.ContainsKey(cluster.VCenter) && !(Url is not null && string.Equals(cluster.VCenter, PlatformName, StringComparison.OrdinalIgnoreCase)))
                yield return new ValidationResult($"names no configured vCenter (known: {string.Join(", ", KnownVCenters())})", [$"{key}:{nameof(ClusterPlatformOptions.VCenter)}"]);
            for (var i = 0; i < cluster.Hosts.Count; i++)
            {
                var host = cluster.Hosts[i];
                if (!Hosts.TryGetValue(host, out var configured) || configured.Username.Length == 0 || configured.Password.Length == 0)
                    yield return new ValidationResult($"host '{host}' needs {nameof(Hosts)}:{host}:Username and Password (or Password_FILE)", [$"{key}:{nameof(ClusterPlatformOptions.Hosts)}:{i}"]);
                else if (Clusters.Any(c => c.Key != name && c.Value.Hosts.Contains(host, StringComparer.OrdinalIgnoreCase)))
                    yield return new ValidationResult($"host '{host}' is in two standalone clusters", [$"{key}:{nameof(ClusterPlatformOptions.Hosts)}:{i}"]);
            }
        }
        foreach (var (name, value) in new[]
                 {
                     (nameof(RequestTimeout), RequestTimeout), (nameof(GuestShutdownTimeout), GuestShutdownTimeout),
                     (nameof(PollInterval), PollInterval), (nameof(MaintenanceTimeout), MaintenanceTimeout),
                     (nameof(PowerTaskTimeout), PowerTaskTimeout), (nameof(HostShutdownTimeout), HostShutdownTimeout),
                     (nameof(VclsRetreatTimeout), VclsRetreatTimeout), (nameof(VsanResyncTimeout), VsanResyncTimeout),
                     (nameof(VsanResyncPollInterval), VsanResyncPollInterval), (nameof(VCenterStartTimeout), VCenterStartTimeout),
                     (nameof(VsanClusterPowerTimeout), VsanClusterPowerTimeout),
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
            if (!IsFingerprint(host.CertificateFingerprint))
                yield return new ValidationResult("must be a SHA-256 fingerprint", [$"{nameof(Hosts)}:{name}:{nameof(EsxiHostOptions.CertificateFingerprint)}"]);
        }
    }

    IEnumerable<string> KnownVCenters() => (Url is null ? [] : new[] { PlatformName }).Concat(VCenters.Keys);

    static bool IsFingerprint(string value) =>
        System.Text.RegularExpressions.Regex.IsMatch(value, "^$|^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$");

    /// <summary>The options of a connection to one more vCenter (this section's timeouts and limits).</summary>
    public VCenterOptions ForVCenter(VCenterPlatformOptions vcenter) => With(vcenter.Url, vcenter.Username, vcenter.Password, vcenter.CertificateFingerprint, MaxConcurrentCalls);

    VCenterOptions With(Uri? url, string username, string password, string fingerprint, int maxConcurrentCalls) => new()
    {
        Url = url,
        Username = username,
        Password = password,
        CertificateFingerprint = fingerprint,
        MaxConcurrentCalls = maxConcurrentCalls,
        MaxConcurrentSteps = MaxConcurrentSteps,
        RequestTimeout = RequestTimeout,
        InventoryPageSize = InventoryPageSize,
        GuestShutdownTimeout = GuestShutdownTimeout,
        HardPowerOffWithoutTools = HardPowerOffWithoutTools,
        PollInterval = PollInterval,
        MaintenanceTimeout = MaintenanceTimeout,
        PowerTaskTimeout = PowerTaskTimeout,
        HostShutdownTimeout = HostShutdownTimeout,
        ForceHostShutdown = ForceHostShutdown,
        Retry = Retry,
        VclsRetreatTimeout = VclsRetreatTimeout,
        VsanResyncTimeout = VsanResyncTimeout,
        VsanResyncPollInterval = VsanResyncPollInterval,
        VsanClusterPowerTimeout = VsanClusterPowerTimeout,
        VCenterStartTimeout = VCenterStartTimeout,
        VCenterStartPollInterval = VCenterStartPollInterval,
        Hosts = Hosts,
    };

    /// <summary>The options of a connection to one host's own API (the vCenter settings for timeouts and limits).</summary>
    public VCenterOptions ForHost(string name, EsxiHostOptions host) =>
        With(host.Url ?? new Uri($"https://{name}/sdk"), host.Username, host.Password, host.CertificateFingerprint, Math.Min(MaxConcurrentCalls, 4));
}

/// <summary>One more vCenter (configuration <c>VCenter:VCenters:&lt;name&gt;</c>). The password is a secret: never logged.</summary>
public sealed class VCenterPlatformOptions
{
    /// <summary>Its SOAP endpoint, <c>https://&lt;vcenter&gt;/sdk</c>.</summary>
    public Uri? Url { get; set; }

    public string Username { get; set; } = "";

    /// <summary>From configuration or a file named by <c>VCenter__VCenters__&lt;name&gt;__Password_FILE</c>.</summary>
    public string Password { get; set; } = "";

    /// <summary>SHA-256 fingerprint of its certificate; empty: chain validation.</summary>
    public string CertificateFingerprint { get; set; } = "";
}

/// <summary>Where one protected cluster lives (configuration <c>VCenter:Clusters:&lt;cluster&gt;</c>): exactly one of the two.</summary>
public sealed class ClusterPlatformOptions
{
    /// <summary>The vCenter it lives on: a <c>VCenter:VCenters</c> key, or the default vCenter's name.</summary>
    public string VCenter { get; set; } = "";

    /// <summary>Standalone ESXi hosts (each under <c>VCenter:Hosts</c>) that make up this "cluster", reached through their own API.</summary>
    public List<string> Hosts { get; set; } = [];
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
