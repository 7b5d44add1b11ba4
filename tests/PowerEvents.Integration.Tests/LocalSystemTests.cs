using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using Xunit;
using Xunit.Abstractions;

namespace PowerEvents.Integration.Tests;

/// <summary>
/// The system as separate processes (LocalSystem: simulators, receiver and the five services), driven through the
/// Meraki simulator the way scripts/excursion.sh drives the local run: down on the excursion, back up after its end.
/// </summary>
[Collection(RealServersCollection.Name)]
public sealed class LocalSystemTests(ITestOutputHelper output) : IAsyncLifetime
{
    // A virtual host and database of this test's own, not the collection's: other tests there leave zone state
    // (server-room in alarm) and queued alarms behind that would shut the cluster down before the excursion.
    readonly RabbitMqFixture rabbit = new();
    readonly PostgresFixture postgres = new();

    public async Task InitializeAsync()
    {
        await rabbit.InitializeAsync();
        await postgres.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await postgres.DisposeAsync();
        await rabbit.DisposeAsync();
    }

    static readonly TimeSpan Transition = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task An_excursion_shuts_the_cluster_down_in_vcsim_and_after_its_end_the_BMCs_bring_it_back_with_exactly_the_VMs_that_ran_and_signed_webhooks_across_processes()
    {
        var clock = Stopwatch.StartNew();
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "2", "-vms", "2", "-control", "127.0.0.1:0"]);
        await using var system = await LocalSystem.StartAsync(new LocalSystemOptions
        {
            RabbitMq = rabbit.Environment,
            Postgres = postgres.Environment,
            Vcsim = vcsim,
            MinimumOffTime = TimeSpan.FromSeconds(2),
            // A queue without its consumer for 10 s in this normal run would have its endpoint restarted, and fail the test below.
            ConsumerCheckGrace = TimeSpan.FromSeconds(10),
        });
        Assert.Equal(2, system.Bmcs.Count);
        output.WriteLine($"started at {clock.Elapsed.TotalSeconds:0.0} s");

        // The operator had one VM off before the excursion: the power-on must leave it off.
        var offBefore = await PowerOffOneVmThroughTheActuatorAsync(system, vcsim);
        var (hostsBefore, vmsBefore) = await VcsimStateAsync(vcsim);
        var runningBefore = vmsBefore.Where(v => v.Value == "poweredOn").Select(v => v.Key).Order().ToList();
        Assert.DoesNotContain(offBefore, runningBefore);
        Assert.Equal(3, runningBefore.Count);
        Assert.All(hostsBefore.Values, state => Assert.Equal("poweredOn", state));

        await system.SetZoneCelsiusAsync(40);
        var raised = await system.WaitForWebhookAsync("AlarmRaised", Transition);
        var completed = await system.WaitForWebhookAsync("PowerRunCompleted", Transition);
        var (hostsOff, vmsOff) = await VcsimStateAsync(vcsim);
        Assert.All(vmsOff.Values, state => Assert.Equal("poweredOff", state));
        Assert.All(hostsOff.Values, state => Assert.Equal("poweredOff", state));
        Assert.Equal("info", completed.Payload.GetProperty("severity").GetString()); // critical when steps failed
        output.WriteLine($"cluster off at {clock.Elapsed.TotalSeconds:0.0} s");

        // The BMCs started On (their servers ran); now they report Off, as a real iLO does after ESXi shut down.
        Assert.Equal(hostsOff.Keys.Order(), (await system.BmcsFollowHostsOffAsync()).Order());

        await system.SetZoneCelsiusAsync(24);
        var cleared = await system.WaitForWebhookAsync("AlarmCleared", Transition);
        var restoreStarted = await system.WaitForWebhookAsync("PowerRestoreStarted", Transition);
        var restored = await system.WaitForWebhookAsync("PowerRestoreCompleted", Transition);
        output.WriteLine($"restored at {clock.Elapsed.TotalSeconds:0.0} s");

        using (var state = JsonDocument.Parse(await new HttpClient().GetStringAsync(new Uri(vcsim.ControlUrl!, "state"))))
        {
            Assert.All(state.RootElement.GetProperty("hosts").EnumerateArray(), host =>
            {
                Assert.Equal("poweredOn", host.GetProperty("powerState").GetString());
                Assert.Equal("connected", host.GetProperty("connectionState").GetString());
                Assert.False(host.GetProperty("inMaintenance").GetBoolean(), $"{host.GetProperty("name")} still in maintenance mode");
            });
            var runningAfter = state.RootElement.GetProperty("vms").EnumerateArray()
                .Where(vm => vm.GetProperty("powerState").GetString() == "poweredOn").Select(vm => vm.GetProperty("name").GetString()!).Order().ToList();
            Assert.Equal(runningBefore, runningAfter);
            // The hosts came back through their BMCs (the simulator's call to vcsim's control endpoint), not otherwise.
            var hostsPoweredOn = state.RootElement.GetProperty("journal").EnumerateArray()
                .Where(e => e.GetProperty("kind").GetString() == "host" && e.GetProperty("event").GetString() == "powerState"
                    && e.GetProperty("to").GetString() == "poweredOn")
                .Select(e => (Host: e.GetProperty("name").GetString()!, Cause: e.GetProperty("cause").GetString())).ToList();
            Assert.Equal(hostsOff.Keys.Order(), hostsPoweredOn.Select(e => e.Host).Order());
            Assert.All(hostsPoweredOn, e => Assert.Equal("control:power-on", e.Cause));
        }

        var webhooks = await system.ReceivedWebhooksAsync();
        output.WriteLine(string.Join(", ", webhooks.Select(w => w.EventType)));
        // Each kind of event has its own queue at the Notifier, so two facts milliseconds apart (the alarm and the run it
        // starts) may be delivered in either order on a busy machine; each carries when it happened, and that is in order.
        var order = webhooks.OrderBy(w => DateTimeOffset.Parse(w.Payload.GetProperty("occurredAt").GetString()!, CultureInfo.InvariantCulture))
            .Select(w => w.EventType).ToList();
        string[] expected = ["AlarmRaised", "PowerRunStarted", "PowerRunCompleted", "AlarmCleared", "PowerRestoreStarted", "PowerRestoreCompleted"];
        Assert.Equal(expected, order.Where(expected.Contains));
        Assert.All(expected, type => Assert.Single(order, type));
        Assert.DoesNotContain("PowerRunStepFailed", order);
        Assert.All(webhooks, webhook => Assert.Equal("valid", webhook.Signature));
        Assert.Equal("critical", raised.Payload.GetProperty("severity").GetString());
        Assert.Equal("info", restored.Payload.GetProperty("severity").GetString()); // every host and VM back
        Assert.Equal(completed.Payload.GetProperty("runId").GetString(), restoreStarted.Payload.GetProperty("runId").GetString());
        Assert.Equal(completed.Payload.GetProperty("runId").GetString(), restored.Payload.GetProperty("runId").GetString());
        Assert.Equal(raised.Payload.GetProperty("correlationId").GetString(), cleared.Payload.GetProperty("correlationId").GetString());
        Assert.All([raised, cleared], webhook => Assert.Equal("server-room", webhook.Payload.GetProperty("zone").GetString()));
        Assert.Contains(system.Services["Notifier"].Output, line => line.Contains("ALARM RAISED in zone server-room", StringComparison.Ordinal));
        var all = system.AllOutput;
        Assert.All(system.SecretValues, secret => Assert.DoesNotContain(secret, all, StringComparison.Ordinal));
        Assert.True(system.ConsumerCheckLines.Count == 0, $"the consumer check acted in a normal run:\n{string.Join('\n', system.ConsumerCheckLines)}");
        // And it did look: every service's check has its own connection to the broker, under the service's name.
        string[] checks = ["alarm-evaluator", "vcenter-actuator", "ilo-actuator", "sensor-poller", "notifier"];
        var names = await rabbit.ClientConnectionNamesAsync();
        for (var wait = Stopwatch.StartNew(); checks.Any(c => !names.Contains($"{c}-consumer-check")) && wait.Elapsed < Transition; names = await rabbit.ClientConnectionNamesAsync())
            await Task.Delay(500); // the management API lists a connection after its next statistics sample
        Assert.All(checks, c => Assert.Contains($"{c}-consumer-check", names));
    }

    /// <summary>Takes a VM from the plan preview and has the VCenterActuator (its own process) shut it down, as an operator's earlier action.</summary>
    async Task<string> PowerOffOneVmThroughTheActuatorAsync(LocalSystem system, VcsimProcess vcsim)
    {
        using var response = await system.Services["AlarmEvaluator"].GetAsync("/power/plan/cluster1");
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadAsStringAsync();
        using var plan = JsonDocument.Parse(body);
        var vm = plan.RootElement.GetProperty("tiers").EnumerateArray().SelectMany(t => t.GetProperty("vms").EnumerateArray()).FirstOrDefault();
        if (vm.ValueKind != JsonValueKind.Object)
            throw new InvalidOperationException($"no VM in the plan preview: {body}\n{system.AllOutput}");
        var (id, name) = (vm.GetProperty("id").GetString()!, vm.GetProperty("name").GetString()!);

        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
        {
            h.Username(RabbitMqFixture.Username);
            h.Password(RabbitMqFixture.Password);
        }));
        await bus.StartAsync();
        try
        {
            await bus.Publish(new VmShutdownRequested(Guid.NewGuid(), "cluster1", id, name, TimeSpan.Zero));
        }
        finally
        {
            await bus.StopAsync();
        }
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Transition)
        {
            if ((await VcsimStateAsync(vcsim)).Vms[name] == "poweredOff")
                return name;
            await Task.Delay(200);
        }
        throw new TimeoutException($"{name} not off within {Transition}:\n{system.AllOutput}");
    }

    internal static async Task<(Dictionary<string, string> Hosts, Dictionary<string, string> Vms)> VcsimStateAsync(VcsimProcess vcsim)
    {
        using var http = new HttpClient();
        using var state = JsonDocument.Parse(await http.GetStringAsync(new Uri(vcsim.ControlUrl!, "state")));
        return (state.RootElement.GetProperty("hosts").EnumerateArray().ToDictionary(h => h.GetProperty("name").GetString()!, h => h.GetProperty("powerState").GetString()!),
            state.RootElement.GetProperty("vms").EnumerateArray().ToDictionary(v => v.GetProperty("name").GetString()!, v => v.GetProperty("powerState").GetString()!));
    }
}
