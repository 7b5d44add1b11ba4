using Microsoft.Extensions.Options;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace PowerEvents.AlarmEvaluator.Power;

/// <summary>
/// Removes, once at start, the broker bindings an earlier version left on the saga's queue for the step outcomes it no
/// longer consumes (they are recorded on their step rows by <see cref="StepOutcomeConsumer"/> on its own queue).
/// MassTransit adds bindings but never removes one; left in place, every VM and host outcome of an upgraded deployment
/// would also reach the saga, each read under its row's lock and ignored — the cost per outcome the step rows removed.
/// Unbinding a binding that does not exist is a no-op, so this is safe on every start; a broker that cannot be reached
/// is tried again, and a failure never stops the service (the copies are only wasted work).
/// </summary>
public sealed class StaleSagaBindings(IOptions<RabbitMqOptions> rabbit, ILogger<StaleSagaBindings> logger) : BackgroundService
{
    /// <summary>The outcomes the saga consumed before they moved to their step rows (its queue's exchange was bound to theirs).</summary>
    public static readonly IReadOnlyList<Type> NoLongerConsumed =
        [typeof(VmShutDown), typeof(VmPoweredOn), typeof(HostEnteredMaintenance), typeof(HostPoweredOff), typeof(HostExitedMaintenance)];

    static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(30);

    /// <summary>MassTransit's exchange for a message type (its default entity name: <c>Namespace:Type</c>).</summary>
    public static string ExchangeOf(Type message) => $"{message.Namespace}:{message.Name}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await RemoveAsync(stoppingToken);
                return;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && attempt < 10)
            {
                logger.LogWarning("Could not check the saga queue's old bindings (attempt {Attempt}), trying again in {Delay}: {Error}", attempt, RetryDelay, ex.Message);
                await Task.Delay(RetryDelay, stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Gave up removing the saga queue's old bindings: {Error}. Unbind {Exchanges} from {Queue} in the management UI (docs/power-saga.md)",
                    ex.Message, string.Join(", ", NoLongerConsumed.Select(ExchangeOf)), CommandRoutes.PowerSagaQueue);
                return;
            }
        }
    }

    /// <summary>Unbinds each outcome's exchange from the saga's exchange, over a connection of the service's own account.</summary>
    public async Task RemoveAsync(CancellationToken cancellationToken)
    {
        await using var connection = await rabbit.Value.ConnectionFactory("alarm-evaluator-stale-bindings").CreateConnectionAsync(cancellationToken);
        foreach (var message in NoLongerConsumed)
        {
            // A channel per unbind: a source exchange that does not exist (nothing published it yet) closes its channel.
            await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            try
            {
                await channel.ExchangeUnbindAsync(destination: CommandRoutes.PowerSagaQueue, source: ExchangeOf(message), routingKey: "",
                    cancellationToken: cancellationToken);
            }
            catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == Constants.NotFound)
            {
                continue; // no such exchange (or no saga exchange yet): nothing is bound
            }
        }
        logger.LogDebug("Saga queue {Queue}: no binding left to {Exchanges}", CommandRoutes.PowerSagaQueue, string.Join(", ", NoLongerConsumed.Select(ExchangeOf)));
    }
}
