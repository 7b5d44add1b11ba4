using System.Net.Http.Json;
using Microsoft.Extensions.Logging.Abstractions;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>
/// Several platforms (issue 12 point 2): clusters on two vCenters (two pe-vcsim processes on two ports) and a "cluster" of
/// standalone ESXi hosts reached through their own APIs, each command routed by its cluster's name.
/// </summary>
public sealed class PlatformTests
{
    const string EsxiUser = "root";
    const string EsxiPassword = "esxpass";
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    static VCenterSteps Steps(VCenterOptions options, Platforms platforms, EsxiHosts esxi) =>
        new(platforms, Microsoft.Extensions.Options.Options.Create(options), new OutcomeMemory(), NullLogger<VCenterSteps>.Instance, esxi, TimeProvider.System);

    static EsxiHosts Esxi(VCenterOptions options) => new(Microsoft.Extensions.Options.Options.Create(options), NullLoggerFactory.Instance);

    static async Task<IReadOnlyList<VcsimState.Entry>> JournalAsync(VcsimProcess vcsim) => (await VcsimState.ReadAsync(vcsim)).Journal;

    [Fact]
    public async Task Each_clusters_commands_reach_the_vcenter_it_lives_on_and_the_other_vcenter_sees_nothing()
    {
        await using var a = await VcsimProcess.StartAsync(["-hosts", "2", "-vms", "2", "-control", "127.0.0.1:0"]);
        await using var b = await VcsimProcess.StartAsync(["-clusters", "2", "-hosts", "2", "-vms", "2", "-domain", "b.test", "-control", "127.0.0.1:0"]);
        var options = Vcenter.Options(a, o =>
        {
            o.VCenters["site-b"] = new VCenterPlatformOptions { Url = b.Url, Username = VcsimProcess.Username, Password = VcsimProcess.Password, CertificateFingerprint = b.Fingerprint };
            o.Clusters["cluster2"] = new ClusterPlatformOptions { VCenter = "site-b" };
        });
        Assert.Empty(KeyedOptionsValidator<VCenterOptions>.Validate(options, VCenterOptions.Section));
        await using var connection = Vcenter.Connection(options);
        await using var esxi = Esxi(options);
        await using var platforms = new Platforms(options, Vcenter.Client(connection, options), esxi, TimeProvider.System, NullLoggerFactory.Instance);
        var steps = Steps(options, platforms, esxi);
        var run = Guid.NewGuid();

        var one = (await steps.CaptureInventoryAsync(new ClusterInventoryRequested(run, "cluster1"), CancellationToken.None)).Captured!;
        var two = (await steps.CaptureInventoryAsync(new ClusterInventoryRequested(run, "cluster2"), CancellationToken.None)).Captured!;

        Assert.All(one.Hosts, h => Assert.EndsWith(".pe.test", h.Name, StringComparison.Ordinal));
        Assert.Equal(["esx-03.b.test", "esx-04.b.test"], two.Hosts.Select(h => h.Name).Order());
        Assert.Equal("site-b", platforms.PlatformOf("cluster2"));
        Assert.Equal(a.Url.Host, platforms.PlatformOf("cluster1"));

        var vm = two.Vms.First(v => v.Host == "esx-03.b.test");
        var aBefore = (await JournalAsync(a)).Count;
        var shut = await steps.ShutDownVmAsync(new VmShutdownRequested(run, "cluster2", vm.Id, vm.Name, null), CancellationToken.None);
        foreach (var v in two.Vms.Where(v => v.Host == "esx-03.b.test" && v.Id != vm.Id))
            await steps.ShutDownVmAsync(new VmShutdownRequested(run, "cluster2", v.Id, v.Name, null), CancellationToken.None);
        var maintenance = await steps.EnterMaintenanceAsync(new HostMaintenanceRequested(run, "cluster2", "esx-03.b.test"), CancellationToken.None);
        var off = await steps.ShutDownHostAsync(new HostShutdownRequested(run, "cluster2", "esx-03.b.test"), CancellationToken.None);

        Assert.Equal(VmShutdownOutcome.Graceful, shut.Outcome);
        Assert.Equal((StepOutcome.Done, null, StepOutcome.Done, null), (maintenance.Outcome, maintenance.Fault, off.Outcome, off.Fault));
        var journalB = await JournalAsync(b);
        Assert.Contains(journalB, e => e.Kind == "vm" && e.Name == vm.Name && e.Event == "shutdownGuest");
        Assert.Contains(journalB, e => e.Kind == "host" && e.Name == "esx-03.b.test" && e.Event == "powerState" && e.To == "poweredOff");
        Assert.Equal(aBefore, (await JournalAsync(a)).Count);
        Assert.All((await VcsimState.ReadAsync(a)).Hosts, h => Assert.Equal("poweredOn", h.PowerState));

        // cluster1 still lives on the default vCenter: B has one too, and it is left alone.
        var oneVm = one.Vms[0];
        var bBefore = (await JournalAsync(b)).Count;
        Assert.Equal(VmShutdownOutcome.Graceful, (await steps.ShutDownVmAsync(new VmShutdownRequested(run, "cluster1", oneVm.Id, oneVm.Name, null), CancellationToken.None)).Outcome);
        Assert.Contains(await JournalAsync(a), e => e.Kind == "vm" && e.Name == oneVm.Name && e.Event == "shutdownGuest");
        Assert.Equal(bBefore, (await JournalAsync(b)).Count);
    }

    [Fact]
    public async Task A_cluster_of_standalone_esxi_hosts_is_shut_down_and_restored_through_each_hosts_own_api()
    {
        await using var vcsim = await VcsimProcess.StartAsync(["-clusters", "0", "-standalone-hosts", "2", "-vms", "2", "-esxi-base-port", "-1",
            "-control", "127.0.0.1:0", "-journal-calls", "-guest-shutdown-min", "100ms", "-guest-shutdown-max", "300ms", "-no-tools", "^vm-02-002$"]);
        var state = await VcsimState.ReadAsync(vcsim);
        var names = state.Hosts.Select(h => h.Name).Order().ToList();
        Assert.Equal(2, names.Count);
        // No vCenter at all: only the standalone cluster and its hosts.
        var options = Vcenter.Options(vcsim, o =>
        {
            o.Url = null;
            o.Username = o.Password = o.CertificateFingerprint = "";
            o.Clusters["lab"] = new ClusterPlatformOptions { Hosts = names };
            foreach (var host in state.Hosts)
                o.Hosts[host.Name] = new EsxiHostOptions { Url = new Uri(host.EsxiUrl!), Username = EsxiUser, Password = EsxiPassword, CertificateFingerprint = vcsim.Fingerprint };
        });
        Assert.Empty(KeyedOptionsValidator<VCenterOptions>.Validate(options, VCenterOptions.Section));
        await using var esxi = Esxi(options);
        await using var platforms = new Platforms(options, null, esxi, TimeProvider.System, NullLoggerFactory.Instance);
        var steps = Steps(options, platforms, esxi);
        var run = Guid.NewGuid();

        var inventory = (await steps.CaptureInventoryAsync(new ClusterInventoryRequested(run, "lab"), CancellationToken.None)).Captured!;

        Assert.Equal(names, inventory.Hosts.Select(h => h.Name).Order());
        Assert.All(inventory.Hosts, h => Assert.Equal(("connected", "poweredOn"), (h.ConnectionState, h.PowerState)));
        Assert.Equal(state.Vms.Select(v => v.Name).Order(), inventory.Vms.Select(v => v.Name).Order());
        Assert.All(inventory.Vms, v => Assert.StartsWith(v.Host + "/", v.Id, StringComparison.Ordinal));
        Assert.False(inventory.Vms.Single(v => v.Name == "vm-02-002").ToolsRunning);
        Assert.Null(inventory.Settings);
        Assert.Null(inventory.VCenterVm);

        var shutdowns = await Task.WhenAll(inventory.Vms.Select(v => steps.ShutDownVmAsync(new VmShutdownRequested(run, "lab", v.Id, v.Name, null), CancellationToken.None)));
        Assert.Equal(VmShutdownOutcome.Forced, shutdowns.Single(s => s.VmName == "vm-02-002").Outcome);
        Assert.All(shutdowns.Where(s => s.VmName != "vm-02-002"), s => Assert.Equal(VmShutdownOutcome.Graceful, s.Outcome));
        foreach (var host in names)
            Assert.Equal(StepOutcome.Done, (await steps.EnterMaintenanceAsync(new HostMaintenanceRequested(run, "lab", host), CancellationToken.None)).Outcome);
        var offs = await Task.WhenAll(names.Select(h => steps.ShutDownHostAsync(new HostShutdownRequested(run, "lab", h), CancellationToken.None)));

        Assert.All(offs, o => Assert.Equal((StepOutcome.Done, null), (o.Outcome, o.Fault)));
        state = await VcsimState.ReadAsync(vcsim);
        Assert.All(state.Hosts, h => Assert.Equal("poweredOff", h.PowerState));
        Assert.All(state.Vms, v => Assert.Equal("poweredOff", v.PowerState));
        // Every call went to the hosts' own APIs: vCenter's endpoint was never asked anything.
        Assert.DoesNotContain(state.Journal, e => e.Kind == "call" && e.Name == "vcenter");
        Assert.All(names, h => Assert.Contains(state.Journal, e => e.Kind == "call" && e.Name == h && e.Event == "ShutdownHost_Task"));

        // The BMCs power the hosts on (the control endpoint stands in); the steps find them once their APIs answer.
        foreach (var host in names)
            (await Http.PostAsync(new Uri(vcsim.ControlUrl!, $"/hosts/{host}/power-on"), null)).EnsureSuccessStatusCode();
        run = Guid.NewGuid();
        foreach (var host in names)
            Assert.Equal(StepOutcome.Done, (await steps.ExitMaintenanceAsync(new HostExitMaintenanceRequested(run, "lab", host), CancellationToken.None)).Outcome);
        var ons = await Task.WhenAll(inventory.Vms.Select(v => steps.PowerOnVmAsync(new VmPowerOnRequested(run, "lab", v.Id, v.Name), CancellationToken.None)));

        Assert.All(ons, o => Assert.Equal((StepOutcome.Done, null), (o.Outcome, o.Fault)));
        state = await VcsimState.ReadAsync(vcsim);
        Assert.All(state.Hosts, h => Assert.Equal(("poweredOn", false), (h.PowerState, h.InMaintenance)));
        Assert.All(state.Vms, v => Assert.Equal("poweredOn", v.PowerState));
        Assert.DoesNotContain(state.Journal, e => e.Kind == "call" && e.Name == "vcenter");
    }

    [Fact]
    public async Task A_standalone_vm_whose_guest_our_account_shut_down_before_a_restart_is_reported_Graceful()
    {
        await using var vcsim = await VcsimProcess.StartAsync(["-clusters", "0", "-standalone-hosts", "1", "-vms", "1", "-esxi-base-port", "-1",
            "-control", "127.0.0.1:0", "-guest-shutdown-min", "100ms", "-guest-shutdown-max", "200ms"]);
        var host = (await VcsimState.ReadAsync(vcsim)).Hosts.Single();
        var options = Vcenter.Options(vcsim, o =>
        {
            o.Url = null;
            o.Clusters["lab"] = new ClusterPlatformOptions { Hosts = [host.Name] };
            o.Hosts[host.Name] = new EsxiHostOptions { Url = new Uri(host.EsxiUrl!), Username = EsxiUser, Password = EsxiPassword, CertificateFingerprint = vcsim.Fingerprint };
        });
        await using var esxi = Esxi(options);
        await using var platforms = new Platforms(options, null, esxi, TimeProvider.System, NullLoggerFactory.Instance);
        var sentAt = DateTime.UtcNow.AddSeconds(-1);
        // Before the restart: the step asked the guest through the host's own API, as the host's own user.
        var vm = (await esxi.Client(host.Name).ListVmsAsync(CancellationToken.None)).Single();
        await esxi.Client(host.Name).ShutdownGuestAsync(vm.Id, CancellationToken.None);
        await Vcenter.Eventually(async () => (await VcsimState.ReadAsync(vcsim)).Vms.Single().PowerState == "poweredOff", TimeSpan.FromSeconds(30), "the guest is off");

        var outcome = await Steps(options, platforms, esxi).ShutDownVmAsync(
            new VmShutdownRequested(Guid.NewGuid(), "lab", $"{host.Name}/{vm.Id}", vm.Name, null), CancellationToken.None, sentAt);

        Assert.Equal((VmShutdownOutcome.Graceful, null), (outcome.Outcome, outcome.Fault));
        Assert.Single((await VcsimState.ReadAsync(vcsim)).Journal, e => e.Event == "shutdownGuest");
    }

    [Fact]
    public async Task A_cluster_no_platform_has_fails_its_step_naming_the_configuration()
    {
        await using var vcsim = await VcsimProcess.StartAsync(["-clusters", "0", "-standalone-hosts", "1", "-vms", "1", "-esxi-base-port", "-1", "-control", "127.0.0.1:0"]);
        var host = (await VcsimState.ReadAsync(vcsim)).Hosts.Single();
        var options = Vcenter.Options(vcsim, o =>
        {
            o.Url = null;
            o.Clusters["lab"] = new ClusterPlatformOptions { Hosts = [host.Name] };
            o.Hosts[host.Name] = new EsxiHostOptions { Url = new Uri(host.EsxiUrl!), Username = EsxiUser, Password = EsxiPassword, CertificateFingerprint = vcsim.Fingerprint };
        });
        await using var esxi = Esxi(options);
        await using var platforms = new Platforms(options, null, esxi, TimeProvider.System, NullLoggerFactory.Instance);
        var steps = Steps(options, platforms, esxi);

        var shut = await steps.ShutDownVmAsync(new VmShutdownRequested(Guid.NewGuid(), "elsewhere", "vm-1", "vm", null), CancellationToken.None);
        var inventory = await steps.CaptureInventoryAsync(new ClusterInventoryRequested(Guid.NewGuid(), "elsewhere"), CancellationToken.None);
        var hostOff = await steps.ShutDownHostAsync(new HostShutdownRequested(Guid.NewGuid(), "elsewhere", host.Name), CancellationToken.None);

        Assert.Equal(VmShutdownOutcome.Failed, shut.Outcome);
        Assert.Contains("VCenter:Clusters:elsewhere", shut.Fault!.Message, StringComparison.Ordinal);
        Assert.Contains("VCenter:Clusters:elsewhere", inventory.Failed!.Fault.Message, StringComparison.Ordinal);
        Assert.Equal(StepOutcome.Failed, hostOff.Outcome);
        Assert.Equal("poweredOn", (await VcsimState.ReadAsync(vcsim)).Hosts.Single().PowerState);
    }

    [Fact]
    public void Invalid_platform_configuration_names_the_key()
    {
        static IReadOnlyList<string> Problems(Action<VCenterOptions> configure)
        {
            var options = new VCenterOptions();
            configure(options);
            return KeyedOptionsValidator<VCenterOptions>.Validate(options, VCenterOptions.Section);
        }

        Assert.Contains(Problems(_ => { }), p => p.StartsWith("VCenter:Url:", StringComparison.Ordinal));
        Assert.Contains(Problems(o => o.Url = new Uri("https://vc/sdk")), p => p.StartsWith("VCenter:Password:", StringComparison.Ordinal));
        Assert.Contains(Problems(o => o.Clusters["c1"] = new ClusterPlatformOptions { VCenter = "nowhere" }),
            p => p.StartsWith("VCenter:Clusters:c1:VCenter: names no configured vCenter", StringComparison.Ordinal));
        Assert.Contains(Problems(o => o.Clusters["c1"] = new ClusterPlatformOptions()), p => p.StartsWith("VCenter:Clusters:c1:", StringComparison.Ordinal));
        Assert.Contains(Problems(o => o.Clusters["lab"] = new ClusterPlatformOptions { Hosts = ["esx-9"] }),
            p => p.StartsWith("VCenter:Clusters:lab:Hosts:0: host 'esx-9' needs Hosts:esx-9:Username and Password", StringComparison.Ordinal));
        Assert.Contains(Problems(o => o.VCenters["b"] = new VCenterPlatformOptions { Url = new Uri("http://b/sdk"), Username = "u", Password = "p" }),
            p => p.StartsWith("VCenter:VCenters:b:Url:", StringComparison.Ordinal));
        Assert.Contains(Problems(o => o.VCenters["b"] = new VCenterPlatformOptions { Url = new Uri("https://b/sdk"), Username = "u" }),
            p => p.StartsWith("VCenter:VCenters:b:Password:", StringComparison.Ordinal));
        Assert.Contains(Problems(o => o.VCenters["b"] = new VCenterPlatformOptions { Url = new Uri("https://b/sdk"), Username = "u", Password = "p", CertificateFingerprint = "zz" }),
            p => p.StartsWith("VCenter:VCenters:b:CertificateFingerprint:", StringComparison.Ordinal));
        // The single-vCenter configuration as it always was.
        Assert.Empty(Problems(o => { o.Url = new Uri("https://vc/sdk"); o.Username = "u"; o.Password = "p"; }));
    }

    [Fact]
    public async Task The_service_does_not_start_on_a_cluster_that_names_an_unknown_vcenter_and_says_which_key()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var app = VCenterActuatorHost.Build(["--Urls=http://127.0.0.1:0", "--RabbitMq:Host=127.0.0.1", "--RabbitMq:Username=nobody",
                "--RabbitMq:Password=x", "--VCenter:Url=https://127.0.0.1:1/sdk", "--VCenter:Username=u", "--VCenter:Password=p",
                "--VCenter:Clusters:prod:VCenter=site-x"]);
            await app.StartAsync();
        });
        Assert.Contains("VCenter:Clusters:prod:VCenter", error.ToString(), StringComparison.Ordinal);
    }
}
