using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PowerEvents.AlarmEvaluator;
using PowerEvents.Contracts;
using PowerEvents.SensorPoller;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.Integration.Tests;

/// <summary>Two service hosts, in this process, talking over the real RabbitMQ.</summary>
[Collection(RealServersCollection.Name)]
public sealed class BusRoundTripTests(RabbitMqFixture rabbit, PostgresFixture postgres)
{
    [Fact]
    public async Task A_sample_published_by_the_poller_host_reaches_the_evaluator_host_consumer()
    {
        // Both hosts must report ready (bus connected; PostgreSQL answering for the evaluator) before the publish.
        await using var poller = await InProcessHost.StartAsync(SensorPollerHost.Build([.. rabbit.HostArgs, "--Urls=http://127.0.0.1:0"]));
        await using var evaluator = await InProcessHost.StartAsync(AlarmEvaluatorHost.Build([.. rabbit.HostArgs, .. postgres.HostArgs, "--Urls=http://127.0.0.1:0"]));

        var received = new ConsumedObserver<TemperatureSampled>();
        using var _ = evaluator.Services.GetRequiredService<IBus>().ConnectConsumeMessageObserver(received);

        var sample = new TemperatureSampled("meraki-hq", $"Q3CA-{Guid.NewGuid():N}"[..14], "server-room", 27.5,
            DateTimeOffset.UtcNow.AddSeconds(-3), DateTimeOffset.UtcNow);
        await poller.Services.GetRequiredService<IPublishEndpoint>().Publish(sample);

        var consumed = await received.WaitAsync(m => m.SensorId == sample.SensorId, TimeSpan.FromSeconds(15));
        Assert.Equal(sample, consumed);
        Assert.Contains("alarm-evaluator-temperature-sampled", await rabbit.QueueNamesAsync());
    }



    sealed class ConsumedObserver<T> : IConsumeMessageObserver<T>
        where T : class
    {
        readonly List<T> _consumed = [];
        readonly Lock _lock = new();

        public Task PreConsume(ConsumeContext<T> context) => Task.CompletedTask;

        public Task PostConsume(ConsumeContext<T> context)
        {
            lock (_lock)
                _consumed.Add(context.Message);
            return Task.CompletedTask;
        }

        public Task ConsumeFault(ConsumeContext<T> context, Exception exception) => Task.CompletedTask;

        public async Task<T> WaitAsync(Func<T, bool> match, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                lock (_lock)
                {
                    var found = _consumed.FirstOrDefault(match);
                    if (found is not null)
                        return found;
                }
                await Task.Delay(50);
            }
            throw new TimeoutException($"No {typeof(T).Name} consumed within {timeout}");
        }
    }
}
