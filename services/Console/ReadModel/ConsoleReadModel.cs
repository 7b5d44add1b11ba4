using PowerEvents.Console.Status;
using PowerEvents.Contracts;

namespace PowerEvents.Console.ReadModel;

/// <summary>
/// What the console shows, built only from the events on the bus (replayed from its own table at start). One lock:
/// events arrive one at a time and a snapshot is a small copy.
/// </summary>
public sealed partial class ConsoleReadModel(ConsoleOptions options, TimeProvider clock)
{
    readonly Lock _gate = new();
    readonly Dictionary<string, ZoneState> _zones = new(StringComparer.OrdinalIgnoreCase);
    readonly Dictionary<string, SourceState> _sources = new(StringComparer.OrdinalIgnoreCase);
    readonly Dictionary<string, ClusterState> _clusters = new(StringComparer.OrdinalIgnoreCase);
    readonly Dictionary<Guid, RunState> _runs = [];
    // The evaluator's zone of each sensor: from configuration, then from the readings carried by alarm events.
    readonly Dictionary<string, string> _sensorZone = options.Zones
        .SelectMany(z => z.Sensors.Select(sensor => (sensor, zone: z.Name)))
        .ToDictionary(x => x.sensor, x => x.zone, StringComparer.OrdinalIgnoreCase);

    public void Apply(object message)
    {
        lock (_gate)
        {
            switch (message)
            {
                case TemperatureSampled m: OnSample(m); break;
                case AlarmRaised m:
                    AssignSensors(m.Zone, m.Readings);
                    var raised = Zone(m.Zone);
                    raised.Alarm = new AlarmView(m.AlarmId, true, m.RaisedAt, m.ThresholdCelsius);
                    raised.HighCelsius = m.ThresholdCelsius;
                    break;
                case AlarmCleared m:
                    AssignSensors(m.Zone, m.Readings);
                    var cleared = Zone(m.Zone);
                    cleared.Alarm = new AlarmView(m.AlarmId, false, m.ClearedAt, m.ThresholdCelsius);
                    cleared.LowCelsius = m.ThresholdCelsius;
                    break;
                case ZoneStalenessChanged m:
                    Zone(m.Zone).Stale = m.Stale ? $"{m.FreshSensors} of {m.RequiredSensors} sensors fresh" : null;
                    break;
                case SourceHealthChanged m:
                    _sources[m.Source] = new SourceState(m.Source, m.Healthy, m.Problems, m.ChangedAt);
                    break;
                case ClusterInventoryCaptured m: OnInventory(m); break;
                case PowerRunStarted m: OnRunStarted(m); break;
                case VmShutDown m:
                    Step(m.RunId, m.Cluster, "vm-shutdown", m.VmName, m.Outcome.ToString(), m.Fault?.ToString() ?? "", m.CompletedAt);
                    Vm(m.Cluster, m.VmId, m.VmName).PowerState = m.Outcome == VmShutdownOutcome.Failed ? "unknown" : "poweredOff";
                    break;
                case HostEnteredMaintenance m:
                    Step(m.RunId, m.Cluster, "host-maintenance", m.Host, m.Outcome.ToString(), m.Fault?.ToString() ?? "", m.CompletedAt);
                    if (m.Outcome != StepOutcome.Failed && !IsDrill(m.RunId))
                        Report(m.Cluster, m.Host, Heartbeat.Stopping, m.CompletedAt, "maintenance mode");
                    break;
                case HostPoweredOff m:
                    Step(m.RunId, m.Cluster, "host-shutdown", m.Host, m.Outcome.ToString(), m.Fault?.ToString() ?? "", m.CompletedAt);
                    if (m.Outcome != StepOutcome.Failed && !IsDrill(m.RunId))
                        Report(m.Cluster, m.Host, Heartbeat.None, m.CompletedAt, "powered off by the run");
                    break;
                case EsxiHostPoweredOff m:
                    // vCenter's own host (or a standalone one), finished through its ESXi API: the same fact as HostPoweredOff.
                    Step(m.RunId, m.Cluster, "host-shutdown", m.Host, m.Outcome.ToString(), m.Fault?.ToString() ?? "", m.CompletedAt);
                    if (m.Outcome != StepOutcome.Failed && !IsDrill(m.RunId))
                        Report(m.Cluster, m.Host, Heartbeat.None, m.CompletedAt, "powered off by the run through its ESXi API");
                    break;
                case VsanClusterPowerCompleted m:
                    // vSAN's cluster power API took the hosts (vCenter's own included) down in one workflow: one step of
                    // the run, and each host it saw off goes OFF as if powered off by the run host by host.
                    Step(m.RunId, m.Cluster, m.TargetPowerStatus == "clusterPoweredOff" ? "vsan-cluster-power-off" : "vsan-cluster-power-on", m.Cluster,
                        m.Outcome.ToString(), m.Fault?.ToString() ?? "", m.CompletedAt);
                    if (m.TargetPowerStatus == "clusterPoweredOff" && m.Outcome != StepOutcome.Failed && !IsDrill(m.RunId))
                        foreach (var host in m.HostsOff)
                        {
                            // vSAN's workflow puts every host into maintenance mode before it powers it off (not a crash).
                            Report(m.Cluster, host, Heartbeat.Stopping, m.CompletedAt, "maintenance mode (vSAN's cluster power-off)");
                            Report(m.Cluster, host, Heartbeat.None, m.CompletedAt, "powered off by the run through vSAN's cluster power API");
                        }
                    break;
                case PowerRunStepFailed m:
                    Step(m.RunId, m.Cluster, m.Step, m.Target, m.Outcome, m.Detail, m.At);
                    break;
                case PowerRunCompleted m:
                    var run = Run(m.RunId, m.Cluster);
                    run.CompletedAt = m.CompletedAt;
                    run.Failures = m.Failures;
                    if (!run.DryRun)
                        Cluster(m.Cluster).OffSince = m.CompletedAt;
                    break;
                case PowerRestoreStarted m: OnRestoreStarted(m); break;
                case HostPowerOnCompleted m:
                    Step(m.RunId, m.Cluster, "host-power-on", m.Host, m.Outcome.ToString(), m.Reason, m.CompletedAt);
                    if (m.Outcome is PowerOnOutcome.PoweredOn or PowerOnOutcome.AlreadyOn)
                        Report(m.Cluster, m.Host, Heartbeat.On, m.CompletedAt, $"BMC: {m.Outcome}");
                    break;
                case HostBootProgressReported m:
                    Step(m.RunId, m.Cluster, "host-boot", m.Host, m.Stage, m.BmcState, m.ReportedAt);
                    Host(m.Cluster, m.Host).Note = m.Stage;
                    break;
                case HostExitedMaintenance m:
                    Step(m.RunId, m.Cluster, "host-exit-maintenance", m.Host, m.Outcome.ToString(), m.Fault?.ToString() ?? "", m.CompletedAt);
                    break;
                case VmPoweredOn m:
                    Step(m.RunId, m.Cluster, "vm-power-on", m.VmName, m.Outcome.ToString(), m.Fault?.ToString() ?? "", m.CompletedAt);
                    if (m.Outcome != StepOutcome.Failed)
                        Vm(m.Cluster, m.VmId, m.VmName).PowerState = "poweredOn";
                    break;
                case PowerRestoreCompleted m:
                    var restored = Run(m.RunId, m.Cluster);
                    restored.RestoreCompletedAt = m.CompletedAt;
                    restored.RestoreFailures = [.. m.HostsNotRestored, .. m.VmsNotRestored];
                    restored.Interrupted = m.Interrupted;
                    if (!m.Interrupted)
                        Cluster(m.Cluster).OffSince = null;
                    break;
                case HostPowerStateReported m: OnPowerState(m); break;
                case ScheduledPowerWindowSkipped m:
                    Cluster(m.Cluster).LastScheduleNote = $"{m.SkippedAt:u} {m.Action} skipped: {m.Reason}";
                    break;
                default:
                    ApplyReadiness(message);
                    break;
            }
        }
    }

    void OnSample(TemperatureSampled m)
    {
        var zone = Zone(_sensorZone.GetValueOrDefault(m.SensorId) ?? m.Zone);
        if (!zone.Sensors.TryGetValue(m.SensorId, out var sensor))
            zone.Sensors[m.SensorId] = sensor = new SensorState(m.SensorId, m.Source);
        var cutoff = clock.GetUtcNow() - options.HistoryLength;
        sensor.History.Add(new TemperaturePoint(m.SampledAt, m.Celsius));
        if (sensor.History.Count > 1 && sensor.History[^2].At > m.SampledAt)
            sensor.History.Sort((a, b) => a.At.CompareTo(b.At));
        var old = sensor.History.FindIndex(p => p.At >= cutoff);
        if (old > 0)
            sensor.History.RemoveRange(0, old);
    }

    /// <summary>Moves sensors (with their history) from their source's label to the evaluator's zone once it is known.</summary>
    void AssignSensors(string zoneName, IReadOnlyList<SensorReading> readings)
    {
        foreach (var reading in readings)
        {
            _sensorZone[reading.SensorId] = zoneName;
            foreach (var other in _zones.Values.Where(z => !z.Name.Equals(zoneName, StringComparison.OrdinalIgnoreCase)).ToList())
            {
                if (!other.Sensors.Remove(reading.SensorId, out var sensor))
                    continue;
                Zone(zoneName).Sensors[reading.SensorId] = sensor;
                if (other.Sensors.Count == 0 && other.Alarm is null && other.Stale is null)
                    _zones.Remove(other.Name);
            }
        }
    }

    void OnInventory(ClusterInventoryCaptured m)
    {
        var cluster = Cluster(m.Cluster);
        foreach (var h in m.Hosts)
        {
            var on = h.PowerState == "poweredOn" && h.ConnectionState == "connected";
            if (!cluster.Hosts.TryGetValue(h.Name, out var host))
                cluster.Hosts[h.Name] = new HostState(h.Name, HostTracker.FirstSeen(on, m.CapturedAt)) { Connection = h.ConnectionState, InMaintenance = h.InMaintenanceMode };
            else
            {
                host.Connection = h.ConnectionState;
                host.InMaintenance = h.InMaintenanceMode;
                // vCenter's view is a heartbeat too: connected and on, or not answering.
                Report(m.Cluster, h.Name, on ? Heartbeat.On : Heartbeat.None, m.CapturedAt, $"vCenter: {h.ConnectionState}, {h.PowerState}");
            }
        }
        foreach (var v in m.Vms)
        {
            var vm = Vm(m.Cluster, v.Id, v.Name);
            vm.PowerState = v.PowerState;
            vm.Host = v.Host;
            vm.IsVCenter = v.IsVCenter;
        }
    }

    void OnRunStarted(PowerRunStarted m)
    {
        var run = Run(m.RunId, m.Cluster);
        run.Zone = m.Zone;
        run.StartedAt = m.StartedAt;
        run.DryRun = m.DryRun;
        run.Summary = $"{m.VmsToShutDown} VMs in {m.Tiers.Count} tiers, {m.Hosts} hosts";
        var cluster = Cluster(m.Cluster);
        cluster.Zones.Add(m.Zone);
        if (m.DryRun)
            return;
        foreach (var host in cluster.Hosts.Values)
            host.Tracker.SetDesired(DesiredPower.Off, m.StartedAt);
    }

    void OnRestoreStarted(PowerRestoreStarted m)
    {
        var run = Run(m.RunId, m.Cluster);
        run.RestoreStartedAt = m.StartedAt;
        foreach (var name in m.Hosts)
            Host(m.Cluster, name).Tracker.SetDesired(DesiredPower.On, m.StartedAt);
    }

    void OnPowerState(HostPowerStateReported m)
    {
        if (!m.Reachable)
        {
            Host(m.Cluster, m.Host).Note = $"BMC unreachable: {m.Reason}";
            return;
        }
        var heartbeat = m.PowerState switch
        {
            "On" => Heartbeat.On,
            "PoweringOff" => Heartbeat.Stopping,
            "Off" or "PoweringOn" => Heartbeat.None,
            _ => (Heartbeat?)null,
        };
        if (heartbeat is { } beat)
        {
            Host(m.Cluster, m.Host, firstSeenOn: beat == Heartbeat.On);
            Report(m.Cluster, m.Host, beat, m.ReportedAt, $"BMC PowerState {m.PowerState}");
        }
        else
            Host(m.Cluster, m.Host).Note = $"BMC PowerState {m.PowerState}";
    }

    void Report(string cluster, string host, Heartbeat heartbeat, DateTimeOffset at, string note)
    {
        var state = Host(cluster, host);
        state.Tracker.Report(heartbeat, at, options.StandbyTime);
        state.Note = note;
    }

    bool IsDrill(Guid runId) => _runs.TryGetValue(runId, out var run) && run.DryRun;

    void Step(Guid runId, string cluster, string stage, string target, string outcome, string detail, DateTimeOffset at)
    {
        if (runId == Guid.Empty)
            return;
        Run(runId, cluster).Steps.Add(new StepView(at, stage, target, outcome, detail));
    }

    ZoneState Zone(string name)
    {
        if (!_zones.TryGetValue(name, out var zone))
        {
            var configured = options.Zones.FirstOrDefault(z => string.Equals(z.Name, name, StringComparison.OrdinalIgnoreCase));
            _zones[name] = zone = new ZoneState(name) { HighCelsius = configured?.HighCelsius, LowCelsius = configured?.LowCelsius };
        }
        return zone;
    }

    ClusterState Cluster(string name)
    {
        if (!_clusters.TryGetValue(name, out var cluster))
        {
            _clusters[name] = cluster = new ClusterState(name);
            foreach (var zone in options.Clusters.Where(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase)).SelectMany(c => c.Zones))
                cluster.Zones.Add(zone);
        }
        return cluster;
    }

    /// <summary>
    /// The host, created when first named. The saga answers its inventory request directly (not on the bus), so a host is
    /// often first named by a run's step: one the run is shutting down was on and is wanted off; one a power-on brings
    /// back was off and is wanted on.
    /// </summary>
    HostState Host(string cluster, string name, bool firstSeenOn = false)
    {
        var owner = Cluster(cluster);
        if (owner.Hosts.TryGetValue(name, out var host))
            return host;
        var run = _runs.Values.Where(r => !r.DryRun && r.Cluster.Equals(cluster, StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(r => r.StartedAt).FirstOrDefault();
        HostTracker tracker;
        if (run is { CompletedAt: null })
        {
            tracker = HostTracker.FirstSeen(poweredOn: true, run.StartedAt);
            tracker.SetDesired(DesiredPower.Off, run.StartedAt);
        }
        else if (run is { CompletedAt: { } offAt, RestoreStartedAt: { } restoreAt, RestoreCompletedAt: null })
        {
            tracker = HostTracker.FirstSeen(poweredOn: false, offAt);
            tracker.SetDesired(DesiredPower.On, restoreAt);
        }
        else
            tracker = HostTracker.FirstSeen(firstSeenOn, clock.GetUtcNow());
        owner.Hosts[name] = host = new HostState(name, tracker);
        return host;
    }

    VmState Vm(string cluster, string id, string name)
    {
        var owner = Cluster(cluster);
        if (!owner.Vms.TryGetValue(id, out var vm))
            owner.Vms[id] = vm = new VmState(id, name);
        return vm;
    }

    RunState Run(Guid id, string cluster)
    {
        // Every run event passes here: the estimates are recomputed only when this moved.
        _runsVersion++;
        if (!_runs.TryGetValue(id, out var run))
            _runs[id] = run = new RunState(id, cluster) { StartedAt = clock.GetUtcNow() };
        return run;
    }

    // ---- queries ----

    /// <summary>True when an alarm holds on a zone that protects the cluster (any zone, when the cluster's zones are not known).</summary>
    public bool AlarmHolds(string cluster, out string zones)
    {
        lock (_gate)
        {
            var known = _clusters.TryGetValue(cluster, out var c) && c.Zones.Count > 0 ? c.Zones : null;
            var active = _zones.Values.Where(z => z.Alarm?.Active == true && (known is null || known.Contains(z.Name))).Select(z => z.Name).ToList();
            zones = string.Join(", ", active);
            return active.Count > 0;
        }
    }

    public DateTimeOffset? OffSince(string cluster)
    {
        lock (_gate)
            return _clusters.TryGetValue(cluster, out var c) ? c.OffSince : null;
    }

    public bool KnowsCluster(string cluster)
    {
        lock (_gate)
            return _clusters.ContainsKey(cluster) || options.Clusters.Any(c => string.Equals(c.Name, cluster, StringComparison.OrdinalIgnoreCase));
    }

    public IReadOnlyList<string> ClusterNames()
    {
        lock (_gate)
            return [.. _clusters.Keys.Union(options.Clusters.Select(c => c.Name), StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase)];
    }

    public StateView Snapshot()
    {
        var now = clock.GetUtcNow();
        lock (_gate)
        {
            foreach (var configured in options.Clusters)
                Cluster(configured.Name);
            return new StateView(
                now,
                [.. _zones.Values.OrderBy(z => z.Name, StringComparer.OrdinalIgnoreCase).Select(z => z.View(now, options.SensorStaleAfter))],
                [.. _sources.Values.OrderBy(s => s.Name, StringComparer.OrdinalIgnoreCase).Select(s => new SourceView(s.Name, s.Healthy, s.Problems, s.ChangedAt))],
                [.. _clusters.Values.OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase).Select(c => c.View(now, options.StandbyTime, _runs.Values))]);
        }
    }

    public ZoneHistoryView? History(string zone)
    {
        lock (_gate)
        {
            if (!_zones.TryGetValue(zone, out var z))
                return null;
            return new ZoneHistoryView(z.Name, z.HighCelsius, z.LowCelsius,
                [.. z.Sensors.Values.Select(s => new SensorHistoryView(s.Id, Downsample(s.History, 400)))]);
        }
    }

    public IReadOnlyList<RunView> Runs(int limit)
    {
        lock (_gate)
            return [.. _runs.Values.OrderByDescending(r => r.StartedAt).Take(limit).Select(r => r.View())];
    }

    static List<TemperaturePoint> Downsample(List<TemperaturePoint> points, int max)
    {
        if (points.Count <= max)
            return [.. points];
        var stride = (double)points.Count / max;
        var result = new List<TemperaturePoint>(max + 1);
        for (var i = 0; i < max; i++)
            result.Add(points[(int)(i * stride)]);
        result.Add(points[^1]);
        return result;
    }

    // ---- state ----

    sealed class ZoneState(string name)
    {
        public string Name { get; } = name;
        public Dictionary<string, SensorState> Sensors { get; } = new(StringComparer.OrdinalIgnoreCase);
        public AlarmView? Alarm { get; set; }
        public string? Stale { get; set; }
        public double? HighCelsius { get; set; }
        public double? LowCelsius { get; set; }

        public ZoneView View(DateTimeOffset now, TimeSpan staleAfter) => new(
            Name, Alarm, Stale, HighCelsius, LowCelsius,
            [.. Sensors.Values.OrderBy(s => s.Id, StringComparer.OrdinalIgnoreCase).Select(s => s.View(now, staleAfter))]);
    }

    sealed class SensorState(string id, string source)
    {
        public string Id { get; } = id;
        public string Source { get; } = source;
        public List<TemperaturePoint> History { get; } = [];

        public SensorView View(DateTimeOffset now, TimeSpan staleAfter)
        {
            if (History.Count == 0)
                return new SensorView(Id, Source, null, null, null, 0, true);
            var last = History[^1];
            // Trend over the last ten minutes of readings, in °C per 10 min.
            var reference = History.LastOrDefault(p => p.At <= last.At - TimeSpan.FromMinutes(10)) ?? History[0];
            var minutes = (last.At - reference.At).TotalMinutes;
            double? trend = minutes > 0 ? Math.Round((last.Celsius - reference.Celsius) / minutes * 10, 2) : null;
            var age = now - last.At;
            return new SensorView(Id, Source, last.Celsius, last.At, trend, Math.Max(0, Math.Round(age.TotalSeconds)), age > staleAfter);
        }
    }

    sealed record SourceState(string Name, bool Healthy, IReadOnlyList<string> Problems, DateTimeOffset ChangedAt);

    sealed class ClusterState(string name)
    {
        public string Name { get; } = name;
        public Dictionary<string, HostState> Hosts { get; } = new(StringComparer.OrdinalIgnoreCase);
        public Dictionary<string, VmState> Vms { get; } = new(StringComparer.OrdinalIgnoreCase);
        public HashSet<string> Zones { get; } = new(StringComparer.OrdinalIgnoreCase);
        public DateTimeOffset? OffSince { get; set; }
        public string? LastScheduleNote { get; set; }
        public List<RefusalView> Refusals { get; } = [];

        public ClusterView View(DateTimeOffset now, TimeSpan standby, IEnumerable<RunState> runs)
        {
            var current = runs.Where(r => r.Cluster.Equals(Name, StringComparison.OrdinalIgnoreCase))
                .OrderByDescending(r => r.StartedAt).FirstOrDefault(r => r.CompletedAt is null || (r.RestoreStartedAt is not null && r.RestoreCompletedAt is null));
            return new ClusterView(Name, [.. Zones], OffSince, current?.Id, LastScheduleNote, [.. Refusals.AsEnumerable().Reverse()],
                [.. Hosts.Values.OrderBy(h => h.Name, StringComparer.OrdinalIgnoreCase).Select(h => h.View(now, standby))],
                [.. Vms.Values.OrderBy(v => v.Name, StringComparer.OrdinalIgnoreCase).Select(v => new VmView(v.Id, v.Name, v.PowerState, v.Host, v.IsVCenter))]);
        }
    }

    sealed class HostState(string name, HostTracker tracker)
    {
        public string Name { get; } = name;
        public HostTracker Tracker { get; } = tracker;
        public string? Connection { get; set; }
        public bool InMaintenance { get; set; }
        public string? Note { get; set; }

        public HostView View(DateTimeOffset now, TimeSpan standby)
        {
            var decision = Tracker.StatusAt(now, standby);
            return new HostView(Name, decision.Desired == DesiredPower.On ? "ON" : "OFF", HostStatusModel.Label(decision.Actual),
                decision.NeedsAttention, Tracker.Previous.ToString(), Tracker.Current.ToString(), Tracker.HeartbeatAt, Connection, InMaintenance, Note);
        }
    }

    sealed class VmState(string id, string name)
    {
        public string Id { get; } = id;
        public string Name { get; } = name;
        public string PowerState { get; set; } = "unknown";
        public string Host { get; set; } = "";
        public bool IsVCenter { get; set; }
    }

    sealed class RunState(Guid id, string cluster)
    {
        public Guid Id { get; } = id;
        public string Cluster { get; } = cluster;
        public string Zone { get; set; } = "";
        public bool DryRun { get; set; }
        public string Summary { get; set; } = "";
        public DateTimeOffset StartedAt { get; set; }
        public DateTimeOffset? CompletedAt { get; set; }
        public IReadOnlyList<string> Failures { get; set; } = [];
        public DateTimeOffset? RestoreStartedAt { get; set; }
        public DateTimeOffset? RestoreCompletedAt { get; set; }
        public IReadOnlyList<string> RestoreFailures { get; set; } = [];
        public bool Interrupted { get; set; }
        public List<StepView> Steps { get; } = [];

        public RunView View() => new(Id, Cluster, Zone, DryRun, Summary, StartedAt, CompletedAt, Failures,
            RestoreStartedAt, RestoreCompletedAt, RestoreFailures, Interrupted, [.. Steps.OrderBy(s => s.At)]);
    }
}
