using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using PowerEvents.Contracts;

namespace PowerEvents.IloActuator;

/// <summary>The actuator's port: power a host on (Redfish, else or after it Wake-on-LAN) or read its power state.</summary>
public interface IBmcClient
{
    /// <param name="progress">Told of each boot stage the BMC reports while the host powers on (where it reports any).</param>
    Task<PowerOnResult> PowerOnAsync(string host, CancellationToken cancellationToken, Func<BootProgress, CancellationToken, Task>? progress = null);

    Task<HostPowerState> ReadPowerStateAsync(string host, CancellationToken cancellationToken);

    /// <summary>A request for this host is under way (a power-on can hold it for minutes): a preflight stays out of its way.</summary>
    bool IsBusy(string host);
}

public sealed record HostPowerState(bool Reachable, string PowerState, string Reason);

/// <summary>
/// Chooses the way to each host from configuration and keeps hosts independent: requests for one host are
/// serialised (one session per BMC from us, never two resets racing), different hosts run side by side.
/// </summary>
public sealed class BmcPowerService(
    IOptions<BmcOptions> options,
    RedfishClient redfish,
    WakeOnLanSender wakeOnLan,
    ILogger<BmcPowerService> logger) : IBmcClient
{
    readonly ConcurrentDictionary<string, SemaphoreSlim> _hostLocks = new(StringComparer.OrdinalIgnoreCase);

    public async Task<PowerOnResult> PowerOnAsync(string hostName, CancellationToken cancellationToken,
        Func<BootProgress, CancellationToken, Task>? progress = null)
    {
        if (Find(hostName) is not { } host)
            return new PowerOnResult(PowerOnOutcome.Failed,
                $"{hostName}: no BMC and no Wake-on-LAN configured for this host (Bmc:Hosts)", "none");

        var hostLock = _hostLocks.GetOrAdd(host.Name, _ => new SemaphoreSlim(1, 1));
        await hostLock.WaitAsync(cancellationToken);
        try
        {
            if (!host.HasBmc)
                return await WakeAsync(host, null, cancellationToken);

            logger.LogInformation("{Host}: powering on through the BMC at {Url} ({AuthMode} authentication)", host.Name, host.Url, host.AuthMode);
            var result = await redfish.PowerOnAsync(host, cancellationToken, progress);
            if (result.Outcome == PowerOnOutcome.Failed && host.FallbackToWakeOnLan)
                return await WakeAsync(host, result.Reason, cancellationToken);
            if (result.Outcome != PowerOnOutcome.Failed)
                logger.LogInformation("{Host}: {Outcome}: {Reason}", host.Name, result.Outcome, result.Reason);
            return result;
        }
        finally
        {
            hostLock.Release();
        }
    }

    public bool IsBusy(string hostName) => _hostLocks.TryGetValue(hostName, out var hostLock) && hostLock.CurrentCount == 0;

    public async Task<HostPowerState> ReadPowerStateAsync(string hostName, CancellationToken cancellationToken)
    {
        if (Find(hostName) is not { } host)
            return new HostPowerState(false, "Unknown", $"{hostName}: no BMC configured for this host (Bmc:Hosts)");
        if (!host.HasBmc)
            return new HostPowerState(false, "Unknown", $"{hostName}: Wake-on-LAN only; its power state cannot be read");

        var hostLock = _hostLocks.GetOrAdd(host.Name, _ => new SemaphoreSlim(1, 1));
        await hostLock.WaitAsync(cancellationToken);
        try
        {
            var state = await redfish.ReadPowerStateAsync(host, cancellationToken);
            return new HostPowerState(true, state, "");
        }
        catch (Exception ex) when (RedfishClient.IsReadFailure(ex))
        {
            var reason = redfish.Describe(host, ex);
            logger.LogWarning("{Host}: reading the power state failed: {Reason}", host.Name, reason);
            return new HostPowerState(false, "Unknown", reason);
        }
        finally
        {
            hostLock.Release();
        }
    }

    async Task<PowerOnResult> WakeAsync(BmcHostOptions host, string? bmcFailure, CancellationToken cancellationToken)
    {
        try
        {
            var sent = await wakeOnLan.SendAsync(host.Name, host.WakeOnLan!, cancellationToken);
            var reason = bmcFailure is null ? $"{host.Name}: {sent}" : $"{bmcFailure}; fell back to Wake-on-LAN: {sent}";
            return new PowerOnResult(PowerOnOutcome.WakeOnLanSent, reason, "wake-on-lan");
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            var reason = $"{(bmcFailure is null ? host.Name : bmcFailure + "; then")}: Wake-on-LAN could not be sent: {ex.Message}";
            logger.LogWarning("{Host}: {Reason}", host.Name, reason);
            return new PowerOnResult(PowerOnOutcome.Failed, reason, "wake-on-lan");
        }
    }

    BmcHostOptions? Find(string hostName) =>
        options.Value.Hosts.FirstOrDefault(h => string.Equals(h.Name, hostName, StringComparison.OrdinalIgnoreCase));
}
