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
            IReadOnlyList<string> unconfirmed = [];
            VsanClusterPowerCompleted Outcome(StepOutcome outcome, VCenterFault? fault = null)
            {
                Log($"vSAN cluster {command.Cluster} {command.TargetPowerStatus}", outcome, fault);
                return new VsanClusterPowerCompleted(command.RunId, command.Cluster, command.TargetPowerStatus, outcome, started, off, unconfirmed, fault,
                    _clock.GetUtcNow());
            }
            if (command.TargetPowerStatus is not (ClusterPoweredOff or ClusterPoweredOn))
                return Outcome(StepOutcome.Failed, new VCenterFault("InvalidArgument",
                    $"TargetPowerStatus must be {ClusterPoweredOff} or {ClusterPoweredOn}, not '{command.TargetPowerStatus}'"));

            var client = Client(command.Cluster);
            var deadline = UtcNow + _options.VsanClusterPowerTimeout;
            try
            {
                if (!(await _retry.ExecuteAsync(async token => await client.ReadClusterConfigAsync(command.Cluster, token), ct)).Vsan)
                    return Outcome(StepOutcome.Failed, new VCenterFault("NotVsan", $"Cluster {command.Cluster} has no vSAN"));
                hosts = [.. (await _retry.ExecuteAsync(async token => await client.ListHostsAsync(command.Cluster, token), ct)).Select(h => h.Name)];
                // Not retried: a lost answer may have started the workflow, and a second request would be refused while it runs.
                var task = await client.StartVsanClusterPowerActionAsync(command.Cluster, command.TargetPowerStatus, command.Reason, ct);
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

            var left = await ConfirmHostsOffAsync(command.Cluster, hosts, off, deadline, ct);
            unconfirmed = left.Unknown;
            return left.StillOn.Count == 0
                ? Outcome(StepOutcome.Done)
                : Outcome(StepOutcome.Failed, new VCenterFault(VCenterException.Timeout,
                    $"vSAN's power-off of cluster {command.Cluster} left host(s) answering after {_options.VsanClusterPowerTimeout}: {string.Join(", ", left.StillOn)}"));
        }, outcome => outcome.Outcome != StepOutcome.Failed);

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
