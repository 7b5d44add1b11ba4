using System.Net;
using PowerEvents.Console.ReadModel;
using PowerEvents.Console.Readiness;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.Console.Tests;

/// <summary>Readiness, preflight results, deliveries and refused commands from events on the real broker, through the API.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ReadinessApiTests(ConsoleFixture console)
{
    const string Cluster = ConsoleFixture.ReadinessCluster;

    [Fact]
    public async Task The_grade_follows_the_BMC_check_and_each_change_is_published_once()
    {
        var now = DateTimeOffset.UtcNow;
        await console.PublishAsync(new ClusterObserved(Cluster, "vc-api",
            [new HostInventory("host-1", "esx-ra1", "connected", "poweredOn", false, "lockdownDisabled"), new HostInventory("host-2", "esx-ra2", "connected", "poweredOn", false, "lockdownDisabled")],
            [new VmInventory("vm-1", "db-ra", "poweredOn", true, "esx-ra1", "dc/vm", false)], null, null, null, now));
        await console.PublishAsync(new TemperatureSampled("meraki", "Q2-RA-1", ConsoleFixture.ReadinessZone, 22, now, now));
        await console.PublishAsync(new PreflightCheckCompleted("ilo-actuator", "bmc", "esx-ra1", true, "PowerState On", now));
        await console.PublishAsync(new PreflightCheckCompleted("ilo-actuator", "bmc", "esx-ra2", true, "PowerState On", now));

        using var client = await console.ClientAsync();
        ReadinessView? readiness = null;
        await Eventually.TrueAsync(async () => (readiness = await client.GetJsonAsync<ReadinessView>($"api/clusters/{Cluster}/readiness"))!.Grade == "ready",
            $"the cluster did not become ready: {readiness?.Grade} {string.Join("; ", readiness?.Findings.Select(f => f.Finding) ?? [])}");
        Assert.StartsWith("default model", readiness!.EstimateBasis, StringComparison.Ordinal);
        Assert.True(readiness.EstimatedShutdownSeconds > 0 && readiness.EstimatedPowerOnSeconds > 0);
        await Eventually.TrueAsync(() => Task.FromResult(console.Assessments.Any(a => a.Cluster == Cluster && a.Grade == "ready")), "'ready' not published");

        // The BMC's password changed: the next preflight fails, the grade drops and says what to do.
        await console.PublishAsync(new PreflightCheckCompleted("ilo-actuator", "bmc", "esx-ra2", false, "esx-ra2: the BMC rejected the credentials (401)", now.AddSeconds(1)));
        await Eventually.TrueAsync(async () => (readiness = await client.GetJsonAsync<ReadinessView>($"api/clusters/{Cluster}/readiness"))!.Grade == "not-ready",
            "the failing BMC did not make the cluster not ready");
        var finding = Assert.Single(readiness!.Findings, f => f.Level == "not-ready");
        Assert.Equal(("host-power-on", "esx-ra2"), (finding.Check, finding.Subject));
        Assert.Contains("rejected the credentials", finding.Finding, StringComparison.Ordinal);
        Assert.Contains("Bmc:Hosts", finding.Action, StringComparison.Ordinal);
        await Eventually.TrueAsync(() => Task.FromResult(console.Assessments.Any(a => a.Cluster == Cluster && a.Grade == "not-ready")), "'not-ready' not published");

        // The same failure again at the next interval changes nothing: nothing more is published.
        await console.PublishAsync(new PreflightCheckCompleted("ilo-actuator", "bmc", "esx-ra2", false, "esx-ra2: the BMC rejected the credentials (401)", now.AddSeconds(2)));
        await Eventually.TrueAsync(async () => (await client.GetJsonAsync<List<PreflightCheckCompleted>>("api/preflight"))!
            .Any(p => p.Target == "esx-ra2" && p.CheckedAt == now.AddSeconds(2)), "the repeated result not taken");
        // Three publisher intervals (1 s each) after the repeat was taken: still exactly one of each.
        var marker = DateTimeOffset.UtcNow;
        await Eventually.TrueAsync(async () => (await client.GetJsonAsync<ReadinessView>($"api/clusters/{Cluster}/readiness"))!.AssessedAt > marker.AddSeconds(3), "time passes");
        // (Before the events above the configured cluster was graded from nothing: degraded, published too.)
        Assert.Equal(["ready", "not-ready"], console.Assessments.Where(a => a.Cluster == Cluster).Select(a => a.Grade).SkipWhile(g => g != "ready"));
        var published = console.Assessments.Last(a => a.Cluster == Cluster);
        Assert.Contains(published.Findings, f => f.Subject == "esx-ra2" && f.Level == "not-ready");
        Assert.NotNull(published.EstimatedShutdown);
    }

    [Fact]
    public async Task Readiness_needs_a_session_and_is_in_the_OpenAPI_document()
    {
        using var anonymous = await console.ClientAsync(user: null);
        using (var response = await anonymous.GetAsync($"api/clusters/{Cluster}/readiness"))
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var document = await anonymous.GetAsync("openapi/v1.json");
        var text = await document.Content.ReadAsStringAsync();
        Assert.Contains("/api/clusters/{cluster}/readiness", text, StringComparison.Ordinal);
        Assert.Contains("/api/preflight", text, StringComparison.Ordinal);
        Assert.Contains("/api/deliveries", text, StringComparison.Ordinal);

        using var client = await console.ClientAsync();
        using var unknown = await client.GetAsync("api/clusters/no-such-cluster/readiness");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Webhook_deliveries_and_commands_the_saga_refused_are_shown()
    {
        var alertId = Guid.NewGuid();
        await console.PublishAsync(new WebhookDelivered("ops-slack", alertId, "AlarmRaised", "critical", "ALARM RAISED in zone x", false, 7, 503, "HTTP 503 Service Unavailable", DateTimeOffset.UtcNow));
        await console.PublishAsync(new OperatorCommandRefused("cluster-refused", "ClusterPowerOnNowRequested", "alice", "an alarm holds on zone z", DateTimeOffset.UtcNow));

        using var client = await console.ClientAsync();
        await Eventually.TrueAsync(async () => (await client.GetJsonAsync<List<WebhookDelivered>>("api/deliveries"))!
            .Any(d => d.AlertId == alertId && !d.Delivered && d.StatusCode == 503), "the delivery not listed");
        await Eventually.TrueAsync(async () => (await client.GetJsonAsync<StateView>("api/state"))!.Clusters
            .Any(c => c.Name == "cluster-refused" && c.Refusals.Any(r => r.RequestedBy == "alice" && r.Reason.Contains("alarm holds", StringComparison.Ordinal))),
            "the refusal not shown with its cluster");
    }
}
