using System.Globalization;
using PowerEvents.Console.ReadModel;

namespace PowerEvents.Console.Readiness;

/// <summary>One kind of step's measured (or assumed) duration: a stage of the run, and per item where the events allow it.</summary>
/// <param name="Kind">The step kind as the run's events name it (<c>vm-shutdown</c>, <c>host-power-on</c>, …).</param>
/// <param name="Label">In words (<c>VM guest shutdown</c>, <c>BMC boot</c>).</param>
/// <param name="StageSeconds">The stage's wall-clock time: from the previous stage's last outcome (or the run's start) to its own last outcome.</param>
/// <param name="PerItemSeconds">Per host where the events give each host's start and end (host shutdown, BMC boot); null otherwise.</param>
/// <param name="Items">How many VMs or hosts the measured stage had (the default model: 0).</param>
/// <param name="Samples">Runs measured; 0 for the default model.</param>
/// <param name="Basis"><c>history</c> or <c>default</c>.</param>
public sealed record KindDuration(string Kind, string Label, double StageSeconds, double? PerItemSeconds, int Items, int Samples, string Basis);

/// <summary>The estimate of a shutdown and a power-on of one cluster, with each kind's figure and where it comes from.</summary>
public sealed record DurationEstimate(TimeSpan Shutdown, TimeSpan PowerOn, string Basis, IReadOnlyList<KindDuration> Kinds);

/// <summary>Durations the estimate assumes where a cluster has no completed run to measure (<c>Console:Readiness:DefaultDurations</c>).</summary>
public sealed class DefaultDurations
{
    /// <summary>The VCenterActuator's guest shutdown timeout: a tier whose guests do not finish is powered off after it.</summary>
    public TimeSpan VmGuestShutdown { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan HostMaintenance { get; set; } = TimeSpan.FromMinutes(2);
    public TimeSpan HostShutdown { get; set; } = TimeSpan.FromMinutes(3);
    public TimeSpan BmcBoot { get; set; } = TimeSpan.FromMinutes(10);
    public TimeSpan HostExitMaintenance { get; set; } = TimeSpan.FromMinutes(1);
    public TimeSpan VmPowerOn { get; set; } = TimeSpan.FromMinutes(3);
}

/// <summary>
/// Estimates from measurement, pure: each completed real run (drills touch nothing, so their timings say nothing) gives
/// each stage's duration from the outcome events' timestamps (in the order they happened); the estimate is the median over the cluster's last runs,
/// scaled up linearly when the cluster now has more VMs or hosts than the measured run (an upper bound for stages that run
/// in parallel); a stage never measured takes the default model's figure.
/// </summary>
public static class DurationEstimator
{
    public const int RunsConsidered = 5;

    static readonly (string Kind, string Label)[] ShutdownStages =
        [("vm-shutdown", "VM guest shutdown"), ("host-maintenance", "host maintenance mode"), ("host-shutdown", "host shutdown")];
    static readonly (string Kind, string Label)[] PowerOnStages =
        [("host-power-on", "BMC boot"), ("host-exit-maintenance", "host exit maintenance"), ("vm-power-on", "VM power-on")];

    /// <summary>One run's stages: kind → (stage seconds, items, per-item seconds).</summary>
    public static IReadOnlyDictionary<string, (double Stage, int Items, double? PerItem)> Measure(RunView run)
    {
        var result = new Dictionary<string, (double, int, double?)>();
        if (run.DryRun)
            return result;
        if (run.CompletedAt is not null)
            MeasureDirection(run, ShutdownStages, run.StartedAt, result);
        if (run.RestoreStartedAt is { } restore && run.RestoreCompletedAt is not null && !run.Interrupted)
            MeasureDirection(run, PowerOnStages, restore, result);
        return result;
    }

    /// <summary>
    /// Walks the direction's outcomes in time order: each run of consecutive outcomes of one kind is a segment, from the
    /// previous segment's last outcome to its own; a kind's duration is the sum of its segments. A kind may come back
    /// later in a run (vCenter's own VM is shut down after the hosts that do not run it, its host finished after it): its
    /// second segment counts to it, and the stages between keep their own time.
    /// </summary>
    static void MeasureDirection(RunView run, (string Kind, string Label)[] stages, DateTimeOffset start, Dictionary<string, (double, int, double?)> result)
    {
        var kinds = stages.Select(s => s.Kind).ToHashSet(StringComparer.Ordinal);
        var ordered = run.Steps.Where(s => kinds.Contains(s.Stage) && s.At >= start).OrderBy(s => s.At).ToList();
        var seconds = new Dictionary<string, double>(StringComparer.Ordinal);
        var previousEnd = start;
        for (var i = 0; i < ordered.Count; i++)
        {
            if (i + 1 < ordered.Count && ordered[i + 1].Stage == ordered[i].Stage)
                continue;
            var end = ordered[i].At;
            seconds[ordered[i].Stage] = seconds.GetValueOrDefault(ordered[i].Stage) + Math.Max(0, (end - previousEnd).TotalSeconds);
            previousEnd = end;
        }
        foreach (var (kind, _) in stages.Where(st => seconds.ContainsKey(st.Kind)))
        {
            var steps = ordered.Where(s => s.Stage == kind).ToList();
            var items = steps.Select(s => s.Target).Distinct(StringComparer.OrdinalIgnoreCase).Count();
            result[kind] = (seconds[kind], items, PerItem(run, kind, steps, start));
        }
    }

    /// <summary>Per host where its own start is in the events: shutdown after its maintenance outcome, boot from the power-on's start.</summary>
    static double? PerItem(RunView run, string kind, List<StepView> steps, DateTimeOffset start)
    {
        var durations = kind switch
        {
            "host-shutdown" => steps.Select(s => run.Steps.Where(m => m.Stage == "host-maintenance" && m.Target.Equals(s.Target, StringComparison.OrdinalIgnoreCase))
                    .Select(m => (double?)(s.At - m.At).TotalSeconds).FirstOrDefault()).OfType<double>().Where(d => d >= 0).ToList(),
            "host-power-on" => steps.Select(s => (s.At - start).TotalSeconds).ToList(),
            _ => [],
        };
        return durations.Count == 0 ? null : Median(durations);
    }

    /// <summary>Every shutdown stage of <paramref name="kinds"/> was measured (none taken from the default model).</summary>
    public static bool ShutdownMeasured(IReadOnlyList<KindDuration> kinds) =>
        ShutdownStages.All(stage => kinds.Any(k => k.Kind == stage.Kind && k.Basis == "history"));

    /// <summary>The estimate for a cluster with <paramref name="vms"/> VMs to shut down and <paramref name="hosts"/> hosts, from its runs (newest first or any order).</summary>
    public static DurationEstimate Estimate(IEnumerable<RunView> runs, int vms, int hosts, DefaultDurations defaults) =>
        Estimate(runs, kind => kind.StartsWith("vm-", StringComparison.Ordinal) ? vms : hosts, defaults);

    /// <summary>The estimate with each kind scaled to <paramref name="itemsNow"/> of that kind (a plan knows them exactly: with
    /// vCenter on the cluster, fewer hosts enter maintenance through vCenter than are powered off).</summary>
    public static DurationEstimate Estimate(IEnumerable<RunView> runs, Func<string, int> itemsNow, DefaultDurations defaults)
    {
        var measured = runs.Where(r => !r.DryRun).OrderByDescending(r => r.StartedAt)
            .Select(r => (Run: r, Stages: Measure(r))).Where(x => x.Stages.Count > 0).Take(RunsConsidered).ToList();
        var kinds = new List<KindDuration>();
        foreach (var (kind, label) in ShutdownStages.Concat(PowerOnStages))
        {
            var samples = measured.Where(x => x.Stages.ContainsKey(kind)).Select(x => x.Stages[kind]).ToList();
            if (samples.Count == 0)
            {
                kinds.Add(new KindDuration(kind, label, Default(kind, defaults).TotalSeconds, null, 0, 0, "default"));
                continue;
            }
            var now = itemsNow(kind);
            var scaled = samples.Select(s => s.Stage * Math.Max(1.0, s.Items > 0 ? (double)now / s.Items : 1)).ToList();
            var perItem = samples.Select(s => s.PerItem).OfType<double>().ToList();
            kinds.Add(new KindDuration(kind, label, Math.Round(Median(scaled), 1), perItem.Count > 0 ? Math.Round(Median(perItem), 1) : null,
                samples[0].Items, samples.Count, "history"));
        }

        TimeSpan Sum(IEnumerable<(string Kind, string Label)> stages) =>
            TimeSpan.FromSeconds(stages.Sum(s => kinds.First(k => k.Kind == s.Kind).StageSeconds));
        var fromHistory = kinds.Where(k => k.Basis == "history").Select(k => k.Kind).ToList();
        var basis = fromHistory.Count == 0
            ? "default model: no completed run of this cluster to measure yet"
            : $"measured: median of the last {measured.Count} run(s), newest {measured[0].Run.StartedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC" +
              (fromHistory.Count < kinds.Count ? $"; default model for {string.Join(", ", kinds.Where(k => k.Basis == "default").Select(k => k.Label))}" : "");
        return new DurationEstimate(Sum(ShutdownStages), Sum(PowerOnStages), basis, kinds);
    }

    static TimeSpan Default(string kind, DefaultDurations d) => kind switch
    {
        "vm-shutdown" => d.VmGuestShutdown,
        "host-maintenance" => d.HostMaintenance,
        "host-shutdown" => d.HostShutdown,
        "host-power-on" => d.BmcBoot,
        "host-exit-maintenance" => d.HostExitMaintenance,
        _ => d.VmPowerOn,
    };

    static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToList();
        var mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
