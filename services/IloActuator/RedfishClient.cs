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

/// <summary>
/// The project's own Redfish client, written against DMTF Redfish and HPE's iLO documentation: service root →
/// Systems collection → ComputerSystem (<c>PowerState</c>, <c>Actions/#ComputerSystem.Reset</c> target and
/// <c>ResetType@Redfish.AllowableValues</c>) → reset On → poll until On. Authentication is a Redfish session
/// (always deleted at the end, because iLO's session slots are few) or HTTP Basic.
/// </summary>
public sealed class RedfishClient
{
    readonly BmcHttpClients _clients;
    readonly BmcOptions _options;
    readonly ILogger<RedfishClient> _logger;
    readonly ResiliencePipeline<HttpResponseMessage> _retrying;
    readonly ResiliencePipeline<HttpResponseMessage> _once;

    public RedfishClient(BmcHttpClients clients, IOptions<BmcOptions> options, ILogger<RedfishClient> logger)
    {
        _clients = clients;
        _options = options.Value;
        _logger = logger;

        // Reads, logins and logouts are safe to repeat: retried on no answer, 5xx and "no free session" (503).
        _retrying = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(1, _options.RetryAttempts),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryBaseDelay,
                MaxDelay = TimeSpan.FromSeconds(30),
                ShouldHandle = args => ValueTask.FromResult(_options.RetryAttempts > 0 && IsTransient(args.Outcome)),
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

    /// <summary>Powers the host on through its BMC and waits (until <see cref="BmcOptions.PowerOnTimeout"/>) for <c>PowerState: On</c>.</summary>
    public async Task<PowerOnResult> PowerOnAsync(BmcHostOptions host, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.PowerOnTimeout);
        var clock = Stopwatch.StartNew();
        string? lastState = null;

        await using var conversation = new Conversation(this, host);
        try
        {
            var system = await conversation.FindSystemAsync(deadline.Token);
            lastState = system.PowerState;
            if (system.PowerState == "On")
                return new PowerOnResult(PowerOnOutcome.AlreadyOn, $"{host.Name}: the BMC reports PowerState On; nothing was done", "redfish");

            if (system.PowerState != "PoweringOn")
            {
                var allowedTypes = system.AllowableResetTypes ?? await conversation.ReadActionInfoAsync(system, deadline.Token);
                if (allowedTypes is { } allowed && !allowed.Contains("On", StringComparer.Ordinal))
                    throw new RedfishException(
                        $"{host.Name}: the BMC does not offer ResetType On for {system.Uri} (it allows {string.Join(", ", allowed)})");

                var reset = await conversation.ResetOnAsync(system, deadline.Token);
                if (reset == ResetAnswer.AlreadyOn)
                    return new PowerOnResult(PowerOnOutcome.AlreadyOn,
                        $"{host.Name}: the BMC refused On because the system is already on (InvalidOperationForSystemState); PowerState On", "redfish");
            }

            _logger.LogInformation("{Host}: power-on accepted by the BMC, waiting for PowerState On", host.Name);
            while (true)
            {
                await Task.Delay(_options.PollInterval, deadline.Token);
                try
                {
                    lastState = (await conversation.ReadSystemAsync(system.Uri, deadline.Token)).PowerState;
                }
                catch (Exception ex) when (IsReadFailure(ex) && !deadline.IsCancellationRequested)
                {
                    // A BMC busy with the boot may miss a read; only the deadline ends the wait.
                    _logger.LogWarning("{Host}: reading PowerState failed while waiting ({Error}); still waiting", host.Name, ex.Message);
                    continue;
                }
                if (lastState == "On")
                    return new PowerOnResult(PowerOnOutcome.PoweredOn,
                        $"{host.Name}: powered on through the BMC; PowerState On after {clock.Elapsed.TotalSeconds:F1} s", "redfish");
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Failed(host, $"the BMC did not report PowerState On within {_options.PowerOnTimeout} (last PowerState: {lastState ?? "never read"})");
        }
        catch (Exception ex) when (IsReadFailure(ex))
        {
            return Failed(host, Describe(host, ex));
        }
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
            throw new RedfishException($"{host.Name}: the BMC did not answer within {_options.PowerOnTimeout}", inner: ex);
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
        _ => $"{host.Name}: {ex.Message}",
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
            or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout,
        _ => false,
    };

    static TimeSpan? RetryAfter(HttpResponseMessage? response) =>
        response?.Headers.RetryAfter?.Delta is { } delta && delta <= TimeSpan.FromSeconds(30) ? delta : null;

    // Redfish property names are PascalCase and case-sensitive: no web naming policy.
    static readonly JsonSerializerOptions RedfishJson = new();

    enum ResetAnswer { Accepted, AlreadyOn }

    sealed record SystemInfo(Uri Uri, string? PowerState, Uri ResetTarget, IReadOnlyList<string>? AllowableResetTypes, Uri? ActionInfo);

    /// <summary>One exchange with one BMC: its authentication (a session, deleted on dispose) and its requests.</summary>
    sealed class Conversation(RedfishClient owner, BmcHostOptions host) : IAsyncDisposable
    {
        readonly HttpClient _http = owner._clients.For(host);
        string? _token;
        Uri? _session;
        Uri? _sessions;

        Uri Base => host.Url!;

        public async Task<SystemInfo> FindSystemAsync(CancellationToken cancellationToken)
        {
            // The service root needs no authentication and names the collections (DMTF: Systems, Links.Sessions).
            using var root = await GetJsonAsync(new Uri(Base, "/redfish/v1/"), authenticate: false, cancellationToken);
            var systemsUri = ODataId(root.RootElement, "Systems") ?? new Uri(Base, "/redfish/v1/Systems");
            var sessionsUri = root.RootElement.TryGetProperty("Links", out var links) ? ODataId(links, "Sessions") : null;
            if (host.AuthMode == BmcAuthMode.Session)
                await LoginAsync(sessionsUri ?? new Uri(Base, "/redfish/v1/SessionService/Sessions"), cancellationToken);

            using var collection = await GetJsonAsync(systemsUri, authenticate: true, cancellationToken);
            var members = collection.RootElement.TryGetProperty("Members", out var array) && array.ValueKind == JsonValueKind.Array
                ? array.EnumerateArray().Select(m => ODataId(m)).OfType<Uri>().ToList()
                : [];
            Uri system;
            if (host.SystemId is { Length: > 0 } id)
            {
                system = members.FirstOrDefault(m => LastSegment(m) == id)
                    ?? throw new RedfishException($"{host.Name}: the BMC at {host.Url} has no system '{id}' (members: {string.Join(", ", members.Select(LastSegment))})");
            }
            else
            {
                system = members.Count switch
                {
                    1 => members[0],
                    0 => throw new RedfishException($"{host.Name}: the BMC at {host.Url} lists no computer system under {systemsUri.AbsolutePath}"),
                    _ => throw new RedfishException($"{host.Name}: the BMC at {host.Url} lists several systems ({string.Join(", ", members.Select(LastSegment))}); set SystemId"),
                };
            }
            return await ReadSystemAsync(system, cancellationToken);
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
            return new SystemInfo(system, state, target, allowable, actionInfo);
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
                // Advisory only: without it the reset is sent and the BMC itself refuses a type it does not support.
                owner._logger.LogWarning("{Host}: could not read {ActionInfo} ({Error}); sending the reset anyway", host.Name, system.ActionInfo, ex.Message);
                return null;
            }
        }

        public async Task<ResetAnswer> ResetOnAsync(SystemInfo system, CancellationToken cancellationToken)
        {
            var attempts = owner._options.RetryAttempts + 1;
            for (var attempt = 1; ; attempt++)
            {
                Exception? failure;
                try
                {
                    using var response = await SendAsync(HttpMethod.Post, system.ResetTarget, new { ResetType = "On" }, authenticate: true, retry: false, cancellationToken);
                    if (response.IsSuccessStatusCode)
                    {
                        owner._logger.LogInformation("{Host}: ComputerSystem.Reset On accepted ({Status})", host.Name, (int)response.StatusCode);
                        return ResetAnswer.Accepted;
                    }

                    var body = await response.Content.ReadAsStringAsync(cancellationToken);
                    var ids = RedfishException.ParseMessageIds(body);
                    // iLO answers 400 iLO.2.x.InvalidOperationForSystemState ("Power is on") to On on a running server.
                    if (RedfishException.HasMessage(ids, "InvalidOperationForSystemState") || response.StatusCode == HttpStatusCode.Conflict)
                    {
                        var state = (await ReadSystemAsync(system.Uri, cancellationToken)).PowerState;
                        if (state == "On")
                            return ResetAnswer.AlreadyOn;
                        if (state == "PoweringOn")
                            return ResetAnswer.Accepted;
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
                    return ResetAnswer.Accepted;
                if (attempt >= attempts)
                    throw failure;
                owner._logger.LogWarning("{Host}: ComputerSystem.Reset attempt {Attempt} failed ({Error}); PowerState {State}, trying again",
                    host.Name, attempt, failure.Message, now);
                await Task.Delay(owner._options.RetryBaseDelay * attempt, cancellationToken);
            }
        }

        async Task LoginAsync(Uri sessions, CancellationToken cancellationToken)
        {
            _sessions = sessions;
            var credentials = new { UserName = host.Username, Password = host.Password };
            using var response = await SendAsync(HttpMethod.Post, sessions, credentials, authenticate: false, retry: true, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var ids = RedfishException.ParseMessageIds(await response.Content.ReadAsStringAsync(cancellationToken));
                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                    // Not retried: iLO delays every further login after a failed one (iLO.2.x.LoginAttemptDelayed).
                    throw new RedfishException(
                        $"{host.Name}: the BMC at {host.Url} rejected the credentials of user '{host.Username}' " +
                        $"({(int)response.StatusCode}{FormatIds(ids)}); check Bmc:Hosts password for this host",
                        response.StatusCode, ids);
                if (RedfishException.HasMessage(ids, "SessionLimitExceeded") || RedfishException.HasMessage(ids, "CreateLimitReachedForResource"))
                    throw new RedfishException(
                        $"{host.Name}: the BMC at {host.Url} has no free session ({(int)response.StatusCode}{FormatIds(ids)}) after " +
                        $"{owner._options.RetryAttempts} retries; other clients hold all of its sessions until they log out or time out",
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
            CancellationToken cancellationToken, bool relogin = true)
        {
            var pipeline = retry ? owner._retrying : owner._once;
            var response = await pipeline.ExecuteAsync(async token => await _http.SendAsync(Build(method, uri, body, authenticate), token), cancellationToken);

            // A session can end under us (BMC session timeout, iLO reset, an administrator): log in again once.
            if (response.StatusCode == HttpStatusCode.Unauthorized && authenticate && relogin && _token is not null && _sessions is not null)
            {
                response.Dispose();
                owner._logger.LogInformation("{Host}: the BMC no longer knows our session; logging in again", host.Name);
                _token = null;
                _session = null;
                await LoginAsync(_sessions, cancellationToken);
                response = await pipeline.ExecuteAsync(async token => await _http.SendAsync(Build(method, uri, body, authenticate), token), cancellationToken);
            }
            return response;
        }

        HttpRequestMessage Build(HttpMethod method, Uri uri, object? body, bool authenticate)
        {
            var request = new HttpRequestMessage(method, uri);
            if (body is not null)
                request.Content = JsonContent.Create(body, options: RedfishJson);
            if (authenticate)
            {
                if (host.AuthMode == BmcAuthMode.Basic)
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
                ? $"; the BMC refused the credentials of user '{host.Username}'"
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
