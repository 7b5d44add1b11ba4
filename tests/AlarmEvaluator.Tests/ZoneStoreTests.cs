using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using PowerEvents.AlarmEvaluator.Persistence;
using PowerEvents.AlarmEvaluator.Zones;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.AlarmEvaluator.Tests;

/// <summary>Zone state and the outbox in the real PostgreSQL: what a restart or a crash leaves behind.</summary>
[Collection(RealServersCollection.Name)]
public sealed class ZoneStoreTests(PostgresFixture postgres)
{
    static readonly DateTimeOffset T0 = DateTimeOffset.UtcNow;

    ZoneStore NewStore() => new(NpgsqlDataSource.Create(postgres.ConnectionString), NullLogger<ZoneStore>.Instance);

    /// <summary>What a restarted process's outbox publisher does: deliver the pending rows (the project's one outbox).</summary>
    Task PublishPendingAsync(Func<object, Guid, CancellationToken, Task> publish) =>
        Outbox.PublishPendingAsync(NpgsqlDataSource.Create(postgres.ConnectionString), (m, token) => publish(m.Message, m.MessageId, token), CancellationToken.None);

    static ZoneEvaluator Zone(params string[] sensors) =>
        new(new ZoneOptions { Name = $"zone-{Guid.NewGuid():N}"[..20], Sensors = [.. sensors], ConsecutiveSamples = 3 }, T0);

    static Sample Hot(string sensor, int second) => new(sensor, 40, null, T0.AddSeconds(second), T0.AddSeconds(second));

    static Task<ZoneDecision> Step(ZoneStore store, ZoneEvaluator zone, Sample sample) =>
        store.StepAsync(zone, state => zone.Apply(state, sample, sample.ReceivedAt), CancellationToken.None);

    [Fact]
    public async Task A_new_store_continues_the_streak_where_the_old_one_stopped()
    {
        var zone = Zone("A");
        await Step(NewStore(), zone, Hot("A", 0));
        await Step(NewStore(), zone, Hot("A", 1));

        var restarted = NewStore();
        var decision = await Step(restarted, zone, Hot("A", 2));

        Assert.NotNull(decision.Raised);
        var saved = await restarted.LoadAsync(zone.Zone.Name, CancellationToken.None);
        Assert.True(saved!.InAlarm);
        Assert.Equal(decision.Raised.AlarmId, saved.AlarmId);
        Assert.Null((await Step(NewStore(), zone, Hot("A", 3))).Raised);
    }

    [Fact]
    public async Task A_redelivered_sample_after_a_restart_is_a_duplicate_not_a_second_transition()
    {
        var zone = Zone("A");
        var store = NewStore();
        for (var i = 0; i < 3; i++)
            await Step(store, zone, Hot("A", i));

        var again = await Step(NewStore(), zone, Hot("A", 2));
        Assert.Equal(Verdict.Duplicate, again.Verdict);
        Assert.False(again.HasTransition);
    }

    [Fact]
    public async Task Transitions_saved_before_a_crash_are_published_after_the_restart_exactly_once()
    {
        var zone = Zone("A");
        var crashed = NewStore();
        for (var i = 0; i < 3; i++)
            await Step(crashed, zone, Hot("A", i));

        var published = new List<(object Message, Guid Id)>();
        var restarted = NewStore();
        await PublishPendingAsync((m, id, _) => { published.Add((m, id)); return Task.CompletedTask; });
        await PublishPendingAsync((m, id, _) => { published.Add((m, id)); return Task.CompletedTask; });

        var ours = published.Where(p => p.Message is AlarmRaised r && r.Zone == zone.Zone.Name).ToList();
        var raised = (AlarmRaised)Assert.Single(ours).Message;
        Assert.Equal(40, raised.Readings.Single().Celsius);
        Assert.Equal((await restarted.LoadAsync(zone.Zone.Name, CancellationToken.None))!.AlarmId, raised.AlarmId);
    }

    [Fact]
    public async Task A_publish_that_fails_leaves_the_transition_pending_with_the_same_message_id()
    {
        var zone = Zone("A");
        var store = NewStore();
        // Publish whatever earlier tests left, so only this zone's rows remain.
        await PublishPendingAsync((_, _, _) => Task.CompletedTask);
        for (var i = 0; i < 3; i++)
            await Step(store, zone, Hot("A", i));

        var attempted = new List<Guid>();
        await Assert.ThrowsAsync<InvalidOperationException>(() => PublishPendingAsync((_, id, _) =>
        {
            attempted.Add(id);
            throw new InvalidOperationException("broker gone");
        }));

        var retried = new List<(object Message, Guid Id)>();
        await PublishPendingAsync((m, id, _) => { retried.Add((m, id)); return Task.CompletedTask; });
        var (message, id) = Assert.Single(retried);
        Assert.Equal(attempted.Single(), id);
        Assert.Equal(zone.Zone.Name, Assert.IsType<AlarmRaised>(message).Zone);
    }

    [Fact]
    public async Task Concurrent_steps_on_one_zone_lose_no_update()
    {
        var sensors = Enumerable.Range(0, 16).Select(i => $"S{i}").ToArray();
        var zone = Zone(sensors);
        var store = NewStore();

        await Task.WhenAll(sensors.Select(s => Task.Run(() => Step(store, zone, Hot(s, 0)))));

        var saved = await store.LoadAsync(zone.Zone.Name, CancellationToken.None);
        Assert.Equal(sensors.Order(), saved!.Sensors.Keys.Order());
    }
}
