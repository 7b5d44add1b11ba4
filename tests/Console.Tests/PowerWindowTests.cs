using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PowerEvents.Console.ReadModel;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.Console.Tests;

/// <summary>Scheduled power windows over the real bus: carried out as the saga's commands, or skipped and announced while an alarm holds.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class PowerWindowTests(ConsoleFixture console)
{
    // The window's time is this minute (UTC, the fixture's time zone): due at the console's next tick (1 s in tests).
    static string ThisMinute() => DateTime.UtcNow.ToString("HH:mm", CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_due_window_sends_the_shutdown_to_the_saga_as_the_schedule()
    {
        await console.PublishAsync(new ClusterInventoryCaptured(Guid.NewGuid(), "cluster-sched", [new HostInventory("h1", "esx-s1", "connected", "poweredOn", false)], [], DateTimeOffset.UtcNow));
        using var admin = await console.ClientAsync();
        await Eventually.TrueAsync(async () => (await admin.GetJsonAsync<StateView>("api/state"))!.Clusters.Any(c => c.Name == "cluster-sched"), "cluster not shown");

        using var refused = await admin.PostAsync("api/clusters/cluster-sched/windows", new { days = "daily", offAt = ThisMinute(), confirm = "wrong", reason = "nightly" });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        using var added = await admin.PostAsync("api/clusters/cluster-sched/windows", new { days = "daily", offAt = ThisMinute(), confirm = "cluster-sched", reason = "nights off" });
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        var id = (await added.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();

        await Eventually.TrueAsync(() => Task.FromResult(console.SagaCommands.OfType<ClusterShutdownNowRequested>().Any(c => c.Cluster == "cluster-sched")),
            "the scheduled shutdown did not reach the saga's queue");
        var command = console.SagaCommands.OfType<ClusterShutdownNowRequested>().Single(c => c.Cluster == "cluster-sched");
        Assert.Equal($"schedule:{id}", command.RequestedBy);

        // Done for today (that a window so marked is not due again is PowerWindowScheduleTests' part).
        await Eventually.TrueAsync(async () => Assert.Single((await admin.GetJsonAsync<List<JsonElement>>("api/clusters/cluster-sched/windows"))!)
            .GetProperty("lastOffOn").ValueKind != JsonValueKind.Null, "the window was not marked done");

    }

    [Fact]
    public async Task A_window_due_while_the_alarm_holds_is_skipped_and_announced()
    {
        var cluster = ConsoleFixture.ScheduleAlarmCluster;
        await console.PublishAsync(new AlarmRaised(Guid.NewGuid(), ConsoleFixture.ScheduleAlarmZone, DateTimeOffset.UtcNow, 32, []));
        using var admin = await console.ClientAsync();
        await Eventually.TrueAsync(async () => (await admin.GetJsonAsync<StateView>("api/state"))!.Zones.Any(z => z.Name == ConsoleFixture.ScheduleAlarmZone && z.Alarm?.Active == true), "alarm not shown");

        using var added = await admin.PostAsync($"api/clusters/{cluster}/windows", new { days = "daily", onAt = ThisMinute(), confirm = cluster, reason = "mornings on" });
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);

        // ScheduledPowerWindowSkipped is published (for the Notifier); the console itself shows it with the cluster.
        await Eventually.TrueAsync(async () => (await admin.GetJsonAsync<StateView>("api/state"))!.Clusters
            .Any(c => c.Name == cluster && c.ScheduleNote?.Contains("power-on skipped: the alarm of zone-sched holds", StringComparison.Ordinal) == true),
            "the skipped window was not announced");
        Assert.DoesNotContain(console.SagaCommands, c => c is ClusterPowerOnNowRequested { Cluster: ConsoleFixture.ScheduleAlarmCluster });
        var audit = await admin.GetJsonAsync<List<JsonElement>>("api/audit?limit=200");
        Assert.Contains(audit!, a => a.GetProperty("action").GetString() == "scheduled-power-on" && a.GetProperty("outcome").GetString()!.StartsWith("skipped", StringComparison.Ordinal));
    }
}
