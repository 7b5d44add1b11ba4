using System.Collections.Concurrent;
using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.IloActuator;
using PowerEvents.RedfishSimulator;
using PowerEvents.Testing;
using Xunit;

namespace IloActuator.Tests;

/// <summary>The actuator's preflight over the real RabbitMQ against simulated BMCs: a login and a PowerState read, nothing written.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class PreflightTests(RabbitMqFixture rabbit) : IAsyncLifetime
{
    readonly ConcurrentQueue<PreflightCheckCompleted> _results = new();
    IBusControl _bus = null!;

    public async Task InitializeAsync()
    {
        _bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
            {
                h.Username(RabbitMqFixture.Username);
                h.Password(RabbitMqFixture.Password);
            });
            cfg.ReceiveEndpoint($"ilo-preflight-tests-{Guid.NewGuid():N}", e =>
            {
                e.AutoDelete = true;
                e.Handler<PreflightCheckCompleted>(context => { _results.Enqueue(context.Message); return Task.CompletedTask; });
            });
        });
        await _bus.StartAsync();
    }

    public Task DisposeAsync() => _bus.StopAsync();

    async Task<PreflightCheckCompleted> WaitAsync(Func<PreflightCheckCompleted, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_results.FirstOrDefault(match) is { } found)
                return found;
            await Task.Delay(20);
        }
        throw new TimeoutException($"no matching preflight result within 30 s; received: {string.Join("; ", _results)}");
    }

    static IEnumerable<string> HostArgs(int index, string name, BmcServer server, string authMode = "Auto") =>
    [
        $"--Bmc:Hosts:{index}:Name={name}",
        $"--Bmc:Hosts:{index}:Url={server.BaseUrl}",
        $"--Bmc:Hosts:{index}:Username={Bmcs.Username}",
        $"--Bmc:Hosts:{index}:Password={Bmcs.Password}",
        $"--Bmc:Hosts:{index}:CertificateFingerprint={server.Fingerprint}",
        $"--Bmc:Hosts:{index}:AuthMode={authMode}",
    ];

    [Fact]
    public async Task Each_BMC_is_logged_into_and_read_and_a_rotated_password_fails_then_recovers_within_one_interval()
    {
        var target = $"esx-{Guid.NewGuid():N}"[..12];
        await using var good = await Bmcs.StartAsync(o => o.Name = "esx-01");
        await using var basic = await Bmcs.StartAsync(o => { o.Name = "esx-02"; o.InitialPowerState = "On"; });
        await using var rotated = await Bmcs.StartAsync(o => o.Name = "esx-03");
        rotated.Bmc.Password = "rotated-by-someone";

        await using var actuator = await InProcessHost.StartAsync(IloActuatorHost.Build(
        [
            .. rabbit.HostArgs,
            "--Urls=http://127.0.0.1:0",
            "--Bmc:RequestTimeout=00:00:05", // generous: a check that times out on a busy machine is retried one interval later
            "--Bmc:RetryAttempts=0",
            "--Preflight:Interval=00:00:01",
            .. HostArgs(0, $"{target}-good", good),
            .. HostArgs(1, $"{target}-basic", basic, "Basic"),
            .. HostArgs(2, $"{target}-rotated", rotated),
            $"--Bmc:Hosts:3:Name={target}-wol",
            "--Bmc:Hosts:3:WakeOnLan:Mac=52:54:00:12:34:04",
        ]));

        // A reachable BMC with the right password is reported ok (a check that timed out on a busy machine says so, and the
        // next one, an interval later, is awaited; one that never succeeds fails the wait, listing what was reported).
        var ok = await WaitAsync(r => r.Target == $"{target}-good" && r.Ok);
        var viaBasic = await WaitAsync(r => r.Target == $"{target}-basic" && r.Ok);
        var failed = await WaitAsync(r => r.Target == $"{target}-rotated");

        Assert.Equal(("ilo-actuator", BmcPreflight.Kind, true), (ok.Service, ok.Kind, ok.Ok));
        Assert.Contains("PowerState Off", ok.Reason, StringComparison.Ordinal);
        Assert.True(viaBasic.Ok, viaBasic.Reason);
        Assert.Contains("PowerState On", viaBasic.Reason, StringComparison.Ordinal);
        Assert.False(failed.Ok);
        Assert.Contains("rejected the credentials", failed.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(Bmcs.Password, failed.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("rotated-by-someone", failed.Reason, StringComparison.Ordinal);

        // The password is put back: the next run, one interval later, says so.
        rotated.Bmc.Password = Bmcs.Password;
        var recovered = await WaitAsync(r => r.Target == $"{target}-rotated" && r.Ok);
        Assert.True(recovered.CheckedAt - failed.CheckedAt < TimeSpan.FromSeconds(15), $"recovered {recovered.CheckedAt - failed.CheckedAt} later");

        // Nothing written: no reset, no power change, every session deleted again; only logins and reads.
        await WaitAsync(r => r.Target == $"{target}-good" && r.CheckedAt > ok.CheckedAt);
        Assert.Empty(good.Bmc.ResetRequests);
        Assert.Equal(("Off", "On"), (good.Bmc.PowerState, basic.Bmc.PowerState));
        await Hosts.UntilAsync(() => Task.FromResult(good.Bmc.ActiveSessions == 0), "the good BMC's sessions deleted");
        Assert.True(good.Bmc.SessionsCreated >= 2, $"{good.Bmc.SessionsCreated} sessions");
        Assert.Equal(0, basic.Bmc.SessionsCreated);
        Assert.All(good.Bmc.Requests, r => Assert.True(r.Method is "GET" or "DELETE" || (r.Method == "POST" && r.Path.Contains("Sessions", StringComparison.Ordinal)),
            $"{r.Method} {r.Path} is not a read"));
        // A Wake-on-LAN-only host has nothing to log in to: it is reported as such, never as a BMC.
        var wol = await WaitAsync(r => r.Target == $"{target}-wol");
        Assert.Equal((BmcPreflight.WakeOnLanKind, true), (wol.Kind, wol.Ok));
        Assert.DoesNotContain(_results, r => r.Target == $"{target}-wol" && r.Kind == BmcPreflight.Kind);
    }

    [Fact]
    public async Task A_BMC_in_the_middle_of_a_power_on_is_skipped_not_reported_as_failing()
    {
        var target = $"esx-{Guid.NewGuid():N}"[..12];
        await using var booting = await Bmcs.StartAsync(o => { o.Name = "esx-01"; o.BootDelay = TimeSpan.FromSeconds(15); });

        // A preflight that waited for the power-on's lock would overrun its 3 s and report a false failure (the boot takes
        // 15 s); 3 s is long enough for a check's own login, read and logout on a busy machine.
        await using var actuator = await InProcessHost.StartAsync(IloActuatorHost.Build(
        [
            .. rabbit.HostArgs,
            "--Urls=http://127.0.0.1:0",
            "--Bmc:PowerOnTimeout=00:01:00",
            "--Bmc:PollInterval=00:00:00.100",
            "--Preflight:Interval=00:00:00.200",
            "--Preflight:Timeout=00:00:03",
            .. HostArgs(0, target, booting),
        ]));
        var before = await WaitAsync(r => r.Target == target);
        Assert.True(before.Ok, before.Reason);

        await _bus.Publish(new PowerOnRequested(Guid.NewGuid(), "cluster1", target));
        await Hosts.UntilAsync(() => Task.FromResult(booting.Bmc.ResetRequests.Count > 0), "the power-on sent");
        await Hosts.UntilAsync(() => Task.FromResult(booting.Bmc.PowerState == "On"), "the host on");
        var after = await WaitAsync(r => r.Target == target && r.Reason.Contains("PowerState On", StringComparison.Ordinal));

        Assert.True(after.Ok, after.Reason);
        Assert.DoesNotContain(_results, r => r.Target == target && !r.Ok);
    }

    static class Hosts
    {
        public static async Task UntilAsync(Func<Task<bool>> condition, string what)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!await condition())
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"not within 30 s: {what}");
                await Task.Delay(20);
            }
        }
    }
}
