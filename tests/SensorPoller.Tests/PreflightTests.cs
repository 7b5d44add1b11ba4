using System.Collections.Concurrent;
using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.SensorPoller.Polling;
using PowerEvents.Testing;
using PowerEvents.Tools.MerakiSimulator;
using Xunit;

namespace PowerEvents.SensorPoller.Tests;

/// <summary>The poller's preflight against the Meraki simulator, results on the real RabbitMQ.</summary>
public sealed class PreflightTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    const string Key = "preflight-key-0123456789";
    const string WrongKey = "revoked-key-9876543210";

    [Fact]
    public async Task Each_source_proves_its_key_and_organization_and_a_stopped_source_fails_then_recovers_within_one_interval()
    {
        await using var sim = await RunningSimulator.StartAsync(Key);
        sim.World.AddOrganization("555001", "Preflight Org");
        sim.World.Generic = new GenericResponse(200, """{"racks":[{"id":"rack-1","t":24}]}""", "application/json");
        var prefix = $"pf{Guid.NewGuid():N}"[..10];

        var results = new ConcurrentQueue<PreflightCheckCompleted>();
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h => { h.Username(RabbitMqFixture.Username); h.Password(RabbitMqFixture.Password); });
            cfg.ReceiveEndpoint($"test-preflight-{Guid.NewGuid():N}", e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                e.Handler<PreflightCheckCompleted>(c => { results.Enqueue(c.Message); return Task.CompletedTask; });
            });
        });
        await bus.StartAsync();
        var poller = SensorPollerHost.Build([
            .. rabbit.HostArgs, "--Urls=http://127.0.0.1:0",
            "--Preflight:Interval=00:00:01",
            .. Meraki(sim.ApiBase, 0, $"{prefix}-ok", Key, "555001"),
            .. Meraki(sim.ApiBase, 1, $"{prefix}-no-access", Key, "555999"),
            .. Meraki(sim.ApiBase, 2, $"{prefix}-revoked", WrongKey, "555001"),
            $"--SensorPoller:Http:0:Name={prefix}-bms", $"--SensorPoller:Http:0:Url={sim.Root}generic/alarms", "--SensorPoller:Http:0:ItemsPath=racks",
            "--SensorPoller:Http:0:IdPath=id", "--SensorPoller:Http:0:TemperaturePath=t", "--SensorPoller:Http:0:Interval=01:00:00",
            "--SensorPoller:Http:0:MaxRetries=0", "--SensorPoller:Http:0:AllowInsecureHttp=true",
        ]);
        try
        {
            await poller.StartAsync();

            var ok = await WaitAsync(results, r => r.Target == $"{prefix}-ok");
            var noAccess = await WaitAsync(results, r => r.Target == $"{prefix}-no-access");
            var revoked = await WaitAsync(results, r => r.Target == $"{prefix}-revoked");
            var bms = await WaitAsync(results, r => r.Target == $"{prefix}-bms");

            Assert.Equal(("sensor-poller", SourcePreflight.Kind, true), (ok.Service, ok.Kind, ok.Ok));
            Assert.Contains("Preflight Org", ok.Reason, StringComparison.Ordinal);
            Assert.False(noAccess.Ok);
            Assert.Contains("404", noAccess.Reason, StringComparison.Ordinal);
            Assert.False(revoked.Ok);
            Assert.Contains("401", revoked.Reason, StringComparison.Ordinal);
            Assert.All(results, r => Assert.DoesNotContain(Key, r.Reason, StringComparison.Ordinal));
            Assert.All(results, r => Assert.DoesNotContain(WrongKey, r.Reason, StringComparison.Ordinal));
            Assert.True(bms.Ok, bms.Reason);

            // The BMS stops answering: the next run, one interval later, fails; it recovers the same way.
            sim.World.Generic = new GenericResponse(503, """{"error":"down"}""", "application/json");
            var down = await WaitAsync(results, r => r.Target == $"{prefix}-bms" && !r.Ok);
            Assert.Contains("503", down.Reason, StringComparison.Ordinal);
            sim.World.Generic = new GenericResponse(200, """{"racks":[{"id":"rack-1","t":24}]}""", "application/json");
            var back = await WaitAsync(results, r => r.Target == $"{prefix}-bms" && r.Ok && r.CheckedAt > down.CheckedAt);
            Assert.True(back.CheckedAt - down.CheckedAt < TimeSpan.FromSeconds(5), $"recovered {back.CheckedAt - down.CheckedAt} later");

            // Reads only.
            Assert.All(sim.World.Requests(), r => Assert.Equal("GET", r.Method));
            Assert.Contains(sim.World.Requests(), r => r.PathAndQuery == "/api/v1/organizations/555001" && r.Status == 200);
        }
        finally
        {
            await poller.StopAsync();
            await poller.DisposeAsync();
            await bus.StopAsync();
        }
    }

    static IEnumerable<string> Meraki(Uri apiBase, int index, string name, string key, string organization) =>
    [
        $"--SensorPoller:Meraki:{index}:Name={name}",
        $"--SensorPoller:Meraki:{index}:BaseUrl={apiBase}",
        $"--SensorPoller:Meraki:{index}:ApiKey={key}",
        $"--SensorPoller:Meraki:{index}:OrganizationId={organization}",
        $"--SensorPoller:Meraki:{index}:Interval=01:00:00",
        $"--SensorPoller:Meraki:{index}:MaxRetries=0",
        $"--SensorPoller:Meraki:{index}:AllowInsecureHttp=true",
    ];

    static async Task<PreflightCheckCompleted> WaitAsync(ConcurrentQueue<PreflightCheckCompleted> results, Func<PreflightCheckCompleted, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (results.FirstOrDefault(match) is { } found)
                return found;
            await Task.Delay(20);
        }
        throw new TimeoutException($"no matching preflight result within 30 s; received: {string.Join("; ", results)}");
    }
}
