using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>The whole chain inside the AlarmEvaluator: a hot sample → the zone's alarm (sensing) → the saga takes the cluster down.</summary>
[Collection(PowerIntegrationCollection.Name)]
public sealed class SensingToShutdownTests
{
    [Fact]
    public async Task A_hot_sample_in_the_clusters_zone_raises_the_alarm_and_the_cluster_is_shut_down()
    {
        await using var world = await PowerWorld.StartAsync(["-hosts", "2", "-vms", "2", "-guest-shutdown-min", "200ms", "-guest-shutdown-max", "500ms"]);
        world.Evaluator["AlarmEvaluator:Zones:0:Name"] = PowerWorld.Zone;
        world.Evaluator["AlarmEvaluator:Zones:0:Sensors:0"] = "sensor-1";
        world.Evaluator["AlarmEvaluator:Zones:0:ConsecutiveSamples"] = "1";
        world.Evaluator["AlarmEvaluator:OutboxInterval"] = "00:00:00.200";
        await world.StartActuatorInProcessAsync();
        await world.StartEvaluatorInProcessAsync();

        var now = DateTimeOffset.UtcNow;
        await world.PublishAsync(new TemperatureSampled("test", "sensor-1", PowerWorld.Zone, 41.0, now, now));
        var saga = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(60));

        var state = await world.StateAsync();
        Assert.All(state.Vms, vm => Assert.Equal("poweredOff", vm.PowerState));
        Assert.All(state.Hosts, host => Assert.Equal("poweredOff", host.PowerState));
        Assert.Contains(await world.HistoryAsync(saga.RunId!.Value), h => h.Step == "alarm" && h.Outcome == "Raised" && h.Target == PowerWorld.Zone);
    }
}
