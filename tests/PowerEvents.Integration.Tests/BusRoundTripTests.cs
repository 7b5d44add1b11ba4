using System.Net;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
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
        await using var poller = await StartAsync(SensorPollerHost.Build([.. rabbit.HostArgs, "--Urls=http://127.0.0.1:0"]));
        await using var evaluator = await StartAsync(AlarmEvaluatorHost.Build([.. rabbit.HostArgs, .. postgres.HostArgs, "--Urls=http://127.0.0.1:0"]));

        await WaitUntilReadyAsync(poller);
        await WaitUntilReadyAsync(evaluator);

        var received = new ConsumedObserver<TemperatureSampled>();
        using var _ = evaluator.Services.GetRequiredService<IBus>().ConnectConsumeMessageObserver(received);

        var sample = new TemperatureSampled("meraki-hq", $"Q3CA-{Guid.NewGuid():N}"[..14], "server-room", 27.5,
            DateTimeOffset.UtcNow.AddSeconds(-3), DateTimeOffset.UtcNow);
        await poller.Services.GetRequiredService<IPublishEndpoint>().Publish(sample);

        var consumed = await received.WaitAsync(m => m.SensorId == sample.SensorId, TimeSpan.FromSeconds(15));
        Assert.Equal(sample, consumed);
        Assert.Contains("alarm-evaluator-temperature-sampled", await rabbit.QueueNamesAsync());
    }

    static async Task<WebApplication> StartAsync(WebApplication app)
    {
        await app.StartAsync();
        return app;
    }

    static async Task WaitUntilReadyAsync(WebApplication app)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        HttpStatusCode status = default;
        while (DateTime.UtcNow < deadline)
        {
            status = (await http.GetAsync("/health/ready")).StatusCode;
            if (status == HttpStatusCode.OK)
                return;
            await Task.Delay(100);
        }
        Assert.Fail($"{address}/health/ready still answers {status} after 30 s");
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
