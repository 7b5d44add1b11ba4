using System.Net;
using System.Net.Http.Json;
using PowerEvents.Console.Readiness;
using Xunit;

namespace PowerEvents.Console.Tests;

/// <summary>
/// <c>GET /api/clusters/{c}/plan</c> over the real broker: the console asks the AlarmEvaluator's queue (a stand-in answers
/// there as <c>PlanPreviewConsumer</c> does) and adds its estimate; it never calls another service's HTTP.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class PlanPreviewApiTests(ConsoleFixture console)
{
    [Fact]
    public async Task The_plan_comes_over_the_bus_with_each_stage_estimated_and_the_basis_shown()
    {
        await console.CreateUserAsync("viewer-plan", "viewer-plan-password", "viewer");
        using var client = await console.ClientAsync("viewer-plan", "viewer-plan-password");

        using var response = await client.GetAsync($"api/clusters/{ConsoleFixture.PlanCluster}/plan");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var plan = (await response.Content.ReadFromJsonAsync<PlanView>())!;
        Assert.Equal(["shutdown", "shutdown", "shutdown", "shutdown", "shutdown", "shutdown", "power-on", "power-on", "power-on", "power-on", "power-on"],
            plan.Stages.Select(s => s.Direction));
        Assert.Equal(("vcsa", "esx-p2"), (plan.VCenter!.Vm, plan.VCenter.Host));
        Assert.NotNull(plan.Stages[0].EstimateSeconds);
        Assert.False(string.IsNullOrEmpty(plan.Stages[0].EstimateBasis));
        Assert.True(plan.EstimatedShutdownSeconds > 0);
        Assert.True(plan.EstimatedPowerOnSeconds > 0);
        Assert.False(string.IsNullOrEmpty(plan.EstimateBasis));
        Assert.Contains(console.PlanRequests, r => r.Cluster == ConsoleFixture.PlanCluster && r.RequestedBy == "viewer-plan");
    }

    [Fact]
    public async Task A_cluster_the_saga_does_not_protect_is_not_found_and_no_answer_is_a_gateway_timeout()
    {
        using var client = await console.ClientAsync();

        using (var unknown = await client.GetAsync($"api/clusters/{ConsoleFixture.UnknownPlanCluster}/plan"))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Equal("not-found", (await unknown.Content.ReadFromJsonAsync<PlanFailure>())!.Status);
        }
        using (var never = await client.GetAsync("api/clusters/no-such-cluster/plan"))
            Assert.Equal(HttpStatusCode.NotFound, never.StatusCode);

        // Console:PlanPreviewTimeout is 10 s in the fixture; the stand-in never answers for this cluster.
        using var silent = await client.GetAsync($"api/clusters/{ConsoleFixture.SilentPlanCluster}/plan");
        Assert.Equal(HttpStatusCode.GatewayTimeout, silent.StatusCode);
        Assert.Contains("no plan from the AlarmEvaluator", (await silent.Content.ReadFromJsonAsync<PlanFailure>())!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_plan_needs_a_session_and_is_in_the_OpenAPI_document()
    {
        using var anonymous = await console.ClientAsync(user: null);
        using (var response = await anonymous.GetAsync($"api/clusters/{ConsoleFixture.PlanCluster}/plan"))
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var document = await anonymous.GetAsync("openapi/v1.json");
        var text = await document.Content.ReadAsStringAsync();
        Assert.Contains("/api/clusters/{cluster}/plan", text, StringComparison.Ordinal);
        Assert.Contains("PlanStageView", text, StringComparison.Ordinal);
        Assert.Contains("estimateBasis", text, StringComparison.Ordinal);
    }
}
