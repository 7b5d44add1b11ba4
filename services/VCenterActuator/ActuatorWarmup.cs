using PowerEvents.Contracts;
using PowerEvents.Hosting;

namespace PowerEvents.VCenterActuator;

/// <summary>
/// The actuator's first-step paths, warmed at start (<see cref="StartupWarmup"/>), read-only: per vCenter, its hosts are
/// listed and one is watched and read through the session's property collector, which sets up the collector, its view
/// and filter and the long poll that every VM step waits on (otherwise made by the first ShutdownGuest's step, while a
/// tier of commands queues behind it). Nothing is changed in vCenter.
/// </summary>
static class ActuatorWarmup
{
    public static readonly WarmupStep VCenterSessions = new("vCenter sessions (hosts listed, one watched and read)", RunAsync);

    static async Task RunAsync(IServiceProvider services, CancellationToken ct)
    {
        var platforms = services.GetRequiredService<Platforms>();
        foreach (var (name, _) in platforms.VCenters)
        {
            if (platforms.VCenter(name) is not VCenterClient client)
                continue;
            var hosts = await client.ListAllHostsAsync(ct);
            if (hosts.FirstOrDefault() is not HostInventory host)
                continue;
            using (client.Watch("HostSystem", host.Id))
            {
                await client.WaitForHostAsync(host.Id, _ => true, TimeSpan.FromSeconds(10), ct);
                await client.GetHostAsync(host.Id, ct);
            }
        }
    }
}
