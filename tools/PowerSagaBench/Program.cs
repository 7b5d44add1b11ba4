// Shutdown makespan: a private vcsim (4 hosts x 16 VMs, guest shutdowns of 2-5 s, hosts 1 s to go down), the
// AlarmEvaluator (power saga) and the VCenterActuator hosted in this process over the shared test RabbitMQ and
// PostgreSQL (own virtual host and database). Publishes AlarmRaised, waits for the saga to finish, and prints the
// measured makespan against the physical limit: sum over tiers of the slowest guest shutdown, plus the host steps.
//
//   dotnet run --project tools/PowerSagaBench -c Release [-- --seed 1 --poll-interval 00:00:00.250]
//   dotnet run --project tools/PowerSagaBench -c Release -- --hosts 16 --vms 64 [--max-parallel 1000]   (issue 11: see ScaleRun)
//
// --power-on 00:00:05 (a BMC boot delay) adds the way back: one HTTPS Redfish simulator per host (pinned, telling vcsim
// when its server is On) and the IloActuator; after the shutdown, AlarmCleared (minimum off time zero) → saga Restored,
// measured against its limit: the BMC boot delay (vcsim reconnects a host and starts a VM without delay of its own).
//
// One run per process: a second pair of hosts built here after the first was disposed failed with an
// ObjectDisposedException (LoggerFactory) from MassTransit's process-wide log context. Loop in the shell for seeds.
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using MassTransit;
using Npgsql;
using PowerEvents.AlarmEvaluator;
using PowerEvents.Contracts;
using PowerEvents.IloActuator;
using PowerEvents.RedfishSimulator;
using PowerEvents.Testing;
using PowerEvents.VCenterActuator;

var seed = 1;
var pollInterval = "00:00:00.250";
TimeSpan? bootDelay = null;
int? scaleHosts = null;
var scaleVms = 64;
var maxParallel = 1000;
var timeout = TimeSpan.FromMinutes(30);
var breakdown = true;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--seed": seed = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--poll-interval": pollInterval = args[i + 1]; break;
        case "--power-on": bootDelay = TimeSpan.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--hosts": scaleHosts = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--vms": scaleVms = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--max-parallel": maxParallel = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--vcsim-rate": return await PowerEvents.PowerSagaBench.VcsimRate.RunAsync(int.Parse(args[i + 1], CultureInfo.InvariantCulture), scaleVms);
        case "--timeout": timeout = TimeSpan.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--breakdown": breakdown = args[i + 1] != "off"; break;
        default: throw new ArgumentException($"unknown option {args[i]} (use --seed, --poll-interval, --power-on BOOT_DELAY; or --hosts H [--vms V --max-parallel P --timeout T --power-on BOOT_DELAY --breakdown off])");
    }
}

// The issue-11 scenarios (services as processes, defaults): --hosts 4 --vms 16, --hosts 16 --vms 64, --hosts 64 --vms 64.
if (scaleHosts is { } h)
    return await PowerEvents.PowerSagaBench.ScaleRun.RunAsync(h, scaleVms, maxParallel, seed, timeout, bootDelay, pollInterval, breakdown);

// Tiers by the VM's index on its host: 001-006 apps, 007-011 databases, 012-016 infrastructure (20-24 VMs each).
string[][] tiers = [["001", "002", "003", "004", "005", "006"], ["007", "008", "009", "010", "011"], ["012", "013", "014", "015", "016"]];
const double hostShutdownDelay = 1.0;
var ratio = 0.0;
double? powerOnOverhead = null;
// The power-on's steps after the boot (BMC poll, reconnect poll, maintenance exit, 3 tiers): each costs a bus round trip
// through the saga and up to one actuator poll. Target: at most 0.5 s each on top of the boot delay.
const double powerOnOverheadTarget = 3.0;
{
    var rabbit = new RabbitMqFixture();
    var postgres = new PostgresFixture();
    await rabbit.InitializeAsync();
    await postgres.InitializeAsync();
    await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "4", "-vms", "16", "-control", "127.0.0.1:0",
        "-guest-shutdown-min", "2s", "-guest-shutdown-max", "5s", "-host-shutdown-delay", "1s", "-seed", seed.ToString(CultureInfo.InvariantCulture)]);
    try
    {
        await using var actuator = VCenterActuatorHost.Build([.. rabbit.HostArgs, "--Urls=http://127.0.0.1:0",
            $"--VCenter:Url={vcsim.Url}", $"--VCenter:Username={VcsimProcess.Username}", $"--VCenter:Password={VcsimProcess.Password}",
            $"--VCenter:CertificateFingerprint={vcsim.Fingerprint}", $"--VCenter:PollInterval={pollInterval}", "--Logging:LogLevel:Default=Warning",
            "--Serilog:MinimumLevel:Default=Warning"]);
        await using var evaluator = AlarmEvaluatorHost.Build([.. rabbit.HostArgs, .. postgres.HostArgs, "--Urls=http://127.0.0.1:0",
            "--Serilog:MinimumLevel:Default=Warning",
            $"--Power:DeadlinePollInterval={(bootDelay is null ? "00:00:01" : pollInterval)}",
            "--Power:Clusters:0:MinimumOffTime=00:00:00", $"--Power:Clusters:0:ReconnectPollInterval={pollInterval}",
            "--Power:Clusters:0:Name=cluster1", "--Power:Clusters:0:Zone=bench", "--Power:Clusters:0:ExternalZone=true",
            "--Power:Clusters:0:Tiers:0:Name=apps", "--Power:Clusters:0:Tiers:0:VmNamePatterns:0=-00[1-6]$",
            "--Power:Clusters:0:Tiers:1:Name=databases", "--Power:Clusters:0:Tiers:1:VmNamePatterns:0=-(00[7-9]|01[01])$",
            "--Power:Clusters:0:InfrastructureVmPatterns:0=-01[2-6]$",
            "--Power:Clusters:0:MaxParallelPerTier=32",
            "--Power:Clusters:0:GuestShutdownTimeout=00:01:00", "--Power:Clusters:0:TierDeadline=00:02:00"]);
        await actuator.StartAsync();
        await evaluator.StartAsync();
        await PowerEvents.PowerSagaBench.PowerOnRun.WaitReadyAsync(actuator.Urls.First());
        await PowerEvents.PowerSagaBench.PowerOnRun.WaitReadyAsync(evaluator.Urls.First());

        // Warm up as a running deployment is: the plan preview reads the inventory (actuator session, request path).
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) })
            (await http.GetAsync(new Uri(new Uri(evaluator.Urls.First()), "/power/plan/cluster1"))).EnsureSuccessStatusCode();

        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
        {
            h.Username(RabbitMqFixture.Username);
            h.Password(RabbitMqFixture.Password);
        }));
        await bus.StartAsync();
        var alarmAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        await bus.Publish(new AlarmRaised(Guid.NewGuid(), "bench", DateTimeOffset.UtcNow, 35, []));
        await bus.StopAsync();
        await PowerEvents.PowerSagaBench.ScaleRun.WaitStateAsync(postgres.ConnectionString, "ShutDown", TimeSpan.FromMinutes(3));
        var makespan = clock.Elapsed.TotalSeconds;

        var state = await new HttpClient().GetFromJsonAsync<State>(new Uri(vcsim.ControlUrl!, "/state")) ?? throw new InvalidOperationException("no /state");
        if (state.Vms.Any(v => v.PowerState != "poweredOff") || state.Hosts.Any(h => h.PowerState != "poweredOff"))
            throw new InvalidOperationException("not everything is off after the run");
        var forced = state.Journal.Count(e => e.Kind == "vm" && e.Event == "powerState" && e.To == "poweredOff" && e.Cause != "guestShutdown");
        var slowest = tiers.Select(t => state.Vms.Where(v => t.Any(s => v.Name.EndsWith("-" + s, StringComparison.Ordinal))).Max(v => v.ShutdownDelayMs) / 1000.0).ToList();
        var limit = slowest.Sum() + hostShutdownDelay;
        var times = state.Journal.Select(e => DateTimeOffset.Parse(e.Time, CultureInfo.InvariantCulture)).ToList();
        var inVcenter = (times.Max() - times.Min()).TotalSeconds;
        ratio = makespan / limit;
        var toFirstAction = (times.Min() - alarmAt).TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"seed {seed}: 4 hosts x 16 VMs, 3 tiers (slowest guest {string.Join(" + ", slowest.Select(s => s.ToString("0.00", CultureInfo.InvariantCulture)))} s) + host shutdown {hostShutdownDelay:0.0} s " +
            $"=> physical limit {limit:0.00} s; measured makespan (AlarmRaised published -> saga ShutDown) {makespan:0.00} s = {makespan / limit:0.000} x limit; " +
            $"alarm to first vCenter action {toFirstAction:0.00} s; first to last vCenter transition {inVcenter:0.00} s ({inVcenter / limit:0.000} x limit); forced power-offs {forced}"));

        if (bootDelay is { } boot)
            powerOnOverhead = await PowerEvents.PowerSagaBench.PowerOnRun.RunAsync(rabbit, postgres, vcsim, boot, pollInterval, TimeSpan.FromMinutes(3));
        await evaluator.StopAsync();
        await actuator.StopAsync();
    }
    finally
    {
        await postgres.DisposeAsync();
        await rabbit.DisposeAsync();
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"makespan / limit {ratio:0.000} (target <= 1.15): {(ratio <= 1.15 ? "met" : "NOT met")}"));
var powerOnMet = powerOnOverhead is null || powerOnOverhead <= powerOnOverheadTarget;
if (powerOnOverhead is { } overhead)
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"power-on overhead over the boot delay {overhead:0.00} s (target <= {powerOnOverheadTarget:0.0} s): {(powerOnMet ? "met" : "NOT met")}"));
return ratio <= 1.15 && powerOnMet ? 0 : 1;

sealed record State(List<HostState> Hosts, List<VmState> Vms, List<Entry> Journal);
sealed record HostState(string Name, string PowerState);
sealed record VmState(string Name, string PowerState, int ShutdownDelayMs);
sealed record Entry(string Time, string Kind, string Name, string Event, string To, string? Cause);
