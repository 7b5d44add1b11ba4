using PowerEvents.Testing;
using PowerEvents.VCenterActuator.Vim;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

public sealed class InventoryTests
{
    [Fact]
    public async Task The_inventory_gives_each_host_and_vm_with_their_states_host_and_folder()
    {
        await using var vcsim = await VcsimProcess.StartAsync(["-clusters", "2", "-hosts", "2", "-vms", "3", "-no-tools", "^vm-02-002$"]);
        var options = Vcenter.Options(vcsim);
        await using var connection = Vcenter.Connection(options);
        var client = Vcenter.Client(connection, options);
        var first = await client.GetClusterInventoryAsync("cluster1", CancellationToken.None);
        await client.PowerOffVmAsync(first.Vms.Single(v => v.Name == "vm-01-001").Id, TimeSpan.FromSeconds(10), CancellationToken.None);

        var inventory = await client.GetClusterInventoryAsync("cluster1", CancellationToken.None);

        Assert.All(inventory.Hosts, h =>
        {
            Assert.StartsWith("host-", h.Id, StringComparison.Ordinal);
            Assert.Equal(("connected", "poweredOn", false), (h.ConnectionState, h.PowerState, h.InMaintenanceMode));
        });
        Assert.Equal(["esx-01.pe.test", "esx-02.pe.test"], inventory.Hosts.Select(h => h.Name).Order());
        // Only this cluster's VMs: the second cluster's hosts esx-03/04 carry vm-03-*/vm-04-*.
        Assert.Equal(["vm-01-001", "vm-01-002", "vm-01-003", "vm-02-001", "vm-02-002", "vm-02-003"], inventory.Vms.Select(v => v.Name).Order());
        var off = inventory.Vms.Single(v => v.Name == "vm-01-001");
        Assert.Equal(("poweredOff", false, "esx-01.pe.test", "dc1/vm"), (off.PowerState, off.ToolsRunning, off.Host, off.Folder));
        var noTools = inventory.Vms.Single(v => v.Name == "vm-02-002");
        Assert.Equal(("poweredOn", false, "esx-02.pe.test"), (noTools.PowerState, noTools.ToolsRunning, noTools.Host));
        Assert.All(inventory.Vms.Where(v => v.Name is not ("vm-01-001" or "vm-02-002")), v =>
            Assert.Equal(("poweredOn", true), (v.PowerState, v.ToolsRunning)));
    }

    [Fact]
    public async Task The_vm_that_is_vcenter_itself_is_marked_as_such()
    {
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "2", "-vms", "2", "-vcenter-vm", "vcsa"]);
        var options = Vcenter.Options(vcsim);
        await using var connection = Vcenter.Connection(options);

        var inventory = await Vcenter.Client(connection, options).GetClusterInventoryAsync("cluster1", CancellationToken.None);

        var vcenter = Assert.Single(inventory.Vms, v => v.IsVCenter);
        Assert.Equal(("vcsa", "esx-01.pe.test"), (vcenter.Name, vcenter.Host));
        Assert.Equal(5, inventory.Vms.Count);
    }

    [Fact]
    public async Task A_cluster_can_be_named_with_its_datacenter()
    {
        await using var vcsim = await VcsimProcess.StartAsync(["-datacenters", "2", "-hosts", "1", "-vms", "1"]);
        var options = Vcenter.Options(vcsim);
        await using var connection = Vcenter.Connection(options);

        var inventory = await Vcenter.Client(connection, options).GetClusterInventoryAsync("dc2/cluster2", CancellationToken.None);

        Assert.Equal("esx-02.pe.test", Assert.Single(inventory.Hosts).Name);
    }

    [Fact]
    public async Task An_unknown_cluster_is_reported_as_NotFound()
    {
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "1", "-vms", "1"]);
        var options = Vcenter.Options(vcsim);
        await using var connection = Vcenter.Connection(options);

        var error = await Assert.ThrowsAsync<VCenterException>(() =>
            Vcenter.Client(connection, options).GetClusterInventoryAsync("no-such-cluster", CancellationToken.None));

        Assert.Equal(VCenterException.NotFound, error.FaultName);
        Assert.Contains("no-such-cluster", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A run asks all its hosts' steps at once, and each finds its host by name: on a client that has not read the
    /// cluster, the steps share one read of its hosts (one container view, not one per step); once the run's inventory
    /// was read, a step reads only its own host.
    /// </summary>
    [Fact]
    public async Task Hosts_found_by_name_together_share_one_read_of_the_cluster_and_none_after_the_inventory()
    {
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "8", "-vms", "1"]);
        var options = Vcenter.Options(vcsim);
        var names = Enumerable.Range(1, 8).Select(i => $"esx-{i:00}.pe.test").ToList();

        await using (var connection = Vcenter.Connection(options))
        {
            var client = Vcenter.Client(connection, options);
            var found = await Task.WhenAll(names.Select(n => client.FindHostAsync("cluster1", n, CancellationToken.None)));
            Assert.Equal(names, found.Select(h => h.Name));
            Assert.Equal(1, connection.Calls("CreateContainerView") - 1); // the other one: the topology view that finds the cluster
        }

        await using (var connection = Vcenter.Connection(options))
        {
            var client = Vcenter.Client(connection, options);
            await client.GetClusterInventoryAsync("cluster1", CancellationToken.None);
            var views = connection.Calls("CreateContainerView");
            var found = await Task.WhenAll(names.Select(n => client.FindHostAsync("cluster1", n, CancellationToken.None)));
            Assert.Equal(names, found.Select(h => h.Name));
            Assert.Equal(views, connection.Calls("CreateContainerView"));
        }
    }

    /// <summary>
    /// A correctness property, not a timing: the number of SOAP round trips for an inventory does not grow with
    /// the number of VMs (never one call per VM). Ten times the VMs, the same calls, as long as the objects fit in
    /// one page (the default 5,000; pe-vcsim pages like vCenter, see the paging tests below).
    /// </summary>
    [Fact]
    public async Task The_inventory_takes_the_same_few_round_trips_for_ten_times_the_vms()
    {
        var small = await CountRoundTripsAsync(hosts: 4, vmsPerHost: 5);
        var large = await CountRoundTripsAsync(hosts: 20, vmsPerHost: 40);

        Assert.Equal((4, 20), (small.Hosts, small.Vms));
        Assert.Equal((20, 800), (large.Hosts, large.Vms));
        Assert.Equal(small.RoundTrips, large.RoundTrips);
        Assert.Equal(OnePageRoundTrips, large.RoundTrips);
    }

    /// <summary>
    /// The client's <c>InventoryPageSize</c> goes to vCenter as <c>maxObjects</c>: 4 hosts + 200 VMs in pages of 100 are
    /// three pages, so the cluster view takes two <c>ContinueRetrievePropertiesEx</c> calls more, and nothing is lost.
    /// </summary>
    [Fact]
    public async Task The_inventory_follows_every_page_when_the_page_size_is_smaller_than_the_cluster()
    {
        var paged = await CountRoundTripsAsync(hosts: 4, vmsPerHost: 50, configure: o => o.InventoryPageSize = 100);

        Assert.Equal((4, 200, 200), (paged.Hosts, paged.Vms, paged.DistinctVms));
        Assert.Equal(OnePageRoundTrips + 2, paged.RoundTrips);
    }

    /// <summary>
    /// vCenter may return fewer objects than asked (it caps pages itself): with pe-vcsim's <c>-max-page 10</c> and the
    /// default page size of 5,000, 3 hosts + 27 VMs come in three pages (two <c>ContinueRetrievePropertiesEx</c>); the
    /// topology view (datacenter, its four folders, the cluster) still fits in one.
    /// </summary>
    [Fact]
    public async Task The_inventory_follows_every_page_when_vcenter_returns_fewer_objects_than_asked()
    {
        var paged = await CountRoundTripsAsync(hosts: 3, vmsPerHost: 9, extraArguments: ["-max-page", "10"]);

        Assert.Equal((3, 27, 27), (paged.Hosts, paged.Vms, paged.DistinctVms));
        Assert.Equal(OnePageRoundTrips + 2, paged.RoundTrips);
    }

    /// <summary>
    /// Once per session: service content, login, vCenter's own name (QueryOptions). Per inventory: create, retrieve,
    /// destroy for the topology view and for the cluster view; the cluster's settings (its configurationEx, and the vCLS
    /// advanced setting through QueryOptions); each further page is one more round trip.
    /// </summary>
    const long OnePageRoundTrips = 11;

    static async Task<(int Hosts, int Vms, int DistinctVms, long RoundTrips)> CountRoundTripsAsync(
        int hosts, int vmsPerHost, Action<VCenterOptions>? configure = null, string[]? extraArguments = null)
    {
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", $"{hosts}", "-vms", $"{vmsPerHost}", .. extraArguments ?? []]);
        var options = Vcenter.Options(vcsim, configure);
        await using var connection = Vcenter.Connection(options);
        var inventory = await Vcenter.Client(connection, options).GetClusterInventoryAsync("cluster1", CancellationToken.None);
        return (inventory.Hosts.Count, inventory.Vms.Count, inventory.Vms.Select(v => v.Name).Distinct().Count(), connection.RoundTrips);
    }
}
