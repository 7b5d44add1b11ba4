using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using PowerEvents.Contracts;

namespace PowerEvents.Hosting;

/// <summary>A message waiting in the outbox: its bus message id (kept across retries), the message, and the queue it is sent to (null: published).</summary>
public sealed record OutboxMessage(Guid MessageId, object Message, string? Destination);

/// <summary>
/// The project's one outbox. A component writes the messages a state change causes into <c>outbox</c> in the same
/// transaction as the change (<see cref="WriteAsync"/>); <see cref="OutboxPublisher"/> delivers them after the commit,
/// in order, each with its row's message id, and marks them delivered. A crash between the commit and the delivery
/// delivers at restart, with the same message id, so a consumer that keeps ids sees one fact once. Commands (those in
/// <see cref="CommandRoutes"/>) are sent to their queue, everything else is published.
/// </summary>
public static class Outbox
{
    public const int BatchSize = 200;

    /// <summary>At most this many sends of one run of like commands are in flight at once (<see cref="PublishPendingAsync"/>).</summary>
    public const int SendWindow = 64;

    /// <summary>
    /// The longest one send may take. A send whose broker confirm never comes (its channel died under it in a broker
    /// restart) would otherwise hold the delivery loop, and every row after it, for good; it stays pending and the next
    /// round sends it again with the same message id (consumers drop the copy).
    /// </summary>
    public static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(30);

    public static readonly SchemaMigrations Migrations = new("outbox",
    [
        new Migration(1, "outbox", """
            CREATE TABLE IF NOT EXISTS outbox (
                seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                message_id   uuid NOT NULL UNIQUE,
                message_type text NOT NULL,
                destination  text NULL,
                payload      jsonb NOT NULL,
                created_at   timestamptz NOT NULL DEFAULT now(),
                published_at timestamptz NULL
            );
            CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE published_at IS NULL;
            """),
    ]);

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Only message contracts are ever read back (never an arbitrary type named in a row).</summary>
    static readonly System.Reflection.Assembly ContractsAssembly = typeof(AlarmRaised).Assembly;

    /// <summary>Runs the outbox's serializer over a contract instance once, both ways (start-up warm-up: <see cref="StartupWarmup"/>).</summary>
    public static void Warm(object contract) => JsonSerializer.Deserialize(JsonSerializer.Serialize(contract, contract.GetType(), Json), contract.GetType(), Json);

    /// <summary>Writes <paramref name="messages"/> in the caller's transaction on <paramref name="connection"/> (open, from <paramref name="dataSource"/>).</summary>
    public static async Task WriteAsync(NpgsqlDataSource dataSource, NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyCollection<object> messages,
        CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
            return;
        await Migrations.EnsureAppliedAsync(dataSource, cancellationToken);
        var ids = new Guid[messages.Count];
        var types = new string[messages.Count];
        var destinations = new string?[messages.Count];
        var payloads = new string[messages.Count];
        var i = 0;
        foreach (var message in messages)
        {
            var type = message.GetType();
            if (type.Assembly != ContractsAssembly)
                throw new ArgumentException($"Only message contracts go through the outbox, not {type}", nameof(messages));
            ids[i] = NewId.NextGuid();
            types[i] = type.FullName!;
            destinations[i] = CommandRoutes.Queues.GetValueOrDefault(type);
            payloads[i] = JsonSerializer.Serialize(message, type, Json);
            i++;
        }
        // One statement for the whole set (a stage start writes up to a thousand commands); seq follows the given order.
        await using var insert = new NpgsqlCommand("""
            INSERT INTO outbox (message_id, message_type, destination, payload)
            SELECT id, type, destination, payload FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS m(id, type, destination, payload, n)
            ORDER BY n
            """, connection, transaction);
        insert.Parameters.Add(new NpgsqlParameter { Value = ids });
        insert.Parameters.Add(new NpgsqlParameter { Value = types });
        insert.Parameters.Add(new NpgsqlParameter { Value = destinations, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        insert.Parameters.Add(new NpgsqlParameter { Value = payloads, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Delivers up to <see cref="BatchSize"/> pending messages in order and marks them delivered; returns how many.
    /// A delivery that throws leaves that message and the ones after it pending, with their ids. Consecutive commands of
    /// one type to one queue are sent side by side (up to <see cref="SendWindow"/> in flight): among those, order is not kept,
    /// and one that fails stays pending while its siblings that went out are marked.
    /// </summary>
    public static async Task<int> PublishPendingAsync(NpgsqlDataSource dataSource, Func<OutboxMessage, CancellationToken, Task> deliver, CancellationToken cancellationToken,
        TimeSpan? sendTimeout = null)
    {
        var timeout = sendTimeout ?? SendTimeout;
        await Migrations.EnsureAppliedAsync(dataSource, cancellationToken);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var pending = new List<(long Seq, Guid Id, string Type, string? Destination, string Payload)>();
        await using (var select = new NpgsqlCommand(
            $"SELECT seq, message_id, message_type, destination, payload::text FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT {BatchSize} FOR UPDATE SKIP LOCKED",
            connection, transaction))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                pending.Add((reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4)));
        }

        var delivered = new List<long>();
        try
        {
            for (var i = 0; i < pending.Count;)
            {
                // Commands of one type to one queue written one after another (a stage's VM commands) are sent with up to
                // SendWindow in flight, so the broker's confirms overlap instead of costing a round trip each; their
                // consumer takes them side by side anyway. Everything else goes one at a time, in order.
                var (_, _, firstType, firstDestination, _) = pending[i];
                var end = i + 1;
                if (firstDestination is not null)
                    while (end < pending.Count && pending[end].Destination == firstDestination && pending[end].Type == firstType)
                        end++;
                // A sliding window: the next send starts as soon as one of the SendWindow in flight is confirmed (sends
                // started in lock-step windows waited for each window's slowest confirm: a tier of 1,000 commands took
                // ~2 s to reach the bus on the loaded test machine).
                var window = new SemaphoreSlim(SendWindow);
                var sends = new List<(long Seq, Task Delivery)>(end - i);
                try
                {
                    for (; i < end; i++)
                    {
                        var (seq, id, typeName, destination, payload) = pending[i];
                        await window.WaitAsync(cancellationToken);
                        // An unknown type (a contract removed since) is marked delivered rather than blocking the ones after it.
                        sends.Add((seq, Released(window, ContractsAssembly.GetType(typeName) is { } type && JsonSerializer.Deserialize(payload, type, Json) is { } message
                            ? Start(deliver, new OutboxMessage(id, message, destination), timeout, cancellationToken)
                            : Task.CompletedTask)));
                    }
                    await Task.WhenAll(sends.Select(s => s.Delivery));
                }
                finally
                {
                    // Those that went out are marked even when a sibling failed (it stays pending with its id, and so do the rows after it).
                    delivered.AddRange(sends.Where(s => s.Delivery.IsCompletedSuccessfully).Select(s => s.Seq));
                }
            }
        }
        finally
        {
            if (delivered.Count > 0)
            {
                await using var mark = new NpgsqlCommand("UPDATE outbox SET published_at = now() WHERE seq = ANY($1)", connection, transaction);
                mark.Parameters.Add(new NpgsqlParameter { Value = delivered.ToArray() });
                await mark.ExecuteNonQueryAsync(CancellationToken.None);
                await transaction.CommitAsync(CancellationToken.None);
            }
        }
        return pending.Count;
    }

    static async Task Released(SemaphoreSlim window, Task delivery)
    {
        try
        {
            await delivery;
        }
        finally
        {
            window.Release();
        }
    }

    /// <summary>
    /// One send, given up after <paramref name="timeout"/> (its token cancelled, and not awaited beyond it should it ignore
    /// the token). A delivery that throws before its first await counts as a failed send, like one that fails later.
    /// </summary>
    static async Task Start(Func<OutboxMessage, CancellationToken, Task> deliver, OutboxMessage message, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        Task delivery;
        try
        {
            delivery = deliver(message, limit.Token);
        }
        catch (Exception ex)
        {
            delivery = Task.FromException(ex);
        }
        await delivery.WaitAsync(timeout + TimeSpan.FromSeconds(1), cancellationToken);
    }
}

/// <summary>
/// Delivers the outbox to the bus: at start (what a crash left), whenever a writer calls <see cref="Kick"/> after its
/// commit, and every second as a backstop. One delivery at a time, so the order of the rows is kept.
/// </summary>
public sealed class OutboxPublisher(NpgsqlDataSource dataSource, IBus bus, ILogger<OutboxPublisher> logger) : BackgroundService
{
    static readonly TimeSpan Backstop = TimeSpan.FromSeconds(1);
    readonly SemaphoreSlim _kick = new(0, 1);
    readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Something was committed to the outbox: deliver it soon (does not wait).</summary>
    public void Kick()
    {
        try
        {
            _kick.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already kicked: the next round delivers this commit's rows too.
        }
    }

    /// <summary>Delivers everything pending now (waits for it).</summary>
    public async Task PublishPendingAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            int count;
            do
            {
                count = await Outbox.PublishPendingAsync(dataSource, DeliverAsync, cancellationToken);
                if (count > 0)
                    logger.LogDebug("Delivered {Count} outbox message(s)", count);
            }
            while (count == Outbox.BatchSize);
        }
        finally
        {
            _gate.Release();
        }
    }

    async Task DeliverAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        if (message.Destination is null)
        {
            await bus.Publish(message.Message, message.Message.GetType(), c => c.MessageId = message.MessageId, cancellationToken);
            return;
        }
        var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{message.Destination}"));
        await endpoint.Send(message.Message, message.Message.GetType(), c => c.MessageId = message.MessageId, cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PublishPendingAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // PostgreSQL or the broker away for a moment: the rows stay pending, the next round delivers them.
                logger.LogWarning("Outbox delivery failed, will try again: {Error}", ex.Message);
            }
            try
            {
                await _kick.WaitAsync(Backstop, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}

public static class OutboxRegistration
{
    /// <summary>The outbox's table (applied at start) and its publisher (a singleton, also the background delivery). Needs an <see cref="NpgsqlDataSource"/> and the bus.</summary>
    public static IServiceCollection AddOutbox(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(OutboxPublisher)))
            return services;
        services.AddSchemaMigrations(Outbox.Migrations);
        services.AddSingleton<OutboxPublisher>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxPublisher>());
        return services;
    }
}
