using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using System.Xml.Linq;
using Microsoft.Extensions.Options;

using PowerEvents.Hosting;

namespace PowerEvents.VCenterActuator.Vim;

/// <summary>
/// One vCenter session over SOAP: logs in on first use, sends the <c>vmware_soap_session</c> cookie with every
/// call, logs in again once when vCenter answers <c>NotAuthenticated</c> (an expired or terminated session),
/// and logs out on dispose. At most <see cref="VCenterOptions.MaxConcurrentCalls"/> calls are in flight, plus the
/// session's one <c>WaitForUpdatesEx</c> long poll (<see cref="PropertyWatcher"/>).
/// </summary>
public sealed class VimConnection : IAsyncDisposable
{
    const string CookieName = "vmware_soap_session";
    static readonly MoRef ServiceInstance = new("ServiceInstance", "ServiceInstance");

    readonly VCenterOptions _options;
    readonly ILogger<VimConnection> _logger;
    readonly HttpClient _http;
    readonly SemaphoreSlim _inFlight;
    readonly SemaphoreSlim _loginLock = new(1, 1);
    readonly Uri _url;
    readonly CancellationTokenSource _lifetime = new();
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _calls = new(StringComparer.Ordinal);

    string? _pin;
    ServiceContent? _content;
    string? _cookie;
    string _soapAction = "urn:vim25/6.5";
    int _sessionGeneration;
    long _roundTrips;
    int _logins;
    int _inFlightNow;
    int _inFlightPeak;

    public VimConnection(IOptions<VCenterOptions> options, ILogger<VimConnection> logger)
        : this(options.Value, logger, handler: null)
    {
    }

    /// <summary>With <paramref name="handler"/> in place of the pinned HTTPS handler: for unit tests of the SOAP logic only.</summary>
    internal VimConnection(VCenterOptions options, ILogger<VimConnection> logger, HttpMessageHandler? handler)
    {
        _options = options;
        _logger = logger;
        _url = _options.Url ?? throw new InvalidOperationException($"{VCenterOptions.Section}:Url: required");
        _inFlight = new SemaphoreSlim(_options.MaxConcurrentCalls, _options.MaxConcurrentCalls);
        _http = new HttpClient(handler ?? CreateHandler(_options), disposeHandler: true) { Timeout = _options.RequestTimeout };
    }

    /// <summary>Cancelled when the connection is disposed: background work on this session (the update stream) stops.</summary>
    public CancellationToken Stopping => _lifetime.Token;

    /// <summary>Counts logins: session-scoped objects (collectors, views, filters) made before a change are gone.</summary>
    public int SessionGeneration => Volatile.Read(ref _sessionGeneration);

    /// <summary>SOAP requests sent so far for one method (e.g. <c>RetrievePropertiesEx</c>).</summary>
    public long Calls(string method) => _calls.GetValueOrDefault(method);

    /// <summary>The configured SOAP endpoint.</summary>
    public Uri Url => _url;

    /// <summary>SOAP requests sent so far (every HTTP round trip, logins included).</summary>
    public long RoundTrips => Interlocked.Read(ref _roundTrips);

    /// <summary>The most calls that were ever in flight at once (never above <see cref="VCenterOptions.MaxConcurrentCalls"/>).</summary>
    public int InFlightPeak => Volatile.Read(ref _inFlightPeak);

    /// <summary>Successful logins so far: 1 for a session that never expired.</summary>
    public int Logins => Volatile.Read(ref _logins);

    /// <summary>The current session's key (vCenter's <c>UserSession.key</c>), null before the first login.</summary>
    public string? SessionKey { get; private set; }

    /// <summary>The service content (root folder, property collector, …), read once.</summary>
    public async Task<ServiceContent> ContentAsync(CancellationToken ct)
    {
        if (_content is not null)
            return _content;
        var response = await SendAsync("RetrieveServiceContent", ServiceInstance, [], cookie: null, ct);
        var content = ServiceContent.Parse(response);
        if (content.ApiVersion.Length > 0)
            _soapAction = $"urn:vim25/{content.ApiVersion}";
        return _content = content;
    }

    /// <summary>Calls a method in the session, logging in first (or again, once, if the session was lost).</summary>
    public Task<XElement> InvokeAsync(string method, MoRef @this, IReadOnlyList<XElement> arguments, CancellationToken ct) =>
        InvokeAsync(method, @this, arguments, longPoll: false, ct);

    /// <summary>
    /// As above; a <paramref name="longPoll"/> call (the session's one <c>WaitForUpdatesEx</c>) does not take one of the
    /// <see cref="VCenterOptions.MaxConcurrentCalls"/> slots, which are for calls that answer at once.
    /// </summary>
    public async Task<XElement> InvokeAsync(string method, MoRef @this, IReadOnlyList<XElement> arguments, bool longPoll, CancellationToken ct)
    {
        var generation = await EnsureLoggedInAsync(ct);
        try
        {
            return await SendAsync(method, @this, arguments, _cookie, ct, longPoll: longPoll);
        }
        catch (VCenterException ex) when (ex.FaultName == VCenterException.NotAuthenticated)
        {
            _logger.LogInformation("vCenter session is no longer valid ({Method}); logging in again", method);
            await LoginAsync(generation, ct);
            return await SendAsync(method, @this, arguments, _cookie, ct, longPoll: longPoll);
        }
    }

    /// <summary>
    /// Calls a method of vCenter's vSAN management service (<c>/vsan</c> beside <c>/sdk</c>, namespace <c>urn:vsan</c>) in this
    /// session; its answer's elements are in <c>urn:vsan</c>.
    /// </summary>
    public async Task<XElement> InvokeVsanAsync(string method, MoRef @this, IReadOnlyList<XElement> arguments, CancellationToken ct)
    {
        var generation = await EnsureLoggedInAsync(ct);
        try
        {
            return await SendAsync(method, @this, arguments, _cookie, ct, vsan: true);
        }
        catch (VCenterException ex) when (ex.FaultName == VCenterException.NotAuthenticated)
        {
            await LoginAsync(generation, ct);
            return await SendAsync(method, @this, arguments, _cookie, ct, vsan: true);
        }
    }

    /// <summary>Whether a login with the configured credentials is accepted now (a new session replaces any old one).</summary>
    public async Task LoginNowAsync(CancellationToken ct) => await LoginAsync(Volatile.Read(ref _sessionGeneration), ct, force: true);

    async Task<int> EnsureLoggedInAsync(CancellationToken ct)
    {
        var generation = Volatile.Read(ref _sessionGeneration);
        if (_cookie is not null)
            return generation;
        await LoginAsync(generation, ct);
        return Volatile.Read(ref _sessionGeneration);
    }

    /// <summary>Logs in unless another caller already replaced the session <paramref name="staleGeneration"/> stood for.</summary>
    async Task LoginAsync(int staleGeneration, CancellationToken ct, bool force = false)
    {
        await _loginLock.WaitAsync(ct);
        try
        {
            if (!force && _cookie is not null && _sessionGeneration != staleGeneration)
                return;

            var content = await ContentAsync(ct);
            _cookie = null;
            // Without a cookie: vCenter refuses Login inside a session that is still valid.
            var response = await SendAsync("Login", content.SessionManager,
                [Soap.El("userName", _options.Username), Soap.El("password", _options.Password)], cookie: null, ct,
                onResponse: response => _cookie = SessionCookie(response));
            if (_cookie is null)
                throw new VCenterException("InvalidResponse", "vCenter accepted the login but set no vmware_soap_session cookie");

            SessionKey = Soap.Text(response.Element(Soap.Vim + "returnval") ?? response, "key");
            Interlocked.Increment(ref _sessionGeneration);
            Interlocked.Increment(ref _logins);
            _logger.LogInformation("Logged in to vCenter {Url} as {User}", _url, _options.Username);
        }
        finally
        {
            _loginLock.Release();
        }
    }

    /// <summary>Ends the session (best effort: a vCenter that is gone cannot be told).</summary>
    public async Task LogoutAsync(CancellationToken ct)
    {
        if (_cookie is null || _content is null)
            return;
        try
        {
            await SendAsync("Logout", _content.SessionManager, [], _cookie, ct);
            _logger.LogInformation("Logged out of vCenter {Url}", _url);
        }
        catch (VCenterException ex)
        {
            _logger.LogWarning("Logout from vCenter failed: {Fault}: {Message}", ex.FaultName, ex.Message);
        }
        catch (OperationCanceledException)
        {
            _logger.LogWarning("Logout from vCenter did not finish before the service stopped");
        }
        finally
        {
            _cookie = null;
            SessionKey = null;
        }
    }

    async Task<XElement> SendAsync(string method, MoRef @this, IReadOnlyList<XElement> arguments, string? cookie,
        CancellationToken ct, Action<HttpResponseMessage>? onResponse = null, bool longPoll = false, bool vsan = false)
    {
        _calls.AddOrUpdate(method, 1, (_, n) => n + 1);
        var document = Soap.Request(method, @this, arguments);
        if (vsan)
        {
            // The vSAN service's elements are in its own namespace, arguments included.
            foreach (var element in document.Descendants().Where(e => e.Name.Namespace == Soap.Vim).ToList())
                element.Name = Soap.Vsan + element.Name.LocalName;
        }
        var body = document.ToString(SaveOptions.DisableFormatting);
        using var request = new HttpRequestMessage(HttpMethod.Post, vsan ? new Uri(_url, "/vsan") : _url)
        {
            Content = new StringContent(body, Encoding.UTF8, "text/xml"),
        };
        request.Headers.TryAddWithoutValidation("SOAPAction", vsan ? "urn:vsan/" + (_content?.ApiVersion ?? "") : _soapAction);
        if (cookie is not null)
            request.Headers.TryAddWithoutValidation("Cookie", $"{CookieName}={cookie}");

        if (!longPoll)
            await _inFlight.WaitAsync(ct);
        string text;
        HttpStatusCode status;
        try
        {
            Interlocked.Increment(ref _roundTrips);
            if (!longPoll)
            {
                var now = Interlocked.Increment(ref _inFlightNow);
                for (var peak = _inFlightPeak; now > peak; peak = _inFlightPeak)
                    Interlocked.CompareExchange(ref _inFlightPeak, now, peak);
            }
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
            status = response.StatusCode;
            text = await response.Content.ReadAsStringAsync(ct);
            if (response.IsSuccessStatusCode)
                onResponse?.Invoke(response);
        }
        catch (HttpRequestException ex) when (IsCertificateFailure(ex))
        {
            throw new VCenterException(VCenterException.CertificateRejected,
                $"vCenter's TLS certificate was rejected ({(_pin is null ? "it does not validate and no fingerprint is pinned" : "it does not match the pinned fingerprint")}): {_url.Host}", inner: ex);
        }
        catch (HttpRequestException ex)
        {
            throw new VCenterException(VCenterException.Unreachable, $"vCenter {_url.Host} did not answer {method}: {ex.Message}", isTransient: true, ex);
        }
        catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw new VCenterException(VCenterException.Timeout, $"vCenter {_url.Host} did not answer {method} within {_http.Timeout}", isTransient: true, ex);
        }
        finally
        {
            if (!longPoll)
            {
                Interlocked.Decrement(ref _inFlightNow);
                _inFlight.Release();
            }
        }

        return ParseResponse(method, status, text, vsan ? Soap.Vsan : Soap.Vim);
    }

    XElement ParseResponse(string method, HttpStatusCode status, string text, XNamespace ns)
    {
        XDocument document;
        try
        {
            document = XDocument.Parse(text);
        }
        catch (System.Xml.XmlException)
        {
            // Not SOAP: a proxy or a vCenter that is starting or stopping (503).
            var transient = status is HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout or HttpStatusCode.TooManyRequests;
            throw new VCenterException(transient ? VCenterException.Unreachable : "InvalidResponse",
                $"vCenter answered {method} with HTTP {(int)status} and no SOAP body", transient);
        }

        var body = document.Root?.Element(Soap.Envelope + "Body")
            ?? throw new VCenterException("InvalidResponse", $"vCenter answered {method} without a SOAP body");
        var fault = body.Element(Soap.Envelope + "Fault");
        if (fault is not null)
        {
            var detail = fault.Element("detail")?.Elements().FirstOrDefault();
            var exception = Soap.Fault(detail, (string?)fault.Element("faultstring") ?? "");
            _logger.LogDebug("{Method} faulted: {Fault}: {Message}", method, exception.FaultName, exception.Message);
            throw exception;
        }

        var result = body.Element(ns + $"{method}Response")
            ?? throw new VCenterException("InvalidResponse", $"vCenter answered {method} without {method}Response");
        ThrowIfPropertiesNeedASession(result);
        return result;
    }

    /// <summary>
    /// Without a valid session some servers (vcsim among them) answer RetrievePropertiesEx with each property in
    /// missingSet faulted NotAuthenticated instead of a fault; treat that as the fault it stands for.
    /// </summary>
    static void ThrowIfPropertiesNeedASession(XElement result)
    {
        var missing = result.Descendants(Soap.Vim + "missingSet").FirstOrDefault();
        var fault = missing?.Element(Soap.Vim + "fault")?.Element(Soap.Vim + "fault");
        if (fault is not null && Soap.XsiType(fault) == VCenterException.NotAuthenticated)
            throw new VCenterException(VCenterException.NotAuthenticated, "The session is not authenticated.");
    }

    static string? SessionCookie(HttpResponseMessage response) =>
        (response.Headers.TryGetValues("Set-Cookie", out var values) ? values : [])
            .Select(c => c.Split(';', 2)[0].Split('=', 2))
            .Where(pair => pair.Length == 2 && pair[0].Trim() == CookieName)
            .Select(pair => pair[1].Trim()) // verbatim: vCenter quotes the value and expects it back quoted
            .FirstOrDefault();

    static bool IsCertificateFailure(HttpRequestException ex) =>
        ex.InnerException is AuthenticationException || ex.HttpRequestError == HttpRequestError.SecureConnectionError;

    SocketsHttpHandler CreateHandler(VCenterOptions options)
    {
        _pin = CertificatePinning.Normalize(options.CertificateFingerprint);
        if (_pin is null && !string.IsNullOrWhiteSpace(options.CertificateFingerprint))
            throw new InvalidOperationException($"{VCenterOptions.Section}:{nameof(VCenterOptions.CertificateFingerprint)}: must be 64 hex digits (SHA-256)");
        return new SocketsHttpHandler
        {
            UseCookies = false, // the session cookie is ours to manage: one per session, dropped on re-login
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(Math.Min(15, options.RequestTimeout.TotalSeconds)),
            MaxConnectionsPerServer = options.MaxConcurrentCalls + 1, // + the update stream's long poll
            AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = CertificatePinning.Callback(_pin),
            },
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _lifetime.CancelAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await LogoutAsync(cts.Token);
        _http.Dispose();
        _inFlight.Dispose();
        _loginLock.Dispose();
        _lifetime.Dispose();
    }
}
