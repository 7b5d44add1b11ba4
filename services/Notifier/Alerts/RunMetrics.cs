using System.Collections.Concurrent;
using PowerEvents.Contracts;
using Prometheus;

namespace PowerEvents.Notifier.Alerts;

/// <summary>
/// Run phases, step outcomes and their timing as Prometheus series (docs/deploy.md, "Metrics"), computed here from the
/// run and step events the Notifier consumes anyway, so the saga stays free of reporting. The outcome events carry
/// when a step ended but not when it was asked, so a step's time is measured from the start of its phase (the
/// shutdown or the power-on): for the first stage that is the step's own duration, for later ones it includes the
/// stages before it.
/// </summary>
public static class RunMetrics
{
    public const string Shutdown = "shutdown";
    public const string Off = "off";
    public const string PowerOn = "power-on";
    public const string On = "on";
    static readonly string[] Phases = [Shutdown, Off, PowerOn, On];

    static readonly Gauge Phase = Metrics.CreateGauge("powerevents_run_phase",
        "1 for the phase a cluster's power run is in (shutdown, off, power-on, on), 0 for the others.", "cluster", "phase");
    static readonly Counter Runs = Metrics.CreateCounter("powerevents_runs_total",
        "Phases started, by phase (shutdown, power-on) and whether it is a drill.", "phase", "drill");
    static readonly Histogram PhaseDuration = Metrics.CreateHistogram("powerevents_run_phase_duration_seconds",
        "How long a phase took from its start to its last step, by result (clean, with-failures, interrupted).", new HistogramConfiguration
        {
            LabelNames = ["phase", "result"],
            Buckets = Histogram.ExponentialBuckets(1, 2, 16),
        });
    static readonly Histogram StepElapsed = Metrics.CreateHistogram("powerevents_run_step_seconds",
        "Time from the start of a step's phase to the step's outcome, by kind of step and outcome.", new HistogramConfiguration
        {
            LabelNames = ["kind", "outcome"],
            Buckets = Histogram.ExponentialBuckets(0.5, 2, 16),
        });
    static readonly Counter StepOutcomes = Metrics.CreateCounter("powerevents_run_step_outcomes_total",
        "Step outcomes by kind of step (vm-shutdown, host-maintenance, host-shutdown, host-power-on, host-exit-maintenance, vm-power-on, inventory) and outcome.",
        "kind", "outcome");

    /// <summary>When the current phase of each run began (in memory: after a restart, steps of a run begun before it are counted but not timed).</summary>
    static readonly ConcurrentDictionary<Guid, DateTimeOffset> PhaseStarts = new();

    /// <summary>Records one consumed event; events that say nothing about a run are ignored.</summary>
    public static void Observe(object message)
    {
        switch (message)
        {
            case PowerRunStarted e:
                EnterPhase(e.Cluster, Shutdown);
                Runs.WithLabels(Shutdown, e.DryRun ? "true" : "false").Inc();
                PhaseStarts[e.RunId] = e.StartedAt;
                break;
            case PowerRunCompleted e:
                EnterPhase(e.Cluster, Off);
                PhaseDuration.WithLabels(Shutdown, e.Failures.Count == 0 ? "clean" : "with-failures").Observe(Seconds(e.StartedAt, e.CompletedAt));
                break;
            case PowerRestoreStarted e:
                EnterPhase(e.Cluster, PowerOn);
                Runs.WithLabels(PowerOn, "false").Inc();
                PhaseStarts[e.RunId] = e.StartedAt;
                break;
            case PowerRestoreCompleted e:
                // Interrupted: the alarm came back and the shutdown runs again.
                EnterPhase(e.Cluster, e.Interrupted ? Shutdown : On);
                PhaseDuration.WithLabels(PowerOn, e.Interrupted ? "interrupted" : e.HostsNotRestored.Count + e.VmsNotRestored.Count == 0 ? "clean" : "with-failures")
                    .Observe(Seconds(e.StartedAt, e.CompletedAt));
                if (!e.Interrupted)
                    PhaseStarts.TryRemove(e.RunId, out _);
                break;
            case VmShutDown e:
                Step(e.RunId, "vm-shutdown", e.Outcome.ToString(), e.CompletedAt);
                break;
            case HostEnteredMaintenance e:
                Step(e.RunId, "host-maintenance", e.Outcome.ToString(), e.CompletedAt);
                break;
            case HostPoweredOff e:
                Step(e.RunId, "host-shutdown", e.Outcome.ToString(), e.CompletedAt);
                break;
            case HostPowerOnCompleted e:
                Step(e.RunId, "host-power-on", e.Outcome.ToString(), e.CompletedAt);
                break;
            case HostExitedMaintenance e:
                Step(e.RunId, "host-exit-maintenance", e.Outcome.ToString(), e.CompletedAt);
                break;
            case VmPoweredOn e:
                Step(e.RunId, "vm-power-on", e.Outcome.ToString(), e.CompletedAt);
                break;
            case ClusterInventoryFailed e:
                Step(e.RunId, "inventory", "Failed", e.FailedAt);
                break;
        }
    }

    static void EnterPhase(string cluster, string phase)
    {
        foreach (var each in Phases)
            Phase.WithLabels(cluster, each).Set(each == phase ? 1 : 0);
    }

    static void Step(Guid runId, string kind, string outcome, DateTimeOffset completedAt)
    {
        StepOutcomes.WithLabels(kind, outcome).Inc();
        if (PhaseStarts.TryGetValue(runId, out var started) && completedAt >= started)
            StepElapsed.WithLabels(kind, outcome).Observe(Seconds(started, completedAt));
    }

    static double Seconds(DateTimeOffset from, DateTimeOffset to) => Math.Max(0, (to - from).TotalSeconds);
}
