using System.Collections.Concurrent;
using System.Net.Security;
using Microsoft.Extensions.Options;
using PowerEvents.Hosting;

namespace PowerEvents.IloActuator;

/// <summary>
/// One <see cref="HttpClient"/> per BMC. Each BMC needs its own TLS policy (its own pinned fingerprint), which is a
/// property of the primary handler, so clients are kept per host rather than taken from a shared factory.
/// </summary>
public sealed class BmcHttpClients(IOptions<BmcOptions> options) : IDisposable
{
    readonly ConcurrentDictionary<string, Entry> _clients = new(StringComparer.OrdinalIgnoreCase);

    public HttpClient For(BmcHostOptions host) => _clients.GetOrAdd(host.Name, _ => Create(host, options.Value)).Client;

    /// <summary>The SHA-256 fingerprint of the certificate the BMC last presented (to tell an operator what to pin).</summary>
    public string? LastSeenFingerprint(string host) => _clients.TryGetValue(host, out var entry) ? entry.LastFingerprint : null;

    static Entry Create(BmcHostOptions host, BmcOptions options)
    {
        var entry = new Entry();
        var handler = new SocketsHttpHandler
        {
            // The per-request timeout (which covers the connect) fires first; this only bounds a stray connect.
            ConnectTimeout = options.RequestTimeout * 2,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            // BMCs keep few connections; an idle one is closed before the BMC closes it under us.
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseCookies = false,
            AllowAutoRedirect = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = CertificatePinning.Callback(host.CertificateFingerprint,
                    seen => entry.LastFingerprint = CertificatePinning.WithColons(seen)),
            },
        };
        entry.Client = new HttpClient(handler)
        {
            BaseAddress = host.Url,
            // Per-request deadlines come from the resilience pipeline.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        entry.Client.DefaultRequestHeaders.Add("OData-Version", "4.0");
        entry.Client.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        return entry;
    }

    public void Dispose()
    {
        foreach (var entry in _clients.Values)
            entry.Client.Dispose();
    }

    sealed class Entry
    {
        public HttpClient Client { get; set; } = null!;
        public volatile string? LastFingerprint;
    }
}
