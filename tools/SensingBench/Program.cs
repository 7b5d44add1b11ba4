using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using PowerEvents.SensorPoller.Meraki;
using PowerEvents.SensorPoller.Polling;
using PowerEvents.Tools.MerakiSimulator;

// Pacing benchmark (docs/benchmarks.md): N sensors in one Meraki organization, read by several sources of the poller
// (split by network, each with its networks' alert overviews) against the simulator, which enforces Meraki's documented
// limit (10/s per organization, bucket of 20). Prints the request rate seen by the API per one-second window (peak,
// mean), the 429s, the readings published and the load average, once with the poller's pacing and once without.
//
//   dotnet run --project tools/SensingBench -c Release -- --sensors 1200 --sources 3 --per-page 100 --duration 60
var settings = Args.Parse(args);
var sensors = settings.Int("sensors", 1200);
var sourceCount = settings.Int("sources", 3);
var networks = settings.Int("networks", 12);
var perPage = settings.Int("per-page", 100);
var interval = TimeSpan.FromSeconds(settings.Double("interval", 5));
var duration = TimeSpan.FromSeconds(settings.Double("duration", 60));
var latency = TimeSpan.FromMilliseconds(settings.Double("page-latency-ms", 150));
var modes = settings.Text("modes", "paced,smooth,unpaced").Split(',');

Console.WriteLine($"sensors {sensors} in {networks} networks of one organization; {sourceCount} sources, perPage {perPage}, interval {interval.TotalSeconds} s, " +
    $"each source also reads its networks' alert overviews; page latency {latency.TotalMilliseconds} ms; {duration.TotalSeconds} s per run; {Environment.ProcessorCount} CPUs");
// Peaks are the most requests in any sliding window of 1, 2 and 10 s (Meraki allows 10/s with a bucket of 20: 20 in
// one second after a quiet spell, 30 in two seconds, 10/s sustained).
Console.WriteLine("mode      requests  max-in-1s  max-in-2s  max-10s-rate/s  mean/s  429s  messages  5xx  loadavg(1m) before→after");
foreach (var mode in modes)
    await RunAsync(mode.Trim());

async Task RunAsync(string mode)
{
    const string key = "bench-key";
    await using var sim = await RunningSimulator.StartAsync(key);
    sim.World.AddOrganization("1", "Bench");
    sim.World.PageLatency = latency;
    for (var n = 0; n < networks; n++)
        sim.World.AddNetwork($"N_{n:D3}", "1", $"Net {n}", 35);
    for (var i = 0; i < sensors; i++)
        sim.World.SetSensor($"Q3CA-{i / 10000:D4}-{i % 10000:D4}", $"N_{i % networks:D3}", 20 + i % 10, null, TimeSpan.FromSeconds(20));

    var options = new SensorPollerOptions();
    for (var s = 0; s < sourceCount; s++)
    {
        var mine = Enumerable.Range(0, networks).Where(n => n % sourceCount == s).Select(n => $"N_{n:D3}").ToList();
        options.Meraki.Add(new MerakiSourceOptions
        {
            Name = $"bench-{s}", BaseUrl = sim.ApiBase, ApiKey = key, OrganizationId = "1", AllowInsecureHttp = true,
            NetworkIds = mine, AlertNetworkIds = mine, PerPage = perPage, Interval = interval,
            // paced: the defaults (10/s, burst 10); smooth: 10/s, burst 1; unpaced: a bucket so large it never waits
            // (the poller before issue 14).
            RequestsPerSecond = mode == "unpaced" ? 1000 : 10, Burst = mode switch { "unpaced" => 1000, "smooth" => 1, _ => 10 },
        });
    }

    var load = LoadAverage();
    var clients = new List<HttpClient>();
    using var paces = new MerakiRateLimits();
    var published = 0L;
    var loops = PollerService.CreateSources(options, clients, paces, TimeProvider.System, NullLoggerFactory.Instance)
        .Select(source => new SourceLoop(source, (_, _) => { Interlocked.Increment(ref published); return Task.CompletedTask; }, TimeProvider.System, NullLogger.Instance))
        .ToList();
    using var stop = new CancellationTokenSource(duration);
    var started = DateTimeOffset.UtcNow;
    await Task.WhenAll(loops.Select(l => l.RunAsync(stop.Token)));
    clients.ForEach(c => c.Dispose());

    var requests = sim.World.Requests().Where(r => r.PathAndQuery.StartsWith("/api/v1/", StringComparison.Ordinal) && r.At <= started + duration).ToList();
    var times = requests.Select(r => r.At).Order().ToList();
    var failed = requests.Count(r => r.Status >= 500);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{mode,-9} {requests.Count,8}  {MaxIn(times, 1),9}  {MaxIn(times, 2),9}  {MaxIn(times, 10) / 10.0,14:F1}  {requests.Count / duration.TotalSeconds,6:F1}  {requests.Count(r => r.Status == 429),4}  {published,8}  {failed,3}  {load}→{LoadAverage()}"));
}

// The most timestamps inside any window [t, t + seconds) starting at one of them.
static int MaxIn(List<DateTimeOffset> times, double seconds)
{
    var most = 0;
    for (int first = 0, last = 0; first < times.Count; first++)
    {
        while (last < times.Count && times[last] - times[first] < TimeSpan.FromSeconds(seconds))
            last++;
        most = Math.Max(most, last - first);
    }
    return most;
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

sealed class Args(Dictionary<string, string> values)
{
    public static Args Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
            values[args[i].TrimStart('-')] = args[i + 1];
        return new Args(values);
    }

    public int Int(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
    public double Double(string name, double fallback) => values.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
    public string Text(string name, string fallback) => values.GetValueOrDefault(name, fallback);
}
