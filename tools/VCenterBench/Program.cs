// Inventory at scale: starts a private vcsim (64 hosts x 63 VMs = 4,032 VMs by default), reads the cluster
// inventory with the actuator's own client several times, and prints the time and SOAP round trips per read.
//
//   dotnet run --project tools/VCenterBench -c Release [-- --hosts 64 --vms-per-host 63 --runs 5 --page-size 5000]
//
// With --shutdowns 1: every VM's guest shutdown at once through the actuator's steps at default settings (guests take
// 2-5 s), and the time from vcsim's journal entry of each VM going off to its outcome (p50/p99/max).
//
//   dotnet run --project tools/VCenterBench -c Release -- --shutdowns 1 --hosts 16 --vms-per-host 63
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using PowerEvents.VCenterActuator;
using PowerEvents.VCenterActuator.Vim;

var settings = Settings.Parse(args);
if (settings.Shutdowns)
    return await ShutdownBench.RunAsync(settings);
var started = Stopwatch.StartNew();
await using var vcsim = await VcsimProcess.StartAsync(["-hosts", Invariant(settings.Hosts), "-vms", Invariant(settings.VmsPerHost)], TimeSpan.FromMinutes(5));
Console.WriteLine($"vcsim: {settings.Hosts} hosts x {settings.VmsPerHost} VMs = {settings.Hosts * settings.VmsPerHost} VMs, ready in {started.Elapsed.TotalSeconds:F1} s ({vcsim.Url})");

var options = new VCenterOptions
{
    Url = vcsim.Url,
    Username = VcsimProcess.Username,
    Password = VcsimProcess.Password,
    CertificateFingerprint = vcsim.Fingerprint,
    InventoryPageSize = settings.PageSize,
    RequestTimeout = TimeSpan.FromMinutes(2),
};
await using var connection = new VimConnection(Options.Create(options), NullLogger<VimConnection>.Instance);
var client = new VCenterClient(connection, Options.Create(options));

var times = new List<double>();
for (var run = 0; run <= settings.Runs; run++)
{
    var tripsBefore = connection.RoundTrips;
    var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
    var clock = Stopwatch.StartNew();
    var inventory = await client.GetClusterInventoryAsync("cluster1", CancellationToken.None);
    clock.Stop();
    var trips = connection.RoundTrips - tripsBefore;
    var allocated = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / (1024.0 * 1024.0);
    var label = run == 0 ? "cold (incl. service content + login)" : $"run {run}";
    Console.WriteLine($"{label,-38} {clock.Elapsed.TotalMilliseconds,8:F0} ms  {trips,3} round trips  {inventory.Hosts.Count} hosts  {inventory.Vms.Count} VMs  {allocated,6:F0} MB allocated");
    if (inventory.Vms.Count != settings.Hosts * settings.VmsPerHost)
        throw new InvalidOperationException($"expected {settings.Hosts * settings.VmsPerHost} VMs, read {inventory.Vms.Count}");
    if (run > 0)
        times.Add(clock.Elapsed.TotalMilliseconds);
}

times.Sort();
Console.WriteLine($"warm inventory of {settings.Hosts * settings.VmsPerHost} VMs: median {times[times.Count / 2]:F0} ms, min {times[0]:F0} ms, max {times[^1]:F0} ms over {times.Count} runs; page size {settings.PageSize}");
return 0;

static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

sealed record Settings(int Hosts, int VmsPerHost, int Runs, int PageSize, bool Shutdowns = false, int? MaxCalls = null)
{
    public static Settings Parse(string[] args)
    {
        var settings = new Settings(64, 63, 5, new VCenterOptions().InventoryPageSize);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            settings = args[i] switch
            {
                "--hosts" => settings with { Hosts = value },
                "--vms-per-host" => settings with { VmsPerHost = value },
                "--runs" => settings with { Runs = value },
                "--page-size" => settings with { PageSize = value },
                "--shutdowns" => settings with { Shutdowns = value != 0 },
                "--max-calls" => settings with { MaxCalls = value },
                _ => throw new ArgumentException($"unknown option {args[i]} (use --hosts, --vms-per-host, --runs, --page-size, --shutdowns, --max-calls)"),
            };
        }
        return settings.Runs >= 1 ? settings : throw new ArgumentException("--runs must be at least 1");
    }
}

/// <summary>Every VM's guest shutdown in flight at once, at the actuator's default settings: latency from off to outcome.</summary>
static class ShutdownBench
{
    public static async Task<int> RunAsync(Settings settings)
    {
        var count = settings.Hosts * settings.VmsPerHost;
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", Invariant(settings.Hosts), "-vms", Invariant(settings.VmsPerHost),
            "-control", "127.0.0.1:0", "-guest-shutdown-min", "2s", "-guest-shutdown-max", "5s"], TimeSpan.FromMinutes(5));
        // Defaults throughout: only where vCenter is and who we are.
        var options = new VCenterOptions { Url = vcsim.Url, Username = VcsimProcess.Username, Password = VcsimProcess.Password, CertificateFingerprint = vcsim.Fingerprint };
        if (settings.MaxCalls is { } calls)
            options.MaxConcurrentCalls = calls; // to compare; the figures in docs/benchmarks.md are at the default
        await using var connection = new VimConnection(Options.Create(options), NullLogger<VimConnection>.Instance);
        var client = new VCenterClient(connection, Options.Create(options));
        var steps = new VCenterSteps(client, Options.Create(options), new OutcomeMemory(), NullLogger<VCenterSteps>.Instance);
        var vms = (await client.GetClusterInventoryAsync("cluster1", CancellationToken.None)).Vms;
        var before = Snapshot(connection);

        var clock = Stopwatch.StartNew();
        var run = Guid.NewGuid();
        var outcomes = await Task.WhenAll(vms.Select(vm => steps.ShutDownVmAsync(new VmShutdownRequested(run, "cluster1", vm.Id, vm.Name, null), CancellationToken.None)));
        var makespan = clock.Elapsed;

        using var http = new HttpClient();
        using var state = JsonDocument.Parse(await http.GetStringAsync(new Uri(vcsim.ControlUrl!, "/state")));
        var journal = state.RootElement.GetProperty("journal").EnumerateArray().ToList();
        var asked = journal.Where(e => e.GetProperty("event").GetString() == "shutdownGuest").Select(e => e.GetProperty("time").GetDateTimeOffset()).ToList();
        var offAt = journal
            .Where(e => e.GetProperty("event").GetString() == "powerState" && e.GetProperty("to").GetString() == "poweredOff")
            .ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("time").GetDateTimeOffset());
        var latencies = outcomes.Select(o => (o.CompletedAt - offAt[o.VmName]).TotalMilliseconds).Order().ToList();
        var graceful = outcomes.Count(o => o.Outcome == VmShutdownOutcome.Graceful);
        var lastOff = offAt.Values.Max() - offAt.Values.Min();

        Console.WriteLine($"{count} guest shutdowns at once (guests 2-5 s), {(settings.MaxCalls is null ? "default settings" : "settings")} (MaxConcurrentSteps {options.MaxConcurrentSteps}, MaxConcurrentCalls {options.MaxConcurrentCalls}):");
        Console.WriteLine($"  {graceful} graceful; makespan {makespan.TotalSeconds:F1} s (first to last VM off in vcsim: {lastOff.TotalSeconds:F1} s; " +
            $"first to last ShutdownGuest: {(asked.Max() - asked.Min()).TotalSeconds:F1} s)");
        Console.WriteLine($"  VM off in vcsim -> outcome: p50 {Percentile(latencies, 0.50):F0} ms, p99 {Percentile(latencies, 0.99):F0} ms, max {latencies[^1]:F0} ms");
        var after = Snapshot(connection);
        Console.WriteLine("  SOAP calls: " + string.Join(", ", after.Where(c => c.Value - before.GetValueOrDefault(c.Key) > 0)
            .Select(c => $"{c.Key} {c.Value - before.GetValueOrDefault(c.Key)}")) + $"; most in flight {connection.InFlightPeak}");
        Console.WriteLine($"  load average: {File.ReadAllText("/proc/loadavg").Trim()}");
        return graceful == count ? 0 : 1;
    }

    static Dictionary<string, long> Snapshot(VimConnection connection) =>
        ((string[])["RetrievePropertiesEx", "ShutdownGuest", "ModifyListView", "WaitForUpdatesEx", "CreateFilter"]).ToDictionary(m => m, connection.Calls);

    static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
