using MassTransit;

namespace PowerEvents.AlarmEvaluator.Persistence;

/// <summary>Publishes the outbox to the bus, one caller at a time so the order of transitions is kept.</summary>
public sealed class OutboxDispatcher(ZoneStore store, IBus bus, ILogger<OutboxDispatcher> logger)
{
    readonly SemaphoreSlim _gate = new(1, 1);

    public async Task PublishPendingAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            int published;
            do
            {
                published = await store.PublishPendingAsync(
                    (message, id, token) => bus.Publish(message, message.GetType(), c => c.MessageId = id, token),
                    cancellationToken);
                if (published > 0)
                    logger.LogDebug("Published {Count} outbox message(s)", published);
            }
            while (published == 100);
        }
        finally
        {
            _gate.Release();
        }
    }
}
