using System.Globalization;
using MassTransit;
using PowerEvents.Contracts;

namespace PowerEvents.Notifier.Alerts;

/// <summary>
/// Every event the Notifier turns into an alert, with its severity, title, summary and facts: the one
/// place to read (and extend) the severity mapping documented in docs/notifier.md.
/// </summary>
/// <remarks>
/// To alert on a new event: add one <c>bus.AddAlert&lt;TheEvent&gt;(e =&gt; new AlertContent(...))</c> line
/// below. It gets its own queue (<c>notifier-the-event</c>), dedupe, routing, retries and every format.
/// </remarks>
public static class AlertCatalog
{
    public static void AddAlerts(this IBusRegistrationConfigurator bus)
    {
        bus.AddAlert<AlarmRaised>(e => new AlertContent(
            Severity.Critical,
            $"ALARM RAISED in zone {e.Zone}{(e.Reason is null ? "" : " (predicted)")}",
            (e.Reason is null
                ? $"High temperature in zone {e.Zone}: {Hottest(e.Readings)} against a threshold of {Celsius(e.ThresholdCelsius)}. "
                : $"Zone {e.Zone} is at {Hottest(e.Readings)} and heating too fast to wait for {Celsius(e.ThresholdCelsius)}: {e.Reason}. ") +
            "A protective shutdown follows if the cluster's policy says so.",
            e.RaisedAt)
        {
            Fact = Key(e.AlarmId, e.Zone),
            Zone = e.Zone,
            Facts = [Fact("Threshold", Celsius(e.ThresholdCelsius)), .. Readings(e.Readings)],
        });

        // Early warning (warn mode): published once per episode by the evaluator, so alerted once per episode here.
        bus.AddAlert<ZoneEarlyWarningChanged>(e => e.Active
            ? new AlertContent(Severity.Warning, $"EARLY WARNING in zone {e.Zone}: {Celsius(e.ThresholdCelsius)} predicted in {Minutes(e.PredictedTimeToHigh)}",
                $"Zone {e.Zone} is heating ({e.RisePerMinute ?? 0:0.00} °C/min): its sensors' quorum is predicted to reach {Celsius(e.ThresholdCelsius)} " +
                $"in {Minutes(e.PredictedTimeToHigh)}, sooner than a shutdown takes ({Minutes(e.LeadTime)} with the margin). No alarm yet: check the cooling now.", e.ChangedAt)
            {
                Fact = Key(e.Zone, "early-warning", e.ChangedAt),
                Zone = e.Zone,
                Facts = [.. Readings(e.Readings)],
            }
            : new AlertContent(Severity.Info, $"Early warning over in zone {e.Zone}",
                $"Zone {e.Zone} is no longer predicted to reach {Celsius(e.ThresholdCelsius)} within a shutdown's time.", e.ChangedAt)
            {
                Fact = Key(e.Zone, "early-warning-over", e.ChangedAt),
                Zone = e.Zone,
            });

        bus.AddAlert<AlarmCleared>(e => new AlertContent(
            Severity.Info,
            $"Alarm cleared in zone {e.Zone}",
            $"Zone {e.Zone} is back below {Celsius(e.ThresholdCelsius)} ({Hottest(e.Readings)} now).",
            e.ClearedAt)
        {
            Fact = Key(e.AlarmId, e.Zone),
            Zone = e.Zone,
            Facts = [Fact("Clear threshold", Celsius(e.ThresholdCelsius)), .. Readings(e.Readings)],
        });
        // Sensing health: a protection system that went blind must say so.
        // These carry no run or episode id: the moment of the change is their identity.
        bus.AddAlert<SourceHealthChanged>(e => e.Healthy
            ? new AlertContent(Severity.Info, $"Sensor source {e.Source} recovered", $"{e.Source} answers with valid readings again.", e.ChangedAt)
            {
                Fact = Key(e.Source, "recovered", e.ChangedAt),
            }
            : new AlertContent(Severity.Warning, $"Sensor source {e.Source} is failing",
                $"{e.Source} gives no valid readings; zones that depend on it may go stale and cannot raise an alarm.", e.ChangedAt)
            {
                Fact = Key(e.Source, "failing", e.ChangedAt),
                Facts = [.. e.Problems.Take(5).Select(p => Fact("Problem", p))],
            });

        // Someone with broker access tried to make an actuator act outside a power run (issue 15): refused, but an operator must know.
        bus.AddAlert<ForgedCommandRefused>(e => new AlertContent(
            Severity.Critical,
            $"{e.Service} refused a forged {e.Command}",
            $"A {e.Command} reached {e.Service} from broker account '{(e.SentBy.Length > 0 ? e.SentBy : "(none)")}' instead of '{e.ExpectedOrigin}'; " +
            "nothing was done. Someone with broker credentials tried to command the cluster: check who holds them (docs/deploy.md, broker accounts).",
            e.RefusedAt)
        {
            Fact = Key(e.Service, e.Command, e.MessageId?.ToString() ?? e.RefusedAt.ToString("O", CultureInfo.InvariantCulture)),
        });

        bus.AddAlert<ZoneStalenessChanged>(e => e.Stale
            ? new AlertContent(Severity.Warning, $"Zone {e.Zone} is stale",
                $"Zone {e.Zone} has {e.FreshSensors} fresh sensor(s) of the {e.RequiredSensors} it needs; it cannot raise an alarm until they report again.", e.ChangedAt)
            {
                Fact = Key(e.Zone, "stale", e.ChangedAt),
                Zone = e.Zone,
            }
            : new AlertContent(Severity.Info, $"Zone {e.Zone} reports again", $"Zone {e.Zone} has {e.FreshSensors} fresh sensor(s) again.", e.ChangedAt)
            {
                Fact = Key(e.Zone, "fresh", e.ChangedAt),
                Zone = e.Zone,
            });

        // vCenter steps: routine successes are not alerts (a run shuts hundreds of VMs down); forced and failed are.
        bus.AddAlert<VmShutDown>(e => e.Outcome switch
        {
            VmShutdownOutcome.Forced => Step(Severity.Warning, e.Cluster, e.RunId, Key(e.RunId, e.VmId, "forced"), e.CompletedAt,
                $"VM {e.VmName} was powered off hard", $"The guest shutdown of {e.VmName} did not finish (or Tools were not running); it was powered off.", e.Fault),
            VmShutdownOutcome.Failed => Step(Severity.Critical, e.Cluster, e.RunId, Key(e.RunId, e.VmId, "failed"), e.CompletedAt,
                $"VM {e.VmName} could not be shut down", $"{e.VmName} is still running after every attempt.", e.Fault),
            _ => null,
        });

        bus.AddAlert<HostEnteredMaintenance>(e => e.Outcome == StepOutcome.Failed
            ? Step(Severity.Critical, e.Cluster, e.RunId, Key(e.RunId, e.Host, "failed"), e.CompletedAt,
                $"Host {e.Host} did not enter maintenance mode", $"{e.Host} could not be put into maintenance mode; it will not be powered off cleanly.", e.Fault)
            : null);

        // "Already off" is the answer to a repeated request: the same fact as "powered off", so it is alerted
        // when the first answer was lost and deduplicated when it was not.
        bus.AddAlert<HostPoweredOff>(e => e.Outcome switch
        {
            StepOutcome.Failed => Step(Severity.Critical, e.Cluster, e.RunId, Key(e.RunId, e.Host, "failed"), e.CompletedAt,
                $"Host {e.Host} could not be powered off", $"{e.Host} is still running.", e.Fault),
            StepOutcome.Done => Step(Severity.Info, e.Cluster, e.RunId, Key(e.RunId, e.Host, "off"), e.CompletedAt,
                $"Host {e.Host} powered off", $"{e.Host} was shut down through vCenter.", null),
            StepOutcome.AlreadyInState => Step(Severity.Info, e.Cluster, e.RunId, Key(e.RunId, e.Host, "off"), e.CompletedAt,
                $"Host {e.Host} powered off", $"{e.Host} is off (it was already off when the shutdown was asked).", null),
            _ => null,
        });

        // vCenter's own host (or a standalone one) finished through its own ESXi API: the same fact as HostPoweredOff.
        bus.AddAlert<EsxiHostPoweredOff>(e => e.Outcome switch
        {
            StepOutcome.Failed => Step(Severity.Critical, e.Cluster, e.RunId, Key(e.RunId, e.Host, "failed"), e.CompletedAt,
                $"Host {e.Host} could not be powered off", $"{e.Host} is still running: its own ESXi API did not shut it down.", e.Fault),
            StepOutcome.Done or StepOutcome.AlreadyInState => Step(Severity.Info, e.Cluster, e.RunId, Key(e.RunId, e.Host, "off"), e.CompletedAt,
                $"Host {e.Host} powered off", $"{e.Host} was shut down through its own ESXi API" +
                (e.FollowedTo is { Length: > 0 } moved ? $" (vCenter's VM had moved to {moved}, which was finished first)." : "."), null),
            _ => null,
        });

        bus.AddAlert<HostExitedMaintenance>(e => e.Outcome == StepOutcome.Failed
            ? Step(Severity.Warning, e.Cluster, e.RunId, Key(e.RunId, e.Host, "failed"), e.CompletedAt,
                $"Host {e.Host} is still in maintenance mode", $"{e.Host} could not leave maintenance mode; its VMs cannot start there.", e.Fault)
            : null);

        bus.AddAlert<VmPoweredOn>(e => e.Outcome == StepOutcome.Failed
            ? Step(Severity.Warning, e.Cluster, e.RunId, Key(e.RunId, e.VmId, "failed"), e.CompletedAt,
                $"VM {e.VmName} did not power on", $"{e.VmName} was running before the shutdown and could not be started again.", e.Fault)
            : null);

        bus.AddAlert<ClusterInventoryFailed>(e => Step(Severity.Critical, e.Cluster, e.RunId, Key(e.RunId, e.Cluster), e.FailedAt,
            $"Cannot read cluster {e.Cluster} from vCenter", $"The inventory of {e.Cluster} could not be read, so nothing can be planned for it.", e.Fault));

        // BMC power-on: a host that stays dark is the alert an operator must not miss.
        // As for HostPoweredOff: "already on" after a retry is the same fact as "powered on".
        bus.AddAlert<HostPowerOnCompleted>(e => e.Outcome switch
        {
            PowerOnOutcome.Failed => Step(Severity.Critical, e.Cluster, e.RunId, Key(e.RunId, e.Host, "failed"), e.CompletedAt,
                $"Host {e.Host} did not power on", $"{e.Host} could not be powered on ({e.Method}): {e.Reason}", null),
            PowerOnOutcome.WakeOnLanSent => Step(Severity.Warning, e.Cluster, e.RunId, Key(e.RunId, e.Host, "wake-on-lan"), e.CompletedAt,
                $"Wake-on-LAN sent to {e.Host}", $"{e.Host} was sent a magic packet; nothing confirms it woke up. {e.Reason}", null),
            PowerOnOutcome.PoweredOn => Step(Severity.Info, e.Cluster, e.RunId, Key(e.RunId, e.Host, "on"), e.CompletedAt,
                $"Host {e.Host} powered on", $"{e.Host} was powered on through its BMC.", null),
            PowerOnOutcome.AlreadyOn => Step(Severity.Info, e.Cluster, e.RunId, Key(e.RunId, e.Host, "on"), e.CompletedAt,
                $"Host {e.Host} powered on", $"{e.Host} is on (its BMC reported it on before anything was asked).", null),
            _ => null,
        });

        // The power saga.
        bus.AddAlert<PowerRunStarted>(e => new AlertContent(
            Severity.Critical,
            $"{(e.DryRun ? "DRILL: " : "")}SHUTDOWN STARTED: cluster {e.Cluster}",
            $"Zone {e.Zone} is in alarm: shutting down {e.VmsToShutDown} VM(s) in {e.Tiers.Count} tier(s) ({string.Join(" → ", e.Tiers)}), then {e.Hosts} host(s).",
            e.StartedAt)
        {
            Fact = Key(e.RunId), Cluster = e.Cluster, Zone = e.Zone, RunId = e.RunId,
        });

        // Forced and failed steps are alerted from the actuator's own outcome events above; these are the saga's decisions.
        bus.AddAlert<PowerRunStepFailed>(e => e.Outcome is "Forced" or "Failed"
            ? null
            : new AlertContent(
                Severity.Warning,
                $"{(e.Step is "host-power-on" or "host-reconnect" or "host-exit-maintenance" or "vm-power-on" ? "Power-on" : "Shutdown")} step {e.Outcome}: {e.Target}",
                $"{e.Step} of {e.Target} on cluster {e.Cluster}: {e.Outcome}. {e.Detail}".TrimEnd(),
                e.At)
            {
                Fact = Key(e.RunId, e.Step, e.Target, e.Outcome), Cluster = e.Cluster, RunId = e.RunId,
            });

        bus.AddAlert<PowerRunCompleted>(e => new AlertContent(
            e.Failures.Count == 0 ? Severity.Info : Severity.Critical,
            e.Failures.Count == 0 ? $"Cluster {e.Cluster} shut down" : $"Cluster {e.Cluster} shut down WITH {e.Failures.Count} FAILURE(S)",
            e.Failures.Count == 0
                ? $"Every VM and host is off ({(e.CompletedAt - e.StartedAt).TotalSeconds:0} s)."
                : $"Not everything went down as planned: {string.Join("; ", e.Failures.Take(5))}{(e.Failures.Count > 5 ? "; …" : "")}",
            e.CompletedAt)
        {
            Fact = Key(e.RunId), Cluster = e.Cluster, RunId = e.RunId,
            Facts = [Fact("Alarm cleared during the run", e.AlarmClearedDuringRun ? "yes" : "no"), .. e.Failures.Take(5).Select(f => Fact("Failure", f))],
        });

        // The way back: started is news, a partial restore needs hands (hosts dark: critical; only VMs: warning).
        bus.AddAlert<PowerRestoreStarted>(e => new AlertContent(
            Severity.Info,
            $"POWER-ON STARTED: cluster {e.Cluster}",
            $"Zone {e.Zone} is clear: powering on {e.Hosts.Count} host(s), then {e.VmsToRestore} VM(s) that were running before the shutdown ({string.Join(" → ", e.Tiers)}).",
            e.StartedAt)
        {
            Fact = Key(e.RunId), Cluster = e.Cluster, Zone = e.Zone, RunId = e.RunId,
        });

        bus.AddAlert<PowerRestoreCompleted>(e =>
        {
            var missing = e.HostsNotRestored.Concat(e.VmsNotRestored).ToList();
            var (severity, title) = e.Interrupted ? (Severity.Warning, $"Power-on of cluster {e.Cluster} INTERRUPTED: alarm again")
                : e.HostsNotRestored.Count > 0 ? (Severity.Critical, $"Cluster {e.Cluster} restored WITHOUT {e.HostsNotRestored.Count} HOST(S)")
                : e.VmsNotRestored.Count > 0 ? (Severity.Warning, $"Cluster {e.Cluster} restored, {e.VmsNotRestored.Count} VM(s) not running")
                : (Severity.Info, $"Cluster {e.Cluster} restored");
            var summary = e.Interrupted
                ? "The alarm came back during the power-on: no further power-on step was sent and the cluster is being shut down again."
                : missing.Count == 0
                    ? $"Every host and every VM that ran before the shutdown is back ({(e.CompletedAt - e.StartedAt).TotalSeconds:0} s)."
                    : $"Not restored: {string.Join("; ", missing.Take(5))}{(missing.Count > 5 ? "; …" : "")}";
            return new AlertContent(severity, title, summary, e.CompletedAt)
            {
                Fact = Key(e.RunId, e.Interrupted ? "interrupted" : "ended"),
                Cluster = e.Cluster, RunId = e.RunId,
                Facts = [.. missing.Take(5).Select(m => Fact("Not restored", m))],
            };
        });

        // Finished through the host's own ESXi API (the plan knows the host): what the run does, not a warning.
        bus.AddAlert<VCenterVmOnProtectedCluster>(e => new AlertContent(
            e.HostFinishedViaEsxi ? Severity.Info : Severity.Critical,
            $"vCenter's own VM runs on protected cluster {e.Cluster}",
            e.HostFinishedViaEsxi
                ? $"{e.VmName} (host {e.Host}) is shut down last: the other hosts go into maintenance mode and off through vCenter first, " +
                  $"then {e.VmName}, then {e.Host} through its own ESXi API (its login is checked by the esxi preflight)."
                : $"{e.VmName} (host {e.Host}) is shut down last; the run does not know its host, so after it vCenter cannot put that host into " +
                  "maintenance or power it off and it stays on. Configure the host's ESXi API (VCenter:Hosts) or move the VM off the cluster.",
            e.DetectedAt)
        {
            // A plan preview has no run: each preview is its own fact.
            Fact = e.RunId == Guid.Empty ? Key("preview", e.VmName, e.DetectedAt) : Key(e.RunId, e.VmName),
            Cluster = e.Cluster, RunId = e.RunId == Guid.Empty ? null : e.RunId,
        });
    }

    static AlertContent Step(Severity severity, string cluster, Guid runId, string fact, DateTimeOffset at, string title, string summary, VCenterFault? fault) =>
        new(severity, title, summary, at)
        {
            Fact = fact,
            Cluster = cluster,
            RunId = runId,
            Facts = fault is null ? [] : [Fact("vSphere fault", $"{fault.Name}: {fault.Message}")],
        };

    static AlertFact Fact(string label, string value) => new(label, value);

    /// <summary>A fact key from its parts, e.g. <c>&lt;run&gt;/esx-01/off</c>; the consumer prefixes the event type.</summary>
    static string Key(params object[] parts) => string.Join('/', parts.Select(p => p switch
    {
        DateTimeOffset at => at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
        bool flag => flag ? "true" : "false",
        _ => Convert.ToString(p, CultureInfo.InvariantCulture),
    }));

    static string Minutes(TimeSpan? value) => value is { } v ? v.TotalMinutes.ToString("0.0", CultureInfo.InvariantCulture) + " min" : "never";

    static string Celsius(double value) => value.ToString("0.0", CultureInfo.InvariantCulture) + " °C";

    static string Hottest(IReadOnlyList<SensorReading> readings) => readings.Count == 0
        ? "an alert signal from the monitoring system"
        : Celsius(readings.Max(r => r.Celsius));

    // A chat message is no place for fifty sensors: the hottest few, the full list stays in the details.
    static IEnumerable<AlertFact> Readings(IReadOnlyList<SensorReading> readings) => readings
        .OrderByDescending(r => r.Celsius)
        .Take(5)
        .Select(r => Fact($"Sensor {r.SensorId}", $"{Celsius(r.Celsius)} at {r.SampledAt.UtcDateTime:HH:mm:ss} UTC"));
}
