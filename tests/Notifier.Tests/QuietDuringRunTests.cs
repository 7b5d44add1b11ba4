using System.Text.Json;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>
/// The Notifier over the real RabbitMQ and PostgreSQL: a cluster that PowerEvents itself powered off does not flood the
/// webhooks with its vcenter/esxi checks' failures and recoveries, nor with readiness grades; what still fails once the
/// power-on completed is alerted then, once; a failure outside a run is alerted as before.
/// </summary>
[Collection(DeliveryCollection.Name)]
public sealed class QuietDuringRunTests(RabbitMqFixture rabbit, PostgresFixture postgres, ReceiverFixture receiver)
{
    static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    readonly string _prefix = "q" + Guid.NewGuid().ToString("N")[..8];

    Task<NotifierHarness> StartAsync(string path) => NotifierHarness.StartAsync(rabbit, postgres,
    [
        $"--Notifier:Destinations:0:Name={_prefix}-hook",
        $"--Notifier:Destinations:0:Url={receiver.Url(path)}",
        "--Notifier:Destinations:0:AllowHttp=true",
        "--Notifier:Destinations:0:Format=generic",
        $"--Notifier:Destinations:0:SigningSecret={ReceiverFixture.SigningSecret}",
        "--Notifier:Delivery:BaseDelay=00:00:00.100",
        "--Notifier:Delivery:MaxRetries=0",
        "--Notifier:Delivery:PollInterval=00:00:01",
        "--Preflight:Enabled=false",
    ]);

    // Whole seconds: PostgreSQL keeps microseconds, and the tests wait for a stored time at least the one published.
    static DateTimeOffset Now() => new(DateTimeOffset.UtcNow.Ticks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero);

    IReadOnlyList<string> Titles(string path, string start) => receiver.Received(path)
        .Select(c => JsonDocument.Parse(c.Body).RootElement.GetProperty("title").GetString()!)
        .Where(t => t.StartsWith(start, StringComparison.Ordinal)).ToList();

    // The readiness alerts' titles (the run's own alerts also begin with "Cluster …").
    static bool IsGrade(string title) => title.Contains(" readiness degraded", StringComparison.Ordinal) || title.Contains(" is NOT READY", StringComparison.Ordinal)
        || title.Contains(" is ready again", StringComparison.Ordinal);

    [Fact]
    public async Task A_failure_during_a_run_is_not_alerted_one_that_persists_after_the_power_on_is_alerted_once_and_one_outside_a_run_as_before()
    {
        var path = $"{_prefix}-hook";
        await using var notifier = await StartAsync(path);
        var cluster = $"{_prefix}-cluster";
        var other = $"{_prefix}-other";
        var (comesBack, staysBroken, elsewhere, bmc) = ($"{_prefix}-esx-01", $"{_prefix}-esx-02", $"{_prefix}-esx-09", $"{_prefix}-bmc-01");
        var run = Guid.NewGuid();
        var at = Now();
        PreflightCheckCompleted Esxi(string host, bool ok, double minutes, string serves) =>
            new("vcenter-actuator", "esxi", host, ok, ok ? "logged in" : "ESXi host: Unreachable: connection refused", at.AddMinutes(minutes), [serves]);
        Task Publish<T>(T message) where T : class => notifier.PublishAsync(message, Guid.NewGuid());
        Task Stored(string host, double minutes, string kind = "esxi", string service = "vcenter-actuator") =>
            Eventually.Async(async () => await notifier.PreflightCheckedAtAsync($"{service}/{kind}/{host}") >= at.AddMinutes(minutes), Deadline, $"{host} at +{minutes} min stored");

        // Before the run: every check passes.
        foreach (var host in new[] { comesBack, staysBroken })
            await Publish(Esxi(host, true, 0, cluster));
        await Stored(comesBack, 0);
        await Stored(staysBroken, 0);

        // The run powers the cluster off: its hosts' checks fail, as expected; a BMC's failure stays real.
        await Publish(new PowerRunStarted(run, cluster, "zone-1", ["tenants"], 4, 2, false, at.AddMinutes(10)));
        await Eventually.Async(async () => await notifier.ClusterOffEndedAsync(cluster) == false, Deadline, "the run's window opened");
        await Publish(Esxi(comesBack, false, 15, cluster));
        await Publish(Esxi(staysBroken, false, 15, cluster));
        await Publish(new PreflightCheckCompleted("ilo-actuator", "bmc", bmc, false, "the BMC rejected the credentials", at.AddMinutes(15), [cluster]));
        await Publish(new PowerRunCompleted(run, cluster, [], false, at.AddMinutes(10), at.AddMinutes(20)));
        await Publish(Esxi(comesBack, false, 30, cluster));
        await Publish(Esxi(staysBroken, false, 30, cluster));
        await Stored(comesBack, 30);
        await Stored(staysBroken, 30);

        // The power-on completes: one host is back, the other still fails and is alerted now, once.
        await Publish(new PowerRestoreStarted(run, cluster, "zone-1", [comesBack, staysBroken], 4, ["tenants"], at.AddMinutes(50)));
        await Publish(new PowerRestoreCompleted(run, cluster, [], [], false, at.AddMinutes(50), at.AddMinutes(60)));
        await Eventually.Async(async () => await notifier.ClusterOffEndedAsync(cluster) == true, Deadline, "the run's window closed by the power-on");
        await Publish(Esxi(comesBack, true, 75, cluster));
        await Publish(Esxi(staysBroken, false, 75, cluster));
        await Stored(staysBroken, 75);
        await Publish(Esxi(staysBroken, false, 90, cluster));

        // Outside any run: an ordinary failure is alerted as before.
        await Publish(Esxi(elsewhere, true, 0, other));
        await Stored(elsewhere, 0);
        await Publish(Esxi(elsewhere, false, 15, other));

        await Stored(comesBack, 75);
        await Stored(staysBroken, 90);
        await Stored(elsewhere, 15);
        await Stored(bmc, 15, "bmc", "ilo-actuator");
        var expected = new[] { $"Preflight FAILED: bmc {bmc}", $"Preflight FAILED: esxi {elsewhere}", $"Preflight FAILED: esxi {staysBroken}" }.Order(StringComparer.Ordinal).ToList();
        // Every decision is recorded before its result's state is stored: what the Notifier alerted is complete now.
        Assert.Equal(expected, (await notifier.AlertTitlesAsync(_prefix)).Where(t => t.StartsWith("Preflight", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        await Eventually.Until(() => Titles(path, "Preflight").Count >= 3, Deadline, "the three alerts delivered");
        Assert.Equal(expected, Titles(path, "Preflight").Order(StringComparer.Ordinal));
        var late = JsonDocument.Parse(receiver.Received(path).Single(c => c.Body.Contains($"esxi {staysBroken}", StringComparison.Ordinal)).Body);
        Assert.StartsWith($"Still failing now that cluster {cluster} is back", late.RootElement.GetProperty("summary").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_a_run_without_power_on_the_cluster_counts_as_up_once_its_quiet_checks_pass_and_a_later_failure_is_alerted()
    {
        var path = $"{_prefix}-hook";
        await using var notifier = await StartAsync(path);
        var cluster = $"{_prefix}-cluster";
        var (host1, host2) = ($"{_prefix}-esx-01", $"{_prefix}-esx-02");
        var run = Guid.NewGuid();
        var at = Now();
        Task Publish<T>(T message) where T : class => notifier.PublishAsync(message, Guid.NewGuid());
        async Task Esxi(string host, bool ok, double minutes)
        {
            await Publish(new PreflightCheckCompleted("vcenter-actuator", "esxi", host, ok, ok ? "logged in" : "Unreachable", at.AddMinutes(minutes), [cluster]));
            await Eventually.Async(async () => await notifier.PreflightCheckedAtAsync($"vcenter-actuator/esxi/{host}") >= at.AddMinutes(minutes), Deadline, $"{host} at +{minutes}");
        }

        await Publish(new PowerRunStarted(run, cluster, "zone-1", ["tenants"], 4, 2, false, at.AddMinutes(10)));
        await Eventually.Async(async () => await notifier.ClusterOffEndedAsync(cluster) == false, Deadline, "the run's window opened");
        await Esxi(host1, false, 15);
        await Esxi(host2, false, 15);
        await Publish(new PowerRunCompleted(run, cluster, [], false, at.AddMinutes(10), at.AddMinutes(20)));
        await Eventually.Async(async () => await notifier.ClusterOffShutDownAsync(cluster) == true, Deadline, "the run's shutdown completed");
        // No power-on follows (PowerOnAfterClear=false): the operator brings the hosts back by hand, one after the other.
        await Esxi(host1, true, 120);
        Assert.Equal(false, await notifier.ClusterOffEndedAsync(cluster));
        await Esxi(host2, true, 125);
        await Eventually.Async(async () => await notifier.ClusterOffEndedAsync(cluster) == true, Deadline, "the cluster counted as up again");
        await Esxi(host1, false, 200);

        Assert.Equal([$"Preflight FAILED: esxi {host1}"], (await notifier.AlertTitlesAsync(_prefix)).Where(t => t.StartsWith("Preflight", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_readiness_grade_is_not_alerted_while_the_cluster_is_off_and_after_the_power_on_only_if_it_differs_from_before()
    {
        var path = $"{_prefix}-hook";
        await using var notifier = await StartAsync(path);
        var cluster = $"{_prefix}-cluster";
        var run = Guid.NewGuid();
        var at = Now();
        ClusterReadinessAssessed Grade(string grade, double minutes) =>
            new(cluster, grade, [new ReadinessFinding("vcenter", grade == "ready" ? "info" : grade, "vcsa", "what was found", "what to do")], null, null, "default model", at.AddMinutes(minutes));
        async Task Assess(string grade, double minutes)
        {
            await notifier.PublishAsync(Grade(grade, minutes), Guid.NewGuid());
            await Eventually.Async(async () => await notifier.ReadinessAssessedAtAsync(cluster) >= at.AddMinutes(minutes), Deadline, $"{grade} at +{minutes} stored");
        }

        await Assess("degraded", 0);
        await Eventually.Until(() => Titles(path, "Cluster ").Count(IsGrade) == 1, Deadline, "the first grade alerted");
        await notifier.PublishAsync(new PowerRunStarted(run, cluster, "zone-1", ["tenants"], 4, 2, false, at.AddMinutes(10)), Guid.NewGuid());
        await Eventually.Async(async () => await notifier.ClusterOffEndedAsync(cluster) == false, Deadline, "the run's window opened");
        await Assess("not-ready", 20);
        await Assess("ready", 30);
        await notifier.PublishAsync(new PowerRestoreCompleted(run, cluster, [], [], false, at.AddMinutes(40), at.AddMinutes(60)), Guid.NewGuid());
        await Eventually.Async(async () => await notifier.ClusterOffEndedAsync(cluster) == true, Deadline, "the run's window closed");
        // Back as before the run: nothing to say. Then a real change: alerted.
        await Assess("degraded", 70);
        await Assess("not-ready", 80);

        Assert.Equal([$"Cluster {cluster} readiness degraded", $"Cluster {cluster} is NOT READY for a protective shutdown"],
            (await notifier.AlertTitlesAsync(cluster)).Where(IsGrade));
        await Eventually.Until(() => Titles(path, "Cluster ").Count(IsGrade) >= 2, Deadline, "both delivered");
        Assert.Equal(2, Titles(path, "Cluster ").Count(IsGrade));
    }
}
