using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary><c>GET /power/plan/{cluster}</c> on the AlarmEvaluator, with the actuator and vcsim behind it.</summary>
[Collection(PowerIntegrationCollection.Name)]
public sealed class PlanPreviewTests
{
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task The_plan_preview_lists_tiers_hosts_deadlines_and_the_vcenter_vm_without_touching_anything()
    {
        await using var world = await PowerWorld.StartAsync([.. WholeRunTests.Vcsim, "-vcenter-vm", "vcsa"]);
        await world.StartActuatorInProcessAsync();
        var evaluator = await world.StartEvaluatorInProcessAsync();
        var before = await world.StateAsync();

        using var response = await Http.GetAsync(new Uri(new Uri(evaluator.Urls.First()), "/power/plan/cluster1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var plan = await response.Content.ReadFromJsonAsync<JsonElement>();
        var tiers = plan.GetProperty("tiers").EnumerateArray().ToList();
        Assert.Equal(["apps", "databases", "infrastructure", "vcenter"], tiers.Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(6, tiers[0].GetProperty("vms").GetArrayLength());
        Assert.Equal("vcsa", tiers[3].GetProperty("vms")[0].GetProperty("name").GetString());
        Assert.Equal(3, plan.GetProperty("hosts").GetArrayLength());
        Assert.Contains("vcsa", plan.GetProperty("vCenterWarning").GetString(), StringComparison.Ordinal);
        Assert.Equal("00:00:30", plan.GetProperty("deadlines").GetProperty("tierDeadline").GetString());
        Assert.True(TimeSpan.Parse(plan.GetProperty("worstCaseDuration").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > TimeSpan.Zero);

        var after = await world.StateAsync();
        Assert.Equal(before.Journal.Count, after.Journal.Count);
        Assert.Null(await world.SagaAsync());
    }

    [Fact]
    public async Task The_plan_preview_of_an_unknown_cluster_is_not_found()
    {
        await using var world = await PowerWorld.StartAsync(["-hosts", "1", "-vms", "1"]);
        var evaluator = await world.StartEvaluatorInProcessAsync();

        using var response = await Http.GetAsync(new Uri(new Uri(evaluator.Urls.First()), "/power/plan/nope"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
