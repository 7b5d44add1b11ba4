// Inventory at scale: starts a private vcsim (64 hosts x 63 VMs = 4,032 VMs by default), reads the cluster
// inventory with the actuator's own client several times, and prints the time and SOAP round trips per read.
//
//   dotnet run --project tools/VCenterBench -c Release [-- --hosts 64 --vms-per-host 63 --runs 5 --page-size 5000]
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PowerEvents.Testing;
using PowerEvents.VCenterActuator;
using PowerEvents.VCenterActuator.Vim;

var settings = Settings.Parse(args);
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

sealed record Settings(int Hosts, int VmsPerHost, int Runs, int PageSize)
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
                _ => throw new ArgumentException($"unknown option {args[i]} (use --hosts, --vms-per-host, --runs, --page-size)"),
            };
        }
        return settings.Runs >= 1 ? settings : throw new ArgumentException("--runs must be at least 1");
    }
}
