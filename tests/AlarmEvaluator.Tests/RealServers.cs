using System.Collections.Concurrent;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.AlarmEvaluator.Tests;

[CollectionDefinition(Name)]
public sealed class RealServersCollection : ICollectionFixture<RabbitMqFixture>, ICollectionFixture<PostgresFixture>
{
    public const string Name = "real servers";
}

/// <summary>A bus of the test's own on the fixture's virtual host that records the sensing events as any subscriber would receive them.</summary>
public sealed class BusRecorder : IAsyncDisposable
{
    readonly IBusControl _bus;
    readonly ConcurrentQueue<object> _received = new();

    BusRecorder(RabbitMqFixture rabbit)
    {
        _bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
            {
                h.Username(RabbitMqFixture.Username);
                h.Password(RabbitMqFixture.Password);
            });
            cfg.ReceiveEndpoint($"test-recorder-{Guid.NewGuid():N}", e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                e.Handler<AlarmRaised>(Record);
                e.Handler<AlarmCleared>(Record);
                e.Handler<ZoneStalenessChanged>(Record);
                e.Handler<ZoneEarlyWarningChanged>(Record);
                e.Handler<SourceHealthChanged>(Record);
            });
        });
    }

    public IPublishEndpoint Publisher => _bus;

    public static async Task<BusRecorder> StartAsync(RabbitMqFixture rabbit)
    {
        var recorder = new BusRecorder(rabbit);
        await recorder._bus.StartAsync();
        return recorder;
    }

    Task Record<T>(ConsumeContext<T> context)
        where T : class
    {
        _received.Enqueue(context.Message);
        return Task.CompletedTask;
    }

    public IReadOnlyList<T> Received<T>(Func<T, bool>? match = null) =>
        _received.OfType<T>().Where(m => match?.Invoke(m) ?? true).ToList();

    public async Task<T> WaitForAsync<T>(Func<T, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_received.OfType<T>().FirstOrDefault(match) is { } found)
                return found;
            await Task.Delay(50);
        }
        throw new TimeoutException($"No matching {typeof(T).Name} within {timeout}; received: {string.Join(", ", _received)}");
    }

    public async ValueTask DisposeAsync() => await _bus.StopAsync();
}

public static class Hosts
{
    public static Task<WebApplication> StartAsync(WebApplication app) => InProcessHost.StartAsync(app);

    public static async Task StopAsync(WebApplication app)
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> otherwise.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
                return;
            await Task.Delay(50);
        }
        Assert.Fail($"Not within {timeout}: {what}");
    }
}
