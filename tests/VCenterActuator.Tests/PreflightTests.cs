using System.Collections.Concurrent;
using System.Net.Http.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>
/// The actuator's preflight (issue 16 point 1) on the real RabbitMQ: the typical small cluster's vCenter and its hosts' own
/// APIs (one host with a changed password, one in lockdown mode) plus a standalone host, read without a single write.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class PreflightTests : IAsyncLifetime
{
    // A virtual host of this test's own: an actuator host of an earlier test that did not let go of the broker (seen once in CI:
    // its connection stayed open after the host was stopped) would otherwise consume this test's commands.
    readonly RabbitMqFixture rabbit = new();

    public Task InitializeAsync() => rabbit.InitializeAsync();

    public Task DisposeAsync() => rabbit.DisposeAsync();

    static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>What a read-only account may call: sessions, property reads, views, settings and event reads.</summary>
    static readonly HashSet<string> ReadOnlyMethods =
    [
        "RetrieveServiceContent", "Login", "Logout", "RetrievePropertiesEx", "ContinueRetrievePropertiesEx", "CancelRetrievePropertiesEx",
        "RetrieveProperties", "CreateContainerView", "DestroyView", "QueryOptions", "WaitForUpdatesEx", "CreateFilter", "DestroyPropertyFilter",
        "QueryEvents", "QuerySyncingVsanObjectsSummary", "CurrentTime",
        // The start-up warm-up watches one host through the session's own property collector and list view (ActuatorWarmup):
        // session objects a read-only account may create, no change to the inventory.
        "CreatePropertyCollector", "CreateListView", "ModifyListView",
    ];

    [Fact]
    public async Task Every_platform_and_host_is_checked_read_only_lockdown_and_a_wrong_password_are_told_apart_and_clusters_are_observed()
    {
        await using var vcenter = await VcsimProcess.StartAsync(["-topology", "typical-small", "-esxi-base-port", "-1", "-control", "127.0.0.1:0",
            "-journal-calls", "-lockdown", "^esx-03", "-no-tools", "^vm-01-002$"]);
        await using var standalone = await VcsimProcess.StartAsync(["-clusters", "0", "-standalone-hosts", "1", "-vms", "2", "-domain", "lab.test",
            "-esxi-base-port", "-1", "-control", "127.0.0.1:0", "-journal-calls"]);
        var hosts = (await VcsimState.ReadAsync(vcenter)).Hosts;
        var labHost = (await VcsimState.ReadAsync(standalone)).Hosts.Single();
        (await Http.PostAsJsonAsync(new Uri(vcenter.ControlUrl!, "/hosts/esx-02.pe.test/credentials"), new { username = "root", password = "rotated" })).EnsureSuccessStatusCode();
        var vcenterFrom = (await VcsimState.ReadAsync(vcenter)).Journal.Count;
        var standaloneFrom = (await VcsimState.ReadAsync(standalone)).Journal.Count;

        var results = new ConcurrentQueue<PreflightCheckCompleted>();
        var observed = new ConcurrentQueue<ClusterObserved>();
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h => { h.Username(RabbitMqFixture.Username); h.Password(RabbitMqFixture.Password); });
            cfg.ReceiveEndpoint($"vcenter-preflight-tests-{Guid.NewGuid():N}", e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                e.Handler<PreflightCheckCompleted>(c => { results.Enqueue(c.Message); return Task.CompletedTask; });
                e.Handler<ClusterObserved>(c => { observed.Enqueue(c.Message); return Task.CompletedTask; });
            });
        });
        await bus.StartAsync();
        WebApplication? actuator = null;
        try
        {
            actuator = VCenterActuatorHost.Build([
                .. rabbit.HostArgs, "--Urls=http://127.0.0.1:0", "--Preflight:Interval=01:00:00",
                // The single-vCenter keys as they always were (no cluster named: every cluster of it is observed) …
                $"--VCenter:Url={vcenter.Url}", $"--VCenter:Username={VcsimProcess.Username}", $"--VCenter:Password={VcsimProcess.Password}",
                $"--VCenter:CertificateFingerprint={vcenter.Fingerprint}",
                // … and a standalone host beside it.
                $"--VCenter:Clusters:lab:Hosts:0={labHost.Name}",
                .. hosts.Append(labHost).SelectMany(h => HostArgs(h, h == labHost ? standalone : vcenter)),
            ]);
            await actuator.StartAsync();

            var vcenterCheck = await WaitAsync(results, r => r.Kind == "vcenter");
            var lab = await WaitAsync(results, r => r.Kind == "standalone" && r.Target == "lab");
            var esx = new Dictionary<string, PreflightCheckCompleted>();
            foreach (var host in hosts.Append(labHost))
                esx[host.Name] = await WaitAsync(results, r => r.Kind == "esxi" && r.Target == host.Name);
            var cluster1 = await WaitAsync(observed, o => o.Cluster == "cluster1");
            var labObserved = await WaitAsync(observed, o => o.Cluster == "lab");

            Assert.Equal(("vcenter-actuator", true, "127.0.0.1"), (vcenterCheck.Service, vcenterCheck.Ok, vcenterCheck.Target));
            Assert.Contains("cluster1 (3 hosts", vcenterCheck.Reason, StringComparison.Ordinal);
            Assert.True(lab.Ok, lab.Reason);
            // Which protected clusters each target serves (what keeps its failures quiet while PowerEvents has that cluster off).
            Assert.Equal(["lab"], lab.Clusters);
            Assert.Equal(["lab"], esx[labHost.Name].Clusters);
            var preflight = actuator.Services.GetServices<IPreflightCheck>().OfType<VSpherePreflight>().Single();
            Assert.Equal(["cluster1"], preflight.ClustersOfVCenter("127.0.0.1"));
            Assert.Equal(["cluster1"], preflight.ClustersOfHost("esx-02.pe.test"));
            Assert.Equal(["lab"], preflight.ClustersOfHost(labHost.Name));
            Assert.True(esx["esx-01.pe.test"].Ok, esx["esx-01.pe.test"].Reason);
            Assert.True(esx[labHost.Name].Ok, esx[labHost.Name].Reason);
            Assert.False(esx["esx-02.pe.test"].Ok);
            Assert.StartsWith("wrong user or password", esx["esx-02.pe.test"].Reason, StringComparison.Ordinal);
            Assert.False(esx["esx-03.pe.test"].Ok);
            Assert.StartsWith("lockdown mode (lockdownNormal)", esx["esx-03.pe.test"].Reason, StringComparison.Ordinal);
            Assert.DoesNotContain(results, r => r.Reason.Contains("esxpass", StringComparison.Ordinal) || r.Reason.Contains(VcsimProcess.Password, StringComparison.Ordinal));

            Assert.Equal(("127.0.0.1", "vcsa", "esx-02.pe.test"), (cluster1.Platform, cluster1.VCenterVm, cluster1.VCenterHost));
            Assert.Equal(3, cluster1.Vms.Count(v => v.IsVcls));
            Assert.False(cluster1.Vms.Single(v => v.Name == "vm-01-002").ToolsRunning);
            Assert.Equal("lockdownNormal", cluster1.Hosts.Single(h => h.Name == "esx-03.pe.test").LockdownMode);
            Assert.True(cluster1.Settings is { HasVcls: true, VsanEnabled: true, HaDrs.HaEnabled: true });
            Assert.Equal(("lab", null, null), (labObserved.Platform, labObserved.Settings, labObserved.VCenterVm));
            Assert.Equal([labHost.Name], labObserved.Hosts.Select(h => h.Name));
            Assert.Equal(2, labObserved.Vms.Count);

            // Stopped first: the service's own session (logged in at start by its warm-up) logs out when it stops.
            await actuator.StopAsync();
            await actuator.DisposeAsync();
            actuator = null;

            // Nothing was written: every call a read, nothing changed, and every session that logged in logged out.
            foreach (var (sim, from) in new[] { (vcenter, vcenterFrom), (standalone, standaloneFrom) })
            {
                var journal = (await VcsimState.ReadAsync(sim)).Journal.Skip(from).ToList();
                Assert.All(journal, e => Assert.True(e.Kind == "call" || (e.Kind, e.Event) == ("esxi", "login"), $"{e.Kind} {e.Name} {e.Event} {e.To}"));
                Assert.All(journal.Where(e => e.Kind == "call"), e => Assert.Contains(e.Event, ReadOnlyMethods));
                foreach (var endpoint in journal.Where(e => e.Kind == "call").Select(e => e.Name).Distinct())
                {
                    var calls = journal.Where(e => e.Kind == "call" && e.Name == endpoint).ToList();
                    var refused = journal.Count(e => e.Kind == "esxi" && e.Name == endpoint && e.To == "refused");
                    Assert.Equal((endpoint, calls.Count(c => c.Event == "Login") - refused), (endpoint, calls.Count(c => c.Event == "Logout")));
                }
            }
            Assert.Contains((await VcsimState.ReadAsync(standalone)).Journal, e => e.Kind == "call" && e.Name == labHost.Name && e.Event == "Logout");
        }
        finally
        {
            if (actuator is not null)
            {
                // Stopped, not only disposed: a host left running would go on consuming the next tests' commands.
                await actuator.StopAsync();
                await actuator.DisposeAsync();
            }
            await bus.StopAsync();
        }
    }

    [Fact]
    public async Task Each_vcenter_is_checked_in_its_own_session_and_observes_the_clusters_named_for_it()
    {
        await using var a = await VcsimProcess.StartAsync(["-hosts", "1", "-vms", "1", "-control", "127.0.0.1:0", "-journal-calls"]);
        await using var b = await VcsimProcess.StartAsync(["-clusters", "2", "-hosts", "1", "-vms", "1", "-domain", "b.test", "-control", "127.0.0.1:0", "-journal-calls"]);
        var results = new ConcurrentQueue<PreflightCheckCompleted>();
        var observed = new ConcurrentQueue<ClusterObserved>();
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h => { h.Username(RabbitMqFixture.Username); h.Password(RabbitMqFixture.Password); });
            cfg.ReceiveEndpoint($"vcenter-preflight-tests-{Guid.NewGuid():N}", e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                e.Handler<PreflightCheckCompleted>(c => { results.Enqueue(c.Message); return Task.CompletedTask; });
                e.Handler<ClusterObserved>(c => { observed.Enqueue(c.Message); return Task.CompletedTask; });
            });
        });
        await bus.StartAsync();
        WebApplication? actuator = null;
        try
        {
            actuator = VCenterActuatorHost.Build([
                .. rabbit.HostArgs, "--Urls=http://127.0.0.1:0", "--Preflight:Interval=01:00:00",
                $"--VCenter:Url={a.Url}", $"--VCenter:Username={VcsimProcess.Username}", $"--VCenter:Password={VcsimProcess.Password}",
                $"--VCenter:CertificateFingerprint={a.Fingerprint}", "--VCenter:Name=vc-a",
                $"--VCenter:VCenters:vc-b:Url={b.Url}", $"--VCenter:VCenters:vc-b:Username={VcsimProcess.Username}",
                $"--VCenter:VCenters:vc-b:Password={VcsimProcess.Password}", $"--VCenter:VCenters:vc-b:CertificateFingerprint={b.Fingerprint}",
                // The same simulator with a password it does not accept: a third vCenter whose check fails.
                $"--VCenter:VCenters:vc-c:Url={a.Url}", $"--VCenter:VCenters:vc-c:Username={VcsimProcess.Username}",
                "--VCenter:VCenters:vc-c:Password=rotated-elsewhere", $"--VCenter:VCenters:vc-c:CertificateFingerprint={a.Fingerprint}",
                "--VCenter:Clusters:cluster2:VCenter=vc-b", "--VCenter:Clusters:cluster7:VCenter=vc-b",
            ]);
            await actuator.StartAsync();

            var vcA = await WaitAsync(results, r => r.Kind == "vcenter" && r.Target == "vc-a");
            var vcB = await WaitAsync(results, r => r.Kind == "vcenter" && r.Target == "vc-b");
            var vcC = await WaitAsync(results, r => r.Kind == "vcenter" && r.Target == "vc-c");
            var onA = await WaitAsync(observed, o => o.Platform == "vc-a");
            var onB = await WaitAsync(observed, o => o.Platform == "vc-b");

            Assert.True(vcA.Ok, vcA.Reason);
            Assert.Equal("cluster1", onA.Cluster);
            Assert.Equal(["esx-01.pe.test"], onA.Hosts.Select(h => h.Name));
            Assert.False(vcB.Ok);
            Assert.Contains("cluster2 (1 hosts", vcB.Reason, StringComparison.Ordinal);
            Assert.Contains("no cluster named cluster7 (VCenter:Clusters)", vcB.Reason, StringComparison.Ordinal);
            Assert.Equal("cluster2", onB.Cluster);
            Assert.Equal(["esx-02.b.test"], onB.Hosts.Select(h => h.Name));
            Assert.DoesNotContain(observed, o => o.Platform == "vc-b" && o.Cluster == "cluster1");
            Assert.False(vcC.Ok);
            Assert.Contains("refused the configured user", vcC.Reason, StringComparison.Ordinal);
            Assert.DoesNotContain("rotated-elsewhere", vcC.Reason, StringComparison.Ordinal);
            foreach (var sim in new[] { a, b })
            {
                var calls = (await VcsimState.ReadAsync(sim)).Journal.Where(e => e.Kind == "call").ToList();
                Assert.All(calls, e => Assert.Contains(e.Event, ReadOnlyMethods));
                Assert.Contains(calls, e => e.Event == "Logout");
            }
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

    static IEnumerable<string> HostArgs(VcsimState.HostState host, VcsimProcess sim) =>
    [
        $"--VCenter:Hosts:{host.Name}:Url={host.EsxiUrl}",
        $"--VCenter:Hosts:{host.Name}:Username=root",
        $"--VCenter:Hosts:{host.Name}:Password=esxpass",
        $"--VCenter:Hosts:{host.Name}:CertificateFingerprint={sim.Fingerprint}",
    ];

    static async Task<T> WaitAsync<T>(ConcurrentQueue<T> queue, Func<T, bool> match)
    {
        T? found = default;
        await Vcenter.Eventually(() => Task.FromResult(queue.FirstOrDefault(match) is { } hit && (found = hit) is not null), Wait, $"a {typeof(T).Name}");
        return found!;
    }
}

/// <summary>The esxi check's words: the SOAP client is shared with vCenter, but the peer here is the host's own API.</summary>
public sealed class EsxiPreflightWordingTests
{
    [Fact]
    public void An_unreachable_host_is_not_called_vcenter() =>
        Assert.Equal("its own API at 127.0.0.1 did not answer RetrieveServiceContent: Connection refused (127.0.0.1:36451)",
            VSpherePreflight.AsEsxi("vCenter 127.0.0.1 did not answer RetrieveServiceContent: Connection refused (127.0.0.1:36451)"));

    [Fact]
    public void Other_faults_worded_for_vcenter_name_the_host() =>
        Assert.Equal("the host answered Login with HTTP 503 and no SOAP body", VSpherePreflight.AsEsxi("vCenter answered Login with HTTP 503 and no SOAP body"));
}
