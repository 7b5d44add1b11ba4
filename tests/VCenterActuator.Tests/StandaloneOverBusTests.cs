using System.Collections.Concurrent;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>
/// The actuator host configured with standalone ESXi hosts only (no <c>VCenter:Url</c>): it starts, and the saga's commands
/// for the standalone "cluster" come back as outcomes over the real RabbitMQ, carried out through the hosts' own APIs.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class StandaloneOverBusTests : IAsyncLifetime
{
    // A virtual host of this test's own: an actuator host of an earlier test that did not let go of the broker (seen once in CI:
    // its connection stayed open after the host was stopped) would otherwise consume this test's commands.
    readonly RabbitMqFixture rabbit = new();

    public Task InitializeAsync() => rabbit.InitializeAsync();

    public Task DisposeAsync() => rabbit.DisposeAsync();

    static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Without_any_vcenter_a_standalone_cluster_is_inventoried_and_its_vms_and_hosts_shut_down_over_the_bus()
    {
        await using var vcsim = await VcsimProcess.StartAsync(["-clusters", "0", "-standalone-hosts", "2", "-vms", "1", "-esxi-base-port", "-1",
            "-control", "127.0.0.1:0", "-journal-calls", "-guest-shutdown-min", "100ms", "-guest-shutdown-max", "200ms"]);
        var hosts = (await VcsimState.ReadAsync(vcsim)).Hosts.OrderBy(h => h.Name).ToList();
        var events = new ConcurrentQueue<object>();
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h => { h.Username(RabbitMqFixture.Username); h.Password(RabbitMqFixture.Password); });
            cfg.ReceiveEndpoint($"vcenter-standalone-tests-{Guid.NewGuid():N}", e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                e.Handler<ClusterInventoryCaptured>(c => { events.Enqueue(c.Message); return Task.CompletedTask; });
                e.Handler<VmShutDown>(c => { events.Enqueue(c.Message); return Task.CompletedTask; });
                e.Handler<HostEnteredMaintenance>(c => { events.Enqueue(c.Message); return Task.CompletedTask; });
                e.Handler<HostPoweredOff>(c => { events.Enqueue(c.Message); return Task.CompletedTask; });
                e.Handler<PreflightCheckCompleted>(c => { events.Enqueue(c.Message); return Task.CompletedTask; });
            });
        });
        await bus.StartAsync();
        WebApplication? actuator = null;
        try
        {
            actuator = VCenterActuatorHost.Build([
                .. rabbit.HostArgs, "--Urls=http://127.0.0.1:0", "--Preflight:Interval=01:00:00",
                .. hosts.Select((h, i) => $"--VCenter:Clusters:lab:Hosts:{i}={h.Name}"),
                .. hosts.SelectMany(h => new[]
                {
                    $"--VCenter:Hosts:{h.Name}:Url={h.EsxiUrl}", $"--VCenter:Hosts:{h.Name}:Username=root",
                    $"--VCenter:Hosts:{h.Name}:Password=esxpass", $"--VCenter:Hosts:{h.Name}:CertificateFingerprint={vcsim.Fingerprint}",
                }),
                "--VCenter:HostShutdownTimeout=00:00:20", "--VCenter:PollInterval=00:00:00.100",
            ]);
            await actuator.StartAsync();
            await InProcessHost.WaitUntilReadyAsync(actuator);
            var run = Guid.NewGuid();

            await bus.Publish(new ClusterInventoryRequested(run, "lab"));
            var inventory = await NextAsync<ClusterInventoryCaptured>(events, e => e.RunId == run);
            Assert.Equal(hosts.Select(h => h.Name), inventory.Hosts.Select(h => h.Name).Order());
            Assert.Equal(2, inventory.Vms.Count);

            foreach (var vm in inventory.Vms)
                await bus.Publish(new VmShutdownRequested(run, "lab", vm.Id, vm.Name, null));
            foreach (var vm in inventory.Vms)
                Assert.Equal(VmShutdownOutcome.Graceful, (await NextAsync<VmShutDown>(events, e => e.RunId == run && e.VmId == vm.Id)).Outcome);
            foreach (var host in hosts)
            {
                await bus.Publish(new HostMaintenanceRequested(run, "lab", host.Name));
                Assert.Equal(StepOutcome.Done, (await NextAsync<HostEnteredMaintenance>(events, e => e.RunId == run && e.Host == host.Name)).Outcome);
                await bus.Publish(new HostShutdownRequested(run, "lab", host.Name));
                var off = await NextAsync<HostPoweredOff>(events, e => e.RunId == run && e.Host == host.Name);
                Assert.Equal((StepOutcome.Done, null), (off.Outcome, off.Fault));
            }

            var state = await VcsimState.ReadAsync(vcsim);
            Assert.All(state.Hosts, h => Assert.Equal("poweredOff", h.PowerState));
            Assert.DoesNotContain(state.Journal, e => e.Kind == "call" && e.Name == "vcenter");
            var preflight = await NextAsync<PreflightCheckCompleted>(events, e => e.Kind == "standalone" && e.Target == "lab");
            Assert.True(preflight.Ok, preflight.Reason);
        }
        finally
        {
            if (actuator is not null)
            {
                await actuator.StopAsync();
                await actuator.DisposeAsync();
            }
            await bus.StopAsync();
        }
    }

    static async Task<T> NextAsync<T>(ConcurrentQueue<object> events, Func<T, bool> match)
    {
        T? found = default;
        await Vcenter.Eventually(() => Task.FromResult(events.OfType<T>().FirstOrDefault(match) is { } hit && (found = hit) is not null), Wait,
            $"a {typeof(T).Name}");
        return found!;
    }
}
