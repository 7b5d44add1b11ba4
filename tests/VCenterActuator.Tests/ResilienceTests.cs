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
        // The step's own reads (the update stream retries on its own, with its own calls).
        var before = connection.Calls("RetrievePropertiesEx");

        var down = await steps.PowerOnVmAsync(new VmPowerOnRequested(Guid.NewGuid(), "cluster1", vm.Id, vm.Name), CancellationToken.None);

        Assert.Equal((StepOutcome.Failed, VCenterException.Unreachable), (down.Outcome, down.Fault?.Name));
        Assert.Contains("503", down.Fault!.Message, StringComparison.Ordinal);
        Assert.Equal(1 + options.Retry.MaxAttempts, connection.Calls("RetrievePropertiesEx") - before);

        using (var http = new HttpClient())
            (await http.PostAsync(new Uri(vcsim.ControlUrl!, "/vms/vcsa/power-on"), null)).EnsureSuccessStatusCode();
        var back = await steps.ShutDownVmAsync(new VmShutdownRequested(Guid.NewGuid(), "cluster1", vm.Id, vm.Name, null), CancellationToken.None);

        Assert.Equal(VmShutdownOutcome.Graceful, back.Outcome);
    }

    [Fact]
    public async Task Shutting_down_the_vcenter_vm_reports_that_the_guest_accepted_before_vcenter_went_away()
    {
        // The guest takes longer than the step's guest timeout: the step's hard power-off meets the API already gone,
        // as with a real vCenter, whose services stop before its VM reports anything.
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "1", "-vms", "1", "-vcenter-vm", "vcsa", "-guest-shutdown-min", "1s", "-guest-shutdown-max", "1s"]);
        var options = Vcenter.Options(vcsim);
        await using var connection = Vcenter.Connection(options);
        var client = Vcenter.Client(connection, options);
        var vcenter = (await client.GetClusterInventoryAsync("cluster1", CancellationToken.None)).Vms.Single(v => v.IsVCenter);

        var outcome = await Vcenter.Steps(client, options).ShutDownVmAsync(
            new VmShutdownRequested(Guid.NewGuid(), "cluster1", vcenter.Id, vcenter.Name, TimeSpan.FromMilliseconds(700)), CancellationToken.None);

        Assert.Equal((VmShutdownOutcome.Failed, VCenterException.Unreachable), (outcome.Outcome, outcome.Fault?.Name));
        Assert.StartsWith("ShutdownGuest was accepted", outcome.Fault!.Message, StringComparison.Ordinal);
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
