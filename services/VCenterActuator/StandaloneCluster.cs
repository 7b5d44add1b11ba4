using PowerEvents.Contracts;
using PowerEvents.VCenterActuator.Vim;

namespace PowerEvents.VCenterActuator;

/// <summary>
/// A "cluster" of standalone ESXi hosts (<c>VCenter:Clusters:&lt;name&gt;:Hosts</c>), each reached through its own API: the
/// same calls the steps make on vCenter, spread over the hosts. A host's VMs are numbered per host, so ids carry the host:
/// a VM is <c>&lt;host&gt;/&lt;id on the host&gt;</c>, a host is its configured name. A host that does not answer is reported as
/// vCenter reports one it cannot reach (<c>notResponding</c>): the others go on.
/// </summary>
public sealed class StandaloneCluster(string name, IReadOnlyList<string> hosts, EsxiHosts esxi, TimeProvider clock, TimeSpan pollInterval) : IVCenterClient
{
    /// <summary>The cluster's name as configured.</summary>
    public string Name => name;

    /// <summary>Its hosts' configured names.</summary>
    public IReadOnlyList<string> Hosts => hosts;

    static string VmId(string host, string id) => $"{host}/{id}";

    (string Host, string Id) SplitVm(string vmId)
    {
        var slash = vmId.IndexOf('/', StringComparison.Ordinal);
        var host = slash > 0 ? vmId[..slash] : "";
        if (!hosts.Contains(host, StringComparer.OrdinalIgnoreCase))
            throw new VCenterException(VCenterException.ManagedObjectNotFound, $"'{vmId}' is no VM of standalone cluster {name} (ids are <host>/<id>)");
        return (host, vmId[(slash + 1)..]);
    }

    string HostOf(string hostId) => hosts.FirstOrDefault(h => string.Equals(h, hostId, StringComparison.OrdinalIgnoreCase))
        ?? throw new VCenterException(VCenterException.NotFound, $"Standalone cluster '{name}' has no host named '{hostId}'");

    VCenterClient Client(string host) => esxi.Client(host);

    VmState Mapped(string host, VmState vm) => vm with { Id = VmId(host, vm.Id) };

    static HostInventory Unreachable(string host) => new(host, host, VimStates.NotResponding, "unknown", false);

    /// <summary>The host as its own API says, named as configured; <c>notResponding</c> when it does not answer.</summary>
    async Task<HostInventory> ReadHostAsync(string host, CancellationToken ct)
    {
        try
        {
            var own = await Client(host).GetHostAsync(EsxiHosts.HostId, ct);
            return own with { Id = host, Name = host };
        }
        catch (VCenterException ex) when (ex.IsTransient)
        {
            return Unreachable(host);
        }
    }

    public async Task<ClusterInventory> GetClusterInventoryAsync(string cluster, CancellationToken ct)
    {
        var parts = await Task.WhenAll(hosts.Select(async host =>
        {
            try
            {
                var inventory = await Client(host).GetEndpointInventoryAsync(ct);
                var self = inventory.Hosts.FirstOrDefault() ?? Unreachable(host);
                return (Host: self with { Id = host, Name = host },
                    Vms: inventory.Vms.Select(v => v with { Id = VmId(host, v.Id), Host = host }).ToList());
            }
            catch (VCenterException ex) when (ex.IsTransient)
            {
                // Down or unreachable: no VMs known; a wrong password or certificate fails the whole read, naming the host.
                return (Host: Unreachable(host), Vms: new List<VmInventory>());
            }
        }));
        return new ClusterInventory([.. parts.Select(p => p.Host)], [.. parts.SelectMany(p => p.Vms)]);
    }

    public async Task<IReadOnlyList<VmInventory>> ListHostVmsAsync(string cluster, HostInventory host, CancellationToken ct) =>
        [.. (await Client(host.Id).GetEndpointInventoryAsync(ct)).Vms.Select(v => v with { Id = VmId(host.Id, v.Id), Host = host.Id })];

    public async Task<VmState> GetVmAsync(string vmId, CancellationToken ct)
    {
        var (host, id) = SplitVm(vmId);
        return Mapped(host, await Client(host).GetVmAsync(id, ct));
    }

    public IDisposable Watch(string type, string id)
    {
        try
        {
            if (type == "HostSystem")
                return Client(HostOf(id)).Watch(type, EsxiHosts.HostId);
            var (host, local) = SplitVm(id);
            return Client(host).Watch(type, local);
        }
        catch (VCenterException)
        {
            // Nothing to watch: the step's first read reports the same fault inside its error handling.
            return new CancellationTokenSource();
        }
    }

    public async Task<VmState> ReadVmAsync(string vmId, CancellationToken ct)
    {
        var (host, id) = SplitVm(vmId);
        return Mapped(host, await Client(host).ReadVmAsync(id, ct));
    }

    public async Task<(bool Met, VmState Vm)> WaitForVmAsync(string vmId, Func<VmState, bool> until, TimeSpan timeout, CancellationToken ct)
    {
        var (host, id) = SplitVm(vmId);
        var (met, vm) = await Client(host).WaitForVmAsync(id, v => until(Mapped(host, v)), timeout, ct);
        return (met, Mapped(host, vm));
    }

    /// <summary>
    /// Polls the host's own API: a host going down takes its API with it, so "stopped answering" is the last state it reports
    /// (<c>notResponding</c>), as vCenter would see it.
    /// </summary>
    public async Task<(bool Met, HostInventory Host)> WaitForHostAsync(string hostId, Func<HostInventory, bool> until, TimeSpan timeout, CancellationToken ct)
    {
        var host = HostOf(hostId);
        var deadline = clock.GetUtcNow() + timeout;
        while (true)
        {
            var state = await ReadHostAsync(host, ct);
            if (until(state))
                return (true, state);
            if (clock.GetUtcNow() >= deadline)
                return (false, state);
            await Task.Delay(pollInterval, clock, ct);
        }
    }

    public async Task<RecentTask?> FindRecentTaskAsync(string entityType, string entityId, string descriptionId, CancellationToken ct)
    {
        var host = HostOf(entityId);
        try
        {
            var task = await Client(host).FindRecentTaskAsync(entityType, EsxiHosts.HostId, descriptionId, ct);
            return task is null ? null : task with { Id = $"{host}/{task.Id}" };
        }
        catch (VCenterException ex) when (ex.IsTransient)
        {
            return null; // a host that does not answer has no task running for us
        }
    }

    public Task FollowTaskAsync(string taskId, string what, TimeSpan timeout, CancellationToken ct)
    {
        var slash = taskId.IndexOf('/', StringComparison.Ordinal);
        return Client(HostOf(slash > 0 ? taskId[..slash] : "")).FollowTaskAsync(taskId[(slash + 1)..], what, timeout, ct);
    }

    public async Task<VmShutdownHistory> GetShutdownHistoryAsync(string vmId, CancellationToken ct)
    {
        var (host, id) = SplitVm(vmId);
        return await Client(host).GetShutdownHistoryAsync(id, ct);
    }

    public Task ShutdownGuestAsync(string vmId, CancellationToken ct)
    {
        var (host, id) = SplitVm(vmId);
        return Client(host).ShutdownGuestAsync(id, ct);
    }

    public Task PowerOffVmAsync(string vmId, TimeSpan timeout, CancellationToken ct)
    {
        var (host, id) = SplitVm(vmId);
        return Client(host).PowerOffVmAsync(id, timeout, ct);
    }

    public Task PowerOnVmAsync(string vmId, TimeSpan timeout, CancellationToken ct)
    {
        var (host, id) = SplitVm(vmId);
        return Client(host).PowerOnVmAsync(id, timeout, ct);
    }

    public Task<HostInventory> FindHostAsync(string cluster, string hostName, CancellationToken ct) => ReadHostAsync(HostOf(hostName), ct);

    public Task<HostInventory> GetHostAsync(string hostId, CancellationToken ct) => ReadHostAsync(HostOf(hostId), ct);

    public Task EnterMaintenanceModeAsync(string hostId, TimeSpan timeout, CancellationToken ct, string? vsanObjectAction = null) =>
        Client(HostOf(hostId)).EnterMaintenanceModeAsync(EsxiHosts.HostId, timeout, ct, vsanObjectAction);

    public Task ExitMaintenanceModeAsync(string hostId, TimeSpan timeout, CancellationToken ct) =>
        Client(HostOf(hostId)).ExitMaintenanceModeAsync(EsxiHosts.HostId, timeout, ct);

    public Task ShutdownHostAsync(string hostId, bool force, TimeSpan timeout, CancellationToken ct) =>
        Client(HostOf(hostId)).ShutdownHostAsync(EsxiHosts.HostId, force, timeout, ct);

    /// <summary>Standalone hosts have no cluster: no HA, DRS, vSAN or vCLS, so the cluster steps find nothing to change.</summary>
    public Task<(MoRef Cluster, ClusterHaDrsSettings HaDrs, bool Vsan)> ReadClusterConfigAsync(string cluster, CancellationToken ct) =>
        Task.FromResult((new MoRef("ComputeResource", name), new ClusterHaDrsSettings(false, false, false, ""), false));

    public Task<string?> QueryOptionAsync(string key, CancellationToken ct) => Task.FromResult<string?>(null);

    public Task UpdateOptionAsync(string key, string value, CancellationToken ct) =>
        throw new VCenterException("NotSupported", $"Standalone cluster {name} has no vCenter to hold the setting {key}");

    public Task<IReadOnlyList<VmState>> ListVclsVmsAsync(string cluster, CancellationToken ct) => Task.FromResult<IReadOnlyList<VmState>>([]);

    public Task ReconfigureHaDrsAsync(string cluster, bool? haEnabled, bool? admissionControl, bool? drsEnabled, string? drsBehavior, CancellationToken ct) =>
        throw new VCenterException("NotSupported", $"Standalone cluster {name} has no HA or DRS");

    public Task<string> StartVsanClusterPowerActionAsync(string cluster, string targetPowerStatus, string? reason, CancellationToken ct) =>
        throw new VCenterException("NotSupported", $"Standalone cluster {name} has no vSAN cluster power API");

    public Task<VsanResync> QueryVsanResyncAsync(string cluster, CancellationToken ct) => Task.FromResult(new VsanResync(0, 0, 0));

    public async Task<IReadOnlyList<HostInventory>> ListHostsAsync(string cluster, CancellationToken ct) =>
        await Task.WhenAll(hosts.Select(h => ReadHostAsync(h, ct)));

    public async Task<IReadOnlyList<VmState>> ListVmsAsync(CancellationToken ct)
    {
        var all = new List<VmState>();
        foreach (var host in hosts)
        {
            try
            {
                all.AddRange((await Client(host).ListVmsAsync(ct)).Select(v => Mapped(host, v)));
            }
            catch (VCenterException ex) when (ex.IsTransient)
            {
                // A host that does not answer runs nothing we can see.
            }
        }
        return all;
    }
}
