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
        // vCenter's host is known: no warning, but how it is finished — and that no ESXi credentials are configured for it.
        var vcenterHost = before.Vms.Single(v => v.Name == "vcsa").Host;
        var vcenter = plan.GetProperty("vCenter");
        Assert.Equal(("vcsa", vcenterHost), (vcenter.GetProperty("vm").GetString(), vcenter.GetProperty("host").GetString()));
        Assert.Equal("NoCredentials", vcenter.GetProperty("esxiLogin").GetString());
        Assert.Contains(plan.GetProperty("problems").EnumerateArray(), p => p.GetString()!.StartsWith($"{vcenterHost}: ESXi login NoCredentials", StringComparison.Ordinal));
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
        Assert.DoesNotContain("cluster1", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Concurrent_reads_of_one_key_share_one_read_and_the_next_read_after_it_is_fresh()
    {
        var reads = new PowerEvents.AlarmEvaluator.Power.SharedReads<int>();
        var started = 0;
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<int> Read()
        {
            Interlocked.Increment(ref started);
            return gate.Task;
        }

        var first = reads.GetAsync("Cluster1", Read, CancellationToken.None);
        var second = reads.GetAsync("cluster1", Read, CancellationToken.None);
        var other = reads.GetAsync("cluster2", () => Task.FromResult(7), CancellationToken.None);
        gate.SetResult(42);

        var shared = await Task.WhenAll(first, second);
        Assert.Equal([42, 42], shared);
        Assert.Equal(7, await other);
        Assert.Equal(1, started);
        Assert.Equal(5, await reads.GetAsync("cluster1", () => Task.FromResult(5), CancellationToken.None));
    }
}
