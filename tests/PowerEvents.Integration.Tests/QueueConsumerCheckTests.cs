using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.Testing;
using Xunit;
using Xunit.Abstractions;

namespace PowerEvents.Integration.Tests;

/// <summary>
/// The consumer check against the real broker, over the VCenterActuator's own least-privilege account (no management
/// rights): a queue left without its consumer while the broker answers has its endpoint restarted; one that stays
/// without a consumer after that turns <c>/health/ready</c> Unhealthy and stops the service, naming the queue.
/// </summary>
[Collection(RealServersCollection.Name)]
public sealed class QueueConsumerCheckTests(ITestOutputHelper output) : IAsyncLifetime
{
    const string Service = "vcenter-actuator";
    const string Queue = "vcenter-actuator-consumer-check-ping";
    static readonly TimeSpan Within = TimeSpan.FromSeconds(90);

    readonly RabbitMqFixture rabbit = new();
    readonly LogLines log = new();
    readonly ConcurrentDictionary<Guid, int> pings = new();
    BrokerAccount account = null!;
    WebApplication app = null!;

    public async Task InitializeAsync()
    {
        await rabbit.InitializeAsync();
        account = await rabbit.AddAccountAsync(Service);
        var builder = ServiceDefaults.CreateBuilder(Service,
            ["--urls=http://127.0.0.1:0", .. rabbit.HostArgsFor(account), "--ConsumerCheck:Interval=00:00:01", "--ConsumerCheck:Grace=00:00:05"],
            bus => bus.AddConsumer<PingConsumer>().Endpoint(e => e.Name = Queue));
        builder.Services.AddSingleton(pings);
        builder.Logging.AddProvider(log);
        app = builder.Build();
        app.MapDefaultEndpoints();
        await InProcessHost.StartAsync(app, TimeSpan.FromSeconds(60));
        await UntilAsync(async () => await ConsumersAsync() == 1, "the queue consumed at start");
    }

    public async Task DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        await rabbit.DisposeAsync();
    }

    [Fact]
    public async Task A_queue_left_without_its_consumer_has_its_endpoint_restarted_and_what_was_sent_meanwhile_is_consumed()
    {
        var bus = app.Services.GetRequiredService<IBusControl>();
        // Left without a consumer as MassTransit leaves one after an outage, the broker up.
        await Endpoint(bus).ReceiveEndpoint.Stop();
        await UntilAsync(async () => await ConsumersAsync() == 0, "the queue without a consumer");
        var clock = Stopwatch.StartNew();
        var sent = Guid.NewGuid();
        await (await bus.GetSendEndpoint(new Uri($"queue:{Queue}"))).Send(new ConsumerCheckPing(sent));

        await UntilAsync(async () => await ConsumersAsync() == 1, "the queue consumed again");
        await UntilAsync(() => Task.FromResult(pings.ContainsKey(sent)), "the ping sent meanwhile consumed");
        output.WriteLine($"consumed again {clock.Elapsed.TotalSeconds:0.0} s after the consumer left (grace 5 s)");

        var restart = Assert.Single(log.Lines, l => l.Contains("restarting the receive endpoint", StringComparison.Ordinal));
        output.WriteLine(restart);
        Assert.Contains(" Warning ", restart, StringComparison.Ordinal);
        Assert.Contains(Queue, restart, StringComparison.Ordinal);
        Assert.False(app.Services.GetRequiredService<QueueConsumerCheck>().StoppedService);
        Assert.False(app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
    }

    [Fact]
    public async Task A_queue_still_without_a_consumer_after_its_restart_makes_the_service_unready_and_stop_naming_it()
    {
        var bus = app.Services.GetRequiredService<IBusControl>();
        var stopping = app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        // Gone, and the account may no longer declare it: the restarted endpoint cannot consume again.
        await Endpoint(bus).ReceiveEndpoint.Stop();
        await rabbit.SetPermissionsAsync(account, configure: "^$", write: $"^{Service}-bus-.*$", read: $"^{Service}-bus-.*$");
        await rabbit.DeleteQueueAsync(Queue);
        var clock = Stopwatch.StartNew();

        await UntilAsync(() => Task.FromResult(stopping.IsCancellationRequested), "the service stopping");
        output.WriteLine($"stopping {clock.Elapsed.TotalSeconds:0.0} s after the queue was gone (grace 5 s, twice)");

        var critical = Assert.Single(log.Lines, l => l.Contains(" Critical ", StringComparison.Ordinal));
        output.WriteLine(critical);
        Assert.Contains(Queue, critical, StringComparison.Ordinal);
        Assert.Contains(log.Lines, l => l.Contains(" Warning ", StringComparison.Ordinal) && l.Contains("restarting the receive endpoint", StringComparison.Ordinal));
        var check = app.Services.GetRequiredService<QueueConsumerCheck>();
        Assert.True(check.StoppedService);
        Assert.Equal(HealthStatus.Unhealthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);
    }

    async Task<int> ConsumersAsync() => (await rabbit.QueuesAsync()).Where(q => q.Name == Queue).Select(q => q.Consumers).DefaultIfEmpty(-1).Single();

    static EndpointHealthResult Endpoint(IBusControl bus) =>
        bus.CheckHealth().Endpoints.Single(e => e.Key.EndsWith("/" + Queue, StringComparison.Ordinal)).Value;

    async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > Within)
                throw new TimeoutException($"not within {Within}: {what}; log:\n{string.Join('\n', log.Lines)}");
            await Task.Delay(200);
        }
    }

    public sealed class PingConsumer(ConcurrentDictionary<Guid, int> pings) : IConsumer<ConsumerCheckPing>
    {
        public Task Consume(ConsumeContext<ConsumerCheckPing> context)
        {
            pings.AddOrUpdate(context.Message.Id, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }
    }
}
