namespace PowerEvents.RedfishSimulator;

/// <summary>How a BMC web server treats a request body sent with <c>Transfer-Encoding: chunked</c> (no <c>Content-Length</c>).</summary>
public enum ChunkedBodyHandling
{
    /// <summary>Decoded as any HTTP/1.1 server must (Kestrel's own behaviour).</summary>
    Accepted,

    /// <summary>Refused with <c>411 Length Required</c>, as embedded web servers without chunked decoding answer.</summary>
    LengthRequired,

    /// <summary>Read as an empty body: the login then misses <c>UserName</c> (<c>PropertyMissing</c>), the reset <c>ResetType</c> (<c>ActionParameterMissing</c>).</summary>
    ReadAsEmpty,
}

/// <summary>Where the system reports boot progress, if anywhere.</summary>
public enum BootProgressStyle
{
    None,

    /// <summary>HPE: <c>Oem.Hpe.PostState</c> (iLO 5/6) or <c>Oem.Hp.PostState</c> (iLO 4): <c>PowerOff</c>, <c>InPost</c>, <c>InPostDiscoveryComplete</c>, <c>FinishedPost</c>.</summary>
    HpePostState,

    /// <summary>DMTF ComputerSystem v1_13+: <c>BootProgress.LastState</c> (<c>None</c>, <c>…InitializationStarted</c>, <c>OSBootStarted</c>, <c>OSRunning</c>).</summary>
    DmtfBootProgress,
}

/// <summary>Shape of an error body.</summary>
public enum ErrorStyle
{
    /// <summary>iLO 5/6: <c>error.code = iLO.0.10.ExtendedInfo</c>, ids in <c>error.@Message.ExtendedInfo[].MessageId</c>.</summary>
    Ilo,

    /// <summary>iLO 4: as <see cref="Ilo"/> plus a top-level <c>Messages</c> array, ids spelt <c>MessageID</c>.</summary>
    Ilo4,

    /// <summary>DMTF: <c>error.code = Base.x.GeneralError</c> (or the first message id), <c>error.message</c>, <c>@Message.ExtendedInfo</c>.</summary>
    Dmtf,
}

/// <summary>
/// One vendor's Redfish behaviour as far as a power-on meets it: ids, reset types, registries, error bodies, session
/// limits and the web server's quirks. Sources per value are in docs/bmc.md ("Vendor profiles"); values that no public
/// document gives are marked there as assumptions.
/// </summary>
public sealed record VendorProfile
{
    public required string Key { get; init; }
    public required string Vendor { get; init; }
    public required string Product { get; init; }
    public required string Manufacturer { get; init; }
    public required string Model { get; init; }
    public required string ServiceRootName { get; init; }
    public required string RedfishVersion { get; init; }
    public required string SystemId { get; init; }
    public required IReadOnlyList<string> ResetTypes { get; init; }
    public bool UseActionInfo { get; init; }
    public bool TrailingSlashes { get; init; }

    /// <summary>A request without a trailing slash is answered <c>308</c> to the same path with one.</summary>
    public bool TrailingSlashRedirect { get; init; }

    /// <summary>False: no <c>SessionService</c>, no <c>Links.Sessions</c>; HTTP Basic only.</summary>
    public bool SessionService { get; init; } = true;

    public int MaxSessions { get; init; } = 4;
    public bool CaseInsensitiveUris { get; init; }
    public ChunkedBodyHandling ChunkedBodies { get; init; }
    public required string BaseRegistry { get; init; }

    /// <summary>Prefix of the vendor's own messages (<c>iLO.2.16</c>, <c>IDRAC.2.8</c>); the Base registry when it has none.</summary>
    public required string VendorRegistry { get; init; }

    public ErrorStyle Errors { get; init; } = ErrorStyle.Dmtf;

    /// <summary>The answer to <c>ResetType On</c> on a running system: status and message (without registry prefix), or 2xx for a no-op.</summary>
    public int OnWhileOnStatus { get; init; } = 400;
    public string OnWhileOnMessage { get; init; } = "InvalidOperationForSystemState";
    public bool OnWhileOnVendorMessage { get; init; } = true;

    /// <summary>The message (without registry) for a reset type the system does not offer.</summary>
    public string ResetTypeNotInList { get; init; } = "ActionParameterValueNotInList";

    public BootProgressStyle BootProgress { get; init; }
    public string AuthRealm { get; init; } = "Redfish";

    /// <summary>Seconds in <c>Retry-After</c> on 503 (busy, session table full).</summary>
    public int RetryAfterSeconds { get; init; } = 1;

    public string VendorMessage(string name) => $"{VendorRegistry}.{name}";
    public string BaseMessage(string name) => $"{BaseRegistry}.{name}";

    static readonly string[] Ilo4Resets = ["On", "ForceOff", "ForceRestart", "Nmi", "PushPowerButton"];
    static readonly string[] Ilo5Resets = ["On", "ForceOff", "GracefulShutdown", "ForceRestart", "Nmi", "PushPowerButton", "GracefulRestart"];

    static readonly VendorProfile Ilo5 = new()
    {
        Key = "ilo5", Vendor = "HPE", Product = "ProLiant DL380 Gen10", Manufacturer = "HPE", Model = "ProLiant DL380 Gen10",
        ServiceRootName = "HPE RESTful Root Service", RedfishVersion = "1.6.0", SystemId = "1", ResetTypes = Ilo5Resets,
        CaseInsensitiveUris = true, ChunkedBodies = ChunkedBodyHandling.ReadAsEmpty, BaseRegistry = "Base.1.4", VendorRegistry = "iLO.2.16",
        Errors = ErrorStyle.Ilo, BootProgress = BootProgressStyle.HpePostState, AuthRealm = "iLO", MaxSessions = 4,
    };

    /// <summary>Every profile by key; <c>ilo5</c> is the default.</summary>
    public static IReadOnlyDictionary<string, VendorProfile> All { get; } = new[]
    {
        Ilo5 with
        {
            Key = "ilo4", Product = "ProLiant DL380 Gen9", Model = "ProLiant DL380 Gen9", ServiceRootName = "HP RESTful Root Service",
            RedfishVersion = "1.0.0", ResetTypes = Ilo4Resets, TrailingSlashes = true, BaseRegistry = "Base.0.10", VendorRegistry = "iLO.0.10",
            Errors = ErrorStyle.Ilo4, Manufacturer = "HP", Vendor = "HP",
        },
        Ilo5,
        Ilo5 with { Key = "ilo5-early", TrailingSlashRedirect = true },
        Ilo5 with
        {
            Key = "ilo6", Product = "ProLiant DL380 Gen11", Model = "ProLiant DL380 Gen11", RedfishVersion = "1.13.0",
            BaseRegistry = "Base.1.10", VendorRegistry = "iLO.2.18",
        },
        new VendorProfile
        {
            Key = "idrac8", Vendor = "Dell", Product = "Integrated Dell Remote Access Controller", Manufacturer = "Dell Inc.",
            Model = "PowerEdge R730", ServiceRootName = "Root Service", RedfishVersion = "1.0.2", SystemId = "System.Embedded.1",
            ResetTypes = ["On", "ForceOff", "GracefulRestart", "GracefulShutdown", "PushPowerButton", "Nmi"],
            ChunkedBodies = ChunkedBodyHandling.LengthRequired, BaseRegistry = "Base.1.0", VendorRegistry = "IDRAC.1.6",
            OnWhileOnStatus = 409, OnWhileOnMessage = "PSU501", MaxSessions = 6, AuthRealm = "RedfishService",
            ResetTypeNotInList = "PropertyValueNotInList",
        },
        new VendorProfile
        {
            Key = "idrac9", Vendor = "Dell", Product = "Integrated Dell Remote Access Controller", Manufacturer = "Dell Inc.",
            Model = "PowerEdge R740xd", ServiceRootName = "Root Service", RedfishVersion = "1.11.0", SystemId = "System.Embedded.1",
            ResetTypes = ["On", "ForceOff", "ForceRestart", "GracefulShutdown", "PushPowerButton", "Nmi"],
            ChunkedBodies = ChunkedBodyHandling.LengthRequired, BaseRegistry = "Base.1.12", VendorRegistry = "IDRAC.2.8",
            OnWhileOnStatus = 409, OnWhileOnMessage = "PSU501", MaxSessions = 8, BootProgress = BootProgressStyle.DmtfBootProgress,
            AuthRealm = "RedfishService", ResetTypeNotInList = "PropertyValueNotInList",
        },
        new VendorProfile
        {
            Key = "xcc", Vendor = "Lenovo", Product = "ThinkSystem SR650", Manufacturer = "Lenovo", Model = "ThinkSystem SR650",
            ServiceRootName = "Root Service", RedfishVersion = "1.8.0", SystemId = "1",
            ResetTypes = ["On", "Nmi", "GracefulShutdown", "GracefulRestart", "ForceOn", "ForceOff", "ForceRestart"],
            ChunkedBodies = ChunkedBodyHandling.LengthRequired, BaseRegistry = "Base.1.8", VendorRegistry = "Base.1.8",
            OnWhileOnStatus = 400, OnWhileOnMessage = "ActionNotSupported", OnWhileOnVendorMessage = false, MaxSessions = 16,
        },
        new VendorProfile
        {
            Key = "supermicro", Vendor = "Supermicro", Product = "X12DPi", Manufacturer = "Supermicro", Model = "SYS-120U-TNR",
            ServiceRootName = "Root Service", RedfishVersion = "1.11.0", SystemId = "1",
            ResetTypes = ["On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "Nmi", "ForceOn"],
            UseActionInfo = true, ChunkedBodies = ChunkedBodyHandling.LengthRequired, BaseRegistry = "Base.1.10", VendorRegistry = "Base.1.10",
            OnWhileOnStatus = 409, OnWhileOnMessage = "OperationNotAllowed", OnWhileOnVendorMessage = false, MaxSessions = 4,
        },
        new VendorProfile
        {
            Key = "cimc", Vendor = "Cisco", Product = "UCS C220 M5", Manufacturer = "Cisco Systems Inc", Model = "UCSC-C220-M5SX",
            ServiceRootName = "Cisco RESTful Root Service", RedfishVersion = "1.2.0", SystemId = "WZP22350ABC",
            ResetTypes = ["On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "Nmi", "PowerCycle"],
            ChunkedBodies = ChunkedBodyHandling.ReadAsEmpty, BaseRegistry = "Base.1.4", VendorRegistry = "Base.1.4",
            OnWhileOnStatus = 400, OnWhileOnMessage = "ActionNotSupported", OnWhileOnVendorMessage = false, MaxSessions = 4,
        },
        new VendorProfile
        {
            Key = "minimal", Vendor = "Generic", Product = "Minimal Redfish service", Manufacturer = "Generic", Model = "Generic",
            ServiceRootName = "Root Service", RedfishVersion = "1.15.0", SystemId = "system",
            ResetTypes = ["On", "ForceOff", "ForceRestart", "GracefulRestart", "GracefulShutdown", "PowerCycle", "Nmi"],
            UseActionInfo = true, SessionService = false, ChunkedBodies = ChunkedBodyHandling.LengthRequired,
            BaseRegistry = "Base.1.13", VendorRegistry = "Base.1.13", OnWhileOnStatus = 204, OnWhileOnMessage = "Success",
            OnWhileOnVendorMessage = false, BootProgress = BootProgressStyle.DmtfBootProgress,
        },
    }.ToDictionary(p => p.Key, StringComparer.OrdinalIgnoreCase);

    public static VendorProfile Default => Ilo5;

    /// <summary>The named profile with the options' explicit settings laid over it.</summary>
    public static VendorProfile Resolve(SimulatedBmcOptions options)
    {
        var key = string.IsNullOrEmpty(options.Profile) ? Default.Key : options.Profile;
        if (!All.TryGetValue(key, out var profile))
            throw new ArgumentException($"unknown Redfish simulator profile '{options.Profile}' (known: {string.Join(", ", All.Keys)})");
        return profile with
        {
            SystemId = options.SystemId ?? profile.SystemId,
            ResetTypes = options.AllowableResetTypes ?? profile.ResetTypes,
            UseActionInfo = options.UseActionInfo ?? profile.UseActionInfo,
            TrailingSlashes = options.TrailingSlashes ?? profile.TrailingSlashes,
            TrailingSlashRedirect = options.TrailingSlashRedirect ?? profile.TrailingSlashRedirect,
            SessionService = options.SessionService ?? profile.SessionService,
            MaxSessions = options.MaxSessions ?? profile.MaxSessions,
            ChunkedBodies = options.ChunkedBodies ?? profile.ChunkedBodies,
            CaseInsensitiveUris = options.CaseInsensitiveUris ?? profile.CaseInsensitiveUris,
        };
    }
}
