using System.Text.Json;
using Npgsql;
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

    [Fact]
    public async Task An_alarm_the_zone_no_longer_has_starts_no_shutdown_and_the_real_one_does()
    {
        await using var world = await PowerWorld.StartAsync(["-hosts", "1", "-vms", "2", "-guest-shutdown-min", "200ms", "-guest-shutdown-max", "500ms"]);
        world.Evaluator["AlarmEvaluator:Zones:0:Name"] = PowerWorld.Zone;
        world.Evaluator["AlarmEvaluator:Zones:0:Sensors:0"] = "sensor-1";
        world.Evaluator["AlarmEvaluator:Zones:0:ConsecutiveSamples"] = "1";
        world.Evaluator["AlarmEvaluator:OutboxInterval"] = "00:00:00.200";
        await world.StartActuatorInProcessAsync();
        await world.StartEvaluatorInProcessAsync();

        var now = DateTimeOffset.UtcNow;
        await world.PublishAsync(new TemperatureSampled("test", "sensor-1", PowerWorld.Zone, 24.0, now, now));
        await PowerWorld.Eventually(async () => await ZoneAlarmIdAsync(world) is { InAlarm: false }, TimeSpan.FromSeconds(30), "the zone's cool state saved");

        // Raised and cleared while the saga's consumer was away: the raise still waits in its queue.
        var stale = new AlarmRaised(Guid.NewGuid(), PowerWorld.Zone, now.AddMinutes(-10), 35.0, [new SensorReading("sensor-1", 36.0, now.AddMinutes(-10))]);
        await world.PublishAsync(stale);
        await world.PublishAsync(new TemperatureSampled("test", "sensor-1", PowerWorld.Zone, 41.0, now.AddSeconds(1), now.AddSeconds(1)));

        var saga = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(60));
        var real = (await ZoneAlarmIdAsync(world))!.Value.AlarmId!.Value;
        var history = await world.HistoryAsync(saga.RunId!.Value);
        Assert.Contains(history, h => h.Step == "alarm" && h.Outcome == "Raised" && h.Detail.Contains(real.ToString(), StringComparison.Ordinal));
        Assert.DoesNotContain(history, h => h.Detail.Contains(stale.AlarmId.ToString(), StringComparison.Ordinal));
    }

    static async Task<(bool InAlarm, Guid? AlarmId)?> ZoneAlarmIdAsync(PowerWorld world)
    {
        await using var connection = new NpgsqlConnection(world.Postgres.ConnectionString);
        await connection.OpenAsync();
        await using var exists = new NpgsqlCommand("SELECT to_regclass('alarm_zone_state') IS NOT NULL", connection);
        if (!(bool)(await exists.ExecuteScalarAsync())!)
            return null;
        await using var command = new NpgsqlCommand("SELECT state::text FROM alarm_zone_state WHERE zone = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = PowerWorld.Zone });
        if (await command.ExecuteScalarAsync() is not string json)
            return null;
        var state = JsonDocument.Parse(json).RootElement;
        var id = state.TryGetProperty("alarmId", out var a) && a.ValueKind == JsonValueKind.String ? a.GetGuid() : (Guid?)null;
        return (state.GetProperty("inAlarm").GetBoolean(), id);
    }
}
