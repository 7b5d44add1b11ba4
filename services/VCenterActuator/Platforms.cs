using Microsoft.Extensions.Options;
using PowerEvents.VCenterActuator.Vim;

namespace PowerEvents.VCenterActuator;

/// <summary>
/// Where each protected cluster lives, from <c>VCenter:Clusters</c>: on the default vCenter (<c>VCenter:Url</c>, every cluster
/// not named), on another vCenter (<c>VCenter:VCenters:&lt;name&gt;</c>), or as a set of standalone ESXi hosts. The saga's
/// commands carry the cluster's name; the steps ask here for the client that reaches it. One session per vCenter.
/// </summary>
public sealed class Platforms : IAsyncDisposable
{
    readonly VCenterOptions _options;
    readonly IVCenterClient? _default;
    readonly Dictionary<string, (VimConnection Connection, VCenterClient Client)> _vcenters = new(StringComparer.OrdinalIgnoreCase);
    readonly Dictionary<string, StandaloneCluster> _standalone = new(StringComparer.OrdinalIgnoreCase);

    public Platforms(IOptions<VCenterOptions> options, IServiceProvider services, EsxiHosts esxi, TimeProvider clock, ILoggerFactory loggers)
        : this(options.Value, options.Value.Url is null ? null : services.GetRequiredService<IVCenterClient>(), esxi, clock, loggers)
    {
    }

    /// <param name="defaultClient">The default vCenter's client (<c>VCenter:Url</c>); null when there is none.</param>
    internal Platforms(VCenterOptions options, IVCenterClient? defaultClient, EsxiHosts esxi, TimeProvider clock, ILoggerFactory loggers)
    {
        _options = options;
        _default = defaultClient;
        foreach (var (name, vcenter) in options.VCenters)
        {
            var vcenterOptions = Options.Create(options.ForVCenter(vcenter));
            var connection = new VimConnection(vcenterOptions, loggers.CreateLogger<VimConnection>());
            _vcenters[name] = (connection, new VCenterClient(connection, vcenterOptions, loggers.CreateLogger<VCenterClient>()));
        }
        foreach (var (name, cluster) in options.Clusters.Where(c => c.Value.Hosts.Count > 0))
            _standalone[name] = new StandaloneCluster(name, cluster.Hosts, esxi, clock, options.PollInterval);
    }

    /// <summary>The vCenters by name, the default first: what the preflight logs in to.</summary>
    public IEnumerable<(string Name, VCenterOptions Options)> VCenters =>
        (_options.Url is null ? [] : new[] { (_options.PlatformName, _options) })
            .Concat(_options.VCenters.Select(v => (v.Key, _options.ForVCenter(v.Value))));

    /// <summary>The standalone clusters.</summary>
    public IEnumerable<StandaloneCluster> Standalone => _standalone.Values;

    /// <summary>The clusters configured on a vCenter (<c>VCenter:Clusters:&lt;c&gt;:VCenter</c>); empty when none is named there.</summary>
    public IReadOnlyList<string> ClustersOn(string vcenter) =>
        [.. _options.Clusters.Where(c => string.Equals(c.Value.VCenter, vcenter, StringComparison.OrdinalIgnoreCase)).Select(c => c.Key)];

    /// <summary>The name of the platform a cluster lives on.</summary>
    public string PlatformOf(string cluster) =>
        _options.Clusters.TryGetValue(cluster, out var configured)
            ? configured.Hosts.Count > 0 ? cluster : configured.VCenter
            : _options.PlatformName;

    /// <summary>The client that reaches the cluster; NotFound (a step's failure, never a crash) when no platform has it.</summary>
    public IVCenterClient For(string cluster)
    {
        if (_options.Clusters.TryGetValue(cluster, out var configured))
        {
            if (_standalone.TryGetValue(cluster, out var standalone))
                return standalone;
            if (_vcenters.TryGetValue(configured.VCenter, out var vcenter))
                return vcenter.Client;
        }
        return _default ?? throw new VCenterException(VCenterException.NotFound,
            $"No platform is configured for cluster '{cluster}' (VCenter:Clusters:{cluster}:VCenter or :Hosts, or a default VCenter:Url)");
    }

    /// <summary>A vCenter's session client by platform name (the default's or a <c>VCenter:VCenters</c> key); null if unknown.</summary>
    public IVCenterClient? VCenter(string name) =>
        _vcenters.TryGetValue(name, out var vcenter) ? vcenter.Client
        : string.Equals(name, _options.PlatformName, StringComparison.OrdinalIgnoreCase) ? _default : null;

    /// <summary>One client for every cluster: tests of the steps against one vCenter.</summary>
    internal static Platforms Single(IVCenterClient client, VCenterOptions options, EsxiHosts esxi, TimeProvider clock) =>
        new(options, client, esxi, clock, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

    public async ValueTask DisposeAsync()
    {
        foreach (var (connection, _) in _vcenters.Values)
            await connection.DisposeAsync();
    }
}
