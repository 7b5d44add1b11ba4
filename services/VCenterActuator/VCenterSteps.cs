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
public sealed class VCenterSteps
{
    readonly IVCenterClient _client;
    readonly VCenterOptions _options;
    readonly ILogger<VCenterSteps> _logger;
    readonly OutcomeMemory _memory;
    readonly ResiliencePipeline _retry;

    public VCenterSteps(IVCenterClient client, IOptions<VCenterOptions> options, OutcomeMemory memory, ILogger<VCenterSteps> logger)
    {
        _client = client;
        _options = options.Value;
        _memory = memory;
        _logger = logger;
        var retry = _options.Retry;
        var pipeline = new ResiliencePipelineBuilder();
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

    public Task<VmShutDown> ShutDownVmAsync(VmShutdownRequested command, CancellationToken ct) =>
        _memory.RunOnceAsync($"shutdown/{command.RunId}/{command.VmId}", () => ShutDownVmOnceAsync(command, ct),
            outcome => outcome.Outcome != VmShutdownOutcome.Failed);

    async Task<VmShutDown> ShutDownVmOnceAsync(VmShutdownRequested command, CancellationToken ct)
    {
        var timeout = command.GuestShutdownTimeout ?? _options.GuestShutdownTimeout;
        var guestRequested = false;
        DateTime? guestDeadline = null;
        VCenterFault? forcedBecause = null;

        VmShutDown Outcome(VmShutdownOutcome outcome, VCenterFault? fault = null)
        {
            _logger.LogInformation("VM {VmName} ({VmId}) shutdown: {Outcome}{Reason}", command.VmName, command.VmId, outcome,
                fault is null ? "" : $" ({fault.Name}: {fault.Message})");
            return new VmShutDown(command.RunId, command.Cluster, command.VmId, command.VmName, outcome, fault, DateTimeOffset.UtcNow);
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
                await _client.PowerOffVmAsync(command.VmId, _options.PowerTaskTimeout, token);
            }
            catch (VCenterException ex) when (ex.Is(VCenterException.InvalidPowerState))
            {
                // Went off meanwhile (the guest finished just now): that is the guest's doing.
                if ((await _client.GetVmAsync(command.VmId, token)).IsOff)
                {
                    forcedBecause = null;
                    return WhenOff();
                }
                throw;
            }
            return Outcome(VmShutdownOutcome.Forced, because);
        }

        try
        {
            return await _retry.ExecuteAsync(async token =>
            {
                var vm = await _client.GetVmAsync(command.VmId, token);
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
                        await _client.ShutdownGuestAsync(command.VmId, token);
                    }
                    catch (VCenterException ex) when (ex.Is(VCenterException.ToolsUnavailable))
                    {
                        return await NoToolsAsync(token);
                    }
                    catch (VCenterException ex) when (ex.Is(VCenterException.InvalidPowerState))
                    {
                        if ((await _client.GetVmAsync(command.VmId, token)).IsOff)
                            return WhenOff();
                        throw;
                    }
                    guestRequested = true;
                    guestDeadline = DateTime.UtcNow + timeout;
                    _logger.LogInformation("VM {VmName} ({VmId}): guest shutdown requested, waiting up to {Timeout}", command.VmName, command.VmId, timeout);
                }

                if (await WaitForVmOffAsync(command.VmId, guestDeadline!.Value, token))
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
    }

    async Task<bool> WaitForVmOffAsync(string vmId, DateTime deadline, CancellationToken ct)
    {
        while (true)
        {
            if ((await _client.GetVmAsync(vmId, ct)).IsOff)
                return true;
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                return false;
            await Task.Delay(left < _options.PollInterval ? left : _options.PollInterval, ct);
        }
    }

    public Task<VmPoweredOn> PowerOnVmAsync(VmPowerOnRequested command, CancellationToken ct) =>
        _memory.RunOnceAsync($"poweron/{command.RunId}/{command.VmId}", async () =>
        {
            var issued = false;
            var (outcome, fault) = await RunStepAsync(async token =>
            {
                var vm = await _client.GetVmAsync(command.VmId, token);
                if (vm.IsOn)
                    return issued ? StepOutcome.Done : StepOutcome.AlreadyInState;
                issued = true;
                try
                {
                    await _client.PowerOnVmAsync(command.VmId, _options.PowerTaskTimeout, token);
                }
                catch (VCenterException ex) when (ex.Is(VCenterException.InvalidPowerState))
                {
                    // Someone else powered it on between our read and our call.
                    if ((await _client.GetVmAsync(command.VmId, token)).IsOn)
                        return StepOutcome.AlreadyInState;
                    throw;
                }
                return StepOutcome.Done;
            }, ct);
            Log("VM " + command.VmName + " (" + command.VmId + ") power-on", outcome, fault);
            return new VmPoweredOn(command.RunId, command.Cluster, command.VmId, command.VmName, outcome, fault, DateTimeOffset.UtcNow);
        }, outcome => outcome.Outcome != StepOutcome.Failed);

    public Task<HostEnteredMaintenance> EnterMaintenanceAsync(HostMaintenanceRequested command, CancellationToken ct) =>
        _memory.RunOnceAsync($"enter-maintenance/{command.RunId}/{command.Cluster}/{command.Host}", async () =>
        {
            var issued = false;
            var (outcome, fault) = await RunStepAsync(async token =>
            {
                var host = await _client.FindHostAsync(command.Cluster, command.Host, token);
                if (host.InMaintenanceMode)
                    return issued ? StepOutcome.Done : StepOutcome.AlreadyInState;
                issued = true;
                await _client.EnterMaintenanceModeAsync(host.Id, _options.MaintenanceTimeout, token);
                return StepOutcome.Done;
            }, ct);
            Log($"Host {command.Host} enter maintenance mode", outcome, fault);
            return new HostEnteredMaintenance(command.RunId, command.Cluster, command.Host, outcome, fault, DateTimeOffset.UtcNow);
        }, outcome => outcome.Outcome != StepOutcome.Failed);

    public Task<HostExitedMaintenance> ExitMaintenanceAsync(HostExitMaintenanceRequested command, CancellationToken ct) =>
        _memory.RunOnceAsync($"exit-maintenance/{command.RunId}/{command.Cluster}/{command.Host}", async () =>
        {
            var issued = false;
            var (outcome, fault) = await RunStepAsync(async token =>
            {
                var host = await _client.FindHostAsync(command.Cluster, command.Host, token);
                if (!host.InMaintenanceMode)
                    return issued ? StepOutcome.Done : StepOutcome.AlreadyInState;
                issued = true;
                await _client.ExitMaintenanceModeAsync(host.Id, _options.MaintenanceTimeout, token);
                return StepOutcome.Done;
            }, ct);
            Log($"Host {command.Host} exit maintenance mode", outcome, fault);
            return new HostExitedMaintenance(command.RunId, command.Cluster, command.Host, outcome, fault, DateTimeOffset.UtcNow);
        }, outcome => outcome.Outcome != StepOutcome.Failed);

    public Task<HostPoweredOff> ShutDownHostAsync(HostShutdownRequested command, CancellationToken ct) =>
        _memory.RunOnceAsync($"shutdown-host/{command.RunId}/{command.Cluster}/{command.Host}", async () =>
        {
            var issued = false;
            var (outcome, fault) = await RunStepAsync(async token =>
            {
                var host = await _client.FindHostAsync(command.Cluster, command.Host, token);
                if (IsDown(host))
                    return issued ? StepOutcome.Done : StepOutcome.AlreadyInState;
                if (host.ConnectionState != VimStates.Connected)
                    throw new VCenterException("HostNotConnected", $"vCenter cannot reach host {command.Host} ({host.ConnectionState})");
                var deadline = DateTime.UtcNow + _options.HostShutdownTimeout;
                if (!issued)
                {
                    await _client.ShutdownHostAsync(host.Id, _options.ForceHostShutdown, _options.HostShutdownTimeout, token);
                    issued = true;
                }
                // The task ends when the host accepted the command; it is off once vCenter reports it off or stops hearing from it.
                while ((host = await _client.GetHostAsync(host.Id, token)) is { PowerState: not VimStates.PoweredOff, ConnectionState: VimStates.Connected })
                {
                    if (DateTime.UtcNow >= deadline)
                        throw new VCenterException(VCenterException.Timeout, $"Host {command.Host} still {host.PowerState}/{host.ConnectionState} {_options.HostShutdownTimeout} after ShutdownHost_Task");
                    await Task.Delay(_options.PollInterval, token);
                }
                return StepOutcome.Done;
            }, ct);
            Log($"Host {command.Host} shutdown", outcome, fault);
            return new HostPoweredOff(command.RunId, command.Cluster, command.Host, outcome, fault, DateTimeOffset.UtcNow);
        }, outcome => outcome.Outcome != StepOutcome.Failed);

    static bool IsDown(HostInventory host) =>
        host.PowerState == VimStates.PoweredOff || (host.ConnectionState == VimStates.NotResponding && host.PowerState != VimStates.PoweredOn);

    /// <summary>The inventory: captured, or the fault that stopped it after retries.</summary>
    public async Task<InventoryOutcome> CaptureInventoryAsync(ClusterInventoryRequested command, CancellationToken ct)
    {
        try
        {
            var inventory = await _retry.ExecuteAsync(async token => await _client.GetClusterInventoryAsync(command.Cluster, token), ct);
            _logger.LogInformation("Inventory of cluster {Cluster}: {Hosts} hosts, {Vms} VMs ({On} powered on)",
                command.Cluster, inventory.Hosts.Count, inventory.Vms.Count, inventory.Vms.Count(v => v.PowerState == VimStates.PoweredOn));
            return new InventoryOutcome(new ClusterInventoryCaptured(command.RunId, command.Cluster, inventory.Hosts, inventory.Vms, DateTimeOffset.UtcNow), null);
        }
        catch (VCenterException ex)
        {
            _logger.LogWarning("Inventory of cluster {Cluster} failed: {Fault}: {Message}", command.Cluster, ex.FaultName, ex.Message);
            return new InventoryOutcome(null, new ClusterInventoryFailed(command.RunId, command.Cluster, Fault(ex), DateTimeOffset.UtcNow));
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
