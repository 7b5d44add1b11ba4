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
    bool Hold { get; }
}

public sealed record OutageStep01(Guid Id, bool Hold = false) : IOutageStep;
public sealed record OutageStep02(Guid Id, bool Hold = false) : IOutageStep;
public sealed record OutageStep03(Guid Id, bool Hold = false) : IOutageStep;
public sealed record OutageStep04(Guid Id, bool Hold = false) : IOutageStep;
public sealed record OutageStep05(Guid Id, bool Hold = false) : IOutageStep;
public sealed record OutageStep06(Guid Id, bool Hold = false) : IOutageStep;
public sealed record OutageStep07(Guid Id, bool Hold = false) : IOutageStep;
public sealed record OutageStep08(Guid Id, bool Hold = false) : IOutageStep;
public sealed record OutageStep09(Guid Id, bool Hold = false) : IOutageStep;
public sealed record OutageStep10(Guid Id, bool Hold = false) : IOutageStep;
public sealed record OutageStep11(Guid Id, bool Hold = false) : IOutageStep;
public sealed record OutageStep12(Guid Id, bool Hold = false) : IOutageStep;
public sealed record OutageStep13(Guid Id, bool Hold = false) : IOutageStep;
public sealed record OutageStep14(Guid Id, bool Hold = false) : IOutageStep;
public sealed record OutageStep15(Guid Id, bool Hold = false) : IOutageStep;

public sealed record OutageStepDone(Guid Id);

/// <summary>
/// The VCenterActuator's shape without vCenter: a service with 15 receive endpoints configured as its step consumers are
/// (ServiceDefaults' bus, an in-memory outbox, a high prefetch), one of them handling a message across a RabbitMQ
/// outage: its result's publish fails while the broker is away and the transient-fault retry runs it again until the
/// broker is back. After the outage every queue must have its consumer again, as the broker sees it.
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

    static string QueueOf(Type step) => $"{Service}-{KebabCaseEndpointNameFormatter.Instance.SanitizeName(step.Name)}";

    [Fact]
    public async Task A_consumer_in_flight_across_a_60_s_broker_outage_Every_queue_has_its_consumer_again()
    {
        var outage = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("PE_OUTAGE_SECONDS"), out var s) ? s : 60);
        var log = new LogLines(LogLevel.Debug);
        var gate = new Gate();
        await using var broker = await PrivateRabbitMq.StartAsync();
        var app = await StartHostAsync(broker, log, gate);
        try
        {
            var queues = Steps.Select(QueueOf).ToList();
            await UntilAsync(async () => Missing(await broker.QueuesAsync(), queues).Count == 0, "every queue consumed at start", log);

            var bus = app.Services.GetRequiredService<IBus>();
            var held = Guid.NewGuid();
            await (await bus.GetSendEndpoint(new Uri($"queue:{QueueOf(typeof(OutageStep06))}"))).Send(new OutageStep06(held, Hold: true));
            var publishHeld = Environment.GetEnvironmentVariable("PE_REPRO_MODE") == "publish";
            if (publishHeld)
            {
                gate.Release.TrySetResult();
                await UntilAsync(() => Task.FromResult(gate.PublishHolding.Task.IsCompleted), "the held step's result in its publish", log);
            }
            else
                await UntilAsync(() => Task.FromResult(gate.Holding.Task.IsCompleted), "the held step in its consumer", log);

            var clock = Stopwatch.StartNew();
            await broker.StopServerAsync();
            output.WriteLine($"broker stopped in {clock.Elapsed.TotalSeconds:0.0} s");
            // The step finishes while the broker is away: its result's publish fails, the retry runs it again.
            gate.Release.TrySetResult();
            gate.PublishRelease.TrySetResult();
            if (Environment.GetEnvironmentVariable("PE_REPRO_DUMP_DURING") == "1")
            {
                await Task.Delay(TimeSpan.FromSeconds(12));
                await DumpAsync();
                await Task.Delay(outage - TimeSpan.FromSeconds(12));
            }
            else
                await Task.Delay(outage); // the outage to ride out, not a wait for anything
            await broker.StartServerAsync();
            var back = Stopwatch.StartNew();
            output.WriteLine($"broker back after {clock.Elapsed.TotalSeconds:0.0} s");

            var missing = queues;
            try
            {
                await UntilAsync(async () => (missing = Missing(await broker.QueuesAsync(), queues)).Count == 0, "every queue consumed after the outage", log);
            }
            catch (TimeoutException)
            {
                var health = bus is IBusControl control ? control.CheckHealth() : null;
                output.WriteLine($"without a consumer {back.Elapsed.TotalSeconds:0} s after the broker was back: {string.Join(", ", missing)}");
                output.WriteLine($"MassTransit's view: {health?.Status}; {string.Join(", ", health?.Endpoints.Select(e => $"{e.Key}={e.Value.Status}") ?? [])}");
                await DumpAsync();
                output.WriteLine(string.Join('\n', log.Lines));
                throw;
            }
            output.WriteLine($"every queue consumed again {back.Elapsed.TotalSeconds:0.0} s after the broker was back");
            if (Environment.GetEnvironmentVariable("PE_REPRO_LOG") == "1")
                output.WriteLine(string.Join('\n', log.Lines));
            await UntilAsync(() => Task.FromResult(gate.Done.Task.IsCompleted), "the held step done", log);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    static List<string> Missing(IReadOnlyList<(string Name, int Consumers, int Ready, int Unacked)> seen, IReadOnlyList<string> queues) =>
        queues.Where(q => !seen.Any(s => s.Name == q && s.Consumers > 0)).ToList();

    // Diagnostics while the cause is being found: PE_REPRO_DUMP=<dir> writes a dump of this process when the queues stay unconsumed.
    async Task DumpAsync()
    {
        var dir = Environment.GetEnvironmentVariable("PE_REPRO_DUMP");
        if (string.IsNullOrEmpty(dir))
            return;
        var file = Path.Combine(dir, $"repro-{DateTime.UtcNow:HHmmss}.dmp");
        var info = new ProcessStartInfo(Path.Combine(Environment.GetEnvironmentVariable("HOME")!, ".dotnet/tools/dotnet-dump"), $"collect -p {Environment.ProcessId} -o {file}")
        { RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        await process.WaitForExitAsync();
        output.WriteLine($"dump: {file} ({process.ExitCode})");
    }

    static async Task<WebApplication> StartHostAsync(PrivateRabbitMq broker, LogLines log, Gate gate)
    {
        var builder = ServiceDefaults.CreateBuilder(Service,
            ["--urls=http://127.0.0.1:0", "--Logging:LogLevel:MassTransit=Debug",
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

    async Task UntilAsync(Func<Task<bool>> condition, string what, LogLines log)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > Within)
                throw new TimeoutException($"not within {Within}: {what}");
            await Task.Delay(500);
        }
        _ = log;
        _ = output;
    }

    public sealed class Gate
    {
        public TaskCompletionSource Holding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource PublishHolding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource PublishRelease { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Holds the held step's result inside its publish (the channel in use) until the test lets it go.</summary>
    public sealed class HoldPublish(Gate gate) : IFilter<PublishContext>
    {
        public async Task Send(PublishContext context, IPipe<PublishContext> next)
        {
            if (context is PublishContext<OutageStepDone> && !gate.PublishRelease.Task.IsCompleted && Environment.GetEnvironmentVariable("PE_REPRO_MODE") == "publish")
            {
                gate.PublishHolding.TrySetResult();
                await gate.PublishRelease.Task;
            }
            await next.Send(context);
        }

        public void Probe(ProbeContext context)
        {
        }
    }

    /// <summary>A step: the held one waits for the test's signal, then publishes its result (in the outbox, sent after it returns).</summary>
    public sealed class StepConsumer<T>(Gate gate) : IConsumer<T>
        where T : class, IOutageStep
    {
        public async Task Consume(ConsumeContext<T> context)
        {
            if (context.Message.Hold)
            {
                gate.Holding.TrySetResult();
                await gate.Release.Task;
            }
            await context.Publish(new OutageStepDone(context.Message.Id));
            if (context.Message.Hold)
                gate.Done.TrySetResult();
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
