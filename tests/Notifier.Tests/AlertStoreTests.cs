using Npgsql;
using PowerEvents.Notifier.Delivery;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>The Notifier's PostgreSQL store against the real server: dedupe, order, retention.</summary>
[Collection(DeliveryCollection.Name)]
public sealed class AlertStoreTests(PostgresFixture postgres) : IAsyncDisposable
{
    readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(postgres.ConnectionString);
    readonly string _destination = "store-" + Guid.NewGuid().ToString("N")[..8];

    AlertStore Store => new(_dataSource);

    static Alerts.Alert NewAlert()
    {
        var id = Guid.NewGuid();
        return TestAlerts.Alert() with { Id = id, Fact = $"AlarmRaised/{id}/server-room" };
    }

    [Fact]
    public async Task An_alert_id_is_recorded_once()
    {
        var alert = NewAlert();
        Assert.True(await Store.RecordAsync(alert, [_destination], CancellationToken.None));
        Assert.False(await Store.RecordAsync(alert with { Title = "again" }, [_destination], CancellationToken.None));

        var pending = await Store.NextPendingAsync(_destination, CancellationToken.None);
        Assert.Equal(alert.Id, pending!.Alert.Id);
        Assert.Equal(alert.Title, pending.Alert.Title);
        Assert.Equal(alert.Facts, pending.Alert.Facts);
        Assert.Equal(alert.Details.GetRawText(), pending.Alert.Details.GetRawText());
    }

    [Fact]
    public async Task A_fact_is_recorded_once_whatever_message_carries_it()
    {
        var alert = NewAlert();
        Assert.True(await Store.RecordAsync(alert, [_destination], CancellationToken.None));
        Assert.False(await Store.RecordAsync(alert with { Id = Guid.NewGuid(), Summary = "replayed" }, [_destination], CancellationToken.None));
        Assert.True(await Store.RecordAsync(alert with { Id = Guid.NewGuid(), Fact = alert.Fact + "-other" }, [_destination], CancellationToken.None));

        await using var count = _dataSource.CreateCommand("SELECT count(*) FROM notifier.deliveries WHERE destination = @destination");
        count.Parameters.AddWithValue("destination", _destination);
        Assert.Equal(2L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_destination_gets_its_pending_deliveries_oldest_first()
    {
        var (first, second) = (NewAlert(), NewAlert());
        await Store.RecordAsync(first, [_destination], CancellationToken.None);
        await Store.RecordAsync(second, [_destination], CancellationToken.None);

        var next = await Store.NextPendingAsync(_destination, CancellationToken.None);
        Assert.Equal(first.Id, next!.Alert.Id);
        await Store.CompleteAsync(next.DeliveryId, new DeliveryOutcome(true, 1, 200, null), CancellationToken.None);
        Assert.Equal(second.Id, (await Store.NextPendingAsync(_destination, CancellationToken.None))!.Alert.Id);
    }

    [Fact]
    public async Task Retention_forgets_old_delivered_alerts_and_keeps_failed_ones()
    {
        var (oldDelivered, oldFailed, recent) = (NewAlert(), NewAlert(), NewAlert());
        foreach (var alert in new[] { oldDelivered, oldFailed, recent })
        {
            await Store.RecordAsync(alert, [_destination], CancellationToken.None);
            var pending = await Store.NextPendingAsync(_destination, CancellationToken.None);
            await Store.CompleteAsync(pending!.DeliveryId, new DeliveryOutcome(alert != oldFailed, 1, alert != oldFailed ? 200 : 500, null), CancellationToken.None);
        }
        await using (var age = _dataSource.CreateCommand("UPDATE notifier.alerts SET received_at = now() - interval '40 days' WHERE id = ANY(@ids)"))
        {
            age.Parameters.AddWithValue("ids", new[] { oldDelivered.Id, oldFailed.Id });
            await age.ExecuteNonQueryAsync();
        }

        await Store.PruneAsync(TimeSpan.FromDays(30), CancellationToken.None);

        await using var remaining = _dataSource.CreateCommand("SELECT id FROM notifier.alerts WHERE id = ANY(@ids)");
        remaining.Parameters.AddWithValue("ids", new[] { oldDelivered.Id, oldFailed.Id, recent.Id });
        var ids = new List<Guid>();
        await using (var reader = await remaining.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                ids.Add(reader.GetGuid(0));
        Assert.Equal(new[] { oldFailed.Id, recent.Id }.Order(), ids.Order());
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
