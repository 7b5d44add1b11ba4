using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.IloActuator;
using PowerEvents.RedfishSimulator;
using PowerEvents.Testing;

namespace PowerEvents.PowerSagaBench;

/// <summary>
/// After a shutdown: one BMC simulator per vcsim host (the servers are off), the IloActuator, <c>AlarmCleared</c> → the
/// saga <c>Restored</c>, measured against the BMC boot delay. Used by the 64-VM run and by <see cref="ScaleRun"/>.
/// </summary>
static class PowerOnRun
{
    public static async Task<double> RunAsync(RabbitMqFixture rabbit, PostgresFixture postgres, VcsimProcess vcsim, TimeSpan boot, string pollInterval, TimeSpan timeout)
    {
        const string user = "bench", password = "bench-secret";
        using var http = new HttpClient();
        var before = await http.GetFromJsonAsync<State>(new Uri(vcsim.ControlUrl!, "/state")) ?? throw new InvalidOperationException("no /state");
        var servers = new List<BmcServer>();
        try
        {
            var settings = new List<string>();
            foreach (var host in before.Hosts)
            {
                var server = await BmcServer.StartAsync(new SimulatedBmcOptions
                {
                    Name = host.Name, Username = user, Password = password, InitialPowerState = "Off", BootDelay = boot,
                    VcsimControlUrl = vcsim.ControlUrl, VcsimHost = host.Name,
                });
                var i = servers.Count;
                servers.Add(server);
                settings.AddRange([$"--Bmc:Hosts:{i}:Name={host.Name}", $"--Bmc:Hosts:{i}:Url={server.BaseUrl}", $"--Bmc:Hosts:{i}:Username={user}",
                    $"--Bmc:Hosts:{i}:Password={password}", $"--Bmc:Hosts:{i}:CertificateFingerprint={server.Fingerprint}"]);
            }
            await using var ilo = IloActuatorHost.Build([.. rabbit.HostArgs, "--Urls=http://127.0.0.1:0", "--Serilog:MinimumLevel:Default=Warning",
                $"--Bmc:PollInterval={pollInterval}", .. settings]);
            await ilo.StartAsync();
            await WaitReadyAsync(ilo.Urls.First());

            var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
            {
                h.Username(RabbitMqFixture.Username);
                h.Password(RabbitMqFixture.Password);
            }));
            await bus.StartAsync();
            var clock = Stopwatch.StartNew();
            await bus.Publish(new AlarmCleared(Guid.NewGuid(), "bench", DateTimeOffset.UtcNow, 30, []));
            await bus.StopAsync();
            await ScaleRun.WaitStateAsync(postgres.ConnectionString, "Restored", timeout);
            var makespan = clock.Elapsed.TotalSeconds;

            var after = await http.GetFromJsonAsync<State>(new Uri(vcsim.ControlUrl!, "/state")) ?? throw new InvalidOperationException("no /state");
            if (after.Vms.Any(v => v.PowerState != "poweredOn") || after.Hosts.Any(h => h.PowerState != "poweredOn"))
                throw new InvalidOperationException("not everything is back on after the power-on");
            var journal = after.Journal.Skip(before.Journal.Count).ToList();
            var hostsOn = journal.Where(e => e.Kind == "host" && e.Event == "powerState" && e.To == "poweredOn").Select(e => DateTimeOffset.Parse(e.Time, CultureInfo.InvariantCulture)).ToList();
            var vmsOn = journal.Where(e => e.Kind == "vm" && e.Event == "powerState" && e.To == "poweredOn").Select(e => DateTimeOffset.Parse(e.Time, CultureInfo.InvariantCulture)).ToList();
            var limit = boot.TotalSeconds;
            await ilo.StopAsync();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"power-on: {after.Hosts.Count} hosts through Redfish BMCs (boot {limit:0.0} s), {vmsOn.Count} VMs in 3 tiers => limit {limit:0.00} s; " +
                $"measured (AlarmCleared published -> saga Restored) {makespan:0.00} s = {makespan / limit:0.000} x limit, overhead {makespan - limit:0.00} s; " +
                $"last host back -> first VM on {(vmsOn.Min() - hostsOn.Max()).TotalSeconds:0.00} s; first -> last VM on {(vmsOn.Max() - vmsOn.Min()).TotalSeconds:0.00} s"));
            return makespan - limit;
        }
        finally
        {
            foreach (var server in servers)
                await server.DisposeAsync();
        }
    }

    public static async Task WaitReadyAsync(string address)
    {
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
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
}
