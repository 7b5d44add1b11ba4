using System.Text.Json;
using PowerEvents.Contracts;
using PowerEvents.Notifier.Formatting;
using PowerEvents.Testing;
using Xunit;
using Xunit.Abstractions;

namespace PowerEvents.Notifier.Tests;

/// <summary>
/// The Notifier host over the real RabbitMQ and PostgreSQL, delivering to a real local HTTP receiver.
/// Short delays come from configuration; every wait polls with a deadline.
/// </summary>
[Collection(DeliveryCollection.Name)]
public sealed class DeliveryTests(RabbitMqFixture rabbit, PostgresFixture postgres, ReceiverFixture receiver, ITestOutputHelper output)
{
    static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    // Each test's own paths and destination names: the receiver and the database are shared by the collection.
    readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..8];

    string Path(string name) => $"{_prefix}-{name}";

    IEnumerable<string> Destination(int index, string name, string format, string minimum = "info", string? path = null)
    {
        yield return $"--Notifier:Destinations:{index}:Name={Path(name)}";
        yield return $"--Notifier:Destinations:{index}:Url={(format == "generic" ? receiver.Url(path ?? Path(name)) : receiver.ChatUrl(path ?? Path(name)))}";
        // The test receiver speaks plain HTTP on loopback.
        yield return $"--Notifier:Destinations:{index}:AllowHttp=true";
        yield return $"--Notifier:Destinations:{index}:Format={format}";
        yield return $"--Notifier:Destinations:{index}:MinimumSeverity={minimum}";
        if (format == "generic")
            yield return $"--Notifier:Destinations:{index}:SigningSecret={ReceiverFixture.SigningSecret}";
    }

    static IEnumerable<string> Delivery(string baseDelay = "00:00:00.100", int maxRetries = 3, string attemptTimeout = "00:00:05") =>
    [
        $"--Notifier:Delivery:BaseDelay={baseDelay}",
        $"--Notifier:Delivery:MaxRetries={maxRetries}",
        $"--Notifier:Delivery:AttemptTimeout={attemptTimeout}",
        "--Notifier:Delivery:PollInterval=00:00:01",
        "--Notifier:Site=test-site",
    ];

    [Fact]
    public async Task An_alarm_reaches_every_format_in_its_documented_shape_and_the_generic_signature_verifies()
    {
        await using var notifier = await NotifierHarness.StartAsync(rabbit, postgres,
        [
            .. Destination(0, "generic", "generic"), .. Destination(1, "slack", "slack"),
            .. Destination(2, "teams", "teams"), .. Destination(3, "discord", "discord"), .. Delivery(),
        ]);
        var id = Guid.NewGuid();
        var alarm = TestAlerts.Raised("server-room", 36.2);

        await notifier.PublishAsync(alarm, id);

        foreach (var name in new[] { "generic", "slack", "teams", "discord" })
            await Eventually.Until(() => receiver.Received(Path(name)).Count == 1, Deadline, $"{name} received nothing");

        var generic = Assert.Single(receiver.Received(Path("generic")));
        Assert.Equal("valid", generic.Signature);
        Assert.Equal(200, generic.Status);
        Assert.StartsWith("application/json", generic.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Equal(id.ToString(), generic.Headers[Payloads.DeliveryHeader]);
        Assert.Equal("AlarmRaised", generic.Headers[Payloads.EventHeader]);
        using var genericJson = JsonDocument.Parse(generic.Body);
        Assert.Equal(1, genericJson.RootElement.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("critical", genericJson.RootElement.GetProperty("severity").GetString());
        Assert.Equal("test-site", genericJson.RootElement.GetProperty("site").GetString());
        Assert.Equal(alarm.AlarmId, genericJson.RootElement.GetProperty("correlationId").GetGuid());
        Assert.Equal(alarm.AlarmId, genericJson.RootElement.GetProperty("details").GetProperty("alarmId").GetGuid());

        using var slack = JsonDocument.Parse(receiver.Received(Path("slack"))[0].Body);
        Assert.Equal("header", slack.RootElement.GetProperty("blocks")[0].GetProperty("type").GetString());
        using var teams = JsonDocument.Parse(receiver.Received(Path("teams"))[0].Body);
        Assert.Equal("application/vnd.microsoft.card.adaptive", teams.RootElement.GetProperty("attachments")[0].GetProperty("contentType").GetString());
        using var discord = JsonDocument.Parse(receiver.Received(Path("discord"))[0].Body);
        Assert.Equal("ALARM RAISED in zone server-room", discord.RootElement.GetProperty("embeds")[0].GetProperty("title").GetString());
        Assert.All(new[] { "slack", "teams", "discord" }, name =>
            Assert.False(receiver.Received(Path(name))[0].Headers.ContainsKey(WebhookSignature.HeaderName)));

        Assert.Contains(notifier.Logs.Lines, line => line.Contains("ALARM RAISED in zone server-room", StringComparison.Ordinal));
        Assert.Contains(notifier.Logs.Lines, line => line.Contains($"Destination {Path("slack")} sends alerts unencrypted over http://", StringComparison.Ordinal));
        var queues = await rabbit.QueueNamesAsync();
        Assert.Contains("notifier-alarm-raised", queues);
        Assert.Contains("notifier-alarm-cleared", queues);
    }

    [Fact]
    public async Task A_destination_only_receives_alerts_at_or_above_its_minimum_severity()
    {
        await using var notifier = await NotifierHarness.StartAsync(rabbit, postgres,
            [.. Destination(0, "pager", "generic", minimum: "critical"), .. Destination(1, "log", "slack", minimum: "info"), .. Delivery()]);
        var (cleared, raised) = (Guid.NewGuid(), Guid.NewGuid());

        await notifier.PublishAsync(TestAlerts.Cleared(), cleared);
        await notifier.PublishAsync(TestAlerts.Raised(), raised);

        await Eventually.Until(() => receiver.Received(Path("log")).Count == 2, Deadline, "the info destination did not get both alerts");
        await Eventually.Until(() => receiver.Received(Path("pager")).Count == 1, Deadline, "the critical destination got nothing");
        Assert.Equal(raised.ToString(), receiver.Received(Path("pager"))[0].Headers[Payloads.DeliveryHeader]);
        Assert.Equal([Path("log")], (await notifier.DeliveriesAsync(cleared)).Select(d => d.Destination));
        Assert.Equal([Path("pager"), Path("log")], (await notifier.DeliveriesAsync(raised)).Select(d => d.Destination));
    }

    [Theory]
    [InlineData("1", 1.0)]
    [InlineData("date:+2", 1.0)]
    public async Task A_429_is_retried_no_sooner_than_its_Retry_After(string retryAfter, double atLeastSeconds)
    {
        await using var notifier = await NotifierHarness.StartAsync(rabbit, postgres, [.. Destination(0, "slack", "slack"), .. Delivery(baseDelay: "00:00:00.050")]);
        receiver.Plan(Path("slack"), 429, count: 1, retryAfter);
        var id = Guid.NewGuid();

        await notifier.PublishAsync(TestAlerts.Raised(), id);

        await Eventually.Until(() => receiver.Received(Path("slack")).Count == 2, Deadline, "no retry after the 429");
        var calls = receiver.Received(Path("slack"));
        var gap = calls[1].ReceivedAt - calls[0].ReceivedAt;
        output.WriteLine($"Retry-After {retryAfter}: retried after {gap.TotalMilliseconds:F0} ms (backoff alone would be 50-63 ms)");
        Assert.Equal([429, 200], calls.Select(c => c.Status));
        // An HTTP date has whole seconds, so "+2" means between 1 and 2 s; a few ms go to clock reads. The upper bound
        // leaves a busy machine its scheduling slack (it only has to tell seconds from the minutes of a misread header).
        Assert.InRange(gap, TimeSpan.FromSeconds(atLeastSeconds) - TimeSpan.FromMilliseconds(30), TimeSpan.FromSeconds(atLeastSeconds + 5));
        await Eventually.Async(async () => (await notifier.DeliveriesAsync(id)).Single() is { Status: "delivered", Attempts: 2 }, Deadline, "not recorded as delivered");
        Assert.Contains(notifier.Logs.Lines, l => l.Contains("HTTP 429", StringComparison.Ordinal) && l.Contains("retry 1 of 3", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Server_errors_are_retried_with_exponential_backoff_and_jitter()
    {
        await using var notifier = await NotifierHarness.StartAsync(rabbit, postgres,
            [.. Destination(0, "teams", "teams"), .. Delivery(baseDelay: "00:00:00.200", maxRetries: 4)]);
        receiver.Plan(Path("teams"), 503, count: 1);
        receiver.Plan(Path("teams"), 500, count: 1);
        receiver.Plan(Path("teams"), 502, count: 1);
        var id = Guid.NewGuid();

        await notifier.PublishAsync(TestAlerts.Raised(), id);

        await Eventually.Until(() => receiver.Received(Path("teams")).Count == 4, Deadline, "fewer than four attempts");
        var calls = receiver.Received(Path("teams"));
        Assert.Equal([503, 500, 502, 200], calls.Select(c => c.Status));
        var gaps = calls.Zip(calls.Skip(1), (a, b) => b.ReceivedAt - a.ReceivedAt).ToList();
        output.WriteLine("gaps: " + string.Join(", ", gaps.Select(g => $"{g.TotalMilliseconds:F0} ms")));
        for (var retry = 0; retry < 3; retry++)
        {
            var backoff = 200 * Math.Pow(2, retry);
            // At least the backoff, at most backoff plus 25 % jitter plus a busy machine's scheduling slack.
            Assert.InRange(gaps[retry].TotalMilliseconds, backoff - 30, backoff * 1.25 + 5000);
        }
        await Eventually.Async(async () => (await notifier.DeliveriesAsync(id)).Single() is { Status: "delivered", Attempts: 4 }, Deadline, "not recorded as delivered");
    }

    [Fact]
    public async Task A_dead_destination_does_not_delay_a_live_one_and_its_alerts_are_kept_as_failed()
    {
        await using var notifier = await NotifierHarness.StartAsync(rabbit, postgres,
            [.. Destination(0, "dead", "discord"), .. Destination(1, "live", "slack"), .. Delivery(attemptTimeout: "00:00:03", maxRetries: 2)]);
        receiver.Plan(Path("dead"), status: 0, count: 1000);
        var ids = new[] { Guid.NewGuid(), Guid.NewGuid() };

        foreach (var id in ids)
            await notifier.PublishAsync(TestAlerts.Raised(), id);

        // The dead one needs 3 attempts of 3 s plus backoff (over 9 s) before it gives up on the first alert; 3 s also
        // keeps a busy machine's slow answer from the live one from being retried (and received twice).
        await Eventually.Until(() => receiver.Received(Path("live")).Count == 2, Deadline, "the live destination did not get both alerts");
        var deadSoFar = await notifier.DeliveriesAsync(ids[0]);
        Assert.Equal("pending", deadSoFar.Single(d => d.Destination == Path("dead")).Status);
        Assert.All(ids, id => Assert.Single(receiver.Received(Path("live")), c => c.Body.Contains(id.ToString(), StringComparison.Ordinal)));

        foreach (var id in ids)
            await Eventually.Async(async () => (await notifier.DeliveriesAsync(id)).Single(d => d.Destination == Path("dead")).Status == "failed",
                TimeSpan.FromSeconds(60), $"alert {id} was not given up on"); // 3 attempts of 3 s each, perhaps one alert after the other

        foreach (var id in ids)
        {
            var rows = await notifier.DeliveriesAsync(id);
            Assert.Equal("delivered", rows.Single(d => d.Destination == Path("live")).Status);
            var dead = rows.Single(d => d.Destination == Path("dead"));
            Assert.Equal(3, dead.Attempts);
            Assert.Contains("TimeoutRejectedException", notifier.Logs.Lines.First(l => l.Contains("retry 1 of 2", StringComparison.Ordinal)), StringComparison.Ordinal);
            Assert.Contains(notifier.Logs.Lines, l => l.Contains($"Alert {id}", StringComparison.Ordinal) && l.Contains("could not be delivered", StringComparison.Ordinal));
        }
        Assert.Equal(6, receiver.Received(Path("dead")).Count);
    }

    [Fact]
    public async Task A_duplicate_bus_delivery_produces_one_alert()
    {
        await using var notifier = await NotifierHarness.StartAsync(rabbit, postgres, [.. Destination(0, "generic", "generic"), .. Delivery()]);
        var id = Guid.NewGuid();
        var alarm = TestAlerts.Raised();

        await notifier.PublishAsync(alarm, id);
        await Eventually.Until(() => receiver.Received(Path("generic")).Count == 1, Deadline, "the first delivery did not arrive");
        await notifier.PublishAsync(alarm, id);
        await Eventually.Until(() => notifier.Logs.Lines.Any(l => l.Contains($"Alert {id}", StringComparison.Ordinal) && l.Contains("recorded before", StringComparison.Ordinal)),
            Deadline, "the second bus delivery was not handled");

        Assert.Single(receiver.Received(Path("generic")));
        Assert.Single(await notifier.DeliveriesAsync(id));
    }

    [Fact]
    public async Task A_fact_replayed_under_new_message_ids_is_delivered_once()
    {
        // A restarted saga re-asks the step: the actuator answers again, with a new message id and time, or "already off".
        await using var notifier = await NotifierHarness.StartAsync(rabbit, postgres, [.. Destination(0, "generic", "generic"), .. Delivery()]);
        var run = Guid.NewGuid();
        var at = new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);
        var first = Guid.NewGuid();
        var replays = new[] { Guid.NewGuid(), Guid.NewGuid() };
        var otherHost = Guid.NewGuid();

        await notifier.PublishAsync(new HostPoweredOff(run, "c1", "esx-01", StepOutcome.Done, null, at), first);
        await Eventually.Until(() => receiver.Received(Path("generic")).Count == 1, Deadline, "the first delivery did not arrive");
        await notifier.PublishAsync(new HostPoweredOff(run, "c1", "esx-01", StepOutcome.Done, null, at.AddSeconds(40)), replays[0]);
        await notifier.PublishAsync(new HostPoweredOff(run, "c1", "esx-01", StepOutcome.AlreadyInState, null, at.AddSeconds(41)), replays[1]);
        await notifier.PublishAsync(new HostPoweredOff(run, "c1", "esx-02", StepOutcome.Done, null, at.AddSeconds(42)), otherHost);

        await Eventually.Until(() => receiver.Received(Path("generic")).Count == 2, Deadline, "the other host's alert did not arrive");
        foreach (var replay in replays)
            await Eventually.Until(() => notifier.Logs.Lines.Any(l => l.Contains($"Alert {replay}", StringComparison.Ordinal) && l.Contains("recorded before", StringComparison.Ordinal)),
                Deadline, $"replay {replay} was not handled");
        Assert.Equal([first.ToString(), otherHost.ToString()], receiver.Received(Path("generic")).Select(c => c.Headers[Payloads.DeliveryHeader]));
        foreach (var replay in replays)
            Assert.Empty(await notifier.DeliveriesAsync(replay));
    }

    [Fact]
    public async Task A_power_on_whose_first_answer_was_lost_is_alerted_from_its_retry()
    {
        await using var notifier = await NotifierHarness.StartAsync(rabbit, postgres, [.. Destination(0, "slack", "slack"), .. Delivery()]);
        var retry = Guid.NewGuid();

        await notifier.PublishAsync(new HostPowerOnCompleted(Guid.NewGuid(), "c1", "esx-03", PowerOnOutcome.AlreadyOn, "BMC reports On", "redfish", DateTimeOffset.UtcNow), retry);

        await Eventually.Until(() => receiver.Received(Path("slack")).Count == 1, Deadline, "the power-on was not alerted");
        Assert.Contains("Host esx-03 powered on", receiver.Received(Path("slack"))[0].Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_undeliverable_alert_is_kept_and_logged_with_no_secret_in_any_log_line_or_payload()
    {
        const string SlackToken = "XoXbSeCrEtToKeN0123456789";
        var slackPath = $"services/T{_prefix}/B0SECRET1/{SlackToken}";
        await using var notifier = await NotifierHarness.StartAsync(rabbit, postgres,
            [.. Destination(0, "slack", "slack", path: slackPath), .. Destination(1, "generic", "generic"), .. Delivery(baseDelay: "00:00:00.050", maxRetries: 2)]);
        receiver.Plan(slackPath, 500, count: 100);
        receiver.Plan(Path("generic"), 400, count: 100);
        var id = Guid.NewGuid();

        await notifier.PublishAsync(TestAlerts.Raised(), id);

        await Eventually.Async(async () => (await notifier.DeliveriesAsync(id)) is { Count: 2 } rows && rows.All(r => r.Status == "failed"),
            Deadline, "the deliveries were not given up on");
        var deliveries = await notifier.DeliveriesAsync(id);
        Assert.Equal(new DeliveryRow(Path("slack"), "failed", 3, 500, "HTTP 500 Internal Server Error: {\"error\":\"planned answer 500\"}"),
            deliveries.Single(d => d.Destination == Path("slack")));
        // A 400 says the request is wrong: retrying it cannot help.
        Assert.Equal(1, deliveries.Single(d => d.Destination == Path("generic")).Attempts);

        var masked = new Uri(receiver.BaseAddress, "hooks/services/***/***/***").ToString();
        Assert.Contains(notifier.Logs.Lines, l => l.Contains("could not be delivered", StringComparison.Ordinal) && l.Contains(masked, StringComparison.Ordinal));
        var secrets = new[] { SlackToken, "B0SECRET1", ReceiverFixture.SigningSecret, RabbitMqFixture.Password + "@" };
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(notifier.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(receiver.Received(slackPath).Concat(receiver.Received(Path("generic"))), c => c.Body.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_delivery_cut_short_by_a_restart_is_sent_after_it()
    {
        string[] settings = [.. Destination(0, "slow", "discord"), .. Delivery(attemptTimeout: "00:01:00")];
        receiver.Plan(Path("slow"), status: 0, count: 1);
        var id = Guid.NewGuid();

        var first = await NotifierHarness.StartAsync(rabbit, postgres, settings);
        await first.PublishAsync(TestAlerts.Raised(), id);
        await Eventually.Until(() => receiver.Received(Path("slow")).Count == 1, Deadline, "the first attempt did not start");
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await first.DisposeAsync();
        output.WriteLine($"stopped in {stopping.ElapsedMilliseconds} ms with an attempt in flight");
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(15), "a hanging webhook held up the shutdown");
        Assert.Equal("pending", (await first.DeliveriesAsync(id)).Single().Status);

        await using var second = await NotifierHarness.StartAsync(rabbit, postgres, settings);
        await Eventually.Async(async () => (await second.DeliveriesAsync(id)).Single().Status == "delivered", Deadline, "not sent after the restart");
        Assert.Equal([0, 200], receiver.Received(Path("slow")).Select(c => c.Status));
    }
}
