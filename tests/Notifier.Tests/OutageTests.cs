using System.Diagnostics;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using Xunit;
using Xunit.Abstractions;

namespace PowerEvents.Notifier.Tests;

/// <summary>A PostgreSQL restart (a NAS update, a container recreated) must cost a delay, never an alert.</summary>
[Collection(DeliveryCollection.Name)]
public sealed class OutageTests(RabbitMqFixture rabbit, PostgresFixture postgres, ReceiverFixture receiver, ITestOutputHelper output)
{
    [Fact]
    public async Task An_alert_that_arrives_during_a_65_second_PostgreSQL_outage_is_delivered_after_it_and_never_dead_lettered()
    {
        await using var postgres = await PrivatePostgres.StartAsync();
        var path = "outage-" + Guid.NewGuid().ToString("N")[..8];
        await using var notifier = await NotifierHarness.StartAsync(rabbit, postgres.HostArgs, postgres.ConnectionString,
            "--Notifier:Destinations:0:Name=outage", $"--Notifier:Destinations:0:Url={receiver.ChatUrl(path)}", "--Notifier:Destinations:0:Format=slack",
            "--Notifier:Destinations:0:AllowHttp=true",
            "--Notifier:Delivery:PollInterval=00:00:01");

        await postgres.StopServerAsync();
        var id = Guid.NewGuid();
        await notifier.PublishAsync(TestAlerts.Raised("outage-zone"), id);

        // The outage itself: checked throughout, the message is held and retried, not dead-lettered.
        var outage = Stopwatch.StartNew();
        while (outage.Elapsed < TimeSpan.FromSeconds(65))
        {
            Assert.DoesNotContain("notifier-alarm-raised_error", await rabbit.QueueNamesAsync());
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        Assert.Empty(receiver.Received(path));

        await postgres.StartServerAsync();
        await Eventually.Until(() => receiver.Received(path).Count == 1, TimeSpan.FromSeconds(90), "the alert was not delivered after PostgreSQL came back");
        output.WriteLine($"delivered {outage.Elapsed.TotalSeconds:F0} s after PostgreSQL went down");
        Assert.Contains(id.ToString(), receiver.Received(path)[0].Body, StringComparison.Ordinal);
        Assert.DoesNotContain("notifier-alarm-raised_error", await rabbit.QueueNamesAsync());
    }

    [Fact]
    public async Task A_fault_that_is_not_an_outage_is_not_held_but_dead_lettered_at_once()
    {
        await using var notifier = await NotifierHarness.StartAsync(rabbit, postgres);
        var clock = Stopwatch.StartNew();

        // A failing source without its problem list: the mapping throws, which no retry can mend.
        await notifier.PublishAsync(new SourceHealthChanged("broken-source", false, null!, DateTimeOffset.UtcNow), Guid.NewGuid());

        await Eventually.Async(async () => (await rabbit.QueueNamesAsync()).Contains("notifier-source-health-changed_error"),
            TimeSpan.FromSeconds(20), "the message was not dead-lettered");
        output.WriteLine($"dead-lettered after {clock.ElapsedMilliseconds} ms");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), "a bug was retried as if it were an outage");
    }
}
