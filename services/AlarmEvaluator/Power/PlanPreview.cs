using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// <c>GET /power/plan/{cluster}</c>: the ordered plan the saga would run now, from a fresh inventory, touching nothing.
/// Served as a plain middleware branch so that the saga wires in with one call.
/// </summary>
sealed class PlanPreviewStartupFilter : IStartupFilter
{
    public const string PathPrefix = "/power/plan";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Map(PathPrefix, branch => branch.Run(HandleAsync));
        next(app);
    };

    static async Task HandleAsync(HttpContext http)
    {
        var name = Uri.UnescapeDataString(http.Request.Path.Value?.Trim('/') ?? "");
        var options = http.RequestServices.GetRequiredService<IOptions<PowerOptions>>().Value;
        if (!HttpMethods.IsGet(http.Request.Method))
        {
            http.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        if (options.FindCluster(name) is not { } cluster)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            // The names of the protected clusters are not disclosed to whoever guesses a wrong one.
            await http.Response.WriteAsJsonAsync(new { error = "no protected cluster by that name" });
            return;
        }

        var client = http.RequestServices.GetRequiredService<IRequestClient<ClusterInventoryRequested>>();
        var reads = http.RequestServices.GetRequiredService<SharedReads<Response<ClusterInventoryCaptured, ClusterInventoryFailed>>>();
        try
        {
            // Concurrent previews of one cluster share one inventory read (an inventory of thousands of VMs is not cheap).
            // A fresh run id: the saga ignores this inventory, whatever it is doing.
            var response = await reads.GetAsync(cluster.Name, () => client.GetResponse<ClusterInventoryCaptured, ClusterInventoryFailed>(
                new ClusterInventoryRequested(NewId.NextGuid(), cluster.Name), CancellationToken.None, RequestTimeout.After(ms: (int)cluster.InventoryDeadline.TotalMilliseconds)),
                http.RequestAborted);
            if (response.Is(out Response<ClusterInventoryCaptured>? captured))
            {
                await http.Response.WriteAsJsonAsync(Describe(cluster, options, captured!.Message), PowerDbContext.Json);
                return;
            }
            response.Is(out Response<ClusterInventoryFailed>? failed);
            http.Response.StatusCode = StatusCodes.Status502BadGateway;
            await http.Response.WriteAsJsonAsync(new { error = "inventory failed", fault = failed!.Message.Fault });
        }
        catch (RequestTimeoutException)
        {
            http.Response.StatusCode = StatusCodes.Status504GatewayTimeout;
            await http.Response.WriteAsJsonAsync(new { error = $"no inventory from the vCenter actuator within {cluster.InventoryDeadline}" });
        }
    }

    public static PlanPreviewResult Describe(ClusterOptions cluster, PowerOptions options, ClusterInventoryCaptured inventory)
    {
        var plan = ShutdownPlanner.Plan(cluster, inventory, Guid.Empty, cluster.Zone, options.DryRun);
        var vcenter = plan.AllVms.FirstOrDefault(v => v.IsVCenter);
        return new PlanPreviewResult(
            cluster.Name, cluster.Zone, inventory.CapturedAt, options.DryRun,
            plan.Tiers.Select((t, i) => new PlanPreviewTier(i + 1, t.Name, t.Vms.Select(v => new PlanPreviewVm(v.Name, v.Id, v.Host, v.ToolsRunning, v.IsVCenter)).ToList())).ToList(),
            plan.Hosts.Where(h => h.WasPoweredOn).Select(h => h.Name).ToList(),
            plan.Hosts.Where(h => !h.WasPoweredOn).Select(h => h.Name).ToList(),
            plan.AlreadyOff,
            vcenter is null ? null : $"vCenter's own VM {vcenter.Name} runs on this cluster (host {vcenter.Host}): it goes last, and after it the host steps cannot reach vCenter. Full handling is not built yet.",
            new PlanPreviewDeadlines(cluster.MaxParallelPerTier, cluster.GuestShutdownTimeout, cluster.TierDeadline, cluster.MaintenanceDeadline, cluster.HostShutdownDeadline, cluster.InventoryDeadline),
            ShutdownPlanner.WorstCaseDuration(plan, cluster));
    }
}

public sealed record PlanPreviewResult(
    string Cluster, string Zone, DateTimeOffset InventoryCapturedAt, bool DryRun,
    IReadOnlyList<PlanPreviewTier> Tiers, IReadOnlyList<string> Hosts, IReadOnlyList<string> HostsAlreadyOff, IReadOnlyList<string> VmsAlreadyOff,
    string? VCenterWarning, PlanPreviewDeadlines Deadlines, TimeSpan WorstCaseDuration);

public sealed record PlanPreviewTier(int Order, string Name, IReadOnlyList<PlanPreviewVm> Vms);

public sealed record PlanPreviewVm(string Name, string Id, string Host, bool ToolsRunning, bool IsVCenter);

public sealed record PlanPreviewDeadlines(int MaxParallelPerTier, TimeSpan GuestShutdownTimeout, TimeSpan TierDeadline,
    TimeSpan MaintenanceDeadline, TimeSpan HostShutdownDeadline, TimeSpan InventoryDeadline);

/// <summary>
/// One read in flight per key: callers that ask while it runs share its result; the next caller after it ended starts
/// a fresh one (a preview is of the cluster now, not cached). A caller that gives up does not cancel the others' read.
/// </summary>
public sealed class SharedReads<T>
{
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<T>>> _inFlight = new(StringComparer.OrdinalIgnoreCase);

    public async Task<T> GetAsync(string key, Func<Task<T>> read, CancellationToken cancellationToken)
    {
        var lazy = _inFlight.GetOrAdd(key, k => new Lazy<Task<T>>(async () =>
        {
            try
            {
                return await read();
            }
            finally
            {
                _inFlight.TryRemove(k, out _);
            }
        }));
        return await lazy.Value.WaitAsync(cancellationToken);
    }
}
