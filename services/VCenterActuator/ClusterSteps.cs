using PowerEvents.Contracts;
using PowerEvents.VCenterActuator.Vim;

namespace PowerEvents.VCenterActuator;

/// <summary>
/// The cluster-wide changes a whole-cluster shutdown needs (vCLS retreat mode, HA and DRS, vSAN) and the steps through an
/// ESXi host's own API for the host that runs vCenter's VM. Each reads the state first (so repeating it is harmless) and
/// reports the value it replaced, which the undoing command carries back.
/// </summary>
public sealed partial class VCenterSteps
{
    const string NoAction = "noAction";

    /// <summary>The vSAN mode of a maintenance step: as asked, else noAction on a vSAN cluster. evacuateAllData is refused.</summary>
    async Task<string?> VsanObjectActionAsync(HostMaintenanceRequested command, CancellationToken ct)
    {
        if (command.VsanObjectAction is "evacuateAllData")
            throw new VCenterException("InvalidArgument", "evacuateAllData is never used for a whole-cluster shutdown (the last hosts cannot hold the data)");
        if (command.VsanObjectAction is not null)
            return command.VsanObjectAction;
        // Read once per run and cluster, not once per host (a run asks all its hosts at once; vSAN is not switched mid-run).
        var read = _vsanReads.GetOrAdd((command.RunId, command.Cluster), key => Client(key.Cluster).ReadClusterConfigAsync(key.Cluster, CancellationToken.None));
        try
        {
            return (await read.WaitAsync(ct)).Vsan ? NoAction : null;
        }
        catch (Exception) when (read.IsFaulted || read.IsCanceled)
        {
            _vsanReads.TryRemove(new KeyValuePair<(Guid, string), Task<(MoRef Cluster, ClusterHaDrsSettings HaDrs, bool Vsan)>>((command.RunId, command.Cluster), read));
            throw;
        }
    }

    readonly System.Collections.Concurrent.ConcurrentDictionary<(Guid RunId, string Cluster), Task<(MoRef Cluster, ClusterHaDrsSettings HaDrs, bool Vsan)>> _vsanReads = new();

    public Task<VclsRetreatEntered> EnterVclsRetreatAsync(VclsRetreatRequested command, CancellationToken ct) =>
        _memory.RunOnceAsync($"vcls-retreat/{command.RunId}/{command.Cluster}", async () =>
        {
            var timeout = command.Timeout ?? _options.VclsRetreatTimeout;
            string? previous = null;
            var set = false;
            var (outcome, fault) = await RunStepAsync(async token =>
            {
                var key = await VclsKeyAsync(command.Cluster, token);
                var current = await Client(command.Cluster).QueryOptionAsync(key, token);
                if (!set)
                    previous = current;
                if (!IsFalse(current))
                {
                    await Client(command.Cluster).UpdateOptionAsync(key, "false", token);
                    set = true;
                    _logger.LogInformation("Cluster {Cluster}: vCLS retreat mode set ({Key} was {Previous})", command.Cluster, key, previous ?? "absent");
                }
                // vCenter's agent powers the vCLS VMs off and removes them within about a minute.
                var deadline = UtcNow + timeout;
                while (true)
                {
                    var running = (await Client(command.Cluster).ListVclsVmsAsync(command.Cluster, token)).Where(v => !v.IsOff).ToList();
                    if (running.Count == 0)
                        return set ? StepOutcome.Done : StepOutcome.AlreadyInState;
                    if (UtcNow > deadline)
                        throw new VCenterException(VCenterException.Timeout,
                            $"vCLS VMs of cluster {command.Cluster} still running {timeout} after retreat mode: {string.Join(", ", running.Select(v => v.Name))}");
                    await Task.Delay(_options.PollInterval, _clock, token);
                }
            }, ct);
            Log($"Cluster {command.Cluster} vCLS retreat mode", outcome, fault);
            return new VclsRetreatEntered(command.RunId, command.Cluster, outcome, previous, fault, _clock.GetUtcNow());
        }, outcome => outcome.Outcome != StepOutcome.Failed);

    /// <summary>The cluster's retreat-mode setting, named by its managed object id (<c>config.vcls.clusters.domain-cN.enabled</c>).</summary>
    async Task<string> VclsKeyAsync(string cluster, CancellationToken token) =>
        VCenterClient.VclsSettingKey((await Client(cluster).ReadClusterConfigAsync(cluster, token)).Cluster.Value);

    static bool IsFalse(string? value) => string.Equals(value, "false", StringComparison.OrdinalIgnoreCase);

    public Task<VclsRestored> RestoreVclsAsync(VclsRestoreRequested command, CancellationToken ct) =>
        _memory.RunOnceAsync($"vcls-restore/{command.RunId}/{command.Cluster}", async () =>
        {
            // An absent setting cannot be removed through the API; vCenter's default is the same as true.
            var value = command.Value ?? "true";
            string? replaced = null;
            var set = false;
            var (outcome, fault) = await RunStepAsync(async token =>
            {
                var key = await VclsKeyAsync(command.Cluster, token);
                var current = await Client(command.Cluster).QueryOptionAsync(key, token);
                if (!set)
                    replaced = current;
                if (string.Equals(current, value, StringComparison.OrdinalIgnoreCase) || (command.Value is null && current is null))
                    return set ? StepOutcome.Done : StepOutcome.AlreadyInState;
                await Client(command.Cluster).UpdateOptionAsync(key, value, token);
                set = true;
                return StepOutcome.Done;
            }, ct);
            Log($"Cluster {command.Cluster} vCLS setting restored to {value}", outcome, fault);
            return new VclsRestored(command.RunId, command.Cluster, outcome, value, replaced, fault, _clock.GetUtcNow());
        }, outcome => outcome.Outcome != StepOutcome.Failed);

    public Task<ClusterHaDrsDisabled> DisableHaDrsAsync(ClusterHaDrsDisableRequested command, CancellationToken ct) =>
        _memory.RunOnceAsync($"ha-drs-disable/{command.RunId}/{command.Cluster}", async () =>
        {
            ClusterHaDrsSettings? previous = null;
            var changed = false;
            var (outcome, fault) = await RunStepAsync(async token =>
            {
                var (_, current, _) = await Client(command.Cluster).ReadClusterConfigAsync(command.Cluster, token);
                if (!changed)
                    previous = current;
                var haOff = current.HaEnabled;
                var drsManual = current.DrsEnabled && current.DrsBehavior != "manual";
                if (!haOff && !drsManual)
                    return changed ? StepOutcome.Done : StepOutcome.AlreadyInState;
                await Client(command.Cluster).ReconfigureHaDrsAsync(command.Cluster, haOff ? false : null, null, null, drsManual ? "manual" : null, token);
                changed = true;
                return StepOutcome.Done;
            }, ct);
            Log($"Cluster {command.Cluster} HA off, DRS manual (were {previous})", outcome, fault);
            return new ClusterHaDrsDisabled(command.RunId, command.Cluster, outcome, previous, fault, _clock.GetUtcNow());
        }, outcome => outcome.Outcome != StepOutcome.Failed);

    public Task<ClusterHaDrsRestored> RestoreHaDrsAsync(ClusterHaDrsRestoreRequested command, CancellationToken ct) =>
        _memory.RunOnceAsync($"ha-drs-restore/{command.RunId}/{command.Cluster}", async () =>
        {
            var want = command.Settings;
            ClusterHaDrsSettings? replaced = null;
            var changed = false;
            var (outcome, fault) = await RunStepAsync(async token =>
            {
                var (_, current, _) = await Client(command.Cluster).ReadClusterConfigAsync(command.Cluster, token);
                if (!changed)
                    replaced = current;
                bool? ha = current.HaEnabled != want.HaEnabled ? want.HaEnabled : null;
                bool? admission = current.AdmissionControlEnabled != want.AdmissionControlEnabled ? want.AdmissionControlEnabled : null;
                bool? drs = current.DrsEnabled != want.DrsEnabled ? want.DrsEnabled : null;
                var behavior = want.DrsBehavior.Length > 0 && current.DrsBehavior != want.DrsBehavior ? want.DrsBehavior : null;
                if (ha is null && admission is null && drs is null && behavior is null)
                    return changed ? StepOutcome.Done : StepOutcome.AlreadyInState;
                await Client(command.Cluster).ReconfigureHaDrsAsync(command.Cluster, ha, admission, drs, behavior, token);
                changed = true;
                return StepOutcome.Done;
            }, ct);
            Log($"Cluster {command.Cluster} HA/DRS restored to {want}", outcome, fault);
            return new ClusterHaDrsRestored(command.RunId, command.Cluster, outcome, replaced, fault, _clock.GetUtcNow());
        }, outcome => outcome.Outcome != StepOutcome.Failed);

    /// <summary>Waits for the vSAN resync to finish; never fails a run by itself: the outcome says how much is left.</summary>
    public Task<VsanResyncChecked> CheckVsanResyncAsync(VsanResyncCheckRequested command, CancellationToken ct) =>
        _memory.RunOnceAsync($"vsan-resync/{command.RunId}/{command.Cluster}", async () =>
        {
            var timeout = command.Timeout ?? _options.VsanResyncTimeout;
            VsanResync last = new(0, 0, 0);
            VsanResyncChecked Outcome(VsanResyncOutcome outcome, VCenterFault? fault = null)
            {
                _logger.LogInformation("Cluster {Cluster} vSAN resync: {Outcome} ({Objects} objects, {Bytes} bytes left)", command.Cluster, outcome, last.Objects, last.Bytes);
                return new VsanResyncChecked(command.RunId, command.Cluster, outcome, last.Objects, last.Bytes, last.EtaSeconds, fault, _clock.GetUtcNow());
            }
            try
            {
                if (!(await _retry.ExecuteAsync(async token => await Client(command.Cluster).ReadClusterConfigAsync(command.Cluster, token), ct)).Vsan)
                    return Outcome(VsanResyncOutcome.NotVsan);
                var deadline = UtcNow + timeout;
                var waited = false;
                while (true)
                {
                    last = await _retry.ExecuteAsync(async token => await Client(command.Cluster).QueryVsanResyncAsync(command.Cluster, token), ct);
                    if (last.Idle)
                        return Outcome(waited ? VsanResyncOutcome.Finished : VsanResyncOutcome.Idle);
                    if (UtcNow > deadline)
                        return Outcome(VsanResyncOutcome.StillResyncing, new VCenterFault(VCenterException.Timeout,
                            $"vSAN of cluster {command.Cluster} still resyncing {last.Objects} objects ({last.Bytes} bytes, about {last.EtaSeconds} s left) after {timeout}"));
                    waited = true;
                    await Task.Delay(_options.VsanResyncPollInterval, _clock, ct);
                }
            }
            catch (VCenterException ex)
            {
                return Outcome(VsanResyncOutcome.Failed, Fault(ex));
            }
        }, outcome => outcome.Outcome != VsanResyncOutcome.Failed);

    /// <summary>Tries a login to the host's own API; a refusal is told apart from lockdown mode by asking vCenter, if it answers.</summary>
    public async Task<EsxiHostLoginChecked> CheckEsxiLoginAsync(EsxiHostLoginCheckRequested command, CancellationToken ct)
    {
        EsxiHostLoginChecked Outcome(EsxiLoginOutcome outcome, VCenterFault? fault = null)
        {
            Log($"ESXi host {command.Host} login check: {outcome}", outcome == EsxiLoginOutcome.Accepted ? StepOutcome.Done : StepOutcome.Failed, fault);
            return new EsxiHostLoginChecked(command.RunId, command.Cluster, command.Host, outcome, fault, _clock.GetUtcNow());
        }
        try
        {
            await _retry.ExecuteAsync(async token => await _esxi.Connection(command.Host).LoginNowAsync(token), ct);
            return Outcome(EsxiLoginOutcome.Accepted);
        }
        catch (VCenterException ex)
        {
            var (outcome, fault) = await ClassifyLoginFaultAsync(command.Cluster, command.Host, ex, ct);
            return Outcome(outcome, fault);
        }
    }

    async Task<(EsxiLoginOutcome, VCenterFault)> ClassifyLoginFaultAsync(string cluster, string host, VCenterException ex, CancellationToken ct)
    {
        switch (ex.FaultName)
        {
            case EsxiHosts.NoCredentials:
                return (EsxiLoginOutcome.NoCredentials, Fault(ex));
            case VCenterException.CertificateRejected:
                return (EsxiLoginOutcome.CertificateRejected, new VCenterFault(ex.FaultName, $"ESXi host {host}: {ex.Message}"));
            case VCenterException.InvalidLogin:
                string? lockdown = null;
                try
                {
                    lockdown = (await Client(cluster).ListHostsAsync(cluster, ct)).FirstOrDefault(h => string.Equals(h.Name, host, StringComparison.OrdinalIgnoreCase))?.LockdownMode;
                }
                catch (VCenterException)
                {
                    // vCenter down (its VM is off): the refusal is all we know.
                }
                return lockdown is "lockdownNormal" or "lockdownStrict"
                    ? (EsxiLoginOutcome.LockdownMode, new VCenterFault("LockdownMode",
                        $"ESXi host {host} is in lockdown mode ({lockdown}) and refuses direct logins; add the configured user to its exception users or disable lockdown mode"))
                    : (EsxiLoginOutcome.Refused, new VCenterFault(VCenterException.InvalidLogin,
                        $"ESXi host {host} refused the configured user and password{(lockdown is null ? " (lockdown mode unknown: vCenter did not say)" : "")}"));
            default:
                return (EsxiLoginOutcome.Unreachable, new VCenterFault(ex.FaultName, $"ESXi host {host}: {ex.Message}"));
        }
    }

    /// <summary>A fault from a host's own API, named so that the host appears in it and a refused login says why.</summary>
    async Task<VCenterFault> HostFaultAsync(string cluster, string host, VCenterException ex, CancellationToken ct) =>
        ex.FaultName is EsxiHosts.NoCredentials or VCenterException.InvalidLogin or VCenterException.CertificateRejected
            ? (await ClassifyLoginFaultAsync(cluster, host, ex, ct)).Item2
            : new VCenterFault(ex.FaultName, $"ESXi host {host}: {ex.Message}");

    /// <summary>
    /// Finishes a host through its own API: waits until none of its VMs runs (vCenter's VM shutting down), maintenance mode
    /// where possible (vSAN: noAction), then ShutdownHost_Task. Where vCenter's VM moved since the plan, the host that has it
    /// now is found through the configured hosts' own APIs and finished first.
    /// </summary>
    public Task<EsxiHostPoweredOff> ShutDownEsxiHostAsync(EsxiHostShutdownRequested command, CancellationToken ct) =>
        _memory.RunOnceAsync($"esxi-shutdown/{command.RunId}/{command.Cluster}/{command.Host}", async () =>
        {
            string? followedTo = null;
            if (command.VCenterVm is { } vcenterVm && await FindVmOnOtherHostAsync(command.Host, vcenterVm, ct) is { } other)
            {
                _logger.LogWarning("vCenter's VM {Vm} is on ESXi host {Other}, not on {Host} as planned: finishing {Other} first", vcenterVm, other, command.Host, other);
                var moved = await FinishEsxiHostAsync(command with { Host = other }, ct);
                if (moved.Outcome == StepOutcome.Failed)
                    return moved with { Host = command.Host, FollowedTo = other };
                followedTo = other;
            }
            return await FinishEsxiHostAsync(command, ct) with { FollowedTo = followedTo };
        }, outcome => outcome.Outcome != StepOutcome.Failed);

    /// <summary>
    /// The configured ESXi host other than <paramref name="planned"/> that has the VM now (null: it is on the planned host,
    /// or no other host answers with it). Hosts of standalone clusters are not vCenter's and are not asked.
    /// </summary>
    async Task<string?> FindVmOnOtherHostAsync(string planned, string vmName, CancellationToken ct)
    {
        bool Has(IReadOnlyList<VmState> vms) => vms.Any(v => string.Equals(v.Name, vmName, StringComparison.OrdinalIgnoreCase));
        try
        {
            if (Has(await _esxi.Client(planned).ListVmsAsync(ct)))
                return null;
        }
        catch (VCenterException ex)
        {
            _logger.LogDebug("ESXi host {Host} not asked for {Vm}: {Fault}", planned, vmName, ex.FaultName);
        }
        var standalone = _options.Clusters.Values.SelectMany(c => c.Hosts).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var host in _options.Hosts.Keys.Where(h => !string.Equals(h, planned, StringComparison.OrdinalIgnoreCase) && !standalone.Contains(h)))
        {
            try
            {
                if (Has(await _esxi.Client(host).ListVmsAsync(ct)))
                    return host;
            }
            catch (VCenterException ex)
            {
                _logger.LogDebug("ESXi host {Host} not asked for {Vm}: {Fault}", host, vmName, ex.FaultName);
            }
        }
        return null;
    }

    async Task<EsxiHostPoweredOff> FinishEsxiHostAsync(EsxiHostShutdownRequested command, CancellationToken ct)
    {
        var force = command.Force ?? _options.ForceHostShutdown;
        bool? wasInMaintenance = null;
        var entered = false;
        var issued = false;
        StepOutcome outcome;
        VCenterFault? fault = null;
        try
        {
            outcome = await _retry.ExecuteAsync(async token =>
            {
                if (issued)
                    return StepOutcome.Done; // the host went away answering our ShutdownHost_Task
                var esxi = _esxi.Client(command.Host);
                var host = await esxi.GetHostAsync(EsxiHosts.HostId, token);
                wasInMaintenance ??= host.InMaintenanceMode;
                if (host.PowerState == VimStates.PoweredOff)
                    return StepOutcome.AlreadyInState;

                var deadline = UtcNow + _options.GuestShutdownTimeout;
                List<VmState> running;
                while ((running = [.. (await esxi.ListVmsAsync(token)).Where(v => v.IsOn)]).Count > 0 && UtcNow < deadline)
                    await Task.Delay(_options.PollInterval, _clock, token);
                if (running.Count > 0 && !force)
                    throw new VCenterException(VCenterException.InvalidState,
                        $"VMs still running on ESXi host {command.Host} after {_options.GuestShutdownTimeout}: {string.Join(", ", running.Select(v => v.Name))} (ForceHostShutdown is off)");

                if (!host.InMaintenanceMode && running.Count == 0)
                {
                    try
                    {
                        await esxi.EnterMaintenanceModeAsync(EsxiHosts.HostId, _options.MaintenanceTimeout, token, command.Vsan ? NoAction : null);
                        entered = true;
                    }
                    catch (VCenterException ex) when (!ex.IsTransient && force)
                    {
                        _logger.LogWarning("ESXi host {Host}: maintenance mode not entered ({Fault}: {Message}); shutting down with force", command.Host, ex.FaultName, ex.Message);
                    }
                }
                issued = true;
                await esxi.ShutdownHostAsync(EsxiHosts.HostId, force, _options.HostShutdownTimeout, token);
                return StepOutcome.Done;
            }, ct);
        }
        catch (VCenterException ex)
        {
            outcome = StepOutcome.Failed;
            fault = await HostFaultAsync(command.Cluster, command.Host, ex, ct);
        }
        Log($"ESXi host {command.Host} shutdown through its own API", outcome, fault);
        return new EsxiHostPoweredOff(command.RunId, command.Cluster, command.Host, outcome, wasInMaintenance, entered, fault, _clock.GetUtcNow());
    }

    /// <summary>
    /// Through the host's own API: out of maintenance mode, vCenter's VM on; then waits until vCenter answers and sees the
    /// cluster's hosts connected. vCenter not answering meanwhile is expected.
    /// </summary>
    public Task<VCenterStarted> StartVCenterAsync(VCenterStartRequested command, CancellationToken ct) =>
        _memory.RunOnceAsync($"vcenter-start/{command.RunId}/{command.Cluster}", async () =>
        {
            var timeout = command.Timeout ?? _options.VCenterStartTimeout;
            IReadOnlyList<string> connected = [];
            string? startedOn = null;
            VCenterStarted Outcome(StepOutcome outcome, VCenterFault? fault = null)
            {
                Log($"vCenter VM {command.VmName} start through ESXi host {command.Host}", outcome, fault);
                return new VCenterStarted(command.RunId, command.Cluster, command.Host, command.VmName, outcome, connected, fault, _clock.GetUtcNow(), startedOn);
            }

            // Already up (a repeated step, or vCenter was never down): nothing to do on the host.
            if (await VCenterSeesHostsAsync(command.Cluster, ct) is { } already)
            {
                connected = already;
                return Outcome(StepOutcome.AlreadyInState);
            }

            var hostName = command.Host;
            try
            {
                // The planned host first; the VM may have moved since the plan (DRS): then any other configured host that has it.
                // Hosts of standalone clusters are not vCenter's: its VM cannot have moved there.
                var standalone = _options.Clusters.Values.SelectMany(c => c.Hosts).ToHashSet(StringComparer.OrdinalIgnoreCase);
                var candidates = new[] { command.Host }.Concat(_options.Hosts.Keys.Where(h =>
                    !string.Equals(h, command.Host, StringComparison.OrdinalIgnoreCase) && !standalone.Contains(h)));
                VCenterException? notFound = null;
                foreach (var candidate in candidates)
                {
                    hostName = candidate;
                    try
                    {
                        await _retry.ExecuteAsync(async token => await PowerOnThroughHostAsync(candidate, token), ct);
                        startedOn = candidate;
                        notFound = null;
                        break;
                    }
                    catch (VCenterException ex) when (ex.FaultName == VCenterException.NotFound && candidate != command.Host)
                    {
                        notFound = ex;
                    }
                    catch (VCenterException ex) when (ex.FaultName == VCenterException.NotFound)
                    {
                        notFound = ex;
                        _logger.LogWarning("vCenter's VM {Vm} is not on {Host} as planned; looking on the other configured hosts", command.VmName, command.Host);
                    }
                }
                if (notFound is not null)
                    throw new VCenterException(VCenterException.NotFound, $"No configured ESXi host has vCenter's VM {command.VmName} (planned on {command.Host})");
            }
            catch (VCenterException ex)
            {
                return Outcome(StepOutcome.Failed, await HostFaultAsync(command.Cluster, hostName, ex, ct));
            }

            async Task<bool> PowerOnThroughHostAsync(string name, CancellationToken token)
            {
                var esxi = _esxi.Client(name);
                var vm = (await esxi.ListVmsAsync(token)).FirstOrDefault(v => string.Equals(v.Name, command.VmName, StringComparison.OrdinalIgnoreCase))
                    ?? throw new VCenterException(VCenterException.NotFound, $"ESXi host {name} has no VM named {command.VmName}");
                var host = await esxi.GetHostAsync(EsxiHosts.HostId, token);
                if (host.InMaintenanceMode)
                    await esxi.ExitMaintenanceModeAsync(EsxiHosts.HostId, _options.MaintenanceTimeout, token);
                if (!vm.IsOn)
                {
                    try
                    {
                        await esxi.PowerOnVmAsync(vm.Id, _options.PowerTaskTimeout, token);
                    }
                    catch (VCenterException ex) when (ex.Is(VCenterException.InvalidPowerState))
                    {
                        // Powered on meanwhile: what we wanted.
                    }
                }
                return true;
            }

            var deadline = UtcNow + timeout;
            while (UtcNow < deadline)
            {
                await Task.Delay(_options.VCenterStartPollInterval, _clock, ct);
                if (await VCenterSeesHostsAsync(command.Cluster, ct) is { } hosts)
                {
                    connected = hosts;
                    return Outcome(StepOutcome.Done);
                }
            }
            return Outcome(StepOutcome.Failed, new VCenterFault(VCenterException.Timeout,
                $"vCenter did not answer with every host of cluster {command.Cluster} connected within {timeout} of its VM {command.VmName} powering on"));
        }, outcome => outcome.Outcome != StepOutcome.Failed);

    /// <summary>The cluster's host names when vCenter answers and shows all of them connected; null otherwise (expected while it starts).</summary>
    async Task<IReadOnlyList<string>?> VCenterSeesHostsAsync(string cluster, CancellationToken ct)
    {
        try
        {
            var hosts = await Client(cluster).ListHostsAsync(cluster, ct);
            return hosts.Count > 0 && hosts.All(h => h.ConnectionState == VimStates.Connected) ? [.. hosts.Select(h => h.Name)] : null;
        }
        catch (VCenterException ex)
        {
            _logger.LogDebug("vCenter not ready yet: {Fault}: {Message}", ex.FaultName, ex.Message);
            return null;
        }
    }
}
