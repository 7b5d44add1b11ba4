using System.Text.Json;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using Xunit;

namespace IloActuator.Tests;

/// <summary>
/// When a simulated BMC powers its server on, the ESXi host comes back in the vCenter simulator: a pe-vcsim of this
/// test's own (the shared one belongs to other tests), its host cut off, then powered on through Redfish.
/// </summary>
public sealed class VcsimNotificationTests
{
    [Fact]
    public async Task A_host_powered_on_through_its_BMC_comes_back_in_vcsim()
    {
        await using var vcsim = await VcsimProcess.StartAsync(["-control", "127.0.0.1:0", "-hosts", "3", "-vms", "1"]);
        using var control = new HttpClient { BaseAddress = vcsim.ControlUrl, Timeout = TimeSpan.FromSeconds(10) };
        (await control.PostAsync("hosts/esx-02.pe.test/power-off", null)).EnsureSuccessStatusCode();
        Assert.NotEqual("poweredOn", await HostPowerStateAsync(control, "esx-02.pe.test"));

        await using var server = await Bmcs.StartAsync(o =>
        {
            o.Name = "esx-02";
            o.VcsimControlUrl = vcsim.ControlUrl;
            o.VcsimHost = "esx-02.pe.test";
        });
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());
        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-02", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.PoweredOn, result);
        await RedfishClientTests.Eventually(async () => await HostPowerStateAsync(control, "esx-02.pe.test") == "poweredOn", 10);
        Assert.Equal(1, server.Bmc.VcsimNotifications);
        Assert.Null(server.Bmc.LastVcsimError);
    }

    static async Task<string?> HostPowerStateAsync(HttpClient control, string host)
    {
        using var state = JsonDocument.Parse(await control.GetStringAsync("state"));
        return state.RootElement.GetProperty("hosts").EnumerateArray()
            .Single(h => h.GetProperty("name").GetString() == host)
            .GetProperty("powerState").GetString();
    }
}
