using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using PowerEvents.VCenterActuator.Vim;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>The actuator as its own process, configured through environment variables as docker-compose does.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class ActuatorProcessTests : IAsyncLifetime
{
    // A virtual host of this test's own: an actuator host of an earlier test that did not let go of the broker (seen once in CI:
    // its connection stayed open after the host was stopped) would otherwise consume this test's commands.
    readonly RabbitMqFixture rabbit = new();

    public Task InitializeAsync() => rabbit.InitializeAsync();

    public Task DisposeAsync() => rabbit.DisposeAsync();

    static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    Dictionary<string, string?> Environment(VcsimProcess? vcsim = null)
    {
        var environment = new Dictionary<string, string?>();
        foreach (var (key, value) in rabbit.Environment)
            environment[key] = value;
        environment["VCenter__Url"] = vcsim?.Url.ToString() ?? "https://vcenter.invalid/sdk";
        environment["VCenter__Username"] = VcsimProcess.Username;
        environment["VCenter__Password"] = VcsimProcess.Password;
        environment["VCenter__CertificateFingerprint"] = vcsim?.Fingerprint ?? "";
        return environment;
    }

    [Theory]
    [InlineData("VCenter__Url", null, "VCenter:Url")]
    [InlineData("VCenter__Url", "http://vcenter.example/sdk", "VCenter:Url")]
    [InlineData("VCenter__Password", null, "VCenter:Password")]
    [InlineData("VCenter__CertificateFingerprint", "AB:CD", "VCenter:CertificateFingerprint")]
    [InlineData("VCenter__PollInterval", "-00:00:01", "VCenter:PollInterval")]
    [InlineData("VCenter__MaxConcurrentCalls", "0", "VCenter:MaxConcurrentCalls")]
    public async Task An_invalid_vcenter_setting_stops_the_service_with_a_message_naming_the_key(string variable, string? value, string key)
    {
        var environment = Environment();
        environment[variable] = value;
        await using var process = ServiceProcess.Start("VCenterActuator", environment);

        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains(process.Output, line => line.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_password_from_a_secret_file_is_reported_as_InvalidLogin_and_never_logged()
    {
        const string wrong = "wrong-secret-from-file-7f3a";
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "1", "-vms", "1"]);
        var secretFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(secretFile, wrong + "\n");
        try
        {
            var environment = Environment(vcsim);
            environment["VCenter__Password_FILE"] = secretFile;
            environment["VCenter__Retry__BaseDelay"] = "00:00:00.050";
            await using var actuator = ServiceProcess.Start("VCenterActuator", environment);
            await actuator.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));

            var failed = new TaskCompletionSource<ClusterInventoryFailed>(TaskCreationOptions.RunContinuationsAsynchronously);
            var run = Guid.NewGuid();
            var bus = await StartBusAsync<ClusterInventoryFailed>(message =>
            {
                if (message.RunId == run)
                    failed.TrySetResult(message);
            });
            try
            {
                await bus.Publish(new ClusterInventoryRequested(run, "cluster1"));
                var outcome = await failed.Task.WaitAsync(TimeSpan.FromSeconds(30));

                Assert.Equal(VCenterException.InvalidLogin, outcome.Fault.Name);
                await actuator.TerminateAsync(TimeSpan.FromSeconds(30));
                Assert.Contains(actuator.Output, line => line.Contains("InvalidLogin", StringComparison.Ordinal));
                Assert.DoesNotContain(actuator.Output, line => line.Contains(wrong, StringComparison.Ordinal));
            }
            finally
            {
                await bus.StopAsync();
            }
        }
        finally
        {
            File.Delete(secretFile);
        }
    }

    [Fact]
    public async Task Killed_during_host_shutdown_and_restarted_the_actuator_follows_its_task_and_never_shuts_the_host_down_twice()
    {
        // The host goes down 8 s after ShutdownHost_Task succeeded: the restarted actuator finds it still up.
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "2", "-vms", "1", "-control", "127.0.0.1:0", "-host-shutdown-delay", "8s"]);
        const string host = "esx-01.pe.test";
        await PrepareForShutdownAsync(vcsim, host);
        var run = Guid.NewGuid();

        var outcome = await CrashDuringAsync<HostPoweredOff>(vcsim, new HostShutdownRequested(run, "cluster1", host), host, "shutdownHost",
            o => o.RunId == run && o.Host == host);

        Assert.Equal((StepOutcome.Done, null), (outcome.Message.Outcome, outcome.Message.Fault));
        Assert.Single(await VcsimState.JournalAsync(vcsim, host, "shutdownHost"));
        Assert.Equal("poweredOff", (await VcsimState.ReadAsync(vcsim)).Hosts.Single(h => h.Name == host).PowerState);
        Assert.Contains(outcome.Restarted.Output, line => line.Contains("was started before a restart", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Killed_during_a_guest_shutdown_and_restarted_the_actuator_asks_the_guest_once_and_reports_Graceful()
    {
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "1", "-vms", "2", "-control", "127.0.0.1:0",
            "-guest-shutdown-min", "8s", "-guest-shutdown-max", "8s"]);
        var vm = await VmAsync(vcsim, "vm-01-001");
        var run = Guid.NewGuid();

        var outcome = await CrashDuringAsync<VmShutDown>(vcsim, new VmShutdownRequested(run, "cluster1", vm.Id, vm.Name, TimeSpan.FromSeconds(60)),
            vm.Name, "shutdownGuest", o => o.RunId == run && o.VmId == vm.Id);

        Assert.Equal((VmShutdownOutcome.Graceful, null), (outcome.Message.Outcome, outcome.Message.Fault));
        Assert.Single(await VcsimState.JournalAsync(vcsim, vm.Name, "shutdownGuest"));
        Assert.Equal("guestShutdown", Assert.Single(await VcsimState.JournalAsync(vcsim, vm.Name, "powerState")).Cause);
    }

    [Fact]
    public async Task A_vm_whose_guest_finished_while_the_actuator_was_down_is_reported_Graceful_not_AlreadyOff()
    {
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "1", "-vms", "2", "-control", "127.0.0.1:0",
            "-guest-shutdown-min", "1s", "-guest-shutdown-max", "1s"]);
        var vm = await VmAsync(vcsim, "vm-01-002");
        var run = Guid.NewGuid();

        var outcome = await CrashDuringAsync<VmShutDown>(vcsim, new VmShutdownRequested(run, "cluster1", vm.Id, vm.Name, TimeSpan.FromSeconds(60)),
            vm.Name, "shutdownGuest", o => o.RunId == run && o.VmId == vm.Id,
            whileDown: () => Vcenter.Eventually(async () => (await VcsimState.JournalAsync(vcsim, vm.Name, "powerState")).Count == 1,
                Wait, "the guest powered off while the actuator was down"));

        Assert.Equal((VmShutdownOutcome.Graceful, null), (outcome.Message.Outcome, outcome.Message.Fault));
        Assert.Single(await VcsimState.JournalAsync(vcsim, vm.Name, "shutdownGuest"));
    }

    [Fact]
    public async Task Killed_while_a_host_enters_maintenance_and_restarted_the_actuator_follows_the_running_task()
    {
        // The host's VM still runs, so vCenter's EnterMaintenanceMode_Task waits for it (no DRS).
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "2", "-vms", "1", "-control", "127.0.0.1:0"]);
        const string host = "esx-01.pe.test";
        var vm = await VmAsync(vcsim, "vm-01-001");
        var run = Guid.NewGuid();

        var outcome = await CrashDuringAsync<HostEnteredMaintenance>(vcsim, new HostMaintenanceRequested(run, "cluster1", host), host, "maintenance",
            o => o.RunId == run && o.Host == host,
            afterRestart: async restarted =>
            {
                await restarted.WaitForOutputAsync(line => line.Contains("was started before a restart", StringComparison.Ordinal), Wait);
                var options = Vcenter.Options(vcsim);
                await using var connection = Vcenter.Connection(options);
                await Vcenter.Client(connection, options).PowerOffVmAsync(vm.Id, TimeSpan.FromSeconds(10), CancellationToken.None);
            });

        Assert.Equal((StepOutcome.Done, null), (outcome.Message.Outcome, outcome.Message.Fault));
        Assert.Equal(["entering", "entered"], (await VcsimState.JournalAsync(vcsim, host, "maintenance")).Select(e => e.To));
    }

    /// <summary>
    /// Sends <paramref name="command"/> to the actuator's queue, kills the actuator (SIGKILL) once vcsim's journal shows it
    /// acted on <paramref name="entity"/>, starts it again and returns the outcome the restarted one published for the
    /// redelivered command.
    /// </summary>
    async Task<(T Message, ServiceProcess Restarted)> CrashDuringAsync<T>(VcsimProcess vcsim, object command, string entity, string journalEvent,
        Func<T, bool> match, Func<Task>? whileDown = null, Func<ServiceProcess, Task>? afterRestart = null)
        where T : class
    {
        var outcomes = new System.Collections.Concurrent.ConcurrentQueue<T>();
        var bus = await StartBusAsync<T>(outcomes.Enqueue);
        try
        {
            var environment = Environment(vcsim);
            var first = ServiceProcess.Start("VCenterActuator", environment);
            try
            {
                await first.WaitUntilReadyAsync(Wait);
                // The actuator's own queue for this command (what the saga sends to).
                var queue = $"{VCenterActuatorHost.ServiceName}-{KebabCaseEndpointNameFormatter.Instance.SanitizeName(command.GetType().Name)}";
                await (await bus.GetSendEndpoint(new Uri($"queue:{queue}"))).Send(command, command.GetType());
                await Vcenter.Eventually(async () => (await VcsimState.JournalAsync(vcsim, entity, journalEvent)).Count > 0, Wait,
                    $"{journalEvent} of {entity} requested");
                Assert.False(first.HasExited);
                System.Diagnostics.Process.GetProcessById(first.ProcessId).Kill(); // SIGKILL: no outcome, no ack
                await first.WaitForExitAsync(Wait);
            }
            finally
            {
                await first.DisposeAsync();
            }
            Assert.DoesNotContain(outcomes, o => match(o));
            if (whileDown is not null)
                await whileDown();

            var restarted = ServiceProcess.Start("VCenterActuator", environment);
            await restarted.WaitUntilReadyAsync(Wait);
            if (afterRestart is not null)
                await afterRestart(restarted);
            await Vcenter.Eventually(() => Task.FromResult(outcomes.Any(match)), Wait, $"{typeof(T).Name} after the restart");
            await restarted.TerminateAsync(Wait);
            await restarted.DisposeAsync();
            return (outcomes.Single(match), restarted);
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    /// <summary>A bus of the test's own on the fixture's broker, handing every <typeparamref name="T"/> to <paramref name="received"/>.</summary>
    async Task<IBusControl> StartBusAsync<T>(Action<T> received)
        where T : class
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
            {
                h.Username(RabbitMqFixture.Username);
                h.Password(RabbitMqFixture.Password);
            });
            cfg.ReceiveEndpoint($"vcenter-actuator-process-tests-{Guid.NewGuid():N}", e =>
            {
                e.AutoDelete = true;
                e.Handler<T>(context =>
                {
                    received(context.Message);
                    return Task.CompletedTask;
                });
            });
        });
        await bus.StartAsync();
        return bus;
    }

    static async Task<VmInventory> VmAsync(VcsimProcess vcsim, string name)
    {
        var options = Vcenter.Options(vcsim);
        await using var connection = Vcenter.Connection(options);
        return (await Vcenter.Client(connection, options).GetClusterInventoryAsync("cluster1", CancellationToken.None)).Vms.Single(v => v.Name == name);
    }

    /// <summary>The host's VMs off and the host in maintenance mode, as the saga leaves it before a host shutdown.</summary>
    static async Task PrepareForShutdownAsync(VcsimProcess vcsim, string host)
    {
        var options = Vcenter.Options(vcsim);
        await using var connection = Vcenter.Connection(options);
        var client = Vcenter.Client(connection, options);
        var inventory = await client.GetClusterInventoryAsync("cluster1", CancellationToken.None);
        foreach (var vm in inventory.Vms.Where(v => v.Host == host))
            await client.PowerOffVmAsync(vm.Id, TimeSpan.FromSeconds(10), CancellationToken.None);
        await client.EnterMaintenanceModeAsync(inventory.Hosts.Single(h => h.Name == host).Id, TimeSpan.FromSeconds(10), CancellationToken.None);
    }
}
