using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.Contracts;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// <c>GET /power/plan/{cluster}</c>: the ordered plan the saga would run now, from a fresh inventory, touching nothing.
/// Served as a plain middleware branch so that the saga wires in with one call.
/// </summary>
public sealed class PlanPreviewStartupFilter : IStartupFilter
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
        if (!HttpMethods.IsGet(http.Request.Method))
        {
            http.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        var (preview, failure) = await PreviewAsync(http.RequestServices, name, http.RequestAborted);
        if (preview is not null)
        {
            // The estimate is the Console's (its readiness, from measured runs): one estimator, shown here as it last said it.
            var estimates = http.RequestServices.GetRequiredService<PowerEvents.AlarmEvaluator.Zones.ShutdownEstimates>();
            await http.Response.WriteAsJsonAsync(preview with { Estimate = PlanPreviewEstimate.From(estimates.Latest(preview.Cluster)) }, PowerDbContext.Json);
            return;
        }
        http.Response.StatusCode = failure!.Status switch
        {
            NotFound => StatusCodes.Status404NotFound,
            Timeout => StatusCodes.Status504GatewayTimeout,
            _ => StatusCodes.Status502BadGateway,
        };
        // The names of the protected clusters are not disclosed to whoever guesses a wrong one.
        await http.Response.WriteAsJsonAsync(failure.Status == InventoryFailed
            ? new { error = failure.Reason, fault = failure.Fault }
            : (object)new { error = failure.Reason });
    }

    public const string NotFound = "not-found";
    public const string InventoryFailed = "inventory-failed";
    public const string Timeout = "timeout";

    /// <summary>A preview that could not be made: <see cref="NotFound"/>, <see cref="InventoryFailed"/> or <see cref="Timeout"/>.</summary>
    public sealed record PreviewFailure(string Status, string Reason, VCenterFault? Fault = null);

    /// <summary>
    /// The plan of <paramref name="name"/> now, from a fresh inventory (and, where vCenter's host is finished through its
    /// own API, a check of that login), touching nothing. The HTTP preview and the Console's bus request both come here.
    /// </summary>
    public static async Task<(PlanPreviewResult? Preview, PreviewFailure? Failure)> PreviewAsync(IServiceProvider services, string name, CancellationToken cancellationToken)
    {
        var options = services.GetRequiredService<IOptions<PowerOptions>>().Value;
        if (options.FindCluster(name) is not { } cluster)
            return (null, new PreviewFailure(NotFound, "no protected cluster by that name"));

        var client = services.GetRequiredService<IRequestClient<ClusterInventoryRequested>>();
        var reads = services.GetRequiredService<SharedReads<Response<ClusterInventoryCaptured, ClusterInventoryFailed>>>();
        try
        {
            // Concurrent previews of one cluster share one inventory read (an inventory of thousands of VMs is not cheap).
            // A fresh run id: the saga ignores this inventory, whatever it is doing.
            var response = await reads.GetAsync(cluster.Name, () => client.GetResponse<ClusterInventoryCaptured, ClusterInventoryFailed>(
                new ClusterInventoryRequested(NewId.NextGuid(), cluster.Name), CancellationToken.None, RequestTimeout.After(ms: (int)cluster.InventoryDeadline.TotalMilliseconds)),
                cancellationToken);
            if (response.Is(out Response<ClusterInventoryCaptured>? captured))
            {
                // vCenter's host is finished through its own API: a refused login (missing or wrong credentials, lockdown
                // mode) is found now, not during the outage.
                EsxiHostLoginChecked? login = null;
                if (captured!.Message.VCenterHost is { } esxiHost && captured.Message.Vms.Any(v => v.IsVCenter))
                {
                    try
                    {
                        var logins = services.GetRequiredService<IRequestClient<EsxiHostLoginCheckRequested>>();
                        login = (await logins.GetResponse<EsxiHostLoginChecked>(new EsxiHostLoginCheckRequested(Guid.Empty, cluster.Name, esxiHost),
                            cancellationToken, RequestTimeout.After(ms: (int)cluster.InventoryDeadline.TotalMilliseconds))).Message;
                    }
                    catch (RequestTimeoutException)
                    {
                        login = new EsxiHostLoginChecked(Guid.Empty, cluster.Name, esxiHost, EsxiLoginOutcome.Unreachable,
                            new VCenterFault("Timeout", $"no answer from the vCenter actuator within {cluster.InventoryDeadline}"), DateTimeOffset.UtcNow);
                    }
                }
                return (Describe(cluster, options, captured.Message, login), null);
            }
            response.Is(out Response<ClusterInventoryFailed>? failed);
            return (null, new PreviewFailure(InventoryFailed, "inventory failed", failed!.Message.Fault));
        }
        catch (RequestTimeoutException)
        {
            return (null, new PreviewFailure(Timeout, $"no inventory from the vCenter actuator within {cluster.InventoryDeadline}"));
        }
    }

    public static PlanPreviewResult Describe(ClusterOptions cluster, PowerOptions options, ClusterInventoryCaptured inventory, EsxiHostLoginChecked? login = null)
    {
        var plan = ShutdownPlanner.Plan(cluster, inventory, Guid.Empty, cluster.Zone, options.DryRun);
        var restore = RestorePlanner.Plan(cluster, plan, new RestoreRun());
        var vcenter = plan.AllVms.FirstOrDefault(v => v.IsVCenter);
        var lockdown = plan.VCenterHost is { } vh ? inventory.Hosts.FirstOrDefault(h => string.Equals(h.Name, vh, StringComparison.OrdinalIgnoreCase))?.LockdownMode : null;
        var problems = new List<string>();
        if (lockdown is "lockdownNormal" or "lockdownStrict")
            problems.Add($"{plan.VCenterHost} (runs vCenter's VM) is in lockdown mode ({lockdown}): its own API refuses the login that must shut it down; " +
                         "disable lockdown mode or add the account to its exception users");
        if (login is { Outcome: not EsxiLoginOutcome.Accepted })
            problems.Add($"{login.Host}: ESXi login {login.Outcome}: {login.Fault?.Message} (VCenter:Hosts:{login.Host} of the vCenter actuator)");
        var vcenterPlan = vcenter is null ? null
            : plan.VCenterHost is { } host
                ? new PlanPreviewVCenter(vcenter.Name, host, lockdown, login?.Outcome.ToString(), VsanClusterPowerSteps.VCenterPlanNote(plan) ??
                    $"the other hosts go into maintenance mode and off through vCenter first; then {vcenter.Name} (guest shutdown" +
                    $"{(cluster.VCenterHardPowerOff ? ", hard power-off at its tier's deadline" : ", never powered off hard")}); then {host} through its own ESXi API " +
                    $"(maintenance mode where possible{(plan.Settings?.VsanEnabled == true ? ", vSAN noAction" : "")}, then ShutdownHost_Task)",
                    $"hosts on through their BMCs; {host} leaves maintenance mode and powers {vcenter.Name} on through its own ESXi API (not autostart); " +
                    $"then wait up to {cluster.VCenterStartDeadline} for vCenter to answer and see the hosts")
                : new PlanPreviewVCenter(vcenter.Name, vcenter.Host, lockdown, null,
                    "the inventory did not name vCenter's host: vCenter's VM goes last and the host steps after it cannot reach vCenter", "");
        var changes = plan.ClusterSteps.Select(st => new PlanPreviewChange(st.Kind, ShutdownPolicy.Describe(st.Kind, plan.Settings))).ToList();
        if (plan.Settings?.VsanEnabled == true)
            changes.Add(new PlanPreviewChange("vsan-maintenance", "maintenance mode with vsanMode.objectAction = noAction (never evacuateAllData, never ensureObjectAccessibility on the last hosts)"));
        if (plan.VsanPowerPath is { } vsanPath)
            changes.Add(new PlanPreviewChange(VsanClusterPowerSteps.PathStep, vsanPath));
        return new PlanPreviewResult(
            cluster.Name, cluster.Zone, inventory.CapturedAt, options.DryRun,
            plan.Tiers.Select((t, i) => new PlanPreviewTier(i + 1, t.Name, t.Vms.Select(v => new PlanPreviewVm(v.Name, v.Id, v.Host, v.ToolsRunning, v.IsVCenter)).ToList())).ToList(),
            plan.Hosts.Where(h => h.WasPoweredOn).Select(h => h.Name).ToList(),
            plan.Hosts.Where(h => !h.WasPoweredOn).Select(h => h.Name).ToList(),
            plan.AlreadyOff,
            vcenter is null || plan.VCenterHost is not null ? null
                : $"vCenter's own VM {vcenter.Name} runs on this cluster (host {vcenter.Host}) and the inventory did not name its host: it goes last, and after it the host steps cannot reach vCenter.",
            new PlanPreviewDeadlines(cluster.MaxParallelPerTier, cluster.GuestShutdownTimeout, cluster.TierDeadline, cluster.MaintenanceDeadline, cluster.HostShutdownDeadline, cluster.InventoryDeadline),
            ShutdownPlanner.WorstCaseDuration(plan, cluster))
        {
            VCenter = vcenterPlan,
            ClusterChanges = changes,
            Restores = [.. restore.ClusterSteps.Select(st => st.Kind switch
            {
                ClusterStep.HaDrsRestore => $"HA/DRS back to {ShutdownPolicy.Describe(restore.HaDrs)} after the VMs are on",
                ClusterStep.VclsRestore => $"vCLS setting back to {restore.VclsValue ?? "true (it did not exist)"} after the VMs are on",
                _ => st.Kind,
            })],
            Problems = problems,
            Stages = PlanStages.Of(cluster, plan, restore),
        };
    }
}

public sealed record PlanPreviewResult(
    string Cluster, string Zone, DateTimeOffset InventoryCapturedAt, bool DryRun,
    IReadOnlyList<PlanPreviewTier> Tiers, IReadOnlyList<string> Hosts, IReadOnlyList<string> HostsAlreadyOff, IReadOnlyList<string> VmsAlreadyOff,
    string? VCenterWarning, PlanPreviewDeadlines Deadlines, TimeSpan WorstCaseDuration)
{
    /// <summary>Where vCenter's VM runs and how its host is finished and brought back; null when vCenter is not on this cluster.</summary>
    public PlanPreviewVCenter? VCenter { get; init; }

    /// <summary>What the run changes on the cluster before the host steps (vCLS, HA, DRS, vSAN mode).</summary>
    public IReadOnlyList<PlanPreviewChange> ClusterChanges { get; init; } = [];

    /// <summary>How each change is put back after the power-on.</summary>
    public IReadOnlyList<string> Restores { get; init; } = [];

    /// <summary>What would fail during the outage if left as it is (lockdown mode, ESXi login refused or not configured).</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];

    /// <summary>The shutdown's stages, then the power-on's, each in order (<see cref="PlanStages"/>).</summary>
    public IReadOnlyList<PlanStage> Stages { get; init; } = [];

    /// <summary>How long the shutdown and the power-on are expected to take, as the Console's readiness last estimated them.</summary>
    public PlanPreviewEstimate? Estimate { get; init; }
}

/// <summary>The Console's estimate (its last <see cref="ClusterReadinessAssessed"/>), with its basis; null figures: none received.</summary>
public sealed record PlanPreviewEstimate(TimeSpan? Shutdown, TimeSpan? PowerOn, string Basis, DateTimeOffset? AssessedAt)
{
    public static PlanPreviewEstimate From(ClusterReadinessAssessed? assessed) => assessed is null
        ? new(null, null, "none yet: the Console's readiness estimate has not been received since this service started " +
                          "(it is published when a cluster's grade, findings or measured shutdown change); the Console shows it per stage", null)
        : new(assessed.EstimatedShutdown, assessed.EstimatedPowerOn, assessed.EstimateBasis, assessed.AssessedAt);
}

/// <param name="EsxiLogin">The ESXi login check's outcome for its host (Accepted, NoCredentials, Refused, LockdownMode, …); null: not checked.</param>
public sealed record PlanPreviewVCenter(string Vm, string Host, string? LockdownMode, string? EsxiLogin, string Shutdown, string PowerOn);

public sealed record PlanPreviewChange(string Step, string Change);

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
