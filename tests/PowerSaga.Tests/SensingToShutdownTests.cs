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
    public async Task The_zones_transition_number_travels_with_the_alarm_to_the_saga()
    {
        await using var world = await PowerWorld.StartAsync(["-hosts", "1", "-vms", "2", "-guest-shutdown-min", "200ms", "-guest-shutdown-max", "500ms"]);
        world.Evaluator["AlarmEvaluator:Zones:0:Name"] = PowerWorld.Zone;
        world.Evaluator["AlarmEvaluator:Zones:0:Sensors:0"] = "sensor-1";
        world.Evaluator["AlarmEvaluator:Zones:0:ConsecutiveSamples"] = "1";
        world.Evaluator["AlarmEvaluator:OutboxInterval"] = "00:00:00.200";
        await world.StartActuatorInProcessAsync();
        await world.StartEvaluatorInProcessAsync();

        var now = DateTimeOffset.UtcNow;
        await world.PublishAsync(new TemperatureSampled("test", "sensor-1", PowerWorld.Zone, 41.0, now, now));
        var saga = await world.WaitForStateAsync("ShutDown", TimeSpan.FromSeconds(60));
        Assert.Equal(1, await ZoneSequenceAsync(world));

        // The clear is transition 2; the power-on waits for the minimum off time (5 min by default).
        await world.PublishAsync(new TemperatureSampled("test", "sensor-1", PowerWorld.Zone, 20.0, now.AddSeconds(1), now.AddSeconds(1)));
        await world.WaitForStateAsync("WaitingToPowerOn", TimeSpan.FromSeconds(30));
        Assert.Equal(2, await ZoneSequenceAsync(world));
        var real = (await ZoneAlarmIdAsync(world))!.Value;
        Assert.False(real.InAlarm);
        Assert.Contains(await world.HistoryAsync(saga.RunId!.Value), h => h.Step == "alarm" && h.Outcome == "Cleared");
    }

    /// <summary>The saga's own record of the zone's newest transition (it reads no table of the sensing side).</summary>
    static async Task<long?> ZoneSequenceAsync(PowerWorld world)
    {
        await using var connection = new NpgsqlConnection(world.Postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT zone_sequence FROM power_saga", connection);
        return await command.ExecuteScalarAsync() is long sequence ? sequence : null;
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
