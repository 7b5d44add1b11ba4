namespace PowerEvents.RedfishSimulator;

/// <summary>One simulated BMC (configuration section <c>Bmcs:N</c>).</summary>
public sealed class SimulatedBmcOptions
{
    /// <summary>A label for logs and the ready line, typically the host the BMC belongs to.</summary>
    public string Name { get; set; } = "bmc";

    /// <summary>Listen address; 127.0.0.1 unless the BMC must be reached from elsewhere.</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (printed on the ready line).</summary>
    public int Port { get; set; }

    /// <summary>HTTPS with a freshly generated self-signed certificate whose SHA-256 fingerprint is printed.</summary>
    public bool Https { get; set; } = true;

    /// <summary>Where to write the certificate's fingerprint (<c>AA:BB:…</c>), for scripts that pin it.</summary>
    public string? FingerprintFile { get; set; }

    public string Username { get; set; } = "Administrator";
    public string Password { get; set; } = "password";

    /// <summary>The vendor whose behaviour the BMC plays (<see cref="VendorProfile.All"/>: ilo4, ilo5, ilo5-early, ilo6, idrac8, idrac9, xcc, supermicro, cimc, minimal); ilo5 when empty.</summary>
    public string? Profile { get; set; }

    /// <summary>Id of the computer system; the profile's when null (iLO: <c>1</c>, iDRAC: <c>System.Embedded.1</c>).</summary>
    public string? SystemId { get; set; }

    /// <summary>Extra systems listed in the Systems collection (to exercise a client's system selection).</summary>
    public List<string> ExtraSystemIds { get; set; } = [];

    /// <summary>Power state at start: <c>On</c> or <c>Off</c>.</summary>
    public string InitialPowerState { get; set; } = "Off";

    /// <summary>Time from an accepted <c>On</c> reset to <c>PowerState: On</c>; the system reports <c>PoweringOn</c> meanwhile.</summary>
    public TimeSpan BootDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Concurrent sessions the BMC accepts; the profile's when null.</summary>
    public int? MaxSessions { get; set; }

    /// <summary>Idle time after which a session is removed (iLO's default is 30 minutes).</summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>The <c>ResetType@Redfish.AllowableValues</c> this system advertises and accepts; the profile's when null.</summary>
    public List<string>? AllowableResetTypes { get; set; }

    /// <summary>Advertise the reset types in a separate ActionInfo resource (<c>@Redfish.ActionInfo</c>) rather than inline, as many non-HPE BMCs do.</summary>
    public bool? UseActionInfo { get; set; }

    /// <summary>iLO 4 style: every <c>@odata.id</c> and action target ends with a slash.</summary>
    public bool? TrailingSlashes { get; set; }

    /// <summary>Answer a request without a trailing slash with <c>308</c> to the path with one (reported for early iLO 5 firmware).</summary>
    public bool? TrailingSlashRedirect { get; set; }

    /// <summary>False: no SessionService and no <c>Links.Sessions</c> (HTTP Basic only), as several non-HPE BMCs and emulators.</summary>
    public bool? SessionService { get; set; }

    /// <summary>False: HTTP Basic is refused (401), only sessions work (a BMC with Basic turned off).</summary>
    public bool BasicAuth { get; set; } = true;

    /// <summary>How a chunked request body (no <c>Content-Length</c>) is treated; the profile's when null.</summary>
    public ChunkedBodyHandling? ChunkedBodies { get; set; }

    /// <summary>Whether <c>/redfish/v1/systems/1</c> finds <c>/redfish/v1/Systems/1</c>; the profile's when null.</summary>
    public bool? CaseInsensitiveUris { get; set; }

    /// <summary>vcsim's plain-HTTP control endpoint (e.g. <c>http://127.0.0.1:35444</c>): told when this system reaches On.</summary>
    public Uri? VcsimControlUrl { get; set; }

    /// <summary>The host name vcsim knows this BMC's server by (e.g. <c>esx-01.pe.test</c>).</summary>
    public string? VcsimHost { get; set; }
}
