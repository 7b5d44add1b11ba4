using System.Collections.Concurrent;
using System.Xml.Linq;
using Microsoft.Extensions.Options;
using PowerEvents.Contracts;
using PowerEvents.VCenterActuator.Vim;

namespace PowerEvents.VCenterActuator;

/// <summary>The vSphere Web Services calls PowerEvents needs, over one <see cref="VimConnection"/>.</summary>
public sealed class VCenterClient(VimConnection connection, IOptions<VCenterOptions> options, ILogger<VCenterClient>? logger = null) : IVCenterClient
{
    static readonly string[] HostPaths = ["name", "runtime.connectionState", "runtime.powerState", "runtime.inMaintenanceMode"];
    static readonly string[] VmPaths = ["name", "runtime.powerState", "guest.toolsRunningStatus", "runtime.host", "parent", "guest.hostName", "guest.ipAddress", "config.managedBy"];
    static readonly string[] InventoryHostPaths = [.. HostPaths, "config.lockdownMode"];
    static readonly string[] VclsPaths = ["name", "runtime.powerState", "config.managedBy"];

    /// <summary>vCenter's agent manager, the owner (<c>config.managedBy.extensionKey</c>) of vCLS VMs.</summary>
    const string VclsExtensionKey = "com.vmware.vim.eam";
    static readonly string[] VmStatePaths = ["name", "runtime.powerState", "guest.toolsRunningStatus", "guest.guestState"];
    static readonly string[] TaskPaths = ["info.descriptionId", "info.entity", "info.state", "info.queueTime", "info.completeTime"];

    /// <summary>How much longer than vCenter's own task timeout we wait, so that vCenter's fault (<c>Timedout</c>) is the one reported.</summary>
    static readonly TimeSpan TaskGrace = TimeSpan.FromSeconds(5);

    readonly PropertyCollector _collector = new(connection);
    readonly VCenterOptions _options = options.Value;
    readonly PropertyWatcher _watcher = new(connection, options.Value,
        (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
    // Managed object ids are stable for the life of an object, so names resolve once.
    readonly ConcurrentDictionary<string, MoRef> _clusters = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<(string Cluster, string Host), string> _hosts = new();
    string? _vcenterFqdn;

    public async Task<ClusterInventory> GetClusterInventoryAsync(string cluster, CancellationToken ct)
    {
        var (clusterRef, folders) = await ReadTopologyAsync(cluster, ct);
        var objects = await ReadViewAsync(clusterRef, [new PropertySpec("HostSystem", InventoryHostPaths), new PropertySpec("VirtualMachine", VmPaths)], ct);

        var hosts = objects.Where(o => o.Obj.Type == "HostSystem")
            .Select(o => ToHost(o) with { LockdownMode = o.Properties.ContainsKey("config.lockdownMode") ? o.Text("config.lockdownMode") : null }).ToList();
        var hostNames = hosts.ToDictionary(h => h.Id, h => h.Name, StringComparer.Ordinal);
        // The run's host steps find their hosts by name: known from here, they read only their own host.
        foreach (var host in hosts)
            _hosts[(cluster, host.Name)] = host.Id;
        var vcenterNames = await VCenterNamesAsync(ct);
        var vms = objects.Where(o => o.Obj.Type == "VirtualMachine").Select(o => ToVm(o,
            o.Ref("runtime.host") is { } host ? hostNames.GetValueOrDefault(host.Value, "") : "",
            o.Ref("parent") is { } parent ? folders.PathOf(parent.Value) : "",
            vcenterNames)).ToList();
        var (_, haDrs, vsan) = await ReadClusterConfigAsync(cluster, ct);
        var settings = new ClusterSettings(clusterRef.Value, haDrs, vsan, vms.Any(v => v.IsVcls), await QueryOptionAsync(VclsSettingKey(clusterRef.Value), ct),
            NullIfEmpty((await connection.ContentAsync(ct)).ApiVersion));
        return new ClusterInventory(hosts, vms, settings);
    }

    public async Task<IReadOnlyList<VmInventory>> ListHostVmsAsync(string cluster, HostInventory host, CancellationToken ct)
    {
        // The host's own list of its VMs (HostSystem.vm): one call, where a container view on the host took three.
        var objects = await _collector.RetrieveReferencedAsync(Host(host.Id), "vm", [new PropertySpec("VirtualMachine", VmPaths)], _options.InventoryPageSize, ct);
        var vcenterNames = await VCenterNamesAsync(ct);
        return [.. objects.Select(o => ToVm(o, host.Name, "", vcenterNames))];
    }

    /// <summary>A VM as the inventory reports it (<see cref="VmPaths"/> read); vCenter's own VM is the one whose guest answers to one of <paramref name="vcenterNames"/>.</summary>
    static VmInventory ToVm(ObjectContent o, string host, string folder, IReadOnlySet<string> vcenterNames) => new(
        o.Obj.Value, o.Text("name"), o.Text("runtime.powerState"), o.Text("guest.toolsRunningStatus") == VimStates.ToolsRunning, host, folder,
        vcenterNames.Contains(o.Text("guest.hostName")) || vcenterNames.Contains(o.Text("guest.ipAddress")), IsVcls(o));

    /// <summary>
    /// Every host and VM this endpoint lists, in one view: on a host's own API its host (<c>ha-host</c>) and its VMs. No
    /// folders (a host has none worth naming), no cluster settings.
    /// </summary>
    public async Task<ClusterInventory> GetEndpointInventoryAsync(CancellationToken ct)
    {
        var content = await connection.ContentAsync(ct);
        var objects = await ReadViewAsync(content.RootFolder, [new PropertySpec("HostSystem", InventoryHostPaths), new PropertySpec("VirtualMachine", VmPaths)], ct);
        var hosts = objects.Where(o => o.Obj.Type == "HostSystem")
            .Select(o => ToHost(o) with { LockdownMode = o.Properties.ContainsKey("config.lockdownMode") ? o.Text("config.lockdownMode") : null }).ToList();
        var hostNames = hosts.ToDictionary(h => h.Id, h => h.Name, StringComparer.Ordinal);
        // vCenter's own VM is told apart only through vCenter (its FQDN setting), not through a host's own API.
        var vms = objects.Where(o => o.Obj.Type == "VirtualMachine").Select(o => ToVm(o,
            o.Ref("runtime.host") is { } host ? hostNames.GetValueOrDefault(host.Value, "") : "", "", NoNames)).ToList();
        return new ClusterInventory(hosts, vms);
    }

    /// <summary>The names of every cluster vCenter has (<c>datacenter/cluster</c> where a name is not unique).</summary>
    public async Task<IReadOnlyList<string>> ListClusterNamesAsync(CancellationToken ct)
    {
        var content = await connection.ContentAsync(ct);
        var objects = await ReadViewAsync(content.RootFolder,
            [new PropertySpec("ClusterComputeResource", "name", "parent"), new PropertySpec("Folder", "name", "parent"), new PropertySpec("Datacenter", "name", "parent")], ct);
        var folders = new FolderTree(content.RootFolder.Value, objects);
        var clusters = objects.Where(o => o.Obj.Type == "ClusterComputeResource").ToList();
        return [.. clusters.Select(c => clusters.Count(o => o.Text("name") == c.Text("name")) == 1 ? c.Text("name") : ClusterPath(folders, c)).Order(StringComparer.Ordinal)];
    }

    /// <summary>Every host vCenter has, by name, with its lockdown mode (what a refused direct login is told apart by).</summary>
    public async Task<IReadOnlyList<HostInventory>> ListAllHostsAsync(CancellationToken ct)
    {
        var content = await connection.ContentAsync(ct);
        return (await ReadViewAsync(content.RootFolder, [new PropertySpec("HostSystem", InventoryHostPaths)], ct))
            .Select(o => ToHost(o) with { LockdownMode = o.Properties.ContainsKey("config.lockdownMode") ? o.Text("config.lockdownMode") : null })
            .ToList();
    }

    static readonly HashSet<string> NoNames = [];

    static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    static bool IsVcls(ObjectContent vm) =>
        vm.Properties.TryGetValue("config.managedBy", out var managedBy) && Soap.Text(managedBy, "extensionKey") == VclsExtensionKey;

    /// <summary>vCenter's advanced setting for a cluster's vCLS (false: retreat mode).</summary>
    public static string VclsSettingKey(string clusterId) => $"config.vcls.clusters.{clusterId}.enabled";

    /// <summary>The cluster's id, HA/DRS settings and whether it has vSAN, from <c>configurationEx</c>.</summary>
    public async Task<(MoRef Cluster, ClusterHaDrsSettings HaDrs, bool Vsan)> ReadClusterConfigAsync(string cluster, CancellationToken ct)
    {
        var clusterRef = await ClusterRefAsync(cluster, ct);
        var config = (await _collector.RetrieveOneAsync(clusterRef, ["configurationEx"], ct)).Properties.GetValueOrDefault("configurationEx");
        XElement? Part(string name) => config?.Element(Soap.Vim + name);
        bool Flag(XElement? parent, string name) => parent?.Element(Soap.Vim + name) is { } e && bool.Parse(e.Value);
        var das = Part("dasConfig");
        var drs = Part("drsConfig");
        return (clusterRef,
            new ClusterHaDrsSettings(Flag(das, "enabled"), Flag(das, "admissionControlEnabled"), Flag(drs, "enabled"), drs is null ? "" : Soap.Text(drs, "defaultVmBehavior")),
            Flag(Part("vsanConfigInfo"), "enabled"));
    }

    async Task<MoRef> ClusterRefAsync(string cluster, CancellationToken ct) =>
        _clusters.TryGetValue(cluster, out var cached) ? cached : (await ReadTopologyAsync(cluster, ct)).Cluster;

    /// <summary>An advanced setting of vCenter (<c>OptionManager.QueryOptions</c>); null when it does not exist (<c>InvalidName</c>).</summary>
    public async Task<string?> QueryOptionAsync(string key, CancellationToken ct)
    {
        var content = await connection.ContentAsync(ct);
        try
        {
            var options = await connection.InvokeAsync("QueryOptions", content.Setting, [Soap.El("name", key)], ct);
            return options.Elements(Soap.Vim + "returnval").Where(o => Soap.Text(o, "key") == key).Select(o => Soap.Text(o, "value")).FirstOrDefault();
        }
        catch (VCenterException ex) when (ex.FaultName == "InvalidName")
        {
            return null;
        }
    }

    /// <summary>Sets an advanced setting of vCenter to a string (<c>OptionManager.UpdateOptions</c>).</summary>
    public async Task UpdateOptionAsync(string key, string value, CancellationToken ct)
    {
        var content = await connection.ContentAsync(ct);
        await connection.InvokeAsync("UpdateOptions", content.Setting,
            [Soap.El("changedValue", new XAttribute(Soap.Xsi + "type", "OptionValue"), Soap.El("key", key),
                Soap.El("value", new XAttribute(Soap.Xsi + "type", "xsd:string"), value))], ct);
    }

    /// <summary>The cluster's vCLS VMs (name, power state) as vCenter lists them now.</summary>
    public async Task<IReadOnlyList<VmState>> ListVclsVmsAsync(string cluster, CancellationToken ct)
    {
        var clusterRef = await ClusterRefAsync(cluster, ct);
        return (await ReadViewAsync(clusterRef, [new PropertySpec("VirtualMachine", VclsPaths)], ct))
            .Where(IsVcls)
            .Select(o => new VmState(o.Obj.Value, o.Text("name"), o.Text("runtime.powerState"), false))
            .ToList();
    }

    /// <summary>
    /// <c>ReconfigureComputeResource_Task</c> with a <c>ClusterConfigSpecEx</c> (modify=true): only the given fields change.
    /// </summary>
    public async Task ReconfigureHaDrsAsync(string cluster, bool? haEnabled, bool? admissionControl, bool? drsEnabled, string? drsBehavior, CancellationToken ct)
    {
        var clusterRef = await ClusterRefAsync(cluster, ct);
        XElement? das = haEnabled is null && admissionControl is null ? null : Soap.El("dasConfig",
            haEnabled is { } ha ? Soap.El("enabled", ha ? "true" : "false") : null,
            admissionControl is { } ac ? Soap.El("admissionControlEnabled", ac ? "true" : "false") : null);
        XElement? drs = drsEnabled is null && string.IsNullOrEmpty(drsBehavior) ? null : Soap.El("drsConfig",
            drsEnabled is { } on ? Soap.El("enabled", on ? "true" : "false") : null,
            string.IsNullOrEmpty(drsBehavior) ? null : Soap.El("defaultVmBehavior", drsBehavior));
        await RunTaskAsync("ReconfigureComputeResource_Task", clusterRef,
            [Soap.El("spec", new XAttribute(Soap.Xsi + "type", "ClusterConfigSpecEx"), das, drs), Soap.El("modify", "true")],
            _options.PowerTaskTimeout, ct);
    }

    /// <summary>The cluster's vSAN resync (<c>QuerySyncingVsanObjectsSummary</c> on vCenter's <c>/vsan</c> endpoint).</summary>
    public async Task<VsanResync> QueryVsanResyncAsync(string cluster, CancellationToken ct)
    {
        var clusterRef = await ClusterRefAsync(cluster, ct);
        var response = await connection.InvokeVsanAsync("QuerySyncingVsanObjectsSummary", new MoRef("VsanObjectSystem", "vsan-cluster-object-system"),
            [clusterRef.ToXml("cluster"), Soap.El("syncingObjectsFilter", Soap.El("numberOfObjects", "0"))], ct);
        var result = response.Element(Soap.Vsan + "returnval") ?? throw new VCenterException("InvalidResponse", "QuerySyncingVsanObjectsSummary returned nothing");
        long Number(string name) => long.TryParse((string?)result.Element(Soap.Vsan + name), System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 0;
        return new VsanResync(Number("totalObjectsToSync"), Number("totalBytesToSync"), Number("totalRecoveryETA"));
    }

    public async Task<string> StartVsanClusterPowerActionAsync(string cluster, string targetPowerStatus, string? reason, CancellationToken ct)
    {
        var clusterRef = await ClusterRefAsync(cluster, ct);
        var response = await connection.InvokeVsanAsync("PerformClusterPowerAction", new MoRef("VsanClusterPowerSystem", "vsan-cluster-power-system"),
            [clusterRef.ToXml("cluster"), Soap.El("spec",
                Soap.El("targetPowerStatus", targetPowerStatus),
                string.IsNullOrEmpty(reason) ? null : Soap.El("powerOffReason", reason))], ct);
        return MoRef.FromXml(response.Element(Soap.Vsan + "returnval")
            ?? throw new VCenterException("InvalidResponse", "PerformClusterPowerAction returned no task")).Value;
    }

    /// <summary>The hosts of a cluster as vCenter sees them now.</summary>
    public async Task<IReadOnlyList<HostInventory>> ListHostsAsync(string cluster, CancellationToken ct)
    {
        var clusterRef = await ClusterRefAsync(cluster, ct);
        return (await ReadViewAsync(clusterRef, [new PropertySpec("HostSystem", InventoryHostPaths)], ct))
            .Select(o => ToHost(o) with { LockdownMode = o.Properties.ContainsKey("config.lockdownMode") ? o.Text("config.lockdownMode") : null })
            .ToList();
    }

    /// <summary>Every VM this endpoint lists (on a host's own API: the host's VMs), with its power state.</summary>
    public async Task<IReadOnlyList<VmState>> ListVmsAsync(CancellationToken ct)
    {
        var content = await connection.ContentAsync(ct);
        return (await ReadViewAsync(content.RootFolder, [new PropertySpec("VirtualMachine", VmStatePaths)], ct)).Select(ToVm).ToList();
    }

    /// <summary>
    /// The names vCenter is known by: its <c>VirtualCenter.FQDN</c> setting (read once) and the configured URL's host.
    /// A VM whose guest reports one of them is vCenter itself.
    /// </summary>
    async Task<HashSet<string>> VCenterNamesAsync(CancellationToken ct)
    {
        if (_vcenterFqdn is null)
        {
            var content = await connection.ContentAsync(ct);
            try
            {
                var options = await connection.InvokeAsync("QueryOptions", content.Setting, [Soap.El("name", "VirtualCenter.FQDN")], ct);
                _vcenterFqdn = options.Elements(Soap.Vim + "returnval")
                    .Where(o => Soap.Text(o, "key") == "VirtualCenter.FQDN")
                    .Select(o => Soap.Text(o, "value"))
                    .FirstOrDefault() ?? "";
            }
            catch (VCenterException ex) when (ex.FaultName == "InvalidName")
            {
                _vcenterFqdn = ""; // not set: only the URL's host identifies vCenter
            }
        }

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { connection.Url.Host };
        if (_vcenterFqdn.Length > 0)
            names.Add(_vcenterFqdn);
        return names;
    }

    /// <summary>The update stream the waits use (one long poll for the session).</summary>
    public PropertyWatcher Watcher => _watcher;

    public async Task<VmState> GetVmAsync(string vmId, CancellationToken ct) =>
        ToVm(await _collector.RetrieveOneAsync(Vm(vmId), VmStatePaths, ct));

    public IDisposable Watch(string type, string id) => _watcher.Hold(new MoRef(type, id));

    public async Task<VmState> ReadVmAsync(string vmId, CancellationToken ct) =>
        (await WaitForVmAsync(vmId, _ => true, _options.RequestTimeout, ct)).Vm;

    public async Task<(bool Met, VmState Vm)> WaitForVmAsync(string vmId, Func<VmState, bool> until, TimeSpan timeout, CancellationToken ct)
    {
        var (met, latest) = await _watcher.WaitAsync(Vm(vmId), content => until(ToVm(content)), timeout, ct);
        return (met, latest is null ? await GetVmAsync(vmId, ct) : ToVm(latest));
    }

    public async Task<(bool Met, HostInventory Host)> WaitForHostAsync(string hostId, Func<HostInventory, bool> until, TimeSpan timeout, CancellationToken ct)
    {
        var (met, latest) = await _watcher.WaitAsync(Host(hostId), content => until(ToHost(content)), timeout, ct);
        return (met, latest is null ? await GetHostAsync(hostId, ct) : ToHost(latest));
    }

    static VmState ToVm(ObjectContent vm) => new(vm.Obj.Value, vm.Text("name"), vm.Text("runtime.powerState"),
        vm.Text("guest.toolsRunningStatus") == VimStates.ToolsRunning, vm.Text("guest.guestState"));

    public async Task<RecentTask?> FindRecentTaskAsync(string entityType, string entityId, string descriptionId, CancellationToken ct)
    {
        var entity = new MoRef(entityType, entityId);
        // The entity's own list (vCenter and ESXi keep one, with tasks completed in the last minutes): not the TaskManager's,
        // which holds every entity's last 200 tasks.
        var tasks = RefsOf(await _collector.RetrieveOneAsync(entity, ["recentTask"], ct), "recentTask");
        if (tasks.Count == 0)
            return null;

        var latest = (await _collector.RetrieveManyAsync(tasks, [new PropertySpec("Task", TaskPaths)], ct))
            .Where(t => t.Text("info.descriptionId") == descriptionId && t.Ref("info.entity") == entity)
            .Where(t => t.Text("info.state") is "queued" or "running" or "success")
            .OrderByDescending(t => Time(t, "info.queueTime"))
            .FirstOrDefault();
        if (latest is null)
            return null;
        return new RecentTask(latest.Obj.Value, latest.Text("info.state"), Time(latest, "info.queueTime"));
    }

    static List<MoRef> RefsOf(ObjectContent content, string path) =>
        content.Properties.TryGetValue(path, out var list) ? [.. list.Elements().Select(MoRef.FromXml)] : [];

    static DateTime? Time(ObjectContent content, string path) =>
        content.Properties.TryGetValue(path, out var value)
            ? DateTime.Parse(value.Value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal)
            : null;

    public Task FollowTaskAsync(string taskId, string what, TimeSpan timeout, CancellationToken ct) =>
        FollowAsync(new MoRef("Task", taskId), what, timeout, ct);

    public async Task<VmShutdownHistory> GetShutdownHistoryAsync(string vmId, CancellationToken ct)
    {
        var content = await connection.ContentAsync(ct);
        var response = await connection.InvokeAsync("QueryEvents", content.EventManager,
            [Soap.El("filter",
                Soap.El("entity", Vm(vmId).ToXml("entity"), Soap.El("recursion", "self")),
                ((string[])["VmPoweredOnEvent", "VmGuestShutdownEvent", "VmPoweredOffEvent"]).Select(id => Soap.El("eventTypeId", id)))], ct);
        var events = response.Elements(Soap.Vim + "returnval")
            .Select(e => (Type: Soap.XsiType(e) ?? "", Key: long.Parse(Soap.Text(e, "key"), System.Globalization.CultureInfo.InvariantCulture),
                Created: DateTime.Parse(Soap.Text(e, "createdTime"), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal),
                Ours: IsUs(Soap.Text(e, "userName"))))
            .OrderBy(e => e.Key)
            .ToList();
        // Only what happened since the VM last powered on tells why it is off now.
        var sinceOn = events.Skip(events.FindLastIndex(e => e.Type == "VmPoweredOnEvent") + 1).ToList();
        DateTime? First(string type) => sinceOn.Where(e => e.Type == type && e.Ours).Select(e => (DateTime?)e.Created).FirstOrDefault();
        return new VmShutdownHistory(First("VmGuestShutdownEvent"), First("VmPoweredOffEvent"));
    }

    /// <summary>Whether an event's user is our account (vCenter may write <c>DOMAIN\user</c> for <c>user@domain</c>).</summary>
    bool IsUs(string userName)
    {
        static string Bare(string name) => name.Split('\\')[^1].Split('@')[0];
        return string.Equals(userName, _options.Username, StringComparison.OrdinalIgnoreCase)
            || string.Equals(Bare(userName), Bare(_options.Username), StringComparison.OrdinalIgnoreCase);
    }

    public async Task ShutdownGuestAsync(string vmId, CancellationToken ct) =>
        await connection.InvokeAsync("ShutdownGuest", Vm(vmId), [], ct);

    public Task PowerOffVmAsync(string vmId, TimeSpan timeout, CancellationToken ct) =>
        RunTaskAsync("PowerOffVM_Task", Vm(vmId), [], timeout, ct);

    public Task PowerOnVmAsync(string vmId, TimeSpan timeout, CancellationToken ct) =>
        RunTaskAsync("PowerOnVM_Task", Vm(vmId), [], timeout, ct);

    public async Task<HostInventory> FindHostAsync(string cluster, string hostName, CancellationToken ct)
    {
        if (_hosts.TryGetValue((cluster, hostName), out var known))
        {
            try
            {
                return await GetHostAsync(known, ct);
            }
            catch (VCenterException ex) when (ex.FaultName == VCenterException.ManagedObjectNotFound)
            {
                _hosts.TryRemove((cluster, hostName), out _); // removed and re-added: look it up again
            }
        }

        // One read of the cluster's hosts for every step that missed meanwhile (a run asks all its hosts at once).
        var hosts = await _hostLookups.GetOrAdd(cluster, ReadClusterHostsAsync).WaitAsync(ct);
        return hosts.FirstOrDefault(h => string.Equals(h.Name, hostName, StringComparison.OrdinalIgnoreCase))
            ?? throw new VCenterException(VCenterException.NotFound, $"Cluster '{cluster}' has no host named '{hostName}'");
    }

    readonly ConcurrentDictionary<string, Task<List<HostInventory>>> _hostLookups = new(StringComparer.Ordinal);

    async Task<List<HostInventory>> ReadClusterHostsAsync(string cluster)
    {
        await Task.Yield(); // back to GetOrAdd at once: it stores this task long before the read below ends and removes it
        try
        {
            // Not one caller's token: the read is shared; a vCenter that does not answer fails it through the HTTP timeout.
            var clusterRef = await ClusterRefAsync(cluster, CancellationToken.None);
            var hosts = (await ReadViewAsync(clusterRef, [new PropertySpec("HostSystem", HostPaths)], CancellationToken.None)).Select(ToHost).ToList();
            foreach (var host in hosts)
                _hosts[(cluster, host.Name)] = host.Id;
            return hosts;
        }
        finally
        {
            _hostLookups.TryRemove(cluster, out _); // a later miss reads afresh (states change; this read is only for the waiting steps)
        }
    }

    public async Task<HostInventory> GetHostAsync(string hostId, CancellationToken ct) =>
        ToHost(await _collector.RetrieveOneAsync(Host(hostId), HostPaths, ct));

    public Task EnterMaintenanceModeAsync(string hostId, TimeSpan timeout, CancellationToken ct, string? vsanObjectAction = null) =>
        RunTaskAsync("EnterMaintenanceMode_Task", Host(hostId),
            [Soap.El("timeout", Soap.Invariant((int)Math.Ceiling(timeout.TotalSeconds))), Soap.El("evacuatePoweredOffVms", "false"),
                vsanObjectAction is null ? null : Soap.El("maintenanceSpec", Soap.El("vsanMode", Soap.El("objectAction", vsanObjectAction)))],
            timeout + TaskGrace, ct);

    public Task ExitMaintenanceModeAsync(string hostId, TimeSpan timeout, CancellationToken ct) =>
        RunTaskAsync("ExitMaintenanceMode_Task", Host(hostId),
            [Soap.El("timeout", Soap.Invariant((int)Math.Ceiling(timeout.TotalSeconds)))], timeout + TaskGrace, ct);

    public Task ShutdownHostAsync(string hostId, bool force, TimeSpan timeout, CancellationToken ct) =>
        RunTaskAsync("ShutdownHost_Task", Host(hostId), [Soap.El("force", force ? "true" : "false")], timeout, ct);

    /// <summary>Starts a task and follows it to its end (see <see cref="FollowAsync"/>).</summary>
    async Task RunTaskAsync(string method, MoRef target, IReadOnlyList<XElement?> arguments, TimeSpan timeout, CancellationToken ct)
    {
        var response = await connection.InvokeAsync(method, target, [.. arguments.OfType<XElement>()], ct);
        var task = MoRef.FromXml(response.Element(Soap.Vim + "returnval")
            ?? throw new VCenterException("InvalidResponse", $"{method} returned no task"));
        await FollowAsync(task, $"{method} on {target}", timeout, ct);
    }

    /// <summary>Waits for the task's <c>info.state</c> to become success (returns) or error (throws its fault), as vCenter pushes it.</summary>
    async Task FollowAsync(MoRef task, string what, TimeSpan timeout, CancellationToken ct)
    {
        var (met, info) = await _watcher.WaitAsync(task, t => t.Text("info.state") is "success" or "error", timeout, ct);
        if (!met)
            throw new VCenterException(VCenterException.Timeout, $"{what} still {info?.Text("info.state") ?? "unknown"} after {timeout}");
        if (info!.Text("info.state") == "error")
        {
            var error = info.Properties.GetValueOrDefault("info.error");
            throw Soap.Fault(error?.Element(Soap.Vim + "fault"), error is null ? $"{what} failed" : Soap.Text(error, "localizedMessage"));
        }
    }

    /// <summary>Resolves the cluster and reads the folder tree (for VM folder paths): one view, one page, destroyed.</summary>
    async Task<(MoRef Cluster, FolderTree Folders)> ReadTopologyAsync(string cluster, CancellationToken ct)
    {
        var content = await connection.ContentAsync(ct);
        var objects = await ReadViewAsync(content.RootFolder,
            [new PropertySpec("ClusterComputeResource", "name", "parent"), new PropertySpec("Folder", "name", "parent"), new PropertySpec("Datacenter", "name", "parent")], ct);
        var folders = new FolderTree(content.RootFolder.Value, objects);

        var matches = objects
            .Where(o => o.Obj.Type == "ClusterComputeResource")
            .Where(o => o.Text("name") == cluster || ClusterPath(folders, o) == cluster)
            .ToList();
        return matches.Count switch
        {
            1 => (_clusters[cluster] = matches[0].Obj, folders),
            0 => throw new VCenterException(VCenterException.NotFound, $"vCenter has no cluster named '{cluster}'"),
            _ => throw new VCenterException(VCenterException.NotFound, $"'{cluster}' names {matches.Count} clusters; use datacenter/cluster"),
        };
    }

    /// <summary>"dc1/cluster1" for a cluster under dc1's host folder (the host folder itself is left out).</summary>
    static string ClusterPath(FolderTree folders, ObjectContent cluster)
    {
        var path = cluster.Ref("parent") is { } parent ? folders.PathOf(parent.Value) : "";
        var parts = path.Split('/');
        return parts.Length >= 2 && parts[1] == "host"
            ? string.Join('/', [parts[0], .. parts[2..], cluster.Text("name")])
            : cluster.Text("name");
    }

    /// <summary>CreateContainerView on <paramref name="container"/>, every page of its objects, DestroyView.</summary>
    async Task<List<ObjectContent>> ReadViewAsync(MoRef container, IReadOnlyList<PropertySpec> properties, CancellationToken ct)
    {
        var content = await connection.ContentAsync(ct);
        var created = await connection.InvokeAsync("CreateContainerView", content.ViewManager,
            [container.ToXml("container"), .. properties.Select(p => Soap.El("type", p.Type)), Soap.El("recursive", "true")], ct);
        var view = MoRef.FromXml(created.Element(Soap.Vim + "returnval")!);
        try
        {
            return await _collector.RetrieveViewAsync(view, properties, _options.InventoryPageSize, ct);
        }
        finally
        {
            try
            {
                await connection.InvokeAsync("DestroyView", view, [], CancellationToken.None);
            }
            catch (VCenterException)
            {
                // The view dies with the session anyway; a failed cleanup must not hide the result.
            }
        }
    }

    static HostInventory ToHost(ObjectContent o) => new(
        o.Obj.Value, o.Text("name"), o.Text("runtime.connectionState"), o.Text("runtime.powerState"), o.Bool("runtime.inMaintenanceMode"));

    static MoRef Vm(string id) => new("VirtualMachine", id);

    static MoRef Host(string id) => new("HostSystem", id);

    /// <summary>Names and parents of folders and datacenters, for inventory paths like <c>dc1/vm/tier-1</c>.</summary>
    sealed class FolderTree
    {
        readonly string _root;
        readonly Dictionary<string, (string Name, string? Parent)> _nodes = new(StringComparer.Ordinal);
        readonly Dictionary<string, string> _paths = new(StringComparer.Ordinal);

        public FolderTree(string rootFolder, IEnumerable<ObjectContent> objects)
        {
            _root = rootFolder;
            foreach (var o in objects.Where(o => o.Obj.Type is "Folder" or "Datacenter"))
                _nodes[o.Obj.Value] = (o.Text("name"), o.Ref("parent")?.Value);
        }

        public string PathOf(string id)
        {
            if (id == _root || !_nodes.TryGetValue(id, out var node))
                return "";
            if (_paths.TryGetValue(id, out var known))
                return known;
            var parent = node.Parent is null ? "" : PathOf(node.Parent);
            return _paths[id] = parent.Length == 0 ? node.Name : $"{parent}/{node.Name}";
        }
    }
}
