using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using PowerEvents.Console.Persistence;
using PowerEvents.Contracts;

namespace PowerEvents.Console.ReadModel;

/// <summary>
/// The events the read model is built from, appended one row each and replayed at start, so a restart shows the same
/// runs, hosts and 24 h of temperatures. Temperatures older than the history are pruned.
/// </summary>
public sealed class EventLog(NpgsqlDataSource dataSource, ConsoleSchema schema, ConsoleReadModel model, ConsoleOptions options,
    TimeProvider clock, ILogger<EventLog> log) : BackgroundService
{
    /// <summary>Every event the console follows; the read model's consumer subscribes to each.</summary>
    public static readonly Type[] EventTypes =
    [
        typeof(TemperatureSampled), typeof(AlarmRaised), typeof(AlarmCleared), typeof(ZoneStalenessChanged), typeof(SourceHealthChanged),
        typeof(ClusterInventoryCaptured), typeof(PowerRunStarted), typeof(VmShutDown), typeof(HostEnteredMaintenance),
        typeof(HostPoweredOff), typeof(EsxiHostPoweredOff), typeof(VsanClusterPowerCompleted), typeof(PowerRunStepFailed), typeof(PowerRunCompleted), typeof(PowerRestoreStarted),
        typeof(HostPowerOnCompleted), typeof(HostBootProgressReported), typeof(HostExitedMaintenance), typeof(VmPoweredOn),
        typeof(PowerRestoreCompleted), typeof(HostPowerStateReported), typeof(ScheduledPowerWindowSkipped),
        typeof(ClusterObserved), typeof(PreflightCheckCompleted), typeof(ClusterReadinessAssessed), typeof(WebhookDelivered),
        typeof(OperatorCommandRefused),
    ];

    static readonly Dictionary<string, Type> ByName = EventTypes.ToDictionary(t => t.Name);
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    readonly TaskCompletionSource _replayed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the stored events are in the model; new events wait for it so that order is kept.</summary>
    public Task Replayed => _replayed.Task;

    public async Task AppendAsync<T>(T message, CancellationToken cancellationToken) where T : class
    {
        await Replayed.WaitAsync(cancellationToken);
        await using var command = dataSource.CreateCommand("INSERT INTO console_events (kind, body) VALUES ($1, $2)");
        command.Parameters.Add(new NpgsqlParameter { Value = typeof(T).Name });
        command.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(message, Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
        await command.ExecuteNonQueryAsync(cancellationToken);
        model.Apply(message);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!Replayed.IsCompleted)
        {
            try
            {
                await schema.EnsureAsync(stoppingToken);
                await ReplayAsync(stoppingToken);
                _replayed.TrySetResult();
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                log.LogWarning("PostgreSQL not ready for the console's read model ({Error}); retrying", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), clock, stoppingToken);
            }
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(10), clock);
        do
        {
            try
            {
                await PruneAsync(stoppingToken);
            }
            catch (NpgsqlException ex)
            {
                log.LogWarning("Pruning old events failed: {Error}", ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>
    /// Temperatures and deliveries by age; observations, checks and assessments down to the latest of each, whatever its
    /// age (the model keeps only that, an observation of a large cluster is big, and a check that stopped reporting must
    /// still be known after a restart for what it last said).
    /// </summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        var byAge = new NpgsqlBatchCommand("DELETE FROM console_events WHERE kind IN ('TemperatureSampled', 'WebhookDelivered') AND received_at < $1");
        byAge.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() - options.HistoryLength });
        batch.BatchCommands.Add(byAge);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            DELETE FROM console_events e WHERE e.kind = 'PreflightCheckCompleted' AND EXISTS (
                SELECT 1 FROM console_events n WHERE n.kind = e.kind AND n.id > e.id AND n.body->>'service' = e.body->>'service'
                  AND n.body->>'kind' = e.body->>'kind' AND n.body->>'target' = e.body->>'target')
            """));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            DELETE FROM console_events e WHERE e.kind IN ('ClusterObserved', 'ClusterReadinessAssessed') AND EXISTS (
                SELECT 1 FROM console_events n WHERE n.kind = e.kind AND n.id > e.id AND n.body->>'cluster' = e.body->>'cluster')
            """));
        return await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    async Task ReplayAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT kind, body::text FROM console_events ORDER BY id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var count = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            if (!ByName.TryGetValue(reader.GetString(0), out var type))
                continue;
            if (JsonSerializer.Deserialize(reader.GetString(1), type, Json) is { } message)
            {
                model.Apply(message);
                count++;
            }
        }
        log.LogInformation("Console read model rebuilt from {Count} stored events", count);
    }
}
