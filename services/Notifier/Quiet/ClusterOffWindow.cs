using PowerEvents.Contracts;

namespace PowerEvents.Notifier.Quiet;

/// <summary>
/// A cluster powered off on purpose by a PowerEvents run: from the run's start until its power-on completed (or, for a run
/// without power-on, until the checks that failed because of it pass again). Failures it explains are expected, not news.
/// </summary>
/// <param name="ShutDownAt">When the shutdown run completed; null while it runs.</param>
/// <param name="EndedAt">When the cluster was up again; null while it is off.</param>
public sealed record ClusterOffWindow(string Cluster, Guid RunId, DateTimeOffset Since, DateTimeOffset? ShutDownAt, DateTimeOffset? EndedAt)
{
    public bool Covers(DateTimeOffset at) => Since <= at && (EndedAt is null || at < EndedAt);

    /// <summary>How the console and the logs say it.</summary>
    public string Describe() => $"{Cluster} is off by run {RunId} (since {Since.UtcDateTime:yyyy-MM-dd HH:mm} UTC)";
}

/// <summary>Which preflight failures and readiness changes a run of PowerEvents itself explains, pure.</summary>
public static class QuietPolicy
{
    /// <summary>
    /// Checks whose target is down while its cluster is off: vCenter (its VM may run there), the hosts' own APIs, a standalone
    /// cluster's inventory. A BMC answers while its host is off, a sensor source and a webhook have nothing to do with it: their
    /// failures are always real.
    /// </summary>
    public static readonly IReadOnlySet<string> QuietKinds = new HashSet<string>(["vcenter", "esxi", "standalone"], StringComparer.OrdinalIgnoreCase);

    /// <summary>The run that explains this result's failure, or null: it is of a quiet kind and one of its clusters was off by a run when it was checked.</summary>
    public static ClusterOffWindow? ExplainedBy(PreflightCheckCompleted result, IEnumerable<ClusterOffWindow> windows) =>
        result.Ok || !QuietKinds.Contains(result.Kind) || result.Clusters is not { Count: > 0 } clusters ? null
            : windows.Where(w => clusters.Contains(w.Cluster, StringComparer.OrdinalIgnoreCase) && w.Covers(result.CheckedAt))
                .OrderByDescending(w => w.Since).FirstOrDefault();

    /// <summary>The run that has this cluster off at <paramref name="at"/>, or null.</summary>
    public static ClusterOffWindow? OffAt(string cluster, DateTimeOffset at, IEnumerable<ClusterOffWindow> windows) =>
        windows.Where(w => string.Equals(w.Cluster, cluster, StringComparison.OrdinalIgnoreCase) && w.Covers(at))
            .OrderByDescending(w => w.Since).FirstOrDefault();

    /// <summary>
    /// A run began (<paramref name="runId"/>, at <paramref name="at"/>): the window it opens. A window still open (the shutdown
    /// resumed after an interrupted power-on, or a new run before the cluster was seen up) keeps its start.
    /// </summary>
    public static ClusterOffWindow Opened(ClusterOffWindow? current, string cluster, Guid runId, DateTimeOffset at) =>
        current is { EndedAt: null } open
            ? open with { RunId = runId, Since = open.Since < at ? open.Since : at, ShutDownAt = open.RunId == runId ? open.ShutDownAt : null }
            : new ClusterOffWindow(cluster, runId, at, null, null);
}
