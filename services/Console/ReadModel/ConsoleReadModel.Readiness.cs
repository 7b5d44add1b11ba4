using PowerEvents.Console.Readiness;
using PowerEvents.Contracts;
using PowerEvents.Console.Status;

namespace PowerEvents.Console.ReadModel;

/// <summary>The read model's part for readiness: the cluster as observed, preflight results, deliveries, refused commands.</summary>
public sealed partial class ConsoleReadModel
{
    const int DeliveriesKept = 200;
    const int RefusalsKept = 20;

    readonly Dictionary<string, ClusterObserved> _observed = new(StringComparer.OrdinalIgnoreCase);
    readonly Dictionary<string, PreflightCheckCompleted> _preflight = new(StringComparer.OrdinalIgnoreCase);
    readonly Dictionary<string, ClusterReadinessAssessed> _assessed = new(StringComparer.OrdinalIgnoreCase);
    readonly LinkedList<WebhookDelivered> _deliveries = new();
    long _runsVersion;

    /// <summary>Moves with every run event (a run's start, step or end).</summary>
    public long RunsVersion
    {
        get
        {
            lock (_gate)
                return _runsVersion;
        }
    }

    void ApplyReadiness(object message)
    {
        switch (message)
        {
            case ClusterObserved m: OnObserved(m); break;
            case PreflightCheckCompleted m:
                var key = $"{m.Service}/{m.Kind}/{m.Target}";
                if (!_preflight.TryGetValue(key, out var known) || known.CheckedAt <= m.CheckedAt)
                    _preflight[key] = m;
                break;
            case ClusterReadinessAssessed m:
                if (!_assessed.TryGetValue(m.Cluster, out var last) || last.AssessedAt <= m.AssessedAt)
                    _assessed[m.Cluster] = m;
                break;
            case WebhookDelivered m:
                _deliveries.AddFirst(m);
                while (_deliveries.Count > DeliveriesKept)
                    _deliveries.RemoveLast();
                break;
            case OperatorCommandRefused m:
                var refusals = Cluster(m.Cluster).Refusals;
                refusals.Add(new RefusalView(m.Command, m.RequestedBy, m.Reason, m.RefusedAt));
                if (refusals.Count > RefusalsKept)
                    refusals.RemoveAt(0);
                break;
        }
    }

    /// <summary>The cluster as the VCenterActuator's preflight read it: hosts and VMs become known (no heartbeat: it is not a run's step).</summary>
    void OnObserved(ClusterObserved m)
    {
        if (_observed.TryGetValue(m.Cluster, out var known) && known.ObservedAt > m.ObservedAt)
            return;
        _observed[m.Cluster] = m;
        var cluster = Cluster(m.Cluster);
        foreach (var h in m.Hosts)
        {
            if (!cluster.Hosts.TryGetValue(h.Name, out var host))
                cluster.Hosts[h.Name] = host = new HostState(h.Name, HostTracker.FirstSeen(h.PowerState == "poweredOn" && h.ConnectionState == "connected", m.ObservedAt));
            host.Connection = h.ConnectionState;
            host.InMaintenance = h.InMaintenanceMode;
        }
        foreach (var v in m.Vms.Where(v => !v.IsVcls))
        {
            var vm = Vm(m.Cluster, v.Id, v.Name);
            vm.PowerState = v.PowerState;
            vm.Host = v.Host;
            vm.IsVCenter = v.IsVCenter;
        }
    }

    /// <summary>What the grade of <paramref name="cluster"/> depends on, now.</summary>
    public ReadinessInput ReadinessInputFor(string cluster, TimeSpan maxAge)
    {
        var now = clock.GetUtcNow();
        lock (_gate)
        {
            var state = Cluster(cluster);
            var zones = state.Zones.ToList();
            var sensors = zones.Where(_zones.ContainsKey).SelectMany(z => _zones[z].Sensors.Values.Select(s =>
            {
                var last = s.History.Count > 0 ? s.History[^1].At : (DateTimeOffset?)null;
                return new SensorHealth(_zones[z].Name, s.Id, s.Source, last is null || now - last > options.SensorStaleAfter, last);
            })).ToList();
            var stale = zones.Where(z => _zones.TryGetValue(z, out var zone) && zone.Stale is not null)
                .ToDictionary(z => z, z => _zones[z].Stale!, StringComparer.OrdinalIgnoreCase);
            var failing = _sources.Values.Where(s => !s.Healthy).Select(s => new FailingSource(s.Name, s.Problems, s.ChangedAt)).ToList();
            var underWay = _runs.Values.Any(r => r.Cluster.Equals(cluster, StringComparison.OrdinalIgnoreCase)
                && (r.CompletedAt is null || (r.RestoreStartedAt is not null && r.RestoreCompletedAt is null)));
            var placed = _clusters.Values.SelectMany(c => c.Hosts.Keys).Concat(_observed.Values.SelectMany(o => o.Hosts.Select(h => h.Name)))
                .ToHashSet(StringComparer.OrdinalIgnoreCase);
            return new ReadinessInput(state.Name, _observed.GetValueOrDefault(cluster), [.. state.Hosts.Keys], zones, stale, sensors, failing,
                [.. _preflight.Values], underWay, now, maxAge) { PlacedHosts = placed };
        }
    }

    /// <summary>VMs a shutdown would stop and hosts it would power off, for the estimate: from the observation, else from what runs named.</summary>
    public (int Vms, int Hosts) Size(string cluster)
    {
        lock (_gate)
        {
            if (_observed.TryGetValue(cluster, out var observed))
                return (observed.Vms.Count(v => v.PowerState == "poweredOn" && !v.IsVcls), observed.Hosts.Count);
            return _clusters.TryGetValue(cluster, out var c) ? (c.Vms.Count, c.Hosts.Count) : (0, 0);
        }
    }

    public IReadOnlyList<RunView> RunsOf(string cluster)
    {
        lock (_gate)
            return [.. _runs.Values.Where(r => r.Cluster.Equals(cluster, StringComparison.OrdinalIgnoreCase)).Select(r => r.View())];
    }

    public IReadOnlyList<PreflightCheckCompleted> PreflightResults()
    {
        lock (_gate)
            return [.. _preflight.Values.OrderBy(p => p.Ok).ThenBy(p => p.Kind, StringComparer.Ordinal).ThenBy(p => p.Target, StringComparer.OrdinalIgnoreCase)];
    }

    public IReadOnlyList<WebhookDelivered> Deliveries(int limit)
    {
        lock (_gate)
            return [.. _deliveries.Take(limit)];
    }

    public ClusterReadinessAssessed? LastAssessed(string cluster)
    {
        lock (_gate)
            return _assessed.GetValueOrDefault(cluster);
    }

    public DateTimeOffset? ObservedAt(string cluster)
    {
        lock (_gate)
            return _observed.GetValueOrDefault(cluster)?.ObservedAt;
    }
}
