using PowerEvents.Contracts;
using PowerEvents.VCenterActuator.Vim;

namespace PowerEvents.VCenterActuator;

/// <summary>
/// vSAN's own whole-cluster power workflow (<c>VsanClusterPowerSystem.PerformClusterPowerAction</c>, vSAN 7.0 U3+): HA off,
/// vCLS and vCenter's VM off, vSAN membership updates and DOM paused, every host into maintenance mode and off — or back.
/// </summary>
public sealed partial class VCenterSteps
{
    public const string ClusterPoweredOff = "clusterPoweredOff";
    public const string ClusterPoweredOn = "clusterPoweredOn";

    /// <summary>
    /// Asks vSAN for the cluster's power action and follows its task. When vCenter's VM is on the cluster vCenter goes away
    /// during a power-off (expected); the hosts are then confirmed off through vCenter while it answers, else through their
    /// own APIs where configured (a host whose API stops answering is off).
    /// </summary>
    public Task<VsanClusterPowerCompleted> PowerVsanClusterAsync(VsanClusterPowerRequested command, CancellationToken ct) =>
        _memory.RunOnceAsync($"vsan-power/{command.RunId}/{command.Cluster}/{command.TargetPowerStatus}", async () =>
        {
            var started = false;
            List<string> hosts = [], off = [];
            string? followed = null;
            IReadOnlyList<string> unconfirmed = [];
            VsanClusterPowerCompleted Outcome(StepOutcome outcome, VCenterFault? fault = null)
            {
                Log($"vSAN cluster {command.Cluster} {command.TargetPowerStatus}", outcome, fault);
                return new VsanClusterPowerCompleted(command.RunId, command.Cluster, command.TargetPowerStatus, outcome, started, off, unconfirmed, fault,
                    _clock.GetUtcNow(), followed);
            }
            if (command.TargetPowerStatus is not (ClusterPoweredOff or ClusterPoweredOn))
                return Outcome(StepOutcome.Failed, new VCenterFault("InvalidArgument",
                    $"TargetPowerStatus must be {ClusterPoweredOff} or {ClusterPoweredOn}, not '{command.TargetPowerStatus}'"));

            var client = Client(command.Cluster);
            var deadline = UtcNow + _options.VsanClusterPowerTimeout;
            try
            {
                (MoRef Cluster, ClusterHaDrsSettings HaDrs, bool Vsan) config;
                try
                {
                    config = await _retry.ExecuteAsync(async token => await client.ReadClusterConfigAsync(command.Cluster, token), ct);
                }
                catch (VCenterException ex) when (ex.IsTransient && command.TargetPowerStatus == ClusterPoweredOff && command.Hosts is { Count: > 0 })
                {
                    // A repeat after the actuator restarted (or the evaluator asked again) may arrive when vSAN's workflow has
                    // already taken vCenter's VM down: its hosts tell whether it is under way.
                    var signs = await VsanWorkflowSignsAsync(command, ct);
                    if (signs.Count == 0)
                        throw;
                    hosts = [.. command.Hosts];
                    started = true;
                    followed = $"followed after a restart: vCenter did not answer ({ex.FaultName}) and vSAN's workflow was under way ({string.Join("; ", signs)}); hosts confirmed through their own APIs";
                    _logger.LogWarning("vSAN cluster {Cluster}: {Followed}", command.Cluster, followed);
                    goto Confirm;
                }
                if (!config.Vsan)
                    return Outcome(StepOutcome.Failed, new VCenterFault("NotVsan", $"Cluster {command.Cluster} has no vSAN"));
                hosts = [.. (await _retry.ExecuteAsync(async token => await client.ListHostsAsync(command.Cluster, token), ct)).Select(h => h.Name)];
                // A workflow this run started before the actuator restarted is followed, not asked twice (vSAN refuses a second one).
                var running = await client.FindRecentTaskAsync(config.Cluster.Type, config.Cluster.Value, VsanPowerTaskDescription, ct);
                string task;
                if (running is { Running: true })
                {
                    task = running.Id;
                    followed = $"followed after a restart: vSAN's workflow was running ({running.Id})";
                    _logger.LogWarning("vSAN cluster {Cluster}: {Followed}", command.Cluster, followed);
                }
                else
                {
                    // Not retried: a lost answer may have started the workflow, and a second request would be refused while it runs.
                    task = await client.StartVsanClusterPowerActionAsync(command.Cluster, command.TargetPowerStatus, command.Reason, ct);
                }
                started = true;
                try
                {
                    await client.FollowTaskAsync(task, $"PerformClusterPowerAction({command.TargetPowerStatus}) on {command.Cluster}", _options.VsanClusterPowerTimeout, ct);
                }
                catch (VCenterException ex) when (ex.IsTransient && command.TargetPowerStatus == ClusterPoweredOff)
                {
                    // vCenter's VM runs on the cluster: vSAN powers it off (vcVMPoweredOff) and the task's end is not seen.
                    _logger.LogInformation("vSAN cluster {Cluster}: vCenter stopped answering during the power-off ({Fault}); confirming the hosts", command.Cluster, ex.FaultName);
                }
            }
            catch (VCenterException ex)
            {
                return Outcome(StepOutcome.Failed, Fault(ex));
            }
            if (command.TargetPowerStatus == ClusterPoweredOn)
            {
                off = [];
                return Outcome(StepOutcome.Done);
            }

        Confirm:
            var left = await ConfirmHostsOffAsync(command.Cluster, hosts, off, deadline, ct);
            unconfirmed = left.Unknown;
            return left.StillOn.Count == 0
                ? Outcome(StepOutcome.Done)
                : Outcome(StepOutcome.Failed, new VCenterFault(VCenterException.Timeout,
                    $"vSAN's power-off of cluster {command.Cluster} left host(s) answering after {_options.VsanClusterPowerTimeout}: {string.Join(", ", left.StillOn)}"));
        }, outcome => outcome.Outcome != StepOutcome.Failed);

    /// <summary>vCenter's task for vSAN's cluster power action (<c>descriptionId</c> of a recent task of the cluster).</summary>
    const string VsanPowerTaskDescription = "ClusterComputeResource.performClusterPowerAction";

    /// <summary>
    /// What the hosts' own APIs show of vSAN's power-off workflow while vCenter does not answer: a host in maintenance mode,
    /// off or no longer answering, vCenter's VM off. Empty: nothing shows it ran (or no host can be asked).
    /// </summary>
    async Task<List<string>> VsanWorkflowSignsAsync(VsanClusterPowerRequested command, CancellationToken ct)
    {
        var signs = new List<string>();
        if (command.VCenterVm is { Length: > 0 } vm)
        {
            // Its planned host first; it may have moved within the cluster since the plan.
            foreach (var host in new[] { command.VCenterHost }.Concat(command.Hosts ?? []).OfType<string>().Distinct(StringComparer.OrdinalIgnoreCase))
            {
                try
                {
                    if ((await _esxi.Client(host).ListVmsAsync(ct)).FirstOrDefault(v => string.Equals(v.Name, vm, StringComparison.OrdinalIgnoreCase)) is not { } found)
                        continue;
                    if (found.IsOff)
                        signs.Add($"vCenter's VM {vm} off on {host}");
                    break;
                }
                catch (VCenterException ex)
                {
                    _logger.LogDebug("ESXi host {Host} not asked for {Vm}: {Fault}", host, vm, ex.FaultName);
                }
            }
        }
        foreach (var host in command.Hosts ?? [])
        {
            try
            {
                var own = await _esxi.Client(host).GetHostAsync(EsxiHosts.HostId, ct);
                if (own.PowerState == VimStates.PoweredOff)
                    signs.Add($"{host} off");
                else if (own.InMaintenanceMode)
                    signs.Add($"{host} in maintenance mode");
            }
            catch (VCenterException ex) when (ex.IsTransient)
            {
                signs.Add($"{host} not answering");
            }
            catch (VCenterException ex)
            {
                _logger.LogDebug("ESXi host {Host} not asked about vSAN's workflow: {Fault}", host, ex.FaultName);
            }
        }
        return signs;
    }

    /// <summary>Polls until every host is off (vCenter says so, or the host's own API stops answering) or the deadline.</summary>
    async Task<(List<string> StillOn, List<string> Unknown)> ConfirmHostsOffAsync(string cluster, List<string> hosts, List<string> off, DateTime deadline,
        CancellationToken ct)
    {
        while (true)
        {
            var stillOn = new List<string>();
            var unknown = new List<string>();
            Dictionary<string, HostInventory>? seen = null;
            try
            {
                seen = (await Client(cluster).ListHostsAsync(cluster, ct)).ToDictionary(h => h.Name, StringComparer.OrdinalIgnoreCase);
            }
            catch (VCenterException ex) when (ex.IsTransient)
            {
                // vCenter went down with its VM: ask the hosts themselves.
            }
            foreach (var host in hosts.Where(h => !off.Contains(h, StringComparer.OrdinalIgnoreCase)))
            {
                if (seen is not null && seen.TryGetValue(host, out var h))
                {
                    if (h.PowerState == VimStates.PoweredOff || h.ConnectionState != VimStates.Connected)
                        off.Add(host);
                    else
                        stillOn.Add(host);
                    continue;
                }
                try
                {
                    var own = await _esxi.Client(host).GetHostAsync(EsxiHosts.HostId, ct);
                    if (own.PowerState == VimStates.PoweredOff)
                        off.Add(host);
                    else
                        stillOn.Add(host);
                }
                catch (VCenterException ex) when (ex.IsTransient)
                {
                    off.Add(host); // its API stopped answering: off, as vCenter would report a host it stops hearing from
                }
                catch (VCenterException)
                {
                    unknown.Add(host); // no ESXi account configured, or a refused login: nothing to ask
                }
            }
            if (stillOn.Count == 0 || UtcNow > deadline)
                return (stillOn, unknown);
            await Task.Delay(_options.PollInterval, _clock, ct);
        }
    }
}
