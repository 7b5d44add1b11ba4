using System.Net;
using System.Net.Sockets;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using PowerEvents.VCenterActuator.Vim;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>vCenter down or silent: steps retry with backoff, then report the fault; nothing throws past them.</summary>
public sealed class ResilienceTests
{
    [Fact]
    public async Task While_vcenter_is_down_a_step_retries_then_fails_Unreachable_and_works_once_it_is_back()
    {
        // vCenter runs as a VM of its own cluster: powering it off takes /sdk down (HTTP 503), as for real.
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "1", "-vms", "2", "-vcenter-vm", "vcsa", "-control", "127.0.0.1:0"]);
        var options = Vcenter.Options(vcsim, o => o.Retry = new VCenterRetryOptions { MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(50) });
        await using var connection = Vcenter.Connection(options);
        var client = Vcenter.Client(connection, options);
        var steps = Vcenter.Steps(client, options);
        var inventory = await client.GetClusterInventoryAsync("cluster1", CancellationToken.None);
        var vm = inventory.Vms.Single(v => v.Name == "vm-01-001");
        // Following that task already meets the 503: vCenter went down with its VM.
        var gone = await Assert.ThrowsAsync<VCenterException>(() =>
            client.PowerOffVmAsync(inventory.Vms.Single(v => v.IsVCenter).Id, TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.Equal(VCenterException.Unreachable, gone.FaultName);
        var down = await steps.PowerOnVmAsync(new VmPowerOnRequested(Guid.NewGuid(), "cluster1", vm.Id, vm.Name), CancellationToken.None);

        Assert.Equal((StepOutcome.Failed, VCenterException.Unreachable), (down.Outcome, down.Fault?.Name));
        Assert.Contains("503", down.Fault!.Message, StringComparison.Ordinal);
        Assert.Equal(0, connection.Calls("PowerOnVM_Task")); // it never got as far as acting

        using (var http = new HttpClient())
            (await http.PostAsync(new Uri(vcsim.ControlUrl!, "/vms/vcsa/power-on"), null)).EnsureSuccessStatusCode();
        var back = await steps.ShutDownVmAsync(new VmShutdownRequested(Guid.NewGuid(), "cluster1", vm.Id, vm.Name, null), CancellationToken.None);

        Assert.Equal(VmShutdownOutcome.Graceful, back.Outcome);
    }

    [Fact]
    public async Task A_vcenter_that_goes_away_while_a_guest_shuts_down_is_reported_as_having_accepted_the_shutdown()
    {
        // As when the VM is vCenter itself: its services stop while its guest shuts down, and nothing reports it off.
        var vcsim = await VcsimProcess.StartAsync(["-hosts", "1", "-vms", "1", "-control", "127.0.0.1:0", "-stuck", "."]);
        try
        {
            var options = Vcenter.Options(vcsim);
            await using var connection = Vcenter.Connection(options);
            var client = Vcenter.Client(connection, options);
            var vm = (await client.GetClusterInventoryAsync("cluster1", CancellationToken.None)).Vms.Single();

            var step = Vcenter.Steps(client, options).ShutDownVmAsync(
                new VmShutdownRequested(Guid.NewGuid(), "cluster1", vm.Id, vm.Name, TimeSpan.FromMinutes(5)), CancellationToken.None);
            await Vcenter.Eventually(async () => (await VcsimState.JournalAsync(vcsim, vm.Name, "shutdownGuest")).Count == 1,
                TimeSpan.FromSeconds(20), "the guest asked to shut down");
            await vcsim.DisposeAsync();
            var outcome = await step.WaitAsync(TimeSpan.FromSeconds(60));

            Assert.Equal((VmShutdownOutcome.Failed, VCenterException.Unreachable), (outcome.Outcome, outcome.Fault?.Name));
            Assert.StartsWith("ShutdownGuest was accepted", outcome.Fault!.Message, StringComparison.Ordinal);
        }
        finally
        {
            await vcsim.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_vcenter_that_accepts_connections_but_never_answers_is_retried_then_reported()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start(); // accepts (the kernel completes the handshake) but never speaks TLS
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "1", "-vms", "1"]);
        var options = Vcenter.Options(vcsim, o =>
        {
            o.Url = new Uri($"https://127.0.0.1:{port}/sdk");
            o.RequestTimeout = TimeSpan.FromMilliseconds(300);
        });
        await using var connection = Vcenter.Connection(options);
        var steps = Vcenter.Steps(Vcenter.Client(connection, options), options);

        var outcome = await steps.EnterMaintenanceAsync(new HostMaintenanceRequested(Guid.NewGuid(), "cluster1", "esx-01.pe.test"), CancellationToken.None);

        Assert.Equal((StepOutcome.Failed, VCenterException.Timeout), (outcome.Outcome, outcome.Fault?.Name));
        Assert.Equal(1 + options.Retry.MaxAttempts, connection.RoundTrips);
    }
}
