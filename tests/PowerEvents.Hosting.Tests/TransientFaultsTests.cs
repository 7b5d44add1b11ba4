using System.Net.Sockets;
using Npgsql;
using Xunit;

namespace PowerEvents.Hosting.Tests;

public sealed class TransientFaultsTests
{
    [Fact]
    public void The_retry_outlasts_a_60_second_restart_with_room_to_spare()
    {
        var total = TransientFaults.RetryIntervals.Aggregate(TimeSpan.Zero, (sum, interval) => sum + interval);

        Assert.True(total >= TimeSpan.FromSeconds(120), $"the retries give up after {total}");
    }

    [Fact]
    public void An_outage_is_transient_also_when_wrapped()
    {
        var refused = new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused));

        Assert.True(TransientFaults.IsTransient(refused));
        Assert.True(TransientFaults.IsTransient(new InvalidOperationException("An exception has been raised that is likely due to a transient failure.", refused)));
        Assert.True(TransientFaults.IsTransient(new MassTransit.RabbitMqConnectionException("broker down")));
        Assert.True(TransientFaults.IsTransient(new AggregateException(new TimeoutException())));
    }

    [Fact]
    public void A_bug_or_bad_data_is_not_transient()
    {
        Assert.False(TransientFaults.IsTransient(new InvalidOperationException("Sequence contains no elements")));
        Assert.False(TransientFaults.IsTransient(new PostgresExceptionStub().Exception));
        Assert.False(TransientFaults.IsTransient(new FormatException()));
    }

    // A unique violation (23505) is the database refusing the data, not an outage.
    sealed class PostgresExceptionStub
    {
        public Npgsql.PostgresException Exception { get; } = new("duplicate key", "ERROR", "ERROR", "23505");
    }
}
