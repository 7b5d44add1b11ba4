using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using MassTransit;
using Npgsql;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.Testing;
using PowerEvents.VCenterActuator;
using PowerEvents.VCenterActuator.Vim;

namespace PowerEvents.PowerSagaBench;

/// <summary>
/// Where the time of a scale run goes, from timestamps that exist anyway: the run history (claims written, outcomes
/// recorded), the outbox (rows written, delivery rounds), vcsim's journal (ShutdownGuest received, guest off, host
/// events), the actuator's <c>CompletedAt</c>, and three taps this command binds to the bus: the
/// <see cref="VmShutdownRequested"/> commands as they leave the outbox (a queue bound to the actuator's command exchange),
/// the <see cref="PowerStageCompleted"/> messages to the saga (bound to the saga's exchange) and the
/// <see cref="VmShutDown"/> outcomes. All clocks are this machine's wall clock.
/// </summary>
sealed class Taps
{
    public readonly ConcurrentDictionary<string, DateTimeOffset> Commands = new(StringComparer.Ordinal);
    public readonly ConcurrentDictionary<string, (DateTimeOffset CompletedAt, DateTimeOffset Received)> Outcomes = new(StringComparer.Ordinal);
    public readonly ConcurrentQueue<(string Kind, int Stage, DateTimeOffset Received)> StagesCompleted = new();
    /// <summary>The hops before the first tier, each as it reached the bus (first copy): AlarmRaised, ClusterShutdownRequested, ClusterInventoryRequested, ClusterInventoryCaptured.</summary>
    public readonly ConcurrentDictionary<string, DateTimeOffset> FirstHops = new(StringComparer.Ordinal);

    void Hop(string name) => FirstHops.TryAdd(name, DateTimeOffset.UtcNow);

    /// <param name="all">
    /// False: only the outcomes (the p99 needs when the actuator saw each VM off) and the hops before the first tier; not
    /// the copies of every command and of the saga's queue, whose consuming costs the 2-core machine CPU the run competes for.
    /// </param>
    public void Configure(IRabbitMqBusFactoryConfigurator cfg, bool all = true)
    {
        cfg.ReceiveEndpoint($"power-saga-bench-{Guid.NewGuid():N}", e =>
        {
            e.AutoDelete = true;
            e.Durable = false;
            e.Handler<VmShutDown>(c =>
            {
                Outcomes.TryAdd(c.Message.VmName, (c.Message.CompletedAt, DateTimeOffset.UtcNow));
                return Task.CompletedTask;
            });
            e.Handler<AlarmRaised>(_ =>
            {
                Hop(nameof(AlarmRaised));
                return Task.CompletedTask;
            });
            e.Handler<ClusterInventoryCaptured>(_ =>
            {
                Hop(nameof(ClusterInventoryCaptured));
                return Task.CompletedTask;
            });
        });
        if (!all)
            return;
        cfg.ReceiveEndpoint($"power-saga-bench-inventory-{Guid.NewGuid():N}", e =>
        {
            e.AutoDelete = true;
            e.Durable = false;
            e.ConfigureConsumeTopology = false;
            e.Bind(CommandRoutes.Queues[typeof(ClusterInventoryRequested)]);
            e.DiscardSkippedMessages();
            e.Handler<ClusterInventoryRequested>(_ =>
            {
                Hop(nameof(ClusterInventoryRequested));
                return Task.CompletedTask;
            });
        });
        // Copies of commands sent to a queue: a second queue bound to the queue's exchange (MassTransit sends to it).
        cfg.ReceiveEndpoint($"power-saga-bench-commands-{Guid.NewGuid():N}", e =>
        {
            e.AutoDelete = true;
            e.Durable = false;
            e.ConfigureConsumeTopology = false;
            e.Bind(CommandRoutes.Queues[typeof(VmShutdownRequested)]);
            e.DiscardSkippedMessages();
            e.Handler<VmShutdownRequested>(c =>
            {
                Commands.TryAdd(c.Message.VmName, DateTimeOffset.UtcNow);
                return Task.CompletedTask;
            });
        });
        cfg.ReceiveEndpoint($"power-saga-bench-saga-{Guid.NewGuid():N}", e =>
        {
            e.AutoDelete = true;
            e.Durable = false;
            e.ConfigureConsumeTopology = false;
            e.Bind(CommandRoutes.PowerSagaQueue);
            e.DiscardSkippedMessages();
            e.Handler<PowerStageCompleted>(c =>
            {
                StagesCompleted.Enqueue((c.Message.Kind, c.Message.Stage, DateTimeOffset.UtcNow));
                return Task.CompletedTask;
            });
            e.Handler<ClusterShutdownRequested>(_ =>
            {
                Hop(nameof(ClusterShutdownRequested));
                return Task.CompletedTask;
            });
        });
    }
}

static class Breakdown
{
    sealed record HistoryRow(string Step, string Target, string Outcome, DateTimeOffset At, string Detail);

    /// <param name="print">False: only the floors are computed (for the summary line), nothing printed.</param>
    public static async Task<List<double>> PrintAsync(string connectionString, State state, DateTimeOffset t0, DateTimeOffset end, string[][] tiers, int maxParallel, Taps taps,
        bool print = true)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var history = new List<HistoryRow>();
        await using (var command = dataSource.CreateCommand("SELECT step, target, outcome, at, coalesce(detail, '') FROM power_run_history ORDER BY at"))
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                history.Add(new HistoryRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetString(4)));
        var outbox = new List<(string Type, DateTimeOffset Created, DateTimeOffset? Published, string? Vm)>();
        await using (var command = dataSource.CreateCommand("SELECT message_type, created_at, published_at, payload->>'vmName' FROM outbox"))
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                outbox.Add((reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3)));

        double S(DateTimeOffset at) => (at - t0).TotalSeconds;
        var journal = state.Journal.Select(e => (Entry: e, At: DateTimeOffset.Parse(e.Time, CultureInfo.InvariantCulture))).Where(e => e.At >= t0).ToList();
        var shutdownGuest = journal.Where(e => e.Entry.Kind == "vm" && e.Entry.Event == "shutdownGuest").GroupBy(e => e.Entry.Name).ToDictionary(g => g.Key, g => g.Min(e => e.At));
        var guestOff = journal.Where(e => e.Entry.Kind == "vm" && e.Entry.Event == "powerState" && e.Entry.To == "poweredOff").GroupBy(e => e.Entry.Name)
            .ToDictionary(g => g.Key, g => g.Min(e => e.At));
        var delay = state.Vms.ToDictionary(v => v.Name, v => v.ShutdownDelayMs / 1000.0);
        var vmHistory = history.Where(h => h.Step == "vm-shutdown").ToList();
        var claimed = vmHistory.Where(h => h.Outcome == "Requested").GroupBy(h => h.Target).ToDictionary(g => g.Key, g => g.Min(h => h.At));
        var recorded = vmHistory.Where(h => h.Outcome != "Requested").GroupBy(h => h.Target).ToDictionary(g => g.Key, g => g.Min(h => h.At));
        var outboxByVm = outbox.Where(o => o.Type == typeof(VmShutdownRequested).FullName && o.Vm is not null).GroupBy(o => o.Vm!).ToDictionary(g => g.Key, g => g.First());
        var stagesCompleted = taps.StagesCompleted.Where(s => s.Kind == "vm-shutdown").GroupBy(s => s.Stage).Select(g => g.MinBy(s => s.Received)).OrderBy(s => s.Received).ToList();

        var text = new StringBuilder();
        void Line(string s) => text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"  {s}"));
        string F(double v) => double.IsNaN(v) ? "-" : v.ToString("0.00", CultureInfo.InvariantCulture);
        static double Max(IEnumerable<double> v) => v.DefaultIfEmpty(double.NaN).Max();
        static double Min(IEnumerable<double> v) => v.DefaultIfEmpty(double.NaN).Min();
        static double P(IEnumerable<double> v, double p)
        {
            var l = v.OrderBy(x => x).ToList();
            return l.Count == 0 ? double.NaN : l[Math.Min(l.Count - 1, Math.Max(0, (int)Math.Ceiling(p * l.Count) - 1))];
        }

        Line("breakdown (seconds since AlarmRaised was published; per VM tier: first / last, or as named):");
        string Hop(string name) => taps.FirstHops.TryGetValue(name, out var at) ? F(S(at)) : "-";
        var alarmRow = history.Where(h => h.Step == "alarm").Select(h => S(h.At)).DefaultIfEmpty(double.NaN).Min();
        var inventoryWritten = outbox.Where(o => o.Type == typeof(ClusterInventoryRequested).FullName).Select(o => S(o.Created)).DefaultIfEmpty(double.NaN).Min();
        Line($"before the first tier: AlarmRaised on the bus {Hop(nameof(AlarmRaised))}; ClusterShutdownRequested on the bus {Hop(nameof(ClusterShutdownRequested))}; " +
             $"saga's alarm row {F(alarmRow)}; ClusterInventoryRequested in the outbox {F(inventoryWritten)}, on the bus {Hop(nameof(ClusterInventoryRequested))}; " +
             $"ClusterInventoryCaptured on the bus {Hop(nameof(ClusterInventoryCaptured))}");
        var previousEnd = 0.0;
        var floors = new List<double>();
        for (var t = 0; t < tiers.Length; t++)
        {
            var vms = state.Vms.Select(v => v.Name).Where(n => tiers[t].Any(s => n.EndsWith("-" + s, StringComparison.Ordinal))).ToList();
            double[] Of(Func<string, DateTimeOffset?> f) => vms.Select(f).Where(x => x is not null).Select(x => S(x!.Value)).ToArray();
            var claim = Of(v => claimed.TryGetValue(v, out var x) ? x : null);
            var written = Of(v => outboxByVm.TryGetValue(v, out var x) ? x.Created : null);
            var delivered = Of(v => outboxByVm.TryGetValue(v, out var x) ? x.Published : null);
            var tapped = Of(v => taps.Commands.TryGetValue(v, out var x) ? x : null);
            var called = Of(v => shutdownGuest.TryGetValue(v, out var x) ? x : null);
            var off = Of(v => guestOff.TryGetValue(v, out var x) ? x : null);
            var saw = Of(v => taps.Outcomes.TryGetValue(v, out var x) ? x.CompletedAt : null);
            var heard = Of(v => taps.Outcomes.TryGetValue(v, out var x) ? x.Received : null);
            var rec = Of(v => recorded.TryGetValue(v, out var x) ? x : null);
            var slowest = vms.Select(v => delay[v]).DefaultIfEmpty(0).Max();
            var completed = t < stagesCompleted.Count ? S(stagesCompleted[t].Received) : double.NaN;
            // The tier's critical path: the guest that went off last had its ShutdownGuest at (off − delay).
            var lastOff = vms.Where(guestOff.ContainsKey).OrderByDescending(v => guestOff[v]).FirstOrDefault();
            var perVm = vms.Where(v => claimed.ContainsKey(v) && shutdownGuest.ContainsKey(v)).Select(v => (shutdownGuest[v] - claimed[v]).TotalSeconds).ToList();
            var offToRecorded = vms.Where(v => guestOff.ContainsKey(v) && recorded.ContainsKey(v)).Select(v => (recorded[v] - guestOff[v]).TotalSeconds).ToList();
            var offToSaw = vms.Where(v => guestOff.ContainsKey(v) && taps.Outcomes.ContainsKey(v)).Select(v => (taps.Outcomes[v].CompletedAt - guestOff[v]).TotalSeconds).ToList();
            var sawToHeard = vms.Where(taps.Outcomes.ContainsKey).Select(v => (taps.Outcomes[v].Received - taps.Outcomes[v].CompletedAt).TotalSeconds).ToList();
            var heardToRec = vms.Where(v => taps.Outcomes.ContainsKey(v) && recorded.ContainsKey(v)).Select(v => (recorded[v] - taps.Outcomes[v].Received).TotalSeconds).ToList();
            var callSpan = Max(called) - Min(called);
            Line($"tier {t} ({vms.Count} VMs, slowest guest {F(slowest)} s):");
            Line($"  stage start (first claim in history) {F(Min(claim))}, last claim {F(Max(claim))}  [previous stage completed → start {F(Min(claim) - previousEnd)}]");
            Line($"  commands in the outbox {F(Min(written))} / {F(Max(written))}; delivery rounds began {F(Min(delivered))} / {F(Max(delivered))}; on the bus (tap) {F(Min(tapped))} / p50 {F(P(tapped, 0.5))} / {F(Max(tapped))}");
            Line($"  ShutdownGuest at vcsim {F(Min(called))} / p50 {F(P(called, 0.5))} / {F(Max(called))} ({called.Length} calls, {F(called.Length / Math.Max(callSpan, 1e-3))}/s); claim → ShutdownGuest p50 {F(P(perVm, 0.5))} max {F(Max(perVm))}");
            // The stage's first claims (up to the bound, written at the stage start): how long their dispatch took.
            var initial = vms.Where(claimed.ContainsKey).OrderBy(v => claimed[v]).Take(maxParallel).ToList();
            double LastOf(IEnumerable<DateTimeOffset?> at) => Max(at.Where(x => x is not null).Select(x => S(x!.Value)));
            Line($"  its first {initial.Count} claims: last on the bus {F(LastOf(initial.Select(v => taps.Commands.TryGetValue(v, out var x) ? x : (DateTimeOffset?)null)))}, " +
                 $"last ShutdownGuest {F(LastOf(initial.Select(v => shutdownGuest.TryGetValue(v, out var x) ? x : (DateTimeOffset?)null)))}");
            // The refills (claims after the stage start, one per freed slot), hop by hop: where a freed slot's next guest waits.
            var refills = vms.Where(claimed.ContainsKey).OrderBy(v => claimed[v]).Skip(maxParallel)
                .Where(v => outboxByVm.TryGetValue(v, out var o) && o.Published is not null && taps.Commands.ContainsKey(v) && shutdownGuest.ContainsKey(v)).ToList();
            if (refills.Count > 0)
            {
                string Hops(Func<string, double> f) => $"{F(P(refills.Select(f), 0.5))}/{F(P(refills.Select(f), 0.9))}";
                Line($"  its {refills.Count} refills, p50/p90 s: claim → commit and delivery round {Hops(v => (outboxByVm[v].Published!.Value - claimed[v]).TotalSeconds)}, " +
                     $"round → on the bus {Hops(v => (taps.Commands[v] - outboxByVm[v].Published!.Value).TotalSeconds)}, " +
                     $"on the bus → ShutdownGuest {Hops(v => (shutdownGuest[v] - taps.Commands[v]).TotalSeconds)}");
            }
            Line($"  guests off at vcsim {F(Min(off))} / {F(Max(off))}" + (lastOff is null ? "" : $" (last: {lastOff}, ShutdownGuest {F(S(shutdownGuest[lastOff]))} + delay {F(delay[lastOff])})"));
            Line($"  actuator saw off (CompletedAt) last {F(Max(saw))} [off → saw p50 {F(P(offToSaw, 0.5))} p99 {F(P(offToSaw, 0.99))}]; VmShutDown on the bus (tap) last {F(Max(heard))} [saw → bus p50 {F(P(sawToHeard, 0.5))} p99 {F(P(sawToHeard, 0.99))}]");
            Line($"  recorded last {F(Max(rec))} [bus → recorded p50 {F(P(heardToRec, 0.5))} p99 {F(P(heardToRec, 0.99))}; guest off → recorded p50 {F(P(offToRecorded, 0.5))} p99 {F(P(offToRecorded, 0.99))}]");
            Line($"  PowerStageCompleted on the bus {F(completed)} [last recorded → completed {F(completed - Max(rec))}]");
            var span = completed - Min(claim);
            Line($"  tier span (first claim → completed) {F(span)} s against its slowest guest {F(slowest)} s: over by {F(span - slowest)} s = " +
                 $"first claim → first ShutdownGuest {F(Min(called) - Min(claim))} + last guest's ShutdownGuest after the first {F(lastOff is null ? double.NaN : S(shutdownGuest[lastOff]) - Min(called))} " +
                 $"+ (its delay − slowest) {F(lastOff is null ? double.NaN : delay[lastOff] - slowest)} + last off → completed {F(completed - Max(off))}");
            // The floor of this tier with the bound: its guests started in the run's claim order, each as soon as one of
            // maxParallel slots is free, with nothing else costing time (the limit above takes max(slowest, sum / bound)).
            var slots = new PriorityQueue<int, double>();
            for (var k = 0; k < Math.Min(maxParallel, vms.Count); k++)
                slots.Enqueue(k, 0);
            var floor = 0.0;
            foreach (var v in vms.OrderBy(v => claimed.TryGetValue(v, out var at) ? at : DateTimeOffset.MaxValue).ThenBy(v => v, StringComparer.Ordinal))
            {
                slots.TryDequeue(out var slot, out var free);
                floor = Math.Max(floor, free + delay[v]);
                slots.Enqueue(slot, free + delay[v]);
            }
            Line($"  floor with {maxParallel} at once (claim order, no overhead) {F(floor)} s; tier span over that floor {F(span - floor)} s");
            floors.Add(floor);
            previousEnd = completed;
        }

        Line("other steps (history: count, first Requested → last outcome):");
        foreach (var g in history.Where(h => h.Step != "vm-shutdown").GroupBy(h => h.Step).OrderBy(g => g.Min(h => h.At)))
        {
            var req = g.Where(h => h.Outcome == "Requested").Select(h => S(h.At)).ToList();
            var outs = g.Where(h => h.Outcome != "Requested").Select(h => S(h.At)).ToList();
            Line($"  {g.Key}: {g.Count(h => h.Outcome == "Requested")} asked {F(Min(req))} / {F(Max(req))}, {outs.Count} outcomes {F(Min(outs))} / {F(Max(outs))} ({string.Join(", ", g.Where(h => h.Outcome != "Requested").Select(h => h.Outcome).Distinct())})");
        }
        Line("hosts at vcsim:");
        foreach (var g in journal.Where(e => e.Entry.Kind == "host").GroupBy(e => $"{e.Entry.Event} → {e.Entry.To}").OrderBy(g => g.Min(e => e.At)))
            Line($"  {g.Key}: {g.Count()} at {F(S(g.Min(e => e.At)))} / {F(S(g.Max(e => e.At)))}");
        var others = outbox.Where(o => o.Type != typeof(VmShutdownRequested).FullName).GroupBy(o => o.Type.Split('.').Last());
        Line("other outbox messages: " + string.Join("; ", others.Select(g => $"{g.Key} ×{g.Count()} written {F(S(g.Min(o => o.Created)))}/{F(S(g.Max(o => o.Created)))}")));
        Line($"last history row {F(S(history.Max(h => h.At)))}; saga ShutDown seen (20 ms poll) {F(S(end))}");
        if (print)
            Console.Write(text.ToString());
        return floors;
    }
}

/// <summary>
/// How fast vcsim alone accepts ShutdownGuest on this machine (it shares the cores with everything else): a fresh vcsim of
/// the same size, one login, every VM's ShutdownGuest through the actuator's own client at its default call bound
/// (<see cref="VCenterOptions.MaxConcurrentCalls"/>), and again with a read of the VM before each call as the actuator does.
/// </summary>
static class VcsimRate
{
    public static async Task<int> RunAsync(int hosts, int vmsPerHost)
    {
        foreach (var withRead in new[] { false, true })
        {
            await using var vcsim = await VcsimProcess.StartAsync(["-hosts", hosts.ToString(CultureInfo.InvariantCulture),
                "-vms", vmsPerHost.ToString(CultureInfo.InvariantCulture), "-control", "127.0.0.1:0",
                "-guest-shutdown-min", "2s", "-guest-shutdown-max", "5s", "-seed", "1"]);
            var options = new VCenterOptions
            {
                Url = vcsim.Url, Username = VcsimProcess.Username, Password = VcsimProcess.Password, CertificateFingerprint = vcsim.Fingerprint,
            };
            await using var connection = new VimConnection(Microsoft.Extensions.Options.Options.Create(options), Microsoft.Extensions.Logging.Abstractions.NullLogger<VimConnection>.Instance);
            var client = new VCenterClient(connection, Microsoft.Extensions.Options.Options.Create(options));
            var vms = (await client.GetClusterInventoryAsync("cluster1", CancellationToken.None)).Vms.Where(v => !v.IsVcls && !v.IsVCenter).ToList();
            var load = File.ReadAllText("/proc/loadavg").Split(' ').Take(3);
            var clock = Stopwatch.StartNew();
            await Parallel.ForEachAsync(vms, new ParallelOptions { MaxDegreeOfParallelism = 256 }, async (vm, ct) =>
            {
                if (withRead)
                    await client.ReadVmAsync(vm.Id, ct);
                await client.ShutdownGuestAsync(vm.Id, ct);
            });
            var seconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"vcsim alone: {vms.Count} ShutdownGuest{(withRead ? " (each after a ReadVm, as the actuator)" : "")} at MaxConcurrentCalls {options.MaxConcurrentCalls} in {seconds:0.00} s = " +
                $"{vms.Count / seconds:0} VMs/s; load average before {string.Join(" ", load)}"));
        }
        return 0;
    }
}
