using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using PowerEvents.Contracts;
using PowerEvents.VCenterActuator.Vim;

namespace PowerEvents.VCenterActuator;

/// <summary>
/// Each step: read the object's state, act only if it is not already in the asked state, follow the action to
/// its end, and say what happened. A step that meets a transient failure (vCenter unreachable, timing out,
/// answering 503) starts again from the state check, which makes it safe to repeat; when it gives up it
/// reports the fault instead of throwing.
/// </summary>
public sealed partial class VCenterSteps
{
    readonly Platforms _platforms;
    readonly TimeProvider _clock;
    readonly VCenterOptions _options;
    readonly ILogger<VCenterSteps> _logger;
    readonly OutcomeMemory _memory;
    readonly ResiliencePipeline _retry;
    readonly EsxiHosts _esxi;

    /// <summary>Steps on one vCenter (every cluster is on <paramref name="client"/>).</summary>
    public VCenterSteps(IVCenterClient client, IOptions<VCenterOptions> options, OutcomeMemory memory, ILogger<VCenterSteps> logger,
        EsxiHosts? esxi = null, TimeProvider? clock = null)
        : this(null, client, options, memory, logger, esxi, clock)
    {
    }

    /// <summary>Steps routed by the command's cluster to the platform it lives on.</summary>
    public VCenterSteps(Platforms platforms, IOptions<VCenterOptions> options, OutcomeMemory memory, ILogger<VCenterSteps> logger,
        EsxiHosts esxi, TimeProvider clock)
        : this(platforms, null, options, memory, logger, esxi, clock)
    {
    }

    VCenterSteps(Platforms? platforms, IVCenterClient? client, IOptions<VCenterOptions> options, OutcomeMemory memory, ILogger<VCenterSteps> logger,
        EsxiHosts? esxi, TimeProvider? clock)
    {
        _clock = clock ?? TimeProvider.System;
        _esxi = esxi ?? new EsxiHosts(options, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        _platforms = platforms ?? Platforms.Single(client!, options.Value, _esxi, _clock);
        _options = options.Value;
        _memory = memory;
        _logger = logger;
        var retry = _options.Retry;
        var pipeline = new ResiliencePipelineBuilder { TimeProvider = _clock };
        if (retry.MaxAttempts > 0)
        {
            pipeline.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<VCenterException>(ex => ex.IsTransient),
                MaxRetryAttempts = retry.MaxAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = retry.BaseDelay,
                MaxDelay = retry.MaxDelay,
                OnRetry = args =>
                {
                    _logger.LogWarning("vCenter call failed ({Fault}), retry {Attempt} in {Delay}",
                        (args.Outcome.Exception as VCenterException)?.Message, args.AttemptNumber + 1, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            });
        }
        _retry = pipeline.Build();
    }

    /// <summary>The client of the platform the cluster lives on (NotFound when none: reported as the step's fault).</summary>
    IVCenterClient Client(string cluster) => _platforms.For(cluster);

    DateTime UtcNow => _clock.GetUtcNow().UtcDateTime;

    /// <summary>Holds the VM on its platform's update stream; a cluster no platform has gets nothing to hold (the first read reports it).</summary>
    IDisposable WatchVm(string cluster, string vmId)
    {
        try
        {
            return Client(cluster).Watch("VirtualMachine", vmId);
        }
        catch (VCenterException)
        {
            return new CancellationTokenSource();
        }
    }

    /// <param name="sentAt">When the command was first sent (a redelivery keeps it): what our account did to the VM since
    /// then, before a restart of this service, is this step's doing. Null: only what this call does.</param>
    public Task<VmShutDown> ShutDownVmAsync(VmShutdownRequested command, CancellationToken ct, DateTime? sentAt = null) =>
        _memory.RunOnceAsync($"shutdown/{command.RunId}/{command.VmId}", () => ShutDownVmOnceAsync(command, sentAt ?? UtcNow, ct),
            outcome => outcome.Outcome != VmShutdownOutcome.Failed);

    async Task<VmShutDown> ShutDownVmOnceAsync(VmShutdownRequested command, DateTime sentAt, CancellationToken ct)
    {
        var timeout = command.GuestShutdownTimeout ?? _options.GuestShutdownTimeout;
        var guestRequested = false;
        DateTime? guestDeadline = null;
        VCenterFault? forcedBecause = null;

        VmShutDown Outcome(VmShutdownOutcome outcome, VCenterFault? fault = null)
        {
            _logger.LogInformation("VM {VmName} ({VmId}) shutdown: {Outcome}{Reason}", command.VmName, command.VmId, outcome,
                fault is null ? "" : $" ({fault.Name}: {fault.Message})");
            return new VmShutDown(command.RunId, command.Cluster, command.VmId, command.VmName, outcome, fault, _clock.GetUtcNow());
        }

        // Off after we asked: the guest did it unless we forced it.
        VmShutDown WhenOff() => forcedBecause is not null ? Outcome(VmShutdownOutcome.Forced, forcedBecause)
            : guestRequested ? Outcome(VmShutdownOutcome.Graceful)
            : Outcome(VmShutdownOutcome.AlreadyOff);

        async Task<VmShutDown> PowerOffAsync(VCenterFault because, CancellationToken token)
        {
            forcedBecause = because;
            _logger.LogInformation("VM {VmName} ({VmId}): powering off hard ({Fault})", command.VmName, command.VmId, because.Name);
            try
            {
                await Client(command.Cluster).PowerOffVmAsync(command.VmId, _options.PowerTaskTimeout, token);
            }
            catch (VCenterException ex) when (ex.Is(VCenterException.InvalidPowerState))
            {
                // Went off meanwhile (the guest finished just now): that is the guest's doing.
                if ((await Client(command.Cluster).GetVmAsync(command.VmId, token)).IsOff)
                {
                    forcedBecause = null;
                    return WhenOff();
                }
                throw;
            }
            return Outcome(VmShutdownOutcome.Forced, because);
        }

        var checkedHistory = false;
        using var watch = WatchVm(command.Cluster, command.VmId);
        try
        {
            return await _retry.ExecuteAsync(async token =>
            {
                var vm = await Client(command.Cluster).ReadVmAsync(command.VmId, token);
                if (!checkedHistory && !guestRequested && forcedBecause is null && (vm.IsOff || vm.ShuttingDown))
                {
                    // Off or shutting down before this process did anything: perhaps it did, before a restart.
                    // vCenter's events say whether our account asked the guest, or powered it off, since it last started.
                    checkedHistory = true;
                    Recall(await Client(command.Cluster).GetShutdownHistoryAsync(command.VmId, token), vm);
                }
                if (vm.IsOff)
                    return WhenOff();
                if (forcedBecause is not null)
                    return await PowerOffAsync(forcedBecause, token);

                if (!guestRequested)
                {
                    if (!vm.ToolsRunning)
                        return await NoToolsAsync(token);
                    try
                    {
                        await Client(command.Cluster).ShutdownGuestAsync(command.VmId, token);
                    }
                    catch (VCenterException ex) when (ex.Is(VCenterException.ToolsUnavailable))
                    {
                        return await NoToolsAsync(token);
                    }
                    catch (VCenterException ex) when (ex.Is(VCenterException.InvalidPowerState))
                    {
                        if ((await Client(command.Cluster).GetVmAsync(command.VmId, token)).IsOff)
                            return WhenOff();
                        throw;
                    }
                    guestRequested = true;
                    guestDeadline = UtcNow + timeout;
                    _logger.LogInformation("VM {VmName} ({VmId}): guest shutdown requested, waiting up to {Timeout}", command.VmName, command.VmId, timeout);
                }

                // vCenter pushes the power state (one update stream for every waiting step): no polling here.
                if ((await Client(command.Cluster).WaitForVmAsync(command.VmId, v => v.IsOff, guestDeadline!.Value - UtcNow, token)).Met)
                    return WhenOff();
                return await PowerOffAsync(new VCenterFault(VCenterException.Timeout, $"The guest did not power off within {timeout} of ShutdownGuest"), token);

                async Task<VmShutDown> NoToolsAsync(CancellationToken t)
                {
                    var fault = new VCenterFault(VCenterException.ToolsUnavailable, "VMware Tools is not running in this virtual machine.");
                    return _options.HardPowerOffWithoutTools
                        ? await PowerOffAsync(fault, t)
                        : Outcome(VmShutdownOutcome.Failed, fault);
                }
            }, ct);
        }
        catch (VCenterException ex) when (ex.IsTransient && guestRequested)
        {
            // Expected when this VM is vCenter itself: it takes the API down with it.
            return Outcome(VmShutdownOutcome.Failed, new VCenterFault(ex.FaultName,
                $"ShutdownGuest was accepted, then vCenter stopped answering (as it does when this VM is vCenter itself): {ex.Message}"));
        }
        catch (VCenterException ex)
        {
            return Outcome(VmShutdownOutcome.Failed, Fault(ex));
        }

        void Recall(VmShutdownHistory history, VmState vm)
        {
            // Shutting down on our request: follow it, never ask twice. Off: our doing only if done for this command.
            if (history.GuestShutdownAskedAt is { } asked && (vm.ShuttingDown || asked >= sentAt))
            {
                guestRequested = true;
                guestDeadline = DateTime.SpecifyKind(asked, DateTimeKind.Utc) + timeout;
                _logger.LogInformation("VM {VmName} ({VmId}): its guest shutdown was requested at {Asked}, before a restart; following it",
                    command.VmName, command.VmId, asked);
            }
            if (history.PoweredOffByUsAt >= sentAt && vm.IsOff)
            {
                forcedBecause = guestRequested
                    ? new VCenterFault(VCenterException.Timeout, $"The guest did not power off within {timeout} of ShutdownGuest")
                    : new VCenterFault(VCenterException.ToolsUnavailable, "VMware Tools is not running in this virtual machine.");
            }
        }
    }

    public Task<VmPoweredOn> PowerOnVmAsync(VmPowerOnRequested command, CancellationToken ct) =>
        _memory.RunOnceAsync($"poweron/{command.RunId}/{command.VmId}", async () =>
        {
            var issued = false;
            using var watch = WatchVm(command.Cluster, command.VmId);
            var (outcome, fault) = await RunStepAsync(async token =>
            {
                var vm = await Client(command.Cluster).ReadVmAsync(command.VmId, token);
                if (vm.IsOn)
                    return issued ? StepOutcome.Done : StepOutcome.AlreadyInState;
                issued = true;
                try
                {
                    await Client(command.Cluster).PowerOnVmAsync(command.VmId, _options.PowerTaskTimeout, token);
                }
                catch (VCenterException ex) when (ex.Is(VCenterException.InvalidPowerState))
                {
                    // Someone else powered it on between our read and our call.
                    if ((await Client(command.Cluster).GetVmAsync(command.VmId, token)).IsOn)
                        return StepOutcome.AlreadyInState;
                    throw;
                }
                return StepOutcome.Done;
            }, ct);
            Log("VM " + command.VmName + " (" + command.VmId + ") power-on", outcome, fault);
            return new VmPoweredOn(command.RunId, command.Cluster, command.VmId, command.VmName, outcome, fault, _clock.GetUtcNow());
        }, outcome => outcome.Outcome != StepOutcome.Failed);

    /// <param name="sentAt">As for <see cref="ShutDownVmAsync"/>: a maintenance task queued since then is this step's.</param>
    public Task<HostEnteredMaintenance> EnterMaintenanceAsync(HostMaintenanceRequested command, CancellationToken ct, DateTime? sentAt = null) =>
        _memory.RunOnceAsync($"enter-maintenance/{command.RunId}/{command.Cluster}/{command.Host}", async () =>
        {
            var since = sentAt ?? UtcNow;
            var issued = false;
            var (outcome, fault) = await RunStepAsync(async token =>
            {
                var host = await Client(command.Cluster).FindHostAsync(command.Cluster, command.Host, token);
                var earlier = issued ? null : await EarlierTaskAsync(command.Cluster, host.Id, "HostSystem.enterMaintenanceMode", since, token);
                if (host.InMaintenanceMode)
                    return issued || earlier is not null ? StepOutcome.Done : StepOutcome.AlreadyInState;
                if (earlier is { Running: true })
                {
                    // Started before a restart: follow that task rather than start another (vCenter would refuse it anyway).
                    issued = true;
                    _logger.LogInformation("Host {Host}: EnterMaintenanceMode_Task {Task} was started before a restart; following it", command.Host, earlier.Id);
                    await Client(command.Cluster).FollowTaskAsync(earlier.Id, $"EnterMaintenanceMode_Task on {command.Host}", _options.MaintenanceTimeout, token);
                    return StepOutcome.Done;
                }
                // vCenter's own VM on this host (it moved here since the plan): maintenance mode would wait for it until the
                // timeout; the host is finished through its own API once that VM is off (EsxiHostShutdownRequested follows it).
                // Only this host's VMs are read: a whole-cluster read per host spread 64 hosts' maintenance over seconds at 4,096 VMs.
                if ((await Client(command.Cluster).ListHostVmsAsync(command.Cluster, host, token))
                    .FirstOrDefault(v => v.IsVCenter && v.PowerState == VimStates.PoweredOn && string.Equals(v.Host, command.Host, StringComparison.OrdinalIgnoreCase)) is { } vcenter)
                    throw new VCenterException("VCenterVmOnHost",
                        $"Host {command.Host} runs vCenter's own VM {vcenter.Name}: not put into maintenance mode through vCenter; it is finished through its own ESXi API after that VM is off");
                issued = true;
                await Client(command.Cluster).EnterMaintenanceModeAsync(host.Id, _options.MaintenanceTimeout, token, await VsanObjectActionAsync(command, token));
                return StepOutcome.Done;
            }, ct);
            Log($"Host {command.Host} enter maintenance mode", outcome, fault);
            return new HostEnteredMaintenance(command.RunId, command.Cluster, command.Host, outcome, fault, _clock.GetUtcNow());
        }, outcome => outcome.Outcome != StepOutcome.Failed);

    /// <summary>
    /// A task of this kind on the host that a previous life of this service may have started for this command: one still
    /// running, or one that succeeded after the command was sent. Older successes belong to other runs.
    /// </summary>
    async Task<RecentTask?> EarlierTaskAsync(string cluster, string hostId, string descriptionId, DateTime since, CancellationToken ct) =>
        await Client(cluster).FindRecentTaskAsync("HostSystem", hostId, descriptionId, ct) is { } task && (task.Running || task.QueuedAt >= since)
            ? task
            : null;

    public Task<HostExitedMaintenance> ExitMaintenanceAsync(HostExitMaintenanceRequested command, CancellationToken ct) =>
        _memory.RunOnceAsync($"exit-maintenance/{command.RunId}/{command.Cluster}/{command.Host}", async () =>
        {
            var issued = false;
            var (outcome, fault) = await RunStepAsync(async token =>
            {
                var host = await Client(command.Cluster).FindHostAsync(command.Cluster, command.Host, token);
                // A host still booting (or one vCenter cannot reach) does not say whether it is in maintenance mode: ask again.
                if (host.ConnectionState != VimStates.Connected)
                    throw new VCenterException("HostNotConnected", $"Host {command.Host} is {host.ConnectionState}", isTransient: true);
                if (!host.InMaintenanceMode)
                    return issued ? StepOutcome.Done : StepOutcome.AlreadyInState;
                issued = true;
                await Client(command.Cluster).ExitMaintenanceModeAsync(host.Id, _options.MaintenanceTimeout, token);
                return StepOutcome.Done;
            }, ct);
            Log($"Host {command.Host} exit maintenance mode", outcome, fault);
            return new HostExitedMaintenance(command.RunId, command.Cluster, command.Host, outcome, fault, _clock.GetUtcNow());
        }, outcome => outcome.Outcome != StepOutcome.Failed);

    /// <param name="sentAt">As for <see cref="ShutDownVmAsync"/>: a shutdown task queued since then is this step's.</param>
    public Task<HostPoweredOff> ShutDownHostAsync(HostShutdownRequested command, CancellationToken ct, DateTime? sentAt = null) =>
        _memory.RunOnceAsync($"shutdown-host/{command.RunId}/{command.Cluster}/{command.Host}", async () =>
        {
            var since = sentAt ?? UtcNow;
            var issued = false;
            var perhapsIssued = false;
            var (outcome, fault) = await RunStepAsync(async token =>
            {
                var host = await Client(command.Cluster).FindHostAsync(command.Cluster, command.Host, token);
                // The task a previous life of this service started, if any (a crash must not shut a host down twice).
                var earlier = issued ? null : await EarlierTaskAsync(command.Cluster, host.Id, "HostSystem.shutdown", since, token);
                if (IsDown(host))
                    return issued || perhapsIssued || earlier is not null ? StepOutcome.Done : StepOutcome.AlreadyInState;
                if (host.ConnectionState != VimStates.Connected)
                    throw new VCenterException("HostNotConnected", $"vCenter cannot reach host {command.Host} ({host.ConnectionState})");
                if (!issued && earlier is not null)
                {
                    issued = true;
                    _logger.LogInformation("Host {Host}: ShutdownHost_Task {Task} was started before a restart ({State}); following it",
                        command.Host, earlier.Id, earlier.State);
                    if (earlier.Running)
                        await Client(command.Cluster).FollowTaskAsync(earlier.Id, $"ShutdownHost_Task on {command.Host}", _options.HostShutdownTimeout, token);
                }
                if (!issued)
                {
                    try
                    {
                        await Client(command.Cluster).ShutdownHostAsync(host.Id, _options.ForceHostShutdown, _options.HostShutdownTimeout, token);
                    }
                    catch (VCenterException ex) when (ex.IsTransient)
                    {
                        // Through a host's own API the answer may be lost as the host goes down: if it is down next time, that was us.
                        perhapsIssued = true;
                        throw;
                    }
                    issued = true;
                }
                // The task ends when the host accepted the command; it is off once vCenter reports it off or stops hearing from it.
                var (down, last) = await Client(command.Cluster).WaitForHostAsync(host.Id,
                    h => h is not { PowerState: not VimStates.PoweredOff, ConnectionState: VimStates.Connected }, _options.HostShutdownTimeout, token);
                if (!down)
                    throw new VCenterException(VCenterException.Timeout, $"Host {command.Host} still {last.PowerState}/{last.ConnectionState} {_options.HostShutdownTimeout} after ShutdownHost_Task");
                return StepOutcome.Done;
            }, ct);
            Log($"Host {command.Host} shutdown", outcome, fault);
            return new HostPoweredOff(command.RunId, command.Cluster, command.Host, outcome, fault, _clock.GetUtcNow());
        }, outcome => outcome.Outcome != StepOutcome.Failed);

    static bool IsDown(HostInventory host) =>
        host.PowerState == VimStates.PoweredOff || (host.ConnectionState == VimStates.NotResponding && host.PowerState != VimStates.PoweredOn);

    /// <summary>The inventory: captured, or the fault that stopped it after retries.</summary>
    public async Task<InventoryOutcome> CaptureInventoryAsync(ClusterInventoryRequested command, CancellationToken ct)
    {
        try
        {
            var inventory = await _retry.ExecuteAsync(async token => await Client(command.Cluster).GetClusterInventoryAsync(command.Cluster, token), ct);
            _logger.LogInformation("Inventory of cluster {Cluster} on {Platform}: {Hosts} hosts, {Vms} VMs ({On} powered on)",
                command.Cluster, _platforms.PlatformOf(command.Cluster), inventory.Hosts.Count, inventory.Vms.Count, inventory.Vms.Count(v => v.PowerState == VimStates.PoweredOn));
            var vcenter = inventory.Vms.FirstOrDefault(v => v.IsVCenter);
            return new InventoryOutcome(new ClusterInventoryCaptured(command.RunId, command.Cluster, inventory.Hosts, inventory.Vms, _clock.GetUtcNow(),
                inventory.Settings, vcenter?.Name, vcenter?.Host), null);
        }
        catch (VCenterException ex)
        {
            _logger.LogWarning("Inventory of cluster {Cluster} failed: {Fault}: {Message}", command.Cluster, ex.FaultName, ex.Message);
            return new InventoryOutcome(null, new ClusterInventoryFailed(command.RunId, command.Cluster, Fault(ex), _clock.GetUtcNow()));
        }
    }

    async Task<(StepOutcome, VCenterFault?)> RunStepAsync(Func<CancellationToken, Task<StepOutcome>> step, CancellationToken ct)
    {
        try
        {
            return (await _retry.ExecuteAsync(async token => await step(token), ct), null);
        }
        catch (VCenterException ex)
        {
            return (StepOutcome.Failed, Fault(ex));
        }
    }

    void Log(string step, StepOutcome outcome, VCenterFault? fault)
    {
        if (fault is null)
            _logger.LogInformation("{Step}: {Outcome}", step, outcome);
        else
            _logger.LogWarning("{Step}: {Outcome} ({Fault}: {Message})", step, outcome, fault.Name, fault.Message);
    }

    static VCenterFault Fault(VCenterException ex) => new(ex.FaultName, ex.Message);
}

/// <summary>Exactly one of the two is set.</summary>
public sealed record InventoryOutcome(ClusterInventoryCaptured? Captured, ClusterInventoryFailed? Failed);
