using System.Net.Sockets;
using MassTransit;
using Npgsql;
using RabbitMQ.Client.Exceptions;

namespace PowerEvents.Hosting;

/// <summary>
/// Faults that go away by themselves (PostgreSQL or RabbitMQ restarting, a dropped connection) and the retry every
/// consumer gets for them. The delayed-message plugin that MassTransit's redelivery needs is not available, so the
/// retry happens in process, holding the message: its intervals add up to twice the 60 s a PostgreSQL or RabbitMQ
/// restart may take on a NAS. Any other fault is a bug or bad data: it goes to the <c>_error</c> queue at once.
/// </summary>
public static class TransientFaults
{
    /// <summary>Waits between attempts: 1 + 2 + 5 + 10 + 20 + 30 + 30 + 30 = 128 s in all.</summary>
    public static readonly IReadOnlyList<TimeSpan> RetryIntervals =
        [.. new[] { 1, 2, 5, 10, 20, 30, 30, 30 }.Select(s => TimeSpan.FromSeconds(s))];

    public static void Configure(IRetryConfigurator retry)
    {
        retry.Handle<Exception>(IsTransient);
        retry.Intervals([.. RetryIntervals]);
    }

    /// <summary>True when the fault, or one it wraps (EF Core's <c>DbUpdateException</c>, MassTransit's publish faults), is an outage.</summary>
    public static bool IsTransient(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case NpgsqlException npgsql when npgsql.IsTransient:
                case SocketException:
                case TimeoutException:
                case ConnectionException:
                case TransportUnavailableException:
                case AlreadyClosedException:
                case BrokerUnreachableException:
                case OperationInterruptedException:
                    return true;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Any(IsTransient))
                return true;
        }

        return false;
    }
}
