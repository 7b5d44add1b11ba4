using System.Diagnostics;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PowerEvents.Hosting;
using PowerEvents.Testing;
using Xunit;
using Xunit.Abstractions;

namespace PowerEvents.Integration.Tests;

public interface IOutageStep
{
    Guid Id { get; }
}

public sealed record OutageStep01(Guid Id) : IOutageStep;
public sealed record OutageStep02(Guid Id) : IOutageStep;
public sealed record OutageStep03(Guid Id) : IOutageStep;
public sealed record OutageStep04(Guid Id) : IOutageStep;
public sealed record OutageStep05(Guid Id) : IOutageStep;
public sealed record OutageStep06(Guid Id) : IOutageStep;
public sealed record OutageStep07(Guid Id) : IOutageStep;
public sealed record OutageStep08(Guid Id) : IOutageStep;
public sealed record OutageStep09(Guid Id) : IOutageStep;
public sealed record OutageStep10(Guid Id) : IOutageStep;
public sealed record OutageStep11(Guid Id) : IOutageStep;
public sealed record OutageStep12(Guid Id) : IOutageStep;
public sealed record OutageStep13(Guid Id) : IOutageStep;
public sealed record OutageStep14(Guid Id) : IOutageStep;
public sealed record OutageStep15(Guid Id) : IOutageStep;

public sealed record OutageStepDone(Guid Id);

/// <summary>
/// The VCenterActuator's shape without vCenter: a service with 15 receive endpoints configured as its step consumers are
/// (ServiceDefaults' bus, an in-memory outbox, a high prefetch), three of them handling a message across a RabbitMQ
/// outage: its result's publish fails while the broker is away and is retried until the broker is back. After the
/// outage every queue must have its consumer again, as the broker sees it, and consume.
/// </summary>
[Collection(RealServersCollection.Name)]
public sealed class EndpointsAfterBrokerOutageTests(ITestOutputHelper output)
{
    const string Service = "outage-test";
    // Generous: the broker's own start takes 5-20 s on a loaded 2-core machine, MassTransit's reconnect back-off up to 30 s more.
    static readonly TimeSpan Within = TimeSpan.FromMinutes(3);

    static readonly Type[] Steps =
    [
        typeof(OutageStep01), typeof(OutageStep02), typeof(OutageStep03), typeof(OutageStep04), typeof(OutageStep05),
        typeof(OutageStep06), typeof(OutageStep07), typeof(OutageStep08), typeof(OutageStep09), typeof(OutageStep10),
        typeof(OutageStep11), typeof(OutageStep12), typeof(OutageStep13), typeof(OutageStep14), typeof(OutageStep15),
    ];

    static readonly Type[] HeldSteps = [typeof(OutageStep02), typeof(OutageStep06), typeof(OutageStep10)];

    static string QueueOf(Type step) => $"{Service}-{KebabCaseEndpointNameFormatter.Instance.SanitizeName(step.Name)}";

    /// <summary>
    /// The steps' results are being published (held in their publish pipe, on the endpoint's channel) when the broker
    /// goes away, as the VCenterActuator's inventory result was in the failing BrokerRestartTests runs. Without the
    /// consumer check (<c>PE_CONSUMER_GRACE=01:00:00</c>) this left 8 to 14 of the 15 queues without a consumer for good
    /// in 3 of 3 runs, MassTransit reporting every endpoint Healthy (docs/deploy.md); with it, every queue is consumed again.
    /// </summary>
    [Fact]
    public async Task A_result_publish_in_flight_across_a_60_s_broker_outage_Every_queue_is_consumed_again()
    {
        var log = new LogLines(LogLevel.Debug);
        var gate = new Gate();
        await using var broker = await PrivateRabbitMq.StartAsync();
        var app = await StartHostAsync(broker, log, gate, Environment.GetEnvironmentVariable("PE_CONSUMER_GRACE") ?? "00:00:30");
        try
        {
            var queues = Steps.Select(QueueOf).ToList();
            await UntilAsync(async () => Missing(await broker.QueuesAsync(), queues).Count == 0, "every queue consumed at start");

            var bus = app.Services.GetRequiredService<IBusControl>();
            // Three steps in flight, not one: which of a connection's channels RabbitMQ.Client's close waits on varies from
            // run to run, and an in-flight step on any of them is enough.
            var held = HeldSteps.ToDictionary(QueueOf, _ => Guid.NewGuid());
            foreach (var step in HeldSteps)
                await (await bus.GetSendEndpoint(new Uri($"queue:{QueueOf(step)}"))).Send(Activator.CreateInstance(step, held[QueueOf(step)])!);
            await UntilAsync(() => Task.FromResult(gate.Publishing.Count == HeldSteps.Length), "the held steps' results in their publish");

            var clock = Stopwatch.StartNew();
            await broker.StopServerAsync();
            output.WriteLine($"broker stopped in {clock.Elapsed.TotalSeconds:0.0} s");
            // The publishes go on while the broker is away: they fail and are retried until it is back.
            gate.PublishRelease.TrySetResult();
            await Task.Delay(TimeSpan.FromSeconds(60)); // the outage to ride out, not a wait for anything
            await broker.StartServerAsync();
            var back = Stopwatch.StartNew();
            output.WriteLine($"broker back after {clock.Elapsed.TotalSeconds:0.0} s");

            var missing = queues;
            try
            {
                await UntilAsync(async () => (missing = Missing(await broker.QueuesAsync(), queues)).Count == 0, "every queue consumed after the outage");
                output.WriteLine($"every queue consumed again {back.Elapsed.TotalSeconds:0.0} s after the broker was back");
                // Consumed, not only a consumer: a step sent to each queue now is handled.
                var after = Steps.ToDictionary(QueueOf, _ => Guid.NewGuid());
                foreach (var step in Steps)
                    await (await bus.GetSendEndpoint(new Uri($"queue:{QueueOf(step)}"))).Send(Activator.CreateInstance(step, after[QueueOf(step)])!);
                await UntilAsync(() => Task.FromResult(after.Values.All(gate.Consumed.ContainsKey)), "a step sent to each queue after the outage consumed");
                await UntilAsync(() => Task.FromResult(held.Values.All(gate.Consumed.ContainsKey)), "the held steps consumed");
            }
            finally
            {
                var restarts = log.Lines.Where(l => l.Contains(nameof(QueueConsumerCheck), StringComparison.Ordinal)).ToList();
                output.WriteLine(restarts.Count == 0 ? "the consumer check did not act" : string.Join('\n', restarts));
                if (missing.Count > 0)
                {
                    var health = bus.CheckHealth();
                    output.WriteLine($"without a consumer {back.Elapsed.TotalSeconds:0} s after the broker was back: {string.Join(", ", missing)}");
                    output.WriteLine($"MassTransit's view: {health.Status}; {string.Join(", ", health.Endpoints.Select(e => $"{e.Key}={e.Value.Status}"))}");
                    output.WriteLine(string.Join('\n', log.Lines));
                }
            }
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    static List<string> Missing(IReadOnlyList<(string Name, int Consumers, int Ready, int Unacked)> seen, IReadOnlyList<string> queues) =>
        queues.Where(q => !seen.Any(s => s.Name == q && s.Consumers > 0)).ToList();

    static async Task<WebApplication> StartHostAsync(PrivateRabbitMq broker, LogLines log, Gate gate, string consumerGrace)
    {
        var builder = ServiceDefaults.CreateBuilder(Service,
            ["--urls=http://127.0.0.1:0", "--Logging:LogLevel:MassTransit=Debug", "--ConsumerCheck:Interval=00:00:02", $"--ConsumerCheck:Grace={consumerGrace}",
             .. broker.Environment.Select(e => $"--{e.Key.Replace("__", ":", StringComparison.Ordinal)}={e.Value}")],
            bus =>
            {
                bus.AddConsumer<StepConsumer<OutageStep01>, StepDefinition<OutageStep01>>();
                bus.AddConsumer<StepConsumer<OutageStep02>, StepDefinition<OutageStep02>>();
                bus.AddConsumer<StepConsumer<OutageStep03>, StepDefinition<OutageStep03>>();
                bus.AddConsumer<StepConsumer<OutageStep04>, StepDefinition<OutageStep04>>();
                bus.AddConsumer<StepConsumer<OutageStep05>, StepDefinition<OutageStep05>>();
                bus.AddConsumer<StepConsumer<OutageStep06>, StepDefinition<OutageStep06>>();
                bus.AddConsumer<StepConsumer<OutageStep07>, StepDefinition<OutageStep07>>();
                bus.AddConsumer<StepConsumer<OutageStep08>, StepDefinition<OutageStep08>>();
                bus.AddConsumer<StepConsumer<OutageStep09>, StepDefinition<OutageStep09>>();
                bus.AddConsumer<StepConsumer<OutageStep10>, StepDefinition<OutageStep10>>();
                bus.AddConsumer<StepConsumer<OutageStep11>, StepDefinition<OutageStep11>>();
                bus.AddConsumer<StepConsumer<OutageStep12>, StepDefinition<OutageStep12>>();
                bus.AddConsumer<StepConsumer<OutageStep13>, StepDefinition<OutageStep13>>();
                bus.AddConsumer<StepConsumer<OutageStep14>, StepDefinition<OutageStep14>>();
                bus.AddConsumer<StepConsumer<OutageStep15>, StepDefinition<OutageStep15>>();
            });
        builder.Services.AddSingleton(gate);
        builder.Logging.AddProvider(log);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        return await InProcessHost.StartAsync(app, TimeSpan.FromSeconds(60));
    }

    static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > Within)
                throw new TimeoutException($"not within {Within}: {what}");
            await Task.Delay(500);
        }
    }

    public sealed class Gate
    {
        public System.Collections.Concurrent.ConcurrentDictionary<Guid, bool> Publishing { get; } = new();
        public TaskCompletionSource PublishRelease { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public System.Collections.Concurrent.ConcurrentDictionary<Guid, int> Consumed { get; } = new();
    }

    /// <summary>Holds the held steps' results inside its publish (the channel in use) until the test lets it go.</summary>
    public sealed class HoldPublish(Gate gate) : IFilter<PublishContext>
    {
        public async Task Send(PublishContext context, IPipe<PublishContext> next)
        {
            if (context is PublishContext<OutageStepDone> done && !gate.PublishRelease.Task.IsCompleted)
            {
                gate.Publishing[done.Message.Id] = true;
                await gate.PublishRelease.Task;
            }
            await next.Send(context);
        }

        public void Probe(ProbeContext context)
        {
        }
    }

    /// <summary>A step: publishes its result (in the outbox, sent after it returns).</summary>
    public sealed class StepConsumer<T>(Gate gate) : IConsumer<T>
        where T : class, IOutageStep
    {
        public async Task Consume(ConsumeContext<T> context)
        {
            gate.Consumed.AddOrUpdate(context.Message.Id, 1, (_, n) => n + 1);
            await context.Publish(new OutageStepDone(context.Message.Id));
        }
    }

    /// <summary>As the VCenterActuator's StepConsumerDefinition: a high concurrency and prefetch, the outcome in an in-memory outbox.</summary>
    public sealed class StepDefinition<T> : ConsumerDefinition<StepConsumer<T>>
        where T : class, IOutageStep
    {
        public StepDefinition()
        {
            EndpointName = QueueOf(typeof(T));
            ConcurrentMessageLimit = 2_000;
        }

        protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
            IConsumerConfigurator<StepConsumer<T>> consumerConfigurator, IRegistrationContext context)
        {
            if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
                rabbit.PrefetchCount = 2_000;
            endpointConfigurator.UseInMemoryOutbox(context);
            endpointConfigurator.ConfigurePublish(p => p.UseFilter(new HoldPublish(context.GetRequiredService<Gate>())));
        }
    }
}
