using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.VCenterActuator.Vim;

namespace PowerEvents.VCenterActuator;

/// <summary>
/// Preflight of every platform, read-only, each in a session of its own that is logged out again: per vCenter a login and
/// the inventory of its protected clusters (kind <c>vcenter</c>); per standalone cluster the inventory through its hosts' own
/// APIs (kind <c>standalone</c>); per configured ESXi host a direct login and a read of the host (kind <c>esxi</c>), a refusal
/// told apart as lockdown mode or a wrong password. Every inventory read also publishes <see cref="ClusterObserved"/>.
/// Each result names the protected clusters its target serves (from <c>VCenter:Clusters</c>, else from the clusters and hosts
/// the last inventory reads found), so that the Notifier can tell a failure PowerEvents caused by powering a cluster off.
/// </summary>
public sealed class VSpherePreflight(
    IOptions<VCenterOptions> options,
    Platforms platforms,
    IBus bus,
    TimeProvider clock,
    ILoggerFactory loggers) : IPreflightCheck
{
    public const string VCenterKind = "vcenter";
    public const string EsxiKind = "esxi";
    public const string StandaloneKind = "standalone";

    // What the inventory reads found, kept for when the target no longer answers (that is when it matters): vCenter → its
    // clusters, host → its cluster. Lost on a restart: until the next read, only VCenter:Clusters names them.
    readonly ConcurrentDictionary<string, IReadOnlyList<string>> _clustersOfVCenter = new(StringComparer.OrdinalIgnoreCase);
    readonly ConcurrentDictionary<string, string> _clusterOfHost = new(StringComparer.OrdinalIgnoreCase);

    public IEnumerable<PreflightProbe> Probes() =>
        platforms.VCenters.Select(v => new PreflightProbe(VCenterKind, v.Name, token => VCenterAsync(v.Name, v.Options, token), ClustersOfVCenter(v.Name)))
            .Concat(platforms.Standalone.Select(c => new PreflightProbe(StandaloneKind, c.Name, token => StandaloneAsync(c, token), [c.Name])))
            .Concat(options.Value.Hosts.Keys.Select(h => new PreflightProbe(EsxiKind, h, token => EsxiAsync(h, token), ClustersOfHost(h))));

    /// <summary>The protected clusters a vCenter serves: those configured on it, else those its last inventory read found.</summary>
    public IReadOnlyList<string> ClustersOfVCenter(string vcenter) =>
        platforms.ClustersOn(vcenter) is { Count: > 0 } configured ? configured : _clustersOfVCenter.GetValueOrDefault(vcenter) ?? [];

    /// <summary>The cluster an ESXi host belongs to: its standalone cluster as configured, else the cluster an inventory read found it in.</summary>
    public IReadOnlyList<string> ClustersOfHost(string host)
    {
        var standalone = platforms.Standalone.FirstOrDefault(c => c.Hosts.Contains(host, StringComparer.OrdinalIgnoreCase));
        return standalone is not null ? [standalone.Name] : _clusterOfHost.TryGetValue(host, out var cluster) ? [cluster] : [];
    }

    async Task<PreflightOutcome?> VCenterAsync(string name, VCenterOptions vcenter, CancellationToken ct)
    {
        await using var connection = new VimConnection(Options.Create(vcenter), loggers.CreateLogger<VimConnection>());
        var client = new VCenterClient(connection, Options.Create(vcenter), loggers.CreateLogger<VCenterClient>());
        try
        {
            await connection.LoginNowAsync(ct);
            // Clusters named for this vCenter; none named (the single-vCenter configuration): every cluster it has.
            var clusters = platforms.ClustersOn(name) is { Count: > 0 } configured ? configured : await client.ListClusterNamesAsync(ct);
            var read = new List<string>();
            var missing = new List<string>();
            foreach (var cluster in clusters)
            {
                try
                {
                    var inventory = await client.GetClusterInventoryAsync(cluster, ct);
                    Remember(cluster, inventory);
                    await PublishAsync(cluster, name, inventory, ct);
                    read.Add($"{cluster} ({inventory.Hosts.Count} hosts, {inventory.Vms.Count} VMs)");
                }
                catch (VCenterException ex) when (ex.FaultName == VCenterException.NotFound)
                {
                    missing.Add(cluster);
                }
            }
            _clustersOfVCenter[name] = [.. clusters.Except(missing, StringComparer.OrdinalIgnoreCase)];
            var what = $"logged in to {vcenter.Url!.Host} as {vcenter.Username}; read {(read.Count == 0 ? "no cluster" : string.Join(", ", read))}";
            return missing.Count == 0
                ? PreflightOutcome.Passed(what)
                : PreflightOutcome.Failed($"{what}; vCenter has no cluster named {string.Join(", ", missing)} (VCenter:Clusters)");
        }
        catch (VCenterException ex)
        {
            return PreflightOutcome.Failed(ex.FaultName switch
            {
                VCenterException.InvalidLogin => $"vCenter {vcenter.Url!.Host} refused the configured user {vcenter.Username} and password",
                VCenterException.CertificateRejected => ex.Message,
                _ => $"vCenter {vcenter.Url!.Host}: {ex.FaultName}: {ex.Message}",
            });
        }
    }

    async Task<PreflightOutcome?> StandaloneAsync(StandaloneCluster configured, CancellationToken ct)
    {
        // Sessions of this check's own, logged out when it ends; the steps' sessions are left alone.
        await using var esxi = new EsxiHosts(options, loggers);
        var cluster = new StandaloneCluster(configured.Name, configured.Hosts, esxi, clock, options.Value.PollInterval);
        try
        {
            var inventory = await cluster.GetClusterInventoryAsync(configured.Name, ct);
            await PublishAsync(configured.Name, configured.Name, inventory, ct);
            var down = inventory.Hosts.Where(h => h.ConnectionState != VimStates.Connected).Select(h => h.Name).ToList();
            var what = $"read {inventory.Hosts.Count} standalone hosts, {inventory.Vms.Count} VMs through their own APIs";
            return down.Count == 0 ? PreflightOutcome.Passed(what) : PreflightOutcome.Failed($"{what}; not answering: {string.Join(", ", down)}");
        }
        catch (VCenterException ex)
        {
            return PreflightOutcome.Failed($"{ex.FaultName}: {ex.Message}");
        }
    }

    async Task<PreflightOutcome?> EsxiAsync(string host, CancellationToken ct)
    {
        var configured = options.Value.Hosts[host];
        if (configured.Username.Length == 0 || configured.Password.Length == 0)
            return PreflightOutcome.Failed($"no user and password configured ({VCenterOptions.Section}:Hosts:{host}:Username and Password or Password_FILE)");
        var hostOptions = Options.Create(options.Value.ForHost(host, configured));
        await using var connection = new VimConnection(hostOptions, loggers.CreateLogger<VimConnection>());
        var client = new VCenterClient(connection, hostOptions, loggers.CreateLogger<VCenterClient>());
        try
        {
            await connection.LoginNowAsync(ct);
            var self = await client.GetHostAsync(EsxiHosts.HostId, ct);
            return PreflightOutcome.Passed($"logged in to ESXi host {host} as {configured.Username}; {self.PowerState}, maintenance mode {(self.InMaintenanceMode ? "on" : "off")}");
        }
        catch (VCenterException ex) when (ex.FaultName == VCenterException.InvalidLogin)
        {
            return await LockdownModeAsync(host, ct) is { } lockdown and ("lockdownNormal" or "lockdownStrict")
                ? PreflightOutcome.Failed($"lockdown mode ({lockdown}): ESXi host {host} refuses direct logins; add {configured.Username} to its exception users or disable lockdown mode")
                : PreflightOutcome.Failed($"wrong user or password: ESXi host {host} refused {configured.Username} and the configured password");
        }
        catch (VCenterException ex)
        {
            return PreflightOutcome.Failed($"ESXi host {host}: {ex.FaultName}: {AsEsxi(ex.Message)}");
        }
    }

    /// <summary>The host's lockdown mode as a vCenter that manages it says (a direct login cannot tell); null when none says.</summary>
    async Task<string?> LockdownModeAsync(string host, CancellationToken ct)
    {
        foreach (var (_, vcenter) in platforms.VCenters)
        {
            await using var connection = new VimConnection(Options.Create(vcenter), loggers.CreateLogger<VimConnection>());
            try
            {
                var hosts = await new VCenterClient(connection, Options.Create(vcenter)).ListAllHostsAsync(ct);
                if (hosts.FirstOrDefault(h => string.Equals(h.Name, host, StringComparison.OrdinalIgnoreCase)) is { } found)
                    return found.LockdownMode;
            }
            catch (VCenterException)
            {
                // That vCenter does not answer: ask the next.
            }
        }
        return null;
    }

    /// <summary>The SOAP client is shared with vCenter and words its faults as vCenter's: here the peer is the host's own API.</summary>
    public static string AsEsxi(string message) =>
        Regex.Replace(Regex.Replace(message, @"^vCenter (?<address>[^\s:]*[.\d][^\s:]*(:\d+)?) ", "its own API at ${address} "), @"^vCenter\b", "the host");

    void Remember(string cluster, ClusterInventory inventory)
    {
        foreach (var host in inventory.Hosts)
            _clusterOfHost[host.Name] = cluster;
    }

    Task PublishAsync(string cluster, string platform, ClusterInventory inventory, CancellationToken ct)
    {
        var vcenter = inventory.Vms.FirstOrDefault(v => v.IsVCenter);
        return bus.Publish(new ClusterObserved(cluster, platform, inventory.Hosts, inventory.Vms, inventory.Settings, vcenter?.Name,
            vcenter?.Host, clock.GetUtcNow()), ct);
    }
}
