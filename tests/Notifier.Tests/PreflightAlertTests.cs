using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using PowerEvents.Contracts;
using PowerEvents.Notifier.Preflight;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>When a preflight result becomes an alert: on change, a reminder while failing, never a flood.</summary>
public sealed class PreflightAlertPolicyTests
{
    static readonly DateTimeOffset T0 = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    static readonly TimeSpan Remind = TimeSpan.FromHours(24);

    static PreflightCheckCompleted Result(bool ok, double minutes) =>
        new("ilo-actuator", "bmc", "esx-01", ok, ok ? "PowerState On" : "rejected the credentials", T0.AddMinutes(minutes));

    static List<PreflightAlertKind> Run(params (bool Ok, double Minutes)[] results)
    {
        PreflightCheckState? state = null;
        var alerts = new List<PreflightAlertKind>();
        foreach (var (ok, minutes) in results)
        {
            var (next, alert) = PreflightAlertPolicy.Decide(state, Result(ok, minutes), Remind);
            state = next;
            alerts.Add(alert);
        }
        return alerts;
    }

    [Fact]
    public void A_check_that_passes_from_the_start_never_alerts() =>
        Assert.All(Run((true, 0), (true, 15), (true, 30)), a => Assert.Equal(PreflightAlertKind.None, a));

    [Fact]
    public void A_failure_alerts_once_and_its_recovery_once() =>
        Assert.Equal([PreflightAlertKind.None, PreflightAlertKind.Failing, PreflightAlertKind.None, PreflightAlertKind.None, PreflightAlertKind.Recovered, PreflightAlertKind.None],
            Run((true, 0), (false, 15), (false, 30), (false, 45), (true, 60), (true, 75)));

    [Fact]
    public void A_check_failing_from_its_first_run_alerts_at_once() =>
        Assert.Equal([PreflightAlertKind.Failing, PreflightAlertKind.None], Run((false, 0), (false, 15)));

    [Fact]
    public void A_check_that_keeps_failing_is_reminded_every_remind_interval()
    {
        var alerts = Run([.. Enumerable.Range(0, 4 * 24 * 2 + 1).Select(i => (false, i * 15.0))]);

        Assert.Equal(1, alerts.Count(a => a == PreflightAlertKind.Failing));
        Assert.Equal(2, alerts.Count(a => a == PreflightAlertKind.StillFailing));
        Assert.Equal(PreflightAlertKind.StillFailing, alerts[4 * 24]);
    }

    [Fact]
    public void A_late_result_changes_nothing() =>
        Assert.Equal([PreflightAlertKind.Failing, PreflightAlertKind.None, PreflightAlertKind.Recovered], Run((false, 30), (true, 15), (true, 45)));
}

/// <summary>The Notifier over the real RabbitMQ and PostgreSQL: preflight results in, alerts out to a real receiver.</summary>
[Collection(DeliveryCollection.Name)]
public sealed class PreflightAlertTests(RabbitMqFixture rabbit, PostgresFixture postgres, ReceiverFixture receiver)
{
    static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    readonly string _prefix = "p" + Guid.NewGuid().ToString("N")[..8];

    IEnumerable<string> Destination(int index, string name, string url) =>
    [
        $"--Notifier:Destinations:{index}:Name={_prefix}-{name}",
        $"--Notifier:Destinations:{index}:Url={url}",
        $"--Notifier:Destinations:{index}:AllowHttp=true",
        $"--Notifier:Destinations:{index}:Format=generic",
        $"--Notifier:Destinations:{index}:SigningSecret={ReceiverFixture.SigningSecret}",
    ];

    static IEnumerable<string> Fast =>
    [
        "--Notifier:Delivery:BaseDelay=00:00:00.100",
        "--Notifier:Delivery:MaxRetries=0",
        "--Notifier:Delivery:PollInterval=00:00:01",
    ];

    static string Title(ReceivedCallView call) => call.Json.RootElement.GetProperty("title").GetString()!;

    sealed record ReceivedCallView(JsonDocument Json);

    IReadOnlyList<ReceivedCallView> Calls(string path) =>
        receiver.Received(path).Select(c => new ReceivedCallView(JsonDocument.Parse(c.Body))).ToList();

    [Fact]
    public async Task A_failing_check_reaches_the_webhooks_once_with_a_reminder_and_its_recovery_once()
    {
        var path = $"{_prefix}-hook";
        await using var notifier = await NotifierHarness.StartAsync(rabbit, postgres,
            [.. Destination(0, "hook", receiver.Url(path)), .. Fast, "--Preflight:RemindEvery=01:00:00", "--Preflight:Enabled=false"]);
        var target = $"esx-{_prefix}";
        var at = DateTimeOffset.UtcNow;

        // Every 15 min for 75 min: passes, fails four times, passes twice.
        bool[] outcomes = [true, false, false, false, false, true, true];
        for (var i = 0; i < outcomes.Length; i++)
        {
            await notifier.PublishAsync(new PreflightCheckCompleted("ilo-actuator", "bmc", target, outcomes[i],
                outcomes[i] ? "PowerState On" : $"{target}: the BMC rejected the credentials", at.AddMinutes(15 * i)), Guid.NewGuid());
            // One at a time, as one check's runs are an interval apart.
            var expected = i switch { < 1 => 0, < 5 => 1, _ => 2 };
            if (i is 1 or 5)
                await Eventually.Until(() => receiver.Received(path).Count == expected, Deadline, $"{expected} alert(s) after result {i}");
        }
        await Eventually.Until(() => receiver.Received(path).Count >= 2, Deadline, "the failure and the recovery");

        // Failing again, and past RemindEvery still failing: one failure, one reminder.
        await notifier.PublishAsync(new PreflightCheckCompleted("ilo-actuator", "bmc", target, false, "rejected again", at.AddMinutes(120)), Guid.NewGuid());
        await Eventually.Until(() => receiver.Received(path).Count >= 3, Deadline, "the second failure");
        await notifier.PublishAsync(new PreflightCheckCompleted("ilo-actuator", "bmc", target, false, "rejected again", at.AddMinutes(135)), Guid.NewGuid());
        await notifier.PublishAsync(new PreflightCheckCompleted("ilo-actuator", "bmc", target, false, "rejected again", at.AddMinutes(185)), Guid.NewGuid());
        await Eventually.Until(() => receiver.Received(path).Count >= 4, Deadline, "the reminder");
        // A redelivered result (another message id, the same run) adds nothing; the recovery after it is alerted once.
        await notifier.PublishAsync(new PreflightCheckCompleted("ilo-actuator", "bmc", target, false, "rejected again", at.AddMinutes(185)), Guid.NewGuid());
        await notifier.PublishAsync(new PreflightCheckCompleted("ilo-actuator", "bmc", target, true, "PowerState On", at.AddMinutes(200)), Guid.NewGuid());
        await Eventually.Async(async () => await notifier.PreflightCheckedAtAsync($"ilo-actuator/bmc/{target}") > at.AddMinutes(199), Deadline, "the last result stored");
        await Eventually.Until(() => receiver.Received(path).Count >= 5, Deadline, "the second recovery");

        Assert.Equal(
            [$"Preflight FAILED: bmc {target}", $"Preflight passes again: bmc {target}", $"Preflight FAILED: bmc {target}", $"Preflight still failing: bmc {target}",
             $"Preflight passes again: bmc {target}"],
            Calls(path).Select(Title));
    }

    [Fact]
    public async Task An_unreachable_destination_is_reported_to_the_others_without_a_message_posted_to_anyone()
    {
        var good = $"{_prefix}-good";
        using var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var deadPort = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();

        await using var notifier = await NotifierHarness.StartAsync(rabbit, postgres,
            [.. Destination(0, "good", receiver.Url(good)), .. Destination(1, "dead", $"http://127.0.0.1:{deadPort}/hooks/secret-token-123"), .. Fast,
             "--Preflight:Interval=00:00:01"]);

        await Eventually.Until(() => receiver.Received(good).Count >= 1, Deadline, "the dead destination's failure alerted to the good one");
        var alert = Calls(good).Single();
        Assert.Equal($"Preflight FAILED: webhook {_prefix}-dead", Title(alert));
        var summary = alert.Json.RootElement.GetProperty("summary").GetString()!;
        Assert.Contains("not reachable", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token-123", summary, StringComparison.Ordinal);

        // Three more intervals: the good destination's own check passes and nothing else is posted (no flood, no test messages).
        var alerted = DateTimeOffset.UtcNow;
        await Eventually.Async(async () => await notifier.PreflightCheckedAtAsync($"notifier/webhook/{_prefix}-dead") > alerted.AddSeconds(3)
            && await notifier.PreflightCheckedAtAsync($"notifier/webhook/{good}") > alerted.AddSeconds(3), Deadline, "three more preflight runs stored");
        Assert.Single(receiver.Received(good));
    }
}
