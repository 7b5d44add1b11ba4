using System.Collections.Concurrent;
using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using PowerEvents.Tools.MerakiSimulator;
using Xunit;

namespace PowerEvents.SensorPoller.Tests;

/// <summary>The poller host in-process with several sources at once, publishing to the real RabbitMQ.</summary>
public sealed class SensorPollerHostTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    const string Key = "host-test-key";

    [Fact]
    public async Task Several_sources_with_many_sensors_are_polled_side_by_side_each_on_its_own_interval()
    {
        await using var sim = await RunningSimulator.StartAsync(Key);
        foreach (var (org, sensors) in new[] { ("101", 1200), ("202", 30) })
        {
            sim.World.AddOrganization(org, $"Org {org}");
            sim.World.AddNetwork($"N_{org}", org, $"Net {org}", 35);
            for (var i = 0; i < sensors; i++)
                sim.World.SetSensor($"Q{org}-{i:D5}", $"N_{org}", 20 + i % 10, null, TimeSpan.FromMilliseconds(400));
        }
        sim.World.Generic = new GenericResponse(200, """{"racks":[{"id":"rack-1","t":31.5},{"id":"rack-2","t":29}]}""", "application/json");

        var received = new ConcurrentQueue<TemperatureSampled>();
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h => { h.Username(RabbitMqFixture.Username); h.Password(RabbitMqFixture.Password); });
            cfg.ReceiveEndpoint($"test-samples-{Guid.NewGuid():N}", e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                e.Handler<TemperatureSampled>(c => { received.Enqueue(c.Message); return Task.CompletedTask; });
            });
        });
        await bus.StartAsync();
        var poller = SensorPollerHost.Build([
            .. rabbit.HostArgs, "--Urls=http://127.0.0.1:0",
            "--SensorPoller:Meraki:0:Name=big", $"--SensorPoller:Meraki:0:BaseUrl={sim.ApiBase}", $"--SensorPoller:Meraki:0:ApiKey={Key}",
            "--SensorPoller:Meraki:0:OrganizationId=101", "--SensorPoller:Meraki:0:PerPage=500", "--SensorPoller:Meraki:0:Interval=00:00:01", "--SensorPoller:Meraki:0:AllowInsecureHttp=true",
            "--SensorPoller:Meraki:1:Name=small", $"--SensorPoller:Meraki:1:BaseUrl={sim.ApiBase}", $"--SensorPoller:Meraki:1:ApiKey={Key}",
            "--SensorPoller:Meraki:1:OrganizationId=202", "--SensorPoller:Meraki:1:Interval=00:00:00.250", "--SensorPoller:Meraki:1:AllowInsecureHttp=true",
            "--SensorPoller:Http:0:Name=racks", $"--SensorPoller:Http:0:Url={sim.Root}generic/alarms", "--SensorPoller:Http:0:ItemsPath=racks",
            "--SensorPoller:Http:0:IdPath=id", "--SensorPoller:Http:0:TemperaturePath=t", "--SensorPoller:Http:0:Interval=00:00:00.500", "--SensorPoller:Http:0:AllowInsecureHttp=true",
        ]);
        try
        {
            await poller.StartAsync();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline && !(received.Count(s => s.Source == "big") >= 2400 && received.Count(s => s.Source == "small") >= 60 && received.Count(s => s.Source == "racks") >= 4))
                await Task.Delay(100);

            var bySource = received.GroupBy(s => s.Source).ToDictionary(g => g.Key, g => g.ToList());
            Assert.Equal(1200, bySource["big"].Select(s => s.SensorId).Distinct().Count());
            Assert.True(bySource["big"].Count >= 2400, $"big: {bySource["big"].Count} samples");
            Assert.Equal(30, bySource["small"].Select(s => s.SensorId).Distinct().Count());
            Assert.Equal(["rack-1", "rack-2"], bySource["racks"].Select(s => s.SensorId).Distinct().Order());

            // Each source kept its own pace: the small organization was polled several times per poll of the big one.
            var requests = sim.World.Requests();
            var bigFirstPages = requests.Count(r => r.PathAndQuery.Contains("/organizations/101/", StringComparison.Ordinal) && !r.PathAndQuery.Contains("startingAfter", StringComparison.Ordinal));
            var smallPolls = requests.Count(r => r.PathAndQuery.Contains("/organizations/202/", StringComparison.Ordinal));
            Assert.True(smallPolls >= 2 * bigFirstPages, $"small {smallPolls} polls, big {bigFirstPages}");
            Assert.All(requests.Where(r => r.PathAndQuery.Contains("/organizations/101/", StringComparison.Ordinal)), r => Assert.Equal(200, r.Status));
        }
        finally
        {
            var stopping = System.Diagnostics.Stopwatch.StartNew();
            await poller.StopAsync();
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {stopping.Elapsed}");
            await poller.DisposeAsync();
            await bus.StopAsync();
        }
    }
}
