using System.ComponentModel.DataAnnotations;
using PowerEvents.Hosting;
using System.Net;
using System.Net.NetworkInformation;

namespace PowerEvents.IloActuator;

/// <summary>The BMCs this actuator drives (configuration section <c>Bmc</c>); see docs/bmc.md.</summary>
public sealed class BmcOptions : IValidatableObject
{
    public const string Section = "Bmc";

    /// <summary>One entry per ESXi host, found by the host's vCenter name.</summary>
    public List<BmcHostOptions> Hosts { get; set; } = [];

    /// <summary>Longest wait for one HTTP answer from a BMC; a hung BMC costs at most this per attempt.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Deadline for a whole power-on: from the first request until the BMC reports <c>PowerState: On</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan PowerOnTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>How often <c>PowerState</c> is read while waiting for On.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries of a request that failed transiently (no answer, 5xx, session limit); reads, logins and logouts only.</summary>
    [Range(0, 10)]
    public int RetryAttempts { get; set; } = 3;

    /// <summary>First retry delay; doubled each retry, with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Hosts handled at the same time (power-ons and state reads), so one slow BMC never holds up the others.</summary>
    [Range(1, 256)]
    public int MaxConcurrentHosts { get; set; } = 32;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var duplicates = Hosts.GroupBy(h => h.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Key.Length > 0 && g.Count() > 1);
        foreach (var duplicate in duplicates)
            yield return new ValidationResult($"host '{duplicate.Key}' is configured more than once", [nameof(Hosts)]);
    }
}

public enum BmcAuthMode
{
    /// <summary>
    /// A Redfish session where the service root offers one (<c>Links.Sessions</c>), HTTP Basic where it does not and
    /// when the BMC's session table is full (<c>SessionLimitExceeded</c>); the outcome's reason says which and why.
    /// </summary>
    Auto,

    /// <summary>Redfish session (POST SessionService/Sessions, X-Auth-Token, DELETE when done): what HPE recommends.</summary>
    Session,

    /// <summary>HTTP Basic on every request.</summary>
    Basic,
}

/// <summary>One host's BMC (<c>Bmc:Hosts:N</c>) and/or Wake-on-LAN settings.</summary>
public sealed class BmcHostOptions : IValidatableObject
{
    /// <summary>The ESXi host's name as vCenter knows it (matches <c>PowerOnRequested.Host</c>).</summary>
    [Required]
    public string Name { get; set; } = "";

    /// <summary>The BMC's base URL, e.g. <c>https://ilo-esx01.example.net/</c>. Empty for a Wake-on-LAN-only host.</summary>
    public Uri? Url { get; set; }

    /// <summary>The ComputerSystem's id (iLO: <c>1</c>); empty to take the only member of <c>/redfish/v1/Systems</c>.</summary>
    public string? SystemId { get; set; }

    public BmcAuthMode AuthMode { get; set; } = BmcAuthMode.Auto;

    public string? Username { get; set; }

    /// <summary>From <c>Bmc__Hosts__N__Password</c> or a file named by <c>Bmc__Hosts__N__Password_FILE</c>; never logged.</summary>
    public string? Password { get; set; }

    /// <summary>SHA-256 fingerprint of the BMC's own (self-signed) certificate, hex with or without colons. Empty: normal verification.</summary>
    public string? CertificateFingerprint { get; set; }

    /// <summary>Allows <c>http://</c> BMC URLs (simulators, lab BMCs); credentials then cross the network in clear.</summary>
    public bool AllowInsecureHttp { get; set; }

    /// <summary>Send a Wake-on-LAN packet when the BMC fails (needs <see cref="WakeOnLan"/>).</summary>
    public bool FallbackToWakeOnLan { get; set; }

    public WakeOnLanOptions? WakeOnLan { get; set; }

    public bool HasBmc => Url is not null;

    public bool HasWakeOnLan => WakeOnLan is { Mac.Length: > 0 };

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!HasBmc && !HasWakeOnLan)
            yield return new ValidationResult("set Url (a BMC) or WakeOnLan:Mac (or both)", [nameof(Url)]);

        if (Url is { } url)
        {
            if (!url.IsAbsoluteUri || url.Scheme is not ("https" or "http"))
                yield return new ValidationResult("must be an absolute https:// URL", [nameof(Url)]);
            else if (!string.IsNullOrEmpty(url.UserInfo))
                // A URL is logged; credentials belong in Username/Password, which never are.
                yield return new ValidationResult("must not contain credentials; use Username and Password", [nameof(Url)]);
            else if (url.Scheme == "http" && !AllowInsecureHttp)
                yield return new ValidationResult("is http://; use https:// (or set AllowInsecureHttp=true for a lab BMC)", [nameof(Url)]);
            if (string.IsNullOrEmpty(Username))
                yield return new ValidationResult("is required when Url is set", [nameof(Username)]);
            if (string.IsNullOrEmpty(Password))
                yield return new ValidationResult("is required when Url is set (Bmc__Hosts__N__Password or _FILE)", [nameof(Password)]);
        }

        if (!CertificatePinning.IsValidSetting(CertificateFingerprint))
            yield return new ValidationResult("must be a SHA-256 fingerprint: 64 hex digits, colons allowed", [nameof(CertificateFingerprint)]);

        if (FallbackToWakeOnLan && !HasWakeOnLan)
            yield return new ValidationResult("needs WakeOnLan:Mac", [nameof(FallbackToWakeOnLan)]);
    }

}

/// <summary>Wake-on-LAN target of one host (<c>Bmc:Hosts:N:WakeOnLan</c>).</summary>
public sealed class WakeOnLanOptions : IValidatableObject
{
    /// <summary>The host's NIC MAC address (<c>AA:BB:CC:DD:EE:FF</c>, dashes or none also accepted).</summary>
    public string Mac { get; set; } = "";

    /// <summary>Where the packet goes: the host subnet's directed broadcast address (e.g. <c>192.168.10.255</c>).</summary>
    public string BroadcastAddress { get; set; } = "255.255.255.255";

    [Range(1, 65535)]
    public int Port { get; set; } = 9;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Mac.Length > 0 && ParseMac(Mac) is null)
            yield return new ValidationResult("is not a MAC address (6 bytes, e.g. AA:BB:CC:DD:EE:FF)", [nameof(Mac)]);
        if (!IPAddress.TryParse(BroadcastAddress, out _))
            yield return new ValidationResult("is not an IP address", [nameof(BroadcastAddress)]);
    }

    public static PhysicalAddress? ParseMac(string value)
    {
        try
        {
            var address = PhysicalAddress.Parse(value.Trim());
            return address.GetAddressBytes().Length == 6 ? address : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
