using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using PowerEvents.VCenterActuator.Vim;

namespace PowerEvents.VCenterActuator;

/// <summary>
/// Sessions with ESXi hosts' own APIs (<c>https://&lt;host&gt;/sdk</c>), one per configured host, made on first use: for the
/// host that runs vCenter's VM, which vCenter cannot finish or start once its VM is off. Same TLS rules as vCenter's
/// (chain validation, or the host's pinned fingerprint).
/// </summary>
public sealed class EsxiHosts(IOptions<VCenterOptions> options, ILoggerFactory loggers) : IAsyncDisposable
{
    /// <summary>A host's own managed object id on its API.</summary>
    public const string HostId = "ha-host";

    /// <summary>The fault of a host with no user or password configured.</summary>
    public const string NoCredentials = "NoCredentials";

    readonly VCenterOptions _options = options.Value;
    readonly ConcurrentDictionary<string, Lazy<(VimConnection Connection, VCenterClient Client)>> _hosts = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The host's API client; <see cref="NoCredentials"/> (naming the host, never a secret) when it is not configured.</summary>
    public VCenterClient Client(string host) => Session(host).Client;

    public VimConnection Connection(string host) => Session(host).Connection;

    (VimConnection Connection, VCenterClient Client) Session(string host)
    {
        if (!_options.Hosts.TryGetValue(host, out var configured) || configured.Username.Length == 0 || configured.Password.Length == 0)
            throw new VCenterException(NoCredentials,
                $"No user and password are configured for ESXi host {host} ({VCenterOptions.Section}:Hosts:{host}:Username and Password or Password_FILE)");
        return _hosts.GetOrAdd(host, name => new Lazy<(VimConnection, VCenterClient)>(() =>
        {
            var hostOptions = Options.Create(_options.ForHost(name, configured));
            var connection = new VimConnection(hostOptions, loggers.CreateLogger<VimConnection>());
            return (connection, new VCenterClient(connection, hostOptions, loggers.CreateLogger<VCenterClient>()));
        })).Value;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var session in _hosts.Values.Where(s => s.IsValueCreated))
            await session.Value.Connection.DisposeAsync();
    }
}
