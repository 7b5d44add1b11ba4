using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.Notifier.Readiness;
using PowerEvents.Testing;
using PowerEvents.WebhookReceiver;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>When a readiness assessment is worth a webhook, and when the daily summary is due.</summary>
public sealed class ReadinessAlertPolicyTests
{
    static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-12-02T10:00:00Z", CultureInfo.InvariantCulture);

    static ClusterReadinessAssessed Assessed(string grade, double minutes) => new("c1", grade, [], TimeSpan.FromMinutes(8), TimeSpan.FromMinutes(14), "default model", T0.AddMinutes(minutes));

    static List<bool> Run(params (string Grade, double Minutes)[] assessments)
    {
        ReadinessState? state = null;
        var alerts = new List<bool>();
        foreach (var (grade, minutes) in assessments)
        {
            var (next, alert) = ReadinessAlertPolicy.Decide(state, Assessed(grade, minutes));
            state = next;
            alerts.Add(alert);
        }
        return alerts;
    }

    [Fact]
    public void Only_a_change_of_grade_is_alerted() =>
        Assert.Equal([false, false, true, false, false, true, true], Run(("ready", 0), ("ready", 1), ("not-ready", 2), ("not-ready", 3), ("not-ready", 4), ("degraded", 5), ("ready", 6)));

    [Fact]
    public void A_first_assessment_is_alerted_only_when_it_is_not_ready() =>
        Assert.Equal([[false], [true], [true]], new[] { "ready", "degraded", "not-ready" }.Select(g => Run((g, 0))).ToList());

    [Fact]
    public void A_late_assessment_is_ignored() => Assert.Equal([true, false], Run(("not-ready", 5), ("ready", 1)));

    [Fact]
    public void The_summary_is_due_today_at_its_time_within_the_grace_else_tomorrow()
    {
        var utc = TimeZoneInfo.Utc;
        var at = new TimeOnly(8, 0);
        Assert.Equal(T0.Date.AddHours(8).ToUniversalTime(), DailySchedule.NextDue(T0.Date.AddHours(7), at, utc).UtcDateTime);
        Assert.Equal(T0.Date.AddHours(8), DailySchedule.NextDue(new DateTimeOffset(T0.Date.AddHours(8.5), TimeSpan.Zero), at, utc).UtcDateTime);
        Assert.Equal(T0.Date.AddDays(1).AddHours(8), DailySchedule.NextDue(new DateTimeOffset(T0.Date.AddHours(9.5), TimeSpan.Zero), at, utc).UtcDateTime);
        // In the operator's zone: 08:00 in Tokyo is 23:00 UTC the day before.
        var tokyo = TimeZoneInfo.FindSystemTimeZoneById("Asia/Tokyo");
        Assert.Equal(new DateTime(2026, 12, 2, 23, 0, 0), DailySchedule.NextDue(T0, at, tokyo).UtcDateTime);
    }

    [Fact]
    public void A_bad_summary_time_or_zone_names_the_key()
    {
        var bad = new ReadinessSummaryOptions { DailySummaryAt = "8 o'clock", TimeZone = "Mars/Olympus" };
        var failures = PowerEvents.Hosting.KeyedOptionsValidator<ReadinessSummaryOptions>.Validate(bad, ReadinessSummaryOptions.Section);
        Assert.Contains(failures, f => f.StartsWith("Notifier:Readiness:DailySummaryAt:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Notifier:Readiness:TimeZone:", StringComparison.Ordinal));
        Assert.Empty(PowerEvents.Hosting.KeyedOptionsValidator<ReadinessSummaryOptions>.Validate(new ReadinessSummaryOptions { DailySummaryAt = "off" }, ReadinessSummaryOptions.Section));
    }
}

/// <summary>The Notifier over the real RabbitMQ and PostgreSQL: readiness assessments in, one webhook per grade change out.</summary>
[Collection(DeliveryCollection.Name)]
public sealed class ReadinessAlertTests(RabbitMqFixture rabbit, PostgresFixture postgres, ReceiverFixture receiver)
{
    static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    readonly string _prefix = "r" + Guid.NewGuid().ToString("N")[..8];

    IEnumerable<string> Destination(string path) =>
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
    ];

    static string Title(ReceivedCall call) => JsonDocument.Parse(call.Body).RootElement.GetProperty("title").GetString()!;

    static ReadinessFinding BmcFails(string host) =>
        new("host-power-on", "not-ready", host, $"its BMC check fails: {host}: the BMC rejected the credentials", "fix the BMC's credentials (Bmc:Hosts)");

    [Fact]
    public async Task A_grade_change_reaches_the_webhook_once_and_each_delivery_is_reported()
    {
        var path = $"{_prefix}-hook";
        var cluster = $"cluster-{_prefix}";
        var reports = new ConcurrentQueue<WebhookDelivered>();
        var listener = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
            {
                h.Username(RabbitMqFixture.Username);
                h.Password(RabbitMqFixture.Password);
            });
            cfg.ReceiveEndpoint($"{_prefix}-deliveries", e =>
            {
                e.AutoDelete = true;
                e.Handler<WebhookDelivered>(c =>
                {
                    reports.Enqueue(c.Message);
                    return Task.CompletedTask;
                });
            });
        });
        await listener.StartAsync();
        try
        {
            await using var notifier = await NotifierHarness.StartAsync(rabbit, postgres, [.. Destination(path)]);
            var at = DateTimeOffset.UtcNow;
            ClusterReadinessAssessed Assessed(string grade, double seconds, params ReadinessFinding[] findings) =>
                new(cluster, grade, findings, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(14), "default model", at.AddSeconds(seconds));

            // Ready from the start: nothing to say. Then a BMC fails: one alert.
            await notifier.PublishAsync(Assessed("ready", 0), Guid.NewGuid());
            var failing = Assessed("not-ready", 1, BmcFails("esx-1"));
            await notifier.PublishAsync(failing, Guid.NewGuid());
            await Eventually.Until(() => receiver.Received(path).Count == 1, Deadline, "the grade change alerted");

            // The same message redelivered, the console republishing after a restart, a second finding at the same grade: nothing.
            await notifier.PublishAsync(failing, Guid.NewGuid());
            await notifier.PublishAsync(Assessed("not-ready", 2, BmcFails("esx-1")), Guid.NewGuid());
            await notifier.PublishAsync(Assessed("not-ready", 3, BmcFails("esx-1"), BmcFails("esx-2")), Guid.NewGuid());
            // Fixed again: one alert, after the ones above (the queue takes them one at a time, in order).
            await notifier.PublishAsync(Assessed("ready", 4), Guid.NewGuid());
            await Eventually.Until(() => receiver.Received(path).Count >= 2, Deadline, "the recovery alerted");

            Assert.Equal([$"Cluster {cluster} is NOT READY for a protective shutdown", $"Cluster {cluster} is ready again"], receiver.Received(path).Select(Title));
            var alert = JsonDocument.Parse(receiver.Received(path)[0].Body).RootElement;
            Assert.Equal(("warning", "ClusterReadinessAssessed", cluster), (alert.GetProperty("severity").GetString(), alert.GetProperty("eventType").GetString(), alert.GetProperty("cluster").GetString()));
            Assert.Contains("rejected the credentials", alert.GetProperty("summary").GetString(), StringComparison.Ordinal);
            Assert.Contains("Estimated shutdown 9 min", alert.GetProperty("summary").GetString(), StringComparison.Ordinal);

            // Each delivery is reported on the bus for the console, by the destination's name and never its URL.
            await Eventually.Until(() => reports.Count(r => r.Destination == $"{_prefix}-hook") >= 2, Deadline, "two WebhookDelivered");
            Assert.All(reports.Where(r => r.Destination == $"{_prefix}-hook"), r => Assert.Equal((true, 1, 200), (r.Delivered, r.Attempts, r.StatusCode)));
            Assert.Equal(JsonDocument.Parse(receiver.Received(path)[0].Body).RootElement.GetProperty("id").GetGuid(),
                reports.First(r => r.Destination == $"{_prefix}-hook" && r.Title.Contains("NOT READY", StringComparison.Ordinal)).AlertId);
        }
        finally
        {
            await listener.StopAsync();
        }
    }

    [Fact]
    public async Task A_command_the_saga_refused_is_alerted_once()
    {
        var path = $"{_prefix}-refused";
        await using var notifier = await NotifierHarness.StartAsync(rabbit, postgres, [.. Destination(path)]);
        var refused = new OperatorCommandRefused($"cluster-{_prefix}", "ClusterPowerOnNowRequested", "alice", "an alarm holds on zone server-room", DateTimeOffset.UtcNow);
        await notifier.PublishAsync(refused, Guid.NewGuid());
        await notifier.PublishAsync(refused, Guid.NewGuid());
        await notifier.PublishAsync(refused with { RequestedBy = "bob", RefusedAt = refused.RefusedAt.AddSeconds(1) }, Guid.NewGuid());
        await Eventually.Until(() => receiver.Received(path).Count >= 2, Deadline, "the refusals alerted");

        Assert.Equal([$"ClusterPowerOnNowRequested refused for cluster cluster-{_prefix}", $"ClusterPowerOnNowRequested refused for cluster cluster-{_prefix}"],
            receiver.Received(path).Select(Title));
        var alerts = receiver.Received(path).Select(c => JsonDocument.Parse(c.Body).RootElement).ToList();
        Assert.All(alerts, a => Assert.Equal("warning", a.GetProperty("severity").GetString()));
        // One each for alice's (sent twice) and bob's, in whichever order the queue took them.
        Assert.Equal(["alice", "bob"], alerts.Select(a => a.GetProperty("details").GetProperty("requestedBy").GetString()).Order());
        Assert.Contains(alerts, a => a.GetProperty("summary").GetString()!.Contains("from alice: an alarm holds", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_daily_summary_lists_every_clusters_grade_once()
    {
        var path = $"{_prefix}-daily";
        var cluster = $"cluster-{_prefix}";
        // Assessed by a first Notifier without a summary.
        await using (var first = await NotifierHarness.StartAsync(rabbit, postgres, [.. Destination($"{_prefix}-first")]))
        {
            await first.PublishAsync(new ClusterReadinessAssessed(cluster, "degraded", [new ReadinessFinding("vm-tools", "degraded", "1 VM(s)", "no running VMware Tools in legacy", "install Tools")],
                TimeSpan.FromMinutes(7), TimeSpan.FromMinutes(12), "default model", DateTimeOffset.UtcNow), Guid.NewGuid());
            await Eventually.Until(() => receiver.Received($"{_prefix}-first").Count == 1, Deadline, "the first grade alerted");
        }

        // A summary time that has just passed today (within the hour's grace): sent at start, once, even by a second start.
        var now = DateTimeOffset.UtcNow;
        string[] summary = ["--Notifier:Readiness:DailySummaryAt=" + now.ToString("HH:mm", CultureInfo.InvariantCulture), "--Notifier:Readiness:TimeZone=UTC"];
        await using (var notifier = await NotifierHarness.StartAsync(rabbit, postgres, [.. Destination(path), .. summary]))
            await Eventually.Until(() => receiver.Received(path).Count == 1, Deadline, "the daily summary");
        var body = JsonDocument.Parse(receiver.Received(path)[0].Body).RootElement;
        Assert.StartsWith($"Readiness summary {now:yyyy-MM-dd}", body.GetProperty("title").GetString(), StringComparison.Ordinal);
        Assert.Contains($"{cluster}: degraded (1 VM(s): no running VMware Tools in legacy)", body.GetProperty("summary").GetString(), StringComparison.Ordinal);

        await using (var again = await NotifierHarness.StartAsync(rabbit, postgres, [.. Destination(path), .. summary]))
        {
            // Its summary is the same day's fact: recorded before, not sent again (the log says so).
            await Eventually.Until(() => again.Logs.Lines.Any(l => l.Contains("ReadinessSummary/", StringComparison.Ordinal) && l.Contains("recorded before", StringComparison.Ordinal)),
                Deadline, "the second start's summary recognised as the same fact");
        }
        Assert.Single(receiver.Received(path));
    }
}
