using PowerEvents.Testing;
using PowerEvents.VCenterActuator.Vim;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>vcsim answers the SOAP calls the actuator is made of.</summary>
public sealed class VcsimSmokeTests
{
    [Fact]
    public async Task Vcsim_accepts_a_SOAP_login_and_lists_its_hosts_and_vms()
    {
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "3", "-vms", "4"]);
        var options = Vcenter.Options(vcsim);
        await using var connection = Vcenter.Connection(options);

        var content = await connection.ContentAsync(CancellationToken.None);
        var inventory = await Vcenter.Client(connection, options).GetClusterInventoryAsync("cluster1", CancellationToken.None);

        Assert.Contains("vCenter", content.FullName, StringComparison.Ordinal);
        Assert.Equal(1, connection.Logins);
        Assert.NotNull(connection.SessionKey);
        Assert.Equal(["esx-01.pe.test", "esx-02.pe.test", "esx-03.pe.test"], inventory.Hosts.Select(h => h.Name).Order());
        Assert.Equal(12, inventory.Vms.Count);
    }
}
