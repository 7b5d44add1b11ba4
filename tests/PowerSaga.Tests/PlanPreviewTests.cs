using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.Testing;
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
        // The stages in order: the tenant tiers, the cluster's change (vcsim's cluster has DRS on), the hosts without vCenter, vCenter's VM,
        // its host through its own API; then the power-on.
        var stages = plan.GetProperty("stages").EnumerateArray().Select(st => (Direction: st.GetProperty("direction").GetString(), Kind: st.GetProperty("kind").GetString(),
            Steps: st.GetProperty("steps").GetInt32())).ToList();
        Assert.Equal([("shutdown", "vm-shutdown", 6), ("shutdown", "vm-shutdown", 3), ("shutdown", "vm-shutdown", 3), ("shutdown", "cluster-prepare", 1), ("shutdown", "host-maintenance", 2),
            ("shutdown", "host-shutdown", 2), ("shutdown", "vm-shutdown", 1), ("shutdown", "host-shutdown", 1)], stages.Where(st => st.Direction == "shutdown"));
        Assert.Equal(["host-power-on", "vcenter-start", "host-exit-maintenance"], stages.Where(st => st.Direction == "power-on").Select(st => st.Kind).Take(3));
        // The estimate is the Console's; none has been published in this world, and the preview says so.
        Assert.StartsWith("none yet", plan.GetProperty("estimate").GetProperty("basis").GetString(), StringComparison.Ordinal);

        var after = await world.StateAsync();
        Assert.Equal(before.Journal.Count, after.Journal.Count);
        Assert.Null(await world.SagaAsync());
    }

    [Fact]
    public async Task The_console_gets_the_same_plan_over_the_bus_and_the_http_preview_shows_the_consoles_estimate()
    {
        await using var world = await PowerWorld.StartAsync([.. WholeRunTests.Vcsim, "-vcenter-vm", "vcsa"]);
        await world.StartActuatorInProcessAsync();
        var evaluator = await world.StartEvaluatorInProcessAsync();
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host("127.0.0.1", (ushort)world.Rabbit.Port, world.Rabbit.VirtualHost, h =>
        {
            h.Username(RabbitMqFixture.Username);
            h.Password(RabbitMqFixture.Password);
        }));
        await bus.StartAsync();
        try
        {
            // As the Console asks (ClusterPlans): to the AlarmEvaluator's plan queue, over the real broker.
            var client = bus.CreateRequestClient<ClusterPlanPreviewRequested>(new Uri("queue:alarm-evaluator-plan-preview"), RequestTimeout.After(s: 90));
            var response = await client.GetResponse<ClusterPlanPreviewed, ClusterPlanPreviewFailed>(new ClusterPlanPreviewRequested("cluster1", "admin", DateTimeOffset.UtcNow));
            Assert.True(response.Is(out Response<ClusterPlanPreviewed>? previewed), "expected a plan");
            var plan = previewed!.Message;
            using var http = await Http.GetAsync(new Uri(new Uri(evaluator.Urls.First()), "/power/plan/cluster1"));
            var viaHttp = await http.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(viaHttp.GetProperty("stages").EnumerateArray().Select(st => st.GetProperty("name").GetString()), plan.Stages.Select(st => st.Name));
            Assert.Equal(("vcsa", "NoCredentials"), (plan.VCenter!.Vm, plan.VCenter.EsxiLogin));
            Assert.Contains(plan.Problems, p => p.Contains("ESXi login NoCredentials", StringComparison.Ordinal));
            Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], plan.Stages.Where(st => st.Direction == "shutdown").Select(st => st.Order));

            var unknown = await client.GetResponse<ClusterPlanPreviewed, ClusterPlanPreviewFailed>(new ClusterPlanPreviewRequested("nope", "admin", DateTimeOffset.UtcNow));
            Assert.True(unknown.Is(out Response<ClusterPlanPreviewFailed>? failed));
            Assert.Equal("not-found", failed!.Message.Status);

            // The Console's readiness estimate, as it publishes it: the HTTP preview shows it with its basis.
            await bus.Publish(new ClusterReadinessAssessed("cluster1", "ready", [], TimeSpan.FromSeconds(190), TimeSpan.FromSeconds(840),
                "measured: median of the last 2 run(s), newest 2026-12-01 10:00 UTC", DateTimeOffset.UtcNow, ShutdownMeasured: true));
            var deadline = DateTime.UtcNow.AddSeconds(60);
            JsonElement estimate;
            do
            {
                using var again = await Http.GetAsync(new Uri(new Uri(evaluator.Urls.First()), "/power/plan/cluster1"));
                estimate = (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("estimate");
            }
            while (estimate.GetProperty("shutdown").ValueKind == JsonValueKind.Null && DateTime.UtcNow < deadline);
            Assert.Equal("00:03:10", estimate.GetProperty("shutdown").GetString());
            Assert.Equal("00:14:00", estimate.GetProperty("powerOn").GetString());
            Assert.StartsWith("measured: median of the last 2 run(s)", estimate.GetProperty("basis").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await bus.StopAsync();
        }
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
