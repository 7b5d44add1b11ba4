// Reaction latency: from the moment the deciding TemperatureSampled is published to RabbitMQ to the first ShutdownGuest
// that reaches vcsim (the vcsim journal's shutdownGuest entry, stamped by vcsim when the SOAP call arrives). The
// AlarmEvaluator (sensing + power saga) and the VCenterActuator run in this process as hosts over the shared test
// RabbitMQ and PostgreSQL (own virtual host and database); the sample goes through the broker like any other.
//
//   dotnet run --project tools/ReactionBench -c Release [-- --repetitions 30]
//
// Each repetition uses a cluster of its own (vcsim -clusters N, 1 host x 1 VM each; zone-i protects cluster-i), so no
// reset is needed and nothing carries over: zone i has one sensor, ConsecutiveSamples=1, HoldTime=0 — its first high
// sample is the one that completes the hold time. What lies between the two timestamps: the evaluator's consume, zone
// decision and PostgreSQL commit, AlarmRaised publish, the saga's start (row, ClusterInventoryRequested), the actuator's
// inventory read from vcsim, the plan, VmShutdownRequested, the actuator's ShutdownGuest call. One warm-up repetition
// (cluster 1) is not counted. Both timestamps come from this machine's wall clock.
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using MassTransit;
using PowerEvents.AlarmEvaluator;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using PowerEvents.VCenterActuator;

var repetitions = 30;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--repetitions": repetitions = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        default: throw new ArgumentException($"unknown option {args[i]} (use --repetitions N)");
    }
}
var clusters = repetitions + 1;
const double targetP99Ms = 300;

var rabbit = new RabbitMqFixture();
var postgres = new PostgresFixture();
await rabbit.InitializeAsync();
await postgres.InitializeAsync();
try
{
    await using var vcsim = await VcsimProcess.StartAsync(["-clusters", clusters.ToString(CultureInfo.InvariantCulture), "-hosts", "1", "-vms", "1",
        "-control", "127.0.0.1:0"]);
    List<string> evaluatorArgs = [.. rabbit.HostArgs, .. postgres.HostArgs, "--Urls=http://127.0.0.1:0", "--Serilog:MinimumLevel:Default=Warning"];
    for (var c = 0; c < clusters; c++)
        evaluatorArgs.AddRange([
            $"--AlarmEvaluator:Zones:{c}:Name=zone-{c + 1}", $"--AlarmEvaluator:Zones:{c}:Sensors:0=bench-sensor-{c + 1}",
            $"--AlarmEvaluator:Zones:{c}:Quorum=1", $"--AlarmEvaluator:Zones:{c}:ConsecutiveSamples=1", $"--AlarmEvaluator:Zones:{c}:HoldTime=00:00:00",
            $"--Power:Clusters:{c}:Name=cluster{c + 1}", $"--Power:Clusters:{c}:Zone=zone-{c + 1}",
            $"--Power:Clusters:{c}:PowerOnAfterClear=false",
        ]);
    await using var actuator = VCenterActuatorHost.Build([.. rabbit.HostArgs, "--Urls=http://127.0.0.1:0",
        $"--VCenter:Url={vcsim.Url}", $"--VCenter:Username={VcsimProcess.Username}", $"--VCenter:Password={VcsimProcess.Password}",
        $"--VCenter:CertificateFingerprint={vcsim.Fingerprint}", "--Serilog:MinimumLevel:Default=Warning"]);
    await using var evaluator = AlarmEvaluatorHost.Build([.. evaluatorArgs]);
    await actuator.StartAsync();
    await evaluator.StartAsync();
    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
    await WaitReadyAsync(http, actuator.Urls.First());
    await WaitReadyAsync(http, evaluator.Urls.First());

    var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
    {
        h.Username(RabbitMqFixture.Username);
        h.Password(RabbitMqFixture.Password);
    }));
    await bus.StartAsync();
    try
    {
        // Host names widen past 99 hosts (esx-001…): take each cluster's host from vcsim itself.
        var hostOf = (await http.GetFromJsonAsync<Inventory>(new Uri(vcsim.ControlUrl!, "/state")) ?? throw new InvalidOperationException("no /state"))
            .Hosts.ToDictionary(h => h.Cluster, h => h.Name);
        var latencies = new List<double>();
        var seq = 0L;
        for (var c = 1; c <= clusters; c++)
        {
            var host = hostOf[$"cluster{c}"];
            var publishedAt = DateTimeOffset.UtcNow;
            await bus.Publish(new TemperatureSampled("bench", $"bench-sensor-{c}", $"zone-{c}", 40.0, publishedAt, publishedAt));
            var (arrivedAt, last) = await FirstShutdownGuestAsync(http, vcsim.ControlUrl!, host, seq, TimeSpan.FromSeconds(30));
            seq = last;
            var ms = (arrivedAt - publishedAt).TotalMilliseconds;
            if (c > 1)
                latencies.Add(ms);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{(c == 1 ? "warm-up" : $"rep {c - 1,3}")}  cluster{c}  {ms,7:0.0} ms"));
        }
        latencies.Sort();
        double Percentile(double p) => latencies[Math.Clamp((int)Math.Ceiling(p * latencies.Count) - 1, 0, latencies.Count - 1)];
        var p99 = Percentile(0.99);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"reaction latency over {latencies.Count} repetitions (sample published -> first ShutdownGuest in vcsim): " +
            $"min {latencies[0]:0} ms, p50 {Percentile(0.50):0} ms, p90 {Percentile(0.90):0} ms, p99 {p99:0} ms, max {latencies[^1]:0} ms; " +
            $"target p99 <= {targetP99Ms:0} ms: {(p99 <= targetP99Ms ? "met" : $"MISSED by {p99 - targetP99Ms:0} ms")}"));
    }
    finally
    {
        await bus.StopAsync();
        await evaluator.StopAsync();
        await actuator.StopAsync();
    }
}
finally
{
    await postgres.DisposeAsync();
    await rabbit.DisposeAsync();
}

static async Task<(DateTimeOffset At, long LastSeq)> FirstShutdownGuestAsync(HttpClient http, Uri control, string host, long since, TimeSpan timeout)
{
    var clock = Stopwatch.StartNew();
    var last = since;
    while (clock.Elapsed < timeout)
    {
        var state = await http.GetFromJsonAsync<State>(new Uri(control, $"/state?since={last}")) ?? throw new InvalidOperationException("no /state");
        foreach (var entry in state.Journal)
        {
            last = Math.Max(last, entry.Seq);
            if (entry.Event == "shutdownGuest" && entry.Host == host)
                return (DateTimeOffset.Parse(entry.Time, CultureInfo.InvariantCulture), last);
        }
        await Task.Delay(10);
    }
    throw new TimeoutException($"no ShutdownGuest on {host} within {timeout}");
}

static async Task WaitReadyAsync(HttpClient http, string address)
{
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed < TimeSpan.FromSeconds(60))
    {
        try
        {
            if ((await http.GetAsync(new Uri(new Uri(address), "/health/ready"))).IsSuccessStatusCode)
                return;
        }
        catch (HttpRequestException)
        {
        }
        await Task.Delay(100);
    }
    throw new TimeoutException($"{address} not ready");
}

sealed record State(List<Entry> Journal);
sealed record Inventory(List<HostState> Hosts);
sealed record HostState(string Name, string Cluster);
sealed record Entry(long Seq, string Time, string Kind, string Name, string? Host, string Event);
