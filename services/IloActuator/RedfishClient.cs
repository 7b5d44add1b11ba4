using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Authentication;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using PowerEvents.Contracts;

namespace PowerEvents.IloActuator;

/// <summary>What one power-on came to, before it becomes an event.</summary>
public sealed record PowerOnResult(PowerOnOutcome Outcome, string Reason, string Method);

/// <summary>A change of boot stage the BMC reported while the host powered on.</summary>
/// <param name="Stage"><c>POST</c>, <c>booting OS</c> or <c>OS running</c>.</param>
/// <param name="BmcState">The property and its value, e.g. <c>Oem.Hpe.PostState InPost</c>.</param>
public sealed record BootProgress(string Stage, string BmcState);

/// <summary>
/// The project's own Redfish client, written against DMTF Redfish and the vendors' documentation (HPE iLO, Dell
/// iDRAC, Lenovo XCC, Supermicro, Cisco CIMC; docs/bmc.md): service root → Systems collection → ComputerSystem
/// (<c>PowerState</c>, <c>Actions/#ComputerSystem.Reset</c> target and its allowable reset types) → the reset that
/// powers on → poll until On. Authentication is a Redfish session (always deleted at the end, because BMC session
/// slots are few) or HTTP Basic; <see cref="BmcAuthMode.Auto"/> picks between them. Request bodies always carry a
/// <c>Content-Length</c> (embedded web servers refuse chunked ones); redirects are followed within the BMC's origin.
/// </summary>
public sealed class RedfishClient
{
    const int MaxRedirects = 5;
    static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

    /// <summary>Set on a login whose "session table full" answer must not be retried (Auto falls back to Basic instead).</summary>
    static readonly ResiliencePropertyKey<bool> SessionLimitIsFinal = new("PowerEvents.SessionLimitIsFinal");

    readonly BmcHttpClients _clients;
    readonly BmcOptions _options;
    readonly ILogger<RedfishClient> _logger;
    readonly TimeProvider _time;
    readonly ResiliencePipeline<HttpResponseMessage> _retrying;
    readonly ResiliencePipeline<HttpResponseMessage> _once;

    public RedfishClient(BmcHttpClients clients, IOptions<BmcOptions> options, ILogger<RedfishClient> logger, TimeProvider? time = null)
    {
        _clients = clients;
        _options = options.Value;
        _logger = logger;
        _time = time ?? TimeProvider.System;

        // Not Microsoft.Extensions.Http.Resilience's handler: what may be repeated is decided per call (a login POST may,
        // a ComputerSystem.Reset POST never), and every attempt is rebuilt with the session token of that moment.
        // Reads, logins and logouts are safe to repeat: retried on no answer, 5xx, 429 and "no free session" (503),
        // after the BMC's Retry-After where it sends one.
        _retrying = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(1, _options.RetryAttempts),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryBaseDelay,
                MaxDelay = MaxRetryAfter,
                ShouldHandle = async args => _options.RetryAttempts > 0 && IsTransient(args.Outcome)
                    && !(args.Context.Properties.GetValue(SessionLimitIsFinal, false) && await IsSessionLimitAsync(args.Outcome.Result)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result)),
                OnRetry = args =>
                {
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(_options.RequestTimeout)
            .Build();

        // The reset itself is sent once per attempt; whether to send it again is decided after re-reading the power state.
        _once = new ResiliencePipelineBuilder<HttpResponseMessage>().AddTimeout(_options.RequestTimeout).Build();
    }

    /// <summary>
    /// Powers the host on through its BMC and waits (until <see cref="BmcOptions.PowerOnTimeout"/>) for <c>PowerState: On</c>.
    /// <paramref name="progress"/> hears of each change of boot stage the BMC reports meanwhile (never throws into the power-on).
    /// </summary>
    public async Task<PowerOnResult> PowerOnAsync(BmcHostOptions host, CancellationToken cancellationToken,
        Func<BootProgress, CancellationToken, Task>? progress = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.PowerOnTimeout);
        var started = _time.GetTimestamp();
        string? lastState = null;
        BootProgress? lastProgress = null;
        var bmc = $"the BMC at {host.Url}";

        async Task ReportAsync(SystemInfo system)
        {
            if (system.BootProgress is not { } now || now == lastProgress)
                return;
            lastProgress = now;
            _logger.LogInformation("{Host}: boot progress {Stage} ({BmcState})", host.Name, now.Stage, now.BmcState);
            if (progress is null)
                return;
            try
            {
                await progress(now, deadline.Token);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Progress is for the timeline only: never worth failing a power-on for.
                _logger.LogWarning(ex, "{Host}: reporting boot progress failed", host.Name);
            }
        }

        await using var conversation = new Conversation(this, host);
        try
        {
            var system = await conversation.FindSystemAsync(deadline.Token);
            lastState = system.PowerState;
            if (system.PowerState == "On")
                return new PowerOnResult(PowerOnOutcome.AlreadyOn,
                    $"{host.Name}: {bmc} reports PowerState On for {system.Uri.AbsolutePath}; nothing was done ({conversation.Authentication})", "redfish");

            var resetType = "none";
            if (system.PowerState != "PoweringOn")
            {
                var allowed = system.AllowableResetTypes ?? await conversation.ReadActionInfoAsync(system, deadline.Token);
                resetType = ChooseResetType(allowed, system.PowerState)
                    ?? throw new RedfishException(
                        $"{host.Name}: {bmc} offers no reset type that powers {system.Uri.AbsolutePath} on (it allows {string.Join(", ", allowed!)}; " +
                        $"usable: On, ForceOn, or PushPowerButton while Off; PowerState {system.PowerState ?? "not reported"}); nothing was sent");

                var reset = await conversation.ResetAsync(system, resetType, deadline.Token);
                if (reset.Answer == ResetAnswer.AlreadyOn)
                    return new PowerOnResult(PowerOnOutcome.AlreadyOn,
                        $"{host.Name}: {bmc} refused {resetType} because the system is already on ({reset.BmcAnswer}); PowerState On ({conversation.Authentication})", "redfish");
            }

            _logger.LogInformation("{Host}: power-on accepted by the BMC ({ResetType}), waiting for PowerState On", host.Name, resetType);
            while (true)
            {
                await Task.Delay(_options.PollInterval, deadline.Token);
                SystemInfo now;
                try
                {
                    now = await conversation.ReadSystemAsync(system.Uri, deadline.Token);
                }
                catch (Exception ex) when (IsReadFailure(ex) && !deadline.IsCancellationRequested)
                {
                    // A BMC busy with the boot may miss a read; only the deadline ends the wait.
                    _logger.LogWarning("{Host}: reading PowerState failed while waiting ({Error}); still waiting", host.Name, ex.Message);
                    continue;
                }
                lastState = now.PowerState;
                await ReportAsync(now);
                if (lastState == "On")
                    return new PowerOnResult(PowerOnOutcome.PoweredOn,
                        $"{host.Name}: powered on through {bmc} (ComputerSystem.Reset {resetType} on {system.Uri.AbsolutePath}); PowerState On after " +
                        $"{_time.GetElapsedTime(started).TotalSeconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)} s" +
                        (lastProgress is null ? "" : $", boot progress: {lastProgress.Stage} ({lastProgress.BmcState})") +
                        $" ({conversation.Authentication})", "redfish");
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Failed(host, $"{host.Name}: {bmc} did not report PowerState On within {_options.PowerOnTimeout} " +
                $"(last PowerState: {lastState ?? "never read"}{(lastProgress is null ? "" : $"; boot progress: {lastProgress.Stage}, {lastProgress.BmcState}")}" +
                $"{(conversation.LastAnswer is { } answer ? $"; last answer: {answer}" : "")})");
        }
        catch (Exception ex) when (IsReadFailure(ex))
        {
            var reason = Describe(host, ex);
            return Failed(host, conversation.Authentication is { Length: > 0 } auth && !reason.Contains(auth, StringComparison.Ordinal) ? $"{reason} ({auth})" : reason);
        }
    }

    /// <summary>
    /// The reset type that powers an off system on, from what the BMC advertises: <c>On</c>, else <c>ForceOn</c>, else
    /// <c>PushPowerButton</c> but only while the system is Off (on a running system it would switch it off).
    /// Nothing advertised: <c>On</c>, which every vendor documents.
    /// </summary>
    public static string? ChooseResetType(IReadOnlyList<string>? allowed, string? powerState)
    {
        if (allowed is null)
            return "On";
        if (allowed.Contains("On", StringComparer.Ordinal))
            return "On";
        if (allowed.Contains("ForceOn", StringComparer.Ordinal))
            return "ForceOn";
        if (allowed.Contains("PushPowerButton", StringComparer.Ordinal) && powerState == "Off")
            return "PushPowerButton";
        return null;
    }

    /// <summary>Reads <c>PowerState</c> (with the configured credentials, so it also proves they work).</summary>
    public async Task<string> ReadPowerStateAsync(BmcHostOptions host, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.PowerOnTimeout);
        await using var conversation = new Conversation(this, host);
        try
        {
            return (await conversation.FindSystemAsync(deadline.Token)).PowerState ?? "Unknown";
        }
        catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new RedfishException($"{host.Name}: the BMC at {host.Url} did not answer within {_options.PowerOnTimeout}", inner: ex);
        }
    }

    /// <summary>The operator-facing reason of a failure: names the host and the BMC, never a credential.</summary>
    public string Describe(BmcHostOptions host, Exception ex) => ex switch
    {
        RedfishException redfish => redfish.Message,
        HttpRequestException { InnerException: AuthenticationException } =>
            $"{host.Name}: the TLS certificate of the BMC at {host.Url} was not accepted " +
            (host.CertificateFingerprint is { Length: > 0 }
                ? $"(it does not match the pinned fingerprint; the BMC presented {_clients.LastSeenFingerprint(host.Name) ?? "none"})"
                : $"(not trusted; if it is the BMC's own self-signed certificate, pin its SHA-256 fingerprint {_clients.LastSeenFingerprint(host.Name) ?? ""} in CertificateFingerprint)"),
        HttpRequestException http => $"{host.Name}: the BMC at {host.Url} is not reachable: {http.Message}",
        TimeoutRejectedException => $"{host.Name}: the BMC at {host.Url} did not answer within {_options.RequestTimeout} (after {_options.RetryAttempts} retries where safe)",
        JsonException json => $"{host.Name}: the BMC at {host.Url} sent a body that is not Redfish JSON: {json.Message}",
        _ => $"{host.Name}: the BMC at {host.Url}: {ex.Message}",
    };

    PowerOnResult Failed(BmcHostOptions host, string reason)
    {
        _logger.LogWarning("{Host}: power-on through the BMC failed: {Reason}", host.Name, reason);
        return new PowerOnResult(PowerOnOutcome.Failed, reason, "redfish");
    }

    public static bool IsReadFailure(Exception ex) =>
        ex is RedfishException or HttpRequestException or TimeoutRejectedException or JsonException;

    static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException { InnerException: AuthenticationException } } => false,
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        { Result: { } response } => response.StatusCode is HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway
            or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout or HttpStatusCode.TooManyRequests,
        _ => false,
    };

    static async ValueTask<bool> IsSessionLimitAsync(HttpResponseMessage? response)
    {
        if (response is not { StatusCode: HttpStatusCode.ServiceUnavailable })
            return false;
        // The body is buffered (HttpClient reads it before returning), so reading it here leaves it for the caller.
        var ids = RedfishException.ParseMessageIds(await response.Content.ReadAsStringAsync());
        return IsSessionLimit(ids);
    }

    static bool IsSessionLimit(IReadOnlyList<string> ids) =>
        RedfishException.HasMessage(ids, "SessionLimitExceeded") || RedfishException.HasMessage(ids, "CreateLimitReachedForResource");

    /// <summary>The BMC's <c>Retry-After</c> (seconds or a date), at most a minute; null to back off exponentially.</summary>
    TimeSpan? RetryAfter(HttpResponseMessage? response)
    {
        var header = response?.Headers.RetryAfter;
        var delay = header?.Delta ?? (header?.Date is { } date ? date - _time.GetUtcNow() : null);
        if (delay is not { } wait)
            return null;
        return wait < TimeSpan.Zero ? TimeSpan.Zero : wait > MaxRetryAfter ? MaxRetryAfter : wait;
    }

    // Redfish property names are PascalCase and case-sensitive: no web naming policy.
    static readonly JsonSerializerOptions RedfishJson = new();

    enum ResetAnswer { Accepted, AlreadyOn }

    sealed record ResetResult(ResetAnswer Answer, string BmcAnswer);

    sealed record SystemInfo(Uri Uri, string? PowerState, Uri ResetTarget, IReadOnlyList<string>? AllowableResetTypes, Uri? ActionInfo, BootProgress? BootProgress);

    /// <summary>The boot stage from HPE's <c>Oem.Hpe.PostState</c> (<c>Oem.Hp</c> on iLO 4) or DMTF's <c>BootProgress.LastState</c>.</summary>
    static BootProgress? ReadBootProgress(JsonElement system)
    {
        if (system.TryGetProperty("Oem", out var oem) && oem.ValueKind == JsonValueKind.Object)
            foreach (var vendor in new[] { "Hpe", "Hp" })
                if (oem.TryGetProperty(vendor, out var hpe) && hpe.ValueKind == JsonValueKind.Object
                    && hpe.TryGetProperty("PostState", out var post) && post.ValueKind == JsonValueKind.String)
                {
                    var value = post.GetString()!;
                    var stage = value switch
                    {
                        "InPost" or "InPostDiscoveryComplete" => "POST",
                        "FinishedPost" => "booting OS",
                        _ => null,
                    };
                    return stage is null ? null : new BootProgress(stage, $"Oem.{vendor}.PostState {value}");
                }

        if (system.TryGetProperty("BootProgress", out var progress) && progress.ValueKind == JsonValueKind.Object
            && progress.TryGetProperty("LastState", out var last) && last.ValueKind == JsonValueKind.String)
        {
            var value = last.GetString()!;
            var stage = value switch
            {
                "OSBootStarted" => "booting OS",
                "OSRunning" => "OS running",
                "None" => null,
                _ when value.EndsWith("Started", StringComparison.Ordinal) || value.EndsWith("Complete", StringComparison.Ordinal)
                    || value is "SetupEntered" or "OEM" => "POST",
                _ => null,
            };
            return stage is null ? null : new BootProgress(stage, $"BootProgress.LastState {value}");
        }
        return null;
    }

    /// <summary>One exchange with one BMC: its authentication (a session, deleted on dispose, or Basic) and its requests.</summary>
    sealed class Conversation(RedfishClient owner, BmcHostOptions host) : IAsyncDisposable
    {
        readonly HttpClient _http = owner._clients.For(host);
        bool _basic = host.AuthMode == BmcAuthMode.Basic;
        string? _token;
        Uri? _session;
        Uri? _sessions;

        Uri Base => host.Url!;

        /// <summary>Which authentication is in use and why, for the reason (e.g. "HTTP Basic: the service root offers no sessions").</summary>
        public string Authentication { get; private set; } = "";

        /// <summary>The BMC's last non-success answer (status and message ids), for a reason that ends at the deadline.</summary>
        public string? LastAnswer { get; private set; }

        public async Task<SystemInfo> FindSystemAsync(CancellationToken cancellationToken)
        {
            // The service root needs no authentication and names the collections (DMTF: Systems, Links.Sessions).
            using var root = await GetJsonAsync(new Uri(Base, "/redfish/v1/"), authenticate: false, cancellationToken);
            var systemsUri = ODataId(root.RootElement, "Systems") ?? new Uri(Base, "/redfish/v1/Systems");
            var sessionsUri = root.RootElement.TryGetProperty("Links", out var links) ? ODataId(links, "Sessions") : null;
            var hasSessionService = sessionsUri is not null || ODataId(root.RootElement, "SessionService") is not null;
            await AuthenticateAsync(sessionsUri ?? (hasSessionService ? new Uri(Base, "/redfish/v1/SessionService/Sessions") : null), cancellationToken);

            using var collection = await GetJsonAsync(systemsUri, authenticate: true, cancellationToken);
            var members = collection.RootElement.TryGetProperty("Members", out var array) && array.ValueKind == JsonValueKind.Array
                ? array.EnumerateArray().Select(m => ODataId(m)).OfType<Uri>().ToList()
                : [];
            Uri system;
            if (host.SystemId is { Length: > 0 } id)
            {
                system = members.FirstOrDefault(m => LastSegment(m) == id)
                    ?? members.FirstOrDefault(m => string.Equals(LastSegment(m), id, StringComparison.OrdinalIgnoreCase))
                    ?? throw new RedfishException($"{host.Name}: the BMC at {host.Url} has no system '{id}' (members: {string.Join(", ", members.Select(LastSegment))})");
            }
            else
            {
                // The id differs by vendor (iLO, XCC, Supermicro "1"; iDRAC "System.Embedded.1"; CIMC the serial number): discovered.
                system = members.Count switch
                {
                    1 => members[0],
                    0 => throw new RedfishException($"{host.Name}: the BMC at {host.Url} lists no computer system under {systemsUri.AbsolutePath}"),
                    _ => throw new RedfishException($"{host.Name}: the BMC at {host.Url} lists several systems ({string.Join(", ", members.Select(LastSegment))}); set SystemId"),
                };
            }
            return await ReadSystemAsync(system, cancellationToken);
        }

        /// <summary>
        /// Session or Basic, as configured; <see cref="BmcAuthMode.Auto"/>: a session where the service root offers
        /// one, Basic where it does not or where the session table is full.
        /// </summary>
        async Task AuthenticateAsync(Uri? sessions, CancellationToken cancellationToken)
        {
            switch (host.AuthMode)
            {
                case BmcAuthMode.Basic:
                    Authentication = "authentication: HTTP Basic, as configured";
                    return;
                case BmcAuthMode.Session when sessions is null:
                    throw new RedfishException(
                        $"{host.Name}: the BMC at {host.Url} offers no SessionService (no Links.Sessions in its service root), so AuthMode Session " +
                        "cannot log in; set AuthMode Auto or Basic for this host");
                case BmcAuthMode.Session:
                    await LoginAsync(sessions, sessionLimitIsFinal: false, cancellationToken);
                    Authentication = "authentication: a Redfish session, as configured";
                    return;
            }

            if (sessions is null)
            {
                _basic = true;
                Authentication = "authentication: HTTP Basic, because the service root offers no sessions (no Links.Sessions)";
                owner._logger.LogInformation("{Host}: the BMC offers no Redfish sessions; using HTTP Basic", host.Name);
                return;
            }
            try
            {
                await LoginAsync(sessions, sessionLimitIsFinal: true, cancellationToken);
                Authentication = "authentication: a Redfish session";
            }
            catch (RedfishException ex) when (IsSessionLimit(ex.MessageIds))
            {
                // Basic needs no session slot; a BMC that refuses it answers 401 next, and the reason says both.
                _basic = true;
                Authentication = $"authentication: HTTP Basic, because the BMC's session table is full ({(int)ex.Status!} {string.Join(", ", ex.MessageIds)})";
                owner._logger.LogWarning("{Host}: the BMC has no free session ({Ids}); using HTTP Basic", host.Name, string.Join(", ", ex.MessageIds));
            }
        }

        public async Task<SystemInfo> ReadSystemAsync(Uri system, CancellationToken cancellationToken)
        {
            using var document = await GetJsonAsync(system, authenticate: true, cancellationToken);
            var root = document.RootElement;
            var state = root.TryGetProperty("PowerState", out var power) && power.ValueKind == JsonValueKind.String ? power.GetString() : null;

            // The action target comes from the resource (iLO 4 adds a trailing slash); the DMTF path is the fallback.
            var target = new Uri(system.AbsoluteUri.TrimEnd('/') + "/Actions/ComputerSystem.Reset");
            IReadOnlyList<string>? allowable = null;
            Uri? actionInfo = null;
            if (root.TryGetProperty("Actions", out var actions) && actions.TryGetProperty("#ComputerSystem.Reset", out var reset))
            {
                if (reset.TryGetProperty("target", out var t) && t.ValueKind == JsonValueKind.String)
                    target = new Uri(Base, t.GetString()!);
                if (reset.TryGetProperty("ResetType@Redfish.AllowableValues", out var values) && values.ValueKind == JsonValueKind.Array)
                    allowable = values.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!).ToList();
                if (reset.TryGetProperty("@Redfish.ActionInfo", out var info) && info.ValueKind == JsonValueKind.String)
                    actionInfo = new Uri(Base, info.GetString()!);
            }
            return new SystemInfo(system, state, target, allowable, actionInfo, ReadBootProgress(root));
        }

        /// <summary>The allowed reset types from the action's ActionInfo resource (DMTF's other way to advertise them), if any.</summary>
        public async Task<IReadOnlyList<string>?> ReadActionInfoAsync(SystemInfo system, CancellationToken cancellationToken)
        {
            if (system.ActionInfo is null)
                return null;
            try
            {
                using var document = await GetJsonAsync(system.ActionInfo, authenticate: true, cancellationToken);
                if (!document.RootElement.TryGetProperty("Parameters", out var parameters) || parameters.ValueKind != JsonValueKind.Array)
                    return null;
                foreach (var parameter in parameters.EnumerateArray())
                    if (parameter.TryGetProperty("Name", out var name) && name.ValueEquals("ResetType")
                        && parameter.TryGetProperty("AllowableValues", out var values) && values.ValueKind == JsonValueKind.Array)
                        return values.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!).ToList();
                return null;
            }
            catch (Exception ex) when (ex is RedfishException or JsonException)
            {
                // Advisory only: without it On is sent and the BMC itself refuses a type it does not support.
                owner._logger.LogWarning("{Host}: could not read {ActionInfo} ({Error}); sending the reset anyway", host.Name, system.ActionInfo, ex.Message);
                return null;
            }
        }

        public async Task<ResetResult> ResetAsync(SystemInfo system, string resetType, CancellationToken cancellationToken)
        {
            var attempts = owner._options.RetryAttempts + 1;
            for (var attempt = 1; ; attempt++)
            {
                Exception? failure;
                try
                {
                    using var response = await SendAsync(HttpMethod.Post, system.ResetTarget, new { ResetType = resetType }, authenticate: true, retry: false, cancellationToken);
                    if (response.IsSuccessStatusCode)
                    {
                        owner._logger.LogInformation("{Host}: ComputerSystem.Reset {ResetType} accepted ({Status})", host.Name, resetType, (int)response.StatusCode);
                        return new ResetResult(ResetAnswer.Accepted, $"{(int)response.StatusCode}");
                    }

                    var body = await response.Content.ReadAsStringAsync(cancellationToken);
                    var ids = RedfishException.ParseMessageIds(body);
                    var answer = $"{(int)response.StatusCode} {response.ReasonPhrase}{FormatIds(ids)}";
                    // "On" for a running system: iLO 400 InvalidOperationForSystemState, iDRAC 409 PSU501, others a 400/409
                    // with a Base message. Whatever the wording, the power state decides.
                    if (response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Conflict)
                    {
                        var state = (await ReadSystemAsync(system.Uri, cancellationToken)).PowerState;
                        if (state == "On")
                            return new ResetResult(ResetAnswer.AlreadyOn, answer);
                        if (state == "PoweringOn")
                            return new ResetResult(ResetAnswer.Accepted, answer);
                    }

                    failure = Error(HttpMethod.Post, system.ResetTarget, response, ids);
                    if (!IsTransient(Outcome.FromResult(response)))
                        throw failure;
                }
                catch (Exception ex) when (ex is HttpRequestException { InnerException: not AuthenticationException } or TimeoutRejectedException)
                {
                    failure = ex;
                }

                // The reset may have reached the BMC even without an answer: look before sending it again.
                var now = (await ReadSystemAsync(system.Uri, cancellationToken)).PowerState;
                if (now is "On" or "PoweringOn")
                    return new ResetResult(ResetAnswer.Accepted, failure.Message);
                if (attempt >= attempts)
                    throw failure;
                owner._logger.LogWarning("{Host}: ComputerSystem.Reset attempt {Attempt} failed ({Error}); PowerState {State}, trying again",
                    host.Name, attempt, failure.Message, now);
                await Task.Delay(owner._options.RetryBaseDelay * attempt, cancellationToken);
            }
        }

        async Task LoginAsync(Uri sessions, bool sessionLimitIsFinal, CancellationToken cancellationToken)
        {
            _sessions = sessions;
            var credentials = new { UserName = host.Username, Password = host.Password };
            using var response = await SendAsync(HttpMethod.Post, sessions, credentials, authenticate: false, retry: true, cancellationToken,
                sessionLimitIsFinal: sessionLimitIsFinal);
            if (!response.IsSuccessStatusCode)
            {
                var ids = RedfishException.ParseMessageIds(await response.Content.ReadAsStringAsync(cancellationToken));
                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                    // Not retried: iLO delays every further login after a failed one (iLO.2.x.LoginAttemptDelayed).
                    throw new RedfishException(
                        $"{host.Name}: the BMC at {host.Url} rejected the credentials of user '{host.Username}' " +
                        $"({(int)response.StatusCode}{FormatIds(ids)} to POST {sessions.AbsolutePath}); check Bmc:Hosts password for this host",
                        response.StatusCode, ids);
                if (IsSessionLimit(ids))
                    throw new RedfishException(
                        $"{host.Name}: the BMC at {host.Url} has no free session ({(int)response.StatusCode}{FormatIds(ids)}) after " +
                        $"{owner._options.RetryAttempts} retries; other clients hold all of its sessions until they log out or time out " +
                        "(AuthMode Auto would use HTTP Basic instead)",
                        response.StatusCode, ids);
                throw Error(HttpMethod.Post, sessions, response, ids);
            }

            _token = response.Headers.TryGetValues("X-Auth-Token", out var tokens) ? tokens.FirstOrDefault() : null;
            if (string.IsNullOrEmpty(_token))
                throw new RedfishException($"{host.Name}: the BMC at {host.Url} created a session but sent no X-Auth-Token");
            _session = response.Headers.Location is { } location ? new Uri(Base, location) : null;
            if (_session is null)
            {
                using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                _session = ODataId(document.RootElement);
            }
            if (_session is not null && !SameOrigin(_session))
            {
                // Never send the token elsewhere to delete it: the session then times out on the BMC.
                owner._logger.LogWarning("{Host}: the BMC named a session location at another origin ({Location}); it will not be deleted", host.Name, _session.GetLeftPart(UriPartial.Authority));
                _session = null;
            }
            owner._logger.LogDebug("{Host}: Redfish session opened", host.Name);
        }

        /// <summary>Logs out. Always attempted, with its own short deadline, also after a failure or a missed deadline.</summary>
        public async ValueTask DisposeAsync()
        {
            if (_token is null || _session is null)
                return;
            using var timeout = new CancellationTokenSource(owner._options.RequestTimeout * 2);
            try
            {
                using var response = await SendAsync(HttpMethod.Delete, _session, null, authenticate: true, retry: true, timeout.Token, relogin: false);
                if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound)
                    owner._logger.LogWarning("{Host}: logging out of the BMC answered {Status}; the session stays until the BMC's session timeout",
                        host.Name, (int)response.StatusCode);
            }
            catch (Exception ex) when (IsReadFailure(ex) || ex is OperationCanceledException)
            {
                owner._logger.LogWarning("{Host}: logging out of the BMC failed ({Error}); the session stays until the BMC's session timeout",
                    host.Name, ex.Message);
            }
            finally
            {
                _token = null;
            }
        }

        async Task<JsonDocument> GetJsonAsync(Uri uri, bool authenticate, CancellationToken cancellationToken)
        {
            using var response = await SendAsync(HttpMethod.Get, uri, null, authenticate, retry: true, cancellationToken);
            if (!response.IsSuccessStatusCode)
                throw Error(HttpMethod.Get, uri, response, RedfishException.ParseMessageIds(await response.Content.ReadAsStringAsync(cancellationToken)));
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            return await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
        }

        async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, object? body, bool authenticate, bool retry,
            CancellationToken cancellationToken, bool relogin = true, bool sessionLimitIsFinal = false)
        {
            var response = await FollowAsync(method, uri, body, authenticate, retry, sessionLimitIsFinal, cancellationToken);

            // A session can end under us (BMC session timeout, iLO reset, an administrator): log in again once.
            if (response.StatusCode == HttpStatusCode.Unauthorized && authenticate && relogin && !_basic && _token is not null && _sessions is not null)
            {
                response.Dispose();
                owner._logger.LogInformation("{Host}: the BMC no longer knows our session; logging in again", host.Name);
                _token = null;
                _session = null;
                await LoginAsync(_sessions, sessionLimitIsFinal: false, cancellationToken);
                response = await FollowAsync(method, uri, body, authenticate, retry, sessionLimitIsFinal, cancellationToken);
            }
            if (!response.IsSuccessStatusCode)
                LastAnswer = $"{(int)response.StatusCode} {response.ReasonPhrase} to {method} {uri.AbsolutePath}";
            return response;
        }

        /// <summary>
        /// Sends the request and follows 301/302/307/308 within the BMC's origin (scheme, host, port), rebuilding the
        /// request each time so that body and authentication go along (a trailing-slash redirect of a login or reset
        /// must keep its method and body). A redirect to another origin is refused: the credentials stay with the BMC.
        /// </summary>
        async Task<HttpResponseMessage> FollowAsync(HttpMethod method, Uri uri, object? body, bool authenticate, bool retry,
            bool sessionLimitIsFinal, CancellationToken cancellationToken)
        {
            var pipeline = retry ? owner._retrying : owner._once;
            var content = body is null ? null : JsonSerializer.SerializeToUtf8Bytes(body, RedfishJson);
            var target = uri;
            for (var hop = 0; ; hop++)
            {
                var context = ResilienceContextPool.Shared.Get(cancellationToken);
                context.Properties.Set(SessionLimitIsFinal, sessionLimitIsFinal);
                HttpResponseMessage response;
                try
                {
                    var request = target;
                    response = await pipeline.ExecuteAsync(
                        async (ctx, state) => await state._http.SendAsync(state.Build(method, request, content, authenticate), ctx.CancellationToken),
                        context, this);
                }
                finally
                {
                    ResilienceContextPool.Shared.Return(context);
                }

                if (response.StatusCode is not (HttpStatusCode.MovedPermanently or HttpStatusCode.Found
                    or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect))
                    return response;

                var status = $"{(int)response.StatusCode} {response.ReasonPhrase}";
                var location = response.Headers.Location;
                response.Dispose();
                if (location is null)
                    throw new RedfishException($"{host.Name}: the BMC at {host.Url} answered {status} to {method} {target.AbsolutePath} without a Location");
                var next = new Uri(target, location);
                if (!SameOrigin(next))
                    throw new RedfishException(
                        $"{host.Name}: the BMC at {host.Url} redirected {method} {target.AbsolutePath} to another origin ({status} to " +
                        $"{next.GetLeftPart(UriPartial.Path)}); refused, so that credentials never leave the BMC. If that is the BMC's " +
                        "real address, set Bmc:Hosts Url to it");
                if (hop >= MaxRedirects)
                    throw new RedfishException($"{host.Name}: the BMC at {host.Url} redirected {method} {uri.AbsolutePath} more than {MaxRedirects} times (last {status} to {next.AbsolutePath})");
                owner._logger.LogDebug("{Host}: {Method} {Path} redirected ({Status}) to {Next}", host.Name, method, target.AbsolutePath, status, next.AbsolutePath);
                target = next;
            }
        }

        bool SameOrigin(Uri uri) =>
            Uri.Compare(uri, Base, UriComponents.SchemeAndServer, UriFormat.SafeUnescaped, StringComparison.OrdinalIgnoreCase) == 0;

        /// <summary>A fresh request (a sent one cannot be sent again); the body as bytes, so it goes with Content-Length and never chunked.</summary>
        HttpRequestMessage Build(HttpMethod method, Uri uri, byte[]? body, bool authenticate)
        {
            var request = new HttpRequestMessage(method, uri);
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            }
            if (authenticate)
            {
                if (_basic)
                    request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{host.Username}:{host.Password}")));
                else if (_token is not null)
                    request.Headers.Add("X-Auth-Token", _token);
            }
            return request;
        }

        RedfishException Error(HttpMethod method, Uri uri, HttpResponseMessage response, IReadOnlyList<string> ids)
        {
            var what = response.StatusCode == HttpStatusCode.Unauthorized
                ? $"; the BMC refused the credentials of user '{host.Username}'{(_basic ? " with HTTP Basic" : "")}"
                : "";
            return new RedfishException(
                $"{host.Name}: the BMC at {host.Url} answered {(int)response.StatusCode} {response.ReasonPhrase} to {method} {uri.AbsolutePath}{FormatIds(ids)}{what}",
                response.StatusCode, ids);
        }

        static string FormatIds(IReadOnlyList<string> ids) => ids.Count == 0 ? "" : $" {string.Join(", ", ids)}";

        Uri? ODataId(JsonElement element, string? property = null)
        {
            if (property is not null && !element.TryGetProperty(property, out element))
                return null;
            return element.ValueKind == JsonValueKind.Object && element.TryGetProperty("@odata.id", out var id) && id.ValueKind == JsonValueKind.String
                ? new Uri(Base, id.GetString()!)
                : null;
        }

        static string LastSegment(Uri uri) => uri.AbsolutePath.TrimEnd('/').Split('/')[^1];
    }
}
