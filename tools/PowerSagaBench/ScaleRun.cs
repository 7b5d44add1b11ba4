using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using MassTransit;
using Npgsql;
using PowerEvents.Contracts;
using PowerEvents.Testing;

namespace PowerEvents.PowerSagaBench;

/// <summary>
/// The issue-11 scenarios: H hosts × V VMs, 3 tiers, <c>MaxParallelPerTier</c> as given (1,000 by default) and every
/// other setting at its default (the actuator's poll interval and step concurrency included). The AlarmEvaluator and
/// the VCenterActuator run as their own processes (Release build output), so their CPU time and peak RSS are theirs alone.
/// Prints the makespan against the physical limit, the outcome-recorded latency (the actuator's <c>CompletedAt</c> →
/// the saga's history row), the AlarmEvaluator's CPU seconds per 1,000 outcomes, the saga header row's size and each
/// service's peak RSS.
/// </summary>
static class ScaleRun
{
    const double HostShutdownDelay = 1.0;
    const string WarmupLogLevel = "Serilog__MinimumLevel__Override__PowerEvents.Hosting.StartupWarmup";

    public static async Task<int> RunAsync(int hosts, int vmsPerHost, int maxParallel, int seed, TimeSpan timeout, TimeSpan? bootDelay = null,
        string pollInterval = "00:00:00.250", bool breakdown = true)
    {
        var rabbit = new RabbitMqFixture();
        var postgres = new PostgresFixture();
        await rabbit.InitializeAsync();
        await postgres.InitializeAsync();
        try
        {
            await using var vcsim = await VcsimProcess.StartAsync(["-hosts", hosts.ToString(CultureInfo.InvariantCulture),
                "-vms", vmsPerHost.ToString(CultureInfo.InvariantCulture), "-control", "127.0.0.1:0",
                "-guest-shutdown-min", "2s", "-guest-shutdown-max", "5s", "-host-shutdown-delay", "1s", "-seed", seed.ToString(CultureInfo.InvariantCulture)]);

            // Three tiers by the VM's index on its host (vcsim names VMs vm-HH-NNN).
            var tiers = Enumerable.Range(0, 3)
                .Select(t => Enumerable.Range(1, vmsPerHost).Where(i => (i - 1) * 3 / vmsPerHost == t).Select(i => i.ToString("000", CultureInfo.InvariantCulture)).ToArray())
                .ToArray();
            var power = new Dictionary<string, string?>
            {
                ["Power__Clusters__0__Name"] = "cluster1", ["Power__Clusters__0__Zone"] = "bench", ["Power__Clusters__0__ExternalZone"] = "true",
                ["Power__Clusters__0__Tiers__0__Name"] = "apps", ["Power__Clusters__0__Tiers__0__VmNamePatterns__0"] = $"-({string.Join('|', tiers[0])})$",
                ["Power__Clusters__0__Tiers__1__Name"] = "databases", ["Power__Clusters__0__Tiers__1__VmNamePatterns__0"] = $"-({string.Join('|', tiers[1])})$",
                ["Power__Clusters__0__InfrastructureVmPatterns__0"] = $"-({string.Join('|', tiers[2])})$",
                ["Power__Clusters__0__MaxParallelPerTier"] = maxParallel.ToString(CultureInfo.InvariantCulture),
                ["Serilog__MinimumLevel__Default"] = "Warning", [WarmupLogLevel] = "Information",
            };
            if (bootDelay is not null)
            {
                // The way back at once after the clear; vCenter seeing the hosts polled every second (default 15 s).
                power["Power__Clusters__0__MinimumOffTime"] = "00:00:00";
                power["Power__Clusters__0__ReconnectPollInterval"] = "00:00:01";
            }
            foreach (var (key, value) in rabbit.Environment.Concat(postgres.Environment))
                power[key] = value;
            var actuatorSettings = new Dictionary<string, string?>
            {
                ["VCenter__Url"] = vcsim.Url.ToString(), ["VCenter__Username"] = VcsimProcess.Username, ["VCenter__Password"] = VcsimProcess.Password,
                ["VCenter__CertificateFingerprint"] = vcsim.Fingerprint, ["Serilog__MinimumLevel__Default"] = "Warning",
                [WarmupLogLevel] = "Information",
            };
            foreach (var (key, value) in rabbit.Environment)
                actuatorSettings[key] = value;

            await using var actuator = ServiceProcess.Start("VCenterActuator", actuatorSettings);
            await using var evaluator = ServiceProcess.Start("AlarmEvaluator", power);
            await actuator.WaitUntilReadyAsync(TimeSpan.FromSeconds(90));
            await evaluator.WaitUntilReadyAsync(TimeSpan.FromSeconds(90));
            // A service that has been up a few seconds, as when an alarm comes: the warm-up steps that do not hold readiness
            // (the evaluator's PostgreSQL connections) done too.
            foreach (var service in new[] { actuator, evaluator })
                for (var i = 0; i < 600 && !service.Output.Any(l => l.Contains("Start-up warm-up done", StringComparison.Ordinal)); i++)
                    await Task.Delay(50);
            // What each service warmed at start, and how long it took (its log lines).
            foreach (var (name, service) in new[] { ("VCenterActuator", actuator), ("AlarmEvaluator", evaluator) })
                foreach (var line in service.Output.Where(l => l.Contains("Warmed", StringComparison.Ordinal) || l.Contains("warm-up", StringComparison.OrdinalIgnoreCase)))
                    Console.WriteLine($"  {name}: {line}");
            using (var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) })
                (await http.GetAsync(new Uri(evaluator.BaseAddress, "power/plan/cluster1"))).EnsureSuccessStatusCode();

            // The actuator's outcomes as it reports them (when it saw each VM off), and the taps of the breakdown.
            var taps = new Taps();
            var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
            {
                cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
                {
                    h.Username(RabbitMqFixture.Username);
                    h.Password(RabbitMqFixture.Password);
                });
                taps.Configure(cfg, breakdown);
            });
            await bus.StartAsync();

            // The alarm's publisher warm, as the AlarmEvaluator's zone logic is in a running deployment: one alarm in a zone
            // with no cluster (the evaluator logs it and does nothing) through this process's bus before the measured one,
            // so the makespan does not start with this process's first publish (0.1-0.6 s of its own JIT here).
            await bus.Publish(new AlarmRaised(Guid.NewGuid(), "bench-publisher-warm-up", DateTimeOffset.UtcNow, 35, []));
            for (var i = 0; i < 100 && !taps.FirstHops.ContainsKey(nameof(AlarmRaised)); i++)
                await Task.Delay(50);
            taps.FirstHops.Clear();

            var cpuBefore = CpuSeconds(evaluator.ProcessId);
            var outputBefore = new[] { ("VCenterActuator", actuator, actuator.Output.Count), ("AlarmEvaluator", evaluator, evaluator.Output.Count) };
            var load0 = string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
            var clock = Stopwatch.StartNew();
            var t0 = DateTimeOffset.UtcNow;
            await bus.Publish(new AlarmRaised(Guid.NewGuid(), "bench", DateTimeOffset.UtcNow, 35, []));
            await WaitStateAsync(postgres.ConnectionString, "ShutDown", timeout);
            var makespan = clock.Elapsed.TotalSeconds;
            var end = DateTimeOffset.UtcNow;
            var cpu = CpuSeconds(evaluator.ProcessId) - cpuBefore;
            // Outcomes of the last tier may still be on their way to the tap: wait for them briefly.
            for (var i = 0; i < 50 && taps.Outcomes.Count < hosts * vmsPerHost; i++)
                await Task.Delay(100);
            await bus.StopAsync();
            var seen = new ConcurrentDictionary<string, DateTimeOffset>(taps.Outcomes.Select(o => KeyValuePair.Create(o.Key, o.Value.CompletedAt)), StringComparer.Ordinal);

            var state = await new HttpClient().GetFromJsonAsync<State>(new Uri(vcsim.ControlUrl!, "/state")) ?? throw new InvalidOperationException("no /state");
            var allOff = state.Vms.All(v => v.PowerState == "poweredOff") && state.Hosts.All(h => h.PowerState == "poweredOff");
            var forced = state.Journal.Count(e => e.Kind == "vm" && e.Event == "powerState" && e.To == "poweredOff" && e.Cause != "guestShutdown");

            // Physical limit: per tier, the slowest guest, or its total guest time spread over the parallel bound if that is longer.
            var tierLimits = tiers.Select(t =>
            {
                var delays = state.Vms.Where(v => t.Any(s => v.Name.EndsWith("-" + s, StringComparison.Ordinal))).Select(v => v.ShutdownDelayMs / 1000.0).ToList();
                return Math.Max(delays.Max(), delays.Sum() / maxParallel);
            }).ToList();
            var limit = tierLimits.Sum() + HostShutdownDelay;

            var (latencies, header, runText, outcomes) = await SagaFiguresAsync(postgres.ConnectionString, seen);
            latencies.Sort();
            double Percentile(double p) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(p * latencies.Count) - 1)];
            var load = File.ReadAllText("/proc/loadavg").Split(' ').Take(3);

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{hosts} hosts x {vmsPerHost} VMs = {hosts * vmsPerHost} VMs, 3 tiers, MaxParallelPerTier {maxParallel}, other settings default, seed {seed}\n" +
                $"  physical limit {limit:0.00} s ({string.Join(" + ", tierLimits.Select(t => t.ToString("0.00", CultureInfo.InvariantCulture)))} + host {HostShutdownDelay:0.0}); " +
                $"makespan (AlarmRaised -> saga ShutDown) {makespan:0.00} s = {makespan / limit:0.00} x limit; everything off: {allOff}; forced power-offs {forced}\n" +
                $"  outcome recorded after the actuator saw it: p50 {Percentile(0.50) * 1000:0} ms, p99 {Percentile(0.99) * 1000:0} ms, max {Percentile(1.0) * 1000:0} ms ({latencies.Count} VM outcomes)\n" +
                $"  AlarmEvaluator CPU {cpu:0.00} s for {outcomes} outcomes = {cpu / Math.Max(1, outcomes) * 1000:0.00} s per 1,000 outcomes\n" +
                $"  saga header row {header} bytes (of which run jsonb as text {runText} bytes)\n" +
                $"  peak RSS: AlarmEvaluator {PeakRssMb(evaluator.ProcessId):0} MB, VCenterActuator {PeakRssMb(actuator.ProcessId):0} MB\n" +
                $"  load average before {load0}, after {string.Join(" ", load)}"));
            // A slow run with warnings during the run (a retried outcome, a failed delivery) says why. The run's own start is one.
            foreach (var (name, service, before) in outputBefore)
            {
                var warnings = service.Output.Skip(before).Where(l => l.Contains(" WRN]", StringComparison.Ordinal) || l.Contains(" ERR]", StringComparison.Ordinal)
                    || l.Contains(" FTL]", StringComparison.Ordinal)).ToList();
                Console.WriteLine($"  {name}: {warnings.Count} warning or error lines during the run{(warnings.Count == 0 ? "" : ", the first: ")}" +
                    string.Join("", warnings.Take(3).Select(l => "\n    " + (l.Length > 300 ? l[..300] : l))));
            }
            var floors = await Breakdown.PrintAsync(postgres.ConnectionString, state, t0, end, tiers, maxParallel, taps, breakdown);
            // Both yardsticks side by side: the issue's formula limit, and the floor at the configured bound (a tier with
            // more VMs than MaxParallelPerTier cannot start its extra guests before the first ones are off; see docs/benchmarks.md).
            var floorTotal = floors.Sum() + HostShutdownDelay;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  summary: makespan {makespan:0.00} s = {makespan / limit:0.000} x the formula limit {limit:0.00} s; = {makespan / floorTotal:0.000} x the floor with " +
                $"{maxParallel} at once {floorTotal:0.00} s ({string.Join(" + ", floors.Select(f => f.ToString("0.00", CultureInfo.InvariantCulture)))} + host {HostShutdownDelay:0.0})"));
            if (allOff && bootDelay is { } boot)
            {
                var cpuOn = CpuSeconds(evaluator.ProcessId);
                await PowerOnRun.RunAsync(rabbit, postgres, vcsim, boot, pollInterval, timeout);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  power-on: AlarmEvaluator CPU {CpuSeconds(evaluator.ProcessId) - cpuOn:0.00} s; peak RSS AlarmEvaluator {PeakRssMb(evaluator.ProcessId):0} MB; " +
                    $"load average {string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3))}"));
            }
            return allOff ? 0 : 1;
        }
        finally
        {
            await postgres.DisposeAsync();
            await rabbit.DisposeAsync();
        }
    }

    static async Task<(List<double> Latencies, long Header, long RunText, int Outcomes)> SagaFiguresAsync(string connectionString, ConcurrentDictionary<string, DateTimeOffset> seen)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var latencies = new List<double>();
        var outcomes = 0;
        await using (var command = dataSource.CreateCommand("""
            SELECT step, target, min(at) FROM power_run_history
            WHERE step IN ('vm-shutdown', 'host-maintenance', 'host-shutdown') AND outcome IN ('Graceful', 'Forced', 'AlreadyOff', 'Done', 'AlreadyInState', 'Failed')
            GROUP BY step, target
            """))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                outcomes++;
                if (reader.GetString(0) == "vm-shutdown" && seen.TryGetValue(reader.GetString(1), out var sawAt))
                    latencies.Add((reader.GetFieldValue<DateTimeOffset>(2) - sawAt).TotalSeconds);
            }
        }
        await using var size = dataSource.CreateCommand("SELECT pg_column_size(s.*), coalesce(octet_length(s.run::text), 0) FROM power_saga s");
        await using var sizes = await size.ExecuteReaderAsync();
        await sizes.ReadAsync();
        return (latencies, sizes.GetInt32(0), sizes.GetInt32(1), outcomes);
    }

    /// <summary>User + system CPU of a process so far (Linux /proc, clock ticks of 1/100 s).</summary>
    static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    static double PeakRssMb(int pid) =>
        File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0).Single();

    /// <summary>Waits for the saga row's state (both modes of the command).</summary>
    internal static async Task WaitStateAsync(string connectionString, string state, TimeSpan timeout)
    {
        // Pooled: the fixture's connection string disables pooling (so its database can be dropped), and a new
        // PostgreSQL backend every 20 ms costs the machine a process start and exit each (a third of all CPU samples
        // in a 4,096-VM run), CPU the services under measurement then lack. Disposing the source closes the one kept.
        await using var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = true }.ConnectionString);
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                await using var command = dataSource.CreateCommand("SELECT current_state FROM power_saga");
                if (await command.ExecuteScalarAsync() is string current && current == state)
                    return;
            }
            catch (PostgresException ex) when (ex.SqlState == "42P01")
            {
                // Table not created yet.
            }
            // Polled often: the makespan ends when this sees ShutDown (a 200 ms poll added ~0.1 s on average).
            await Task.Delay(20);
        }
        throw new TimeoutException($"the saga did not reach {state} within {timeout}");
    }
}
