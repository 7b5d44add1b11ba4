using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PowerEvents.Contracts;
using PowerEvents.IloActuator;
using PowerEvents.RedfishSimulator;
using PowerEvents.Testing;
using Xunit;

namespace IloActuator.Tests;

[CollectionDefinition(Name)]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqFixture>
{
    public const string Name = "rabbitmq";
}

/// <summary>The IloActuator host over the real RabbitMQ, driving several simulated BMCs at once.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class ActuatorOverRabbitMqTests(RabbitMqFixture rabbit)
{
    [Fact]
    public async Task Each_PowerOnRequested_gets_its_outcome_and_a_hanging_BMC_does_not_hold_up_the_others()
    {
        await using var good = await Bmcs.StartAsync(o => o.Name = "esx-01");
        await using var hanging = await Bmcs.StartAsync(o => o.Name = "esx-02");
        await using var wrongPassword = await Bmcs.StartAsync(o => o.Name = "esx-03");
        await using var alreadyOn = await Bmcs.StartAsync(o => { o.Name = "esx-05"; o.InitialPowerState = "On"; });
        hanging.Bmc.Hang = true;
        wrongPassword.Bmc.Password = "rotated-by-someone";
        using var wol = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var wolPort = ((IPEndPoint)wol.Client.LocalEndPoint!).Port;

        await using var actuator = await StartActuatorAsync(
        [
            .. HostArgs(0, "esx-01", good),
            .. HostArgs(1, "esx-02", hanging),
            .. HostArgs(2, "esx-03", wrongPassword),
            "--Bmc:Hosts:3:Name=esx-04",
            "--Bmc:Hosts:3:WakeOnLan:Mac=52:54:00:12:34:04",
            "--Bmc:Hosts:3:WakeOnLan:BroadcastAddress=127.0.0.1",
            $"--Bmc:Hosts:3:WakeOnLan:Port={wolPort}",
            .. HostArgs(4, "esx-05", alreadyOn),
        ]);
        await using var bus = await OutcomeBus.StartAsync(rabbit);

        var runId = Guid.NewGuid();
        // The hanging BMC's request goes first: handled one at a time, it would hold up everything behind it.
        foreach (var host in new[] { "esx-02", "esx-01", "esx-03", "esx-04", "esx-05" })
            await bus.Bus.Publish(new PowerOnRequested(runId, "cluster1", host));

        var poweredOn = await bus.WaitAsync<HostPowerOnCompleted>(m => m.RunId == runId && m.Host == "esx-01");
        var hangStillOpen = !bus.Received<HostPowerOnCompleted>(m => m.RunId == runId && m.Host == "esx-02");
        var hung = await bus.WaitAsync<HostPowerOnCompleted>(m => m.RunId == runId && m.Host == "esx-02");
        var rejected = await bus.WaitAsync<HostPowerOnCompleted>(m => m.RunId == runId && m.Host == "esx-03");
        var woken = await bus.WaitAsync<HostPowerOnCompleted>(m => m.RunId == runId && m.Host == "esx-04");
        var wasOn = await bus.WaitAsync<HostPowerOnCompleted>(m => m.RunId == runId && m.Host == "esx-05");

        Assert.Equal((PowerOnOutcome.PoweredOn, "cluster1", "redfish"), (poweredOn.Outcome, poweredOn.Cluster, poweredOn.Method));
        Assert.True(hangStillOpen, "esx-01 had to wait for the hanging esx-02");
        Assert.True(poweredOn.CompletedAt < hung.CompletedAt, "esx-01 finished after the hanging BMC");
        Assert.Equal(PowerOnOutcome.Failed, hung.Outcome);
        Assert.Contains("esx-02", hung.Reason, StringComparison.Ordinal);
        Assert.Equal(PowerOnOutcome.Failed, rejected.Outcome);
        Assert.Contains("rejected the credentials", rejected.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(Bmcs.Password, rejected.Reason, StringComparison.Ordinal);
        Assert.Equal(PowerOnOutcome.WakeOnLanSent, woken.Outcome);
        Assert.Equal(102, (await wol.ReceiveAsync()).Buffer.Length);
        Assert.Equal(PowerOnOutcome.AlreadyOn, wasOn.Outcome);
        Assert.Equal("On", good.Bmc.PowerState);
        Assert.Equal(0, good.Bmc.ActiveSessions);
        Assert.Contains("ilo-actuator-power-on-requested", await rabbit.QueueNamesAsync());
    }

    [Fact]
    public async Task A_PowerStateRequested_is_answered_without_changing_anything()
    {
        await using var off = await Bmcs.StartAsync(o => o.Name = "esx-01");
        await using var locked = await Bmcs.StartAsync(o => o.Name = "esx-02");
        locked.Bmc.Password = "rotated";
        await using var actuator = await StartActuatorAsync([.. HostArgs(0, "esx-01", off), .. HostArgs(1, "esx-02", locked)]);
        await using var bus = await OutcomeBus.StartAsync(rabbit);

        var runId = Guid.NewGuid();
        await bus.Bus.Publish(new PowerStateRequested(runId, "cluster1", "esx-01"));
        await bus.Bus.Publish(new PowerStateRequested(runId, "cluster1", "esx-02"));
        var reachable = await bus.WaitAsync<HostPowerStateReported>(m => m.RunId == runId && m.Host == "esx-01");
        var unreachable = await bus.WaitAsync<HostPowerStateReported>(m => m.RunId == runId && m.Host == "esx-02");

        Assert.Equal((true, "Off", ""), (reachable.Reachable, reachable.PowerState, reachable.Reason));
        Assert.Equal((false, "Unknown"), (unreachable.Reachable, unreachable.PowerState));
        Assert.Contains("rejected the credentials", unreachable.Reason, StringComparison.Ordinal);
        Assert.Empty(off.Bmc.ResetRequests);
        Assert.Equal(0, off.Bmc.ActiveSessions);
    }

    [Fact]
    public async Task Boot_progress_reported_by_the_BMC_is_published_while_the_host_powers_on()
    {
        await using var hpe = await Bmcs.StartAsync(o => { o.Name = "esx-01"; o.Profile = "ilo5"; o.BootDelay = TimeSpan.FromSeconds(1.5); });
        await using var dell = await Bmcs.StartAsync(o => { o.Name = "esx-02"; o.Profile = "idrac9"; o.BootDelay = TimeSpan.FromSeconds(1.5); });
        await using var actuator = await StartActuatorAsync([.. HostArgs(0, "esx-01", hpe), .. HostArgs(1, "esx-02", dell)]);
        await using var bus = await OutcomeBus.StartAsync(rabbit);

        var runId = Guid.NewGuid();
        await bus.Bus.Publish(new PowerOnRequested(runId, "cluster1", "esx-01"));
        await bus.Bus.Publish(new PowerOnRequested(runId, "cluster1", "esx-02"));
        var hpeDone = await bus.WaitAsync<HostPowerOnCompleted>(m => m.RunId == runId && m.Host == "esx-01");
        var dellDone = await bus.WaitAsync<HostPowerOnCompleted>(m => m.RunId == runId && m.Host == "esx-02");
        var hpePost = await bus.WaitAsync<HostBootProgressReported>(m => m.RunId == runId && m.Host == "esx-01" && m.Stage == "POST");
        var hpeOs = await bus.WaitAsync<HostBootProgressReported>(m => m.RunId == runId && m.Host == "esx-01" && m.Stage == "booting OS");
        var dellPost = await bus.WaitAsync<HostBootProgressReported>(m => m.RunId == runId && m.Host == "esx-02" && m.Stage == "POST");

        Assert.Equal(PowerOnOutcome.PoweredOn, hpeDone.Outcome);
        Assert.Equal(PowerOnOutcome.PoweredOn, dellDone.Outcome);
        Assert.StartsWith("Oem.Hpe.PostState InPost", hpePost.BmcState, StringComparison.Ordinal);
        Assert.Equal("Oem.Hpe.PostState FinishedPost", hpeOs.BmcState);
        Assert.StartsWith("BootProgress.LastState ", dellPost.BmcState, StringComparison.Ordinal);
        Assert.Equal("cluster1", hpePost.Cluster);
        // Published as it happened, not held back until the power-on's outcome.
        Assert.True(hpePost.ReportedAt < hpeOs.ReportedAt && hpeOs.ReportedAt <= hpeDone.CompletedAt, "stages out of order");
    }

    static IEnumerable<string> HostArgs(int index, string name, BmcServer server) =>
    [
        $"--Bmc:Hosts:{index}:Name={name}",
        $"--Bmc:Hosts:{index}:Url={server.BaseUrl}",
        $"--Bmc:Hosts:{index}:Username={Bmcs.Username}",
        $"--Bmc:Hosts:{index}:Password={Bmcs.Password}",
        $"--Bmc:Hosts:{index}:CertificateFingerprint={server.Fingerprint}",
    ];

    async Task<WebApplication> StartActuatorAsync(IEnumerable<string> bmcArgs)
    {
        var app = IloActuatorHost.Build(
        [
            .. rabbit.HostArgs,
            "--Urls=http://127.0.0.1:0",
            "--Bmc:RequestTimeout=00:00:01",
            "--Bmc:PowerOnTimeout=00:00:10",
            "--Bmc:PollInterval=00:00:00.100",
            "--Bmc:RetryAttempts=2",
            "--Bmc:RetryBaseDelay=00:00:00.200",
            .. bmcArgs,
        ]);
        return await InProcessHost.StartAsync(app);
    }

    /// <summary>A bus of the test's own that collects the actuator's outcome events from a queue of its own.</summary>
    sealed class OutcomeBus : IAsyncDisposable
    {
        readonly ConcurrentQueue<object> _received = new();

        public IBusControl Bus { get; private set; } = null!;

        public static async Task<OutcomeBus> StartAsync(RabbitMqFixture rabbit)
        {
            var outcomes = new OutcomeBus();
            outcomes.Bus = MassTransit.Bus.Factory.CreateUsingRabbitMq(cfg =>
            {
                cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
                {
                    h.Username(RabbitMqFixture.Username);
                    h.Password(RabbitMqFixture.Password);
                });
                cfg.ReceiveEndpoint($"ilo-tests-{Guid.NewGuid():N}", e =>
                {
                    e.AutoDelete = true;
                    e.Handler<HostPowerOnCompleted>(context => { outcomes._received.Enqueue(context.Message); return Task.CompletedTask; });
                    e.Handler<HostPowerStateReported>(context => { outcomes._received.Enqueue(context.Message); return Task.CompletedTask; });
                    e.Handler<HostBootProgressReported>(context => { outcomes._received.Enqueue(context.Message); return Task.CompletedTask; });
                });
            });
            await outcomes.Bus.StartAsync();
            return outcomes;
        }

        public bool Received<T>(Func<T, bool> match) => _received.OfType<T>().Any(match);

        public async Task<T> WaitAsync<T>(Func<T, bool> match, double seconds = 20)
        {
            var deadline = DateTime.UtcNow.AddSeconds(seconds);
            while (DateTime.UtcNow < deadline)
            {
                if (_received.OfType<T>().FirstOrDefault(match) is { } found)
                    return found;
                await Task.Delay(20);
            }
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"no matching {typeof(T).Name} within {seconds} s; received: {string.Join("; ", _received)}"));
        }

        public async ValueTask DisposeAsync() => await Bus.StopAsync();
    }
}
