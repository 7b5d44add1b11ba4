using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.IloActuator;
using PowerEvents.Testing;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Xunit;

namespace IloActuator.Tests;

/// <summary>
/// Least privilege on the bus (issue 15), over the real RabbitMQ with the accounts and permissions of
/// deploy/rabbitmq/users.json: only the power saga's account can put a command on an actuator's queue, and a command
/// that gets there anyway without the saga's origin is refused and alerted, not carried out.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class BrokerAccountsOverRabbitMqTests(RabbitMqFixture rabbit)
{
    const string VmQueue = "vcenter-actuator-vm-shutdown-requested";
    const string PowerOnQueue = "ilo-actuator-power-on-requested";
    const ushort AccessRefused = 403;
    const ushort PreconditionFailed = 406;

    public static TheoryData<string> EveryAccountButTheSagas() =>
        ["vcenter-actuator", "ilo-actuator", "sensor-poller", "notifier", "console", "operator"];

    [Theory]
    [MemberData(nameof(EveryAccountButTheSagas))]
    public async Task The_broker_refuses_a_command_on_an_actuator_queue_from_any_account_but_the_sagas(string account)
    {
        var saga = await rabbit.AddAccountAsync("alarm-evaluator");
        var other = await rabbit.AddAccountAsync(account);
        // The topology as the saga's first send leaves it: the command exchanges, the queue bound to both.
        await using (var sagaConnection = await ConnectAsync(saga))
        await using (var setup = await sagaConnection.CreateChannelAsync())
        {
            foreach (var (queue, type) in new[] { (VmQueue, "VmShutdownRequested"), (PowerOnQueue, "PowerOnRequested") })
            {
                await setup.ExchangeDeclareAsync(queue, ExchangeType.Fanout, durable: true);
                await setup.ExchangeDeclareAsync($"PowerEvents.Contracts:{type}", ExchangeType.Fanout, durable: true);
                await setup.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
                await setup.QueueBindAsync(queue, queue, "");
                await setup.QueuePurgeAsync(queue); // the fixture's virtual host is shared by the cases
                await setup.ExchangeBindAsync(queue, $"PowerEvents.Contracts:{type}", "");
            }
            await setup.ExchangeDeclareAsync("PowerEvents.Contracts:TemperatureSampled", ExchangeType.Fanout, durable: true);
        }

        // Through the queue's exchange (MassTransit's send), the type's exchange (a publish), the default exchange.
        var routes = new[] { (VmQueue, ""), ("PowerEvents.Contracts:VmShutdownRequested", ""), ("", VmQueue), (PowerOnQueue, ""), ("PowerEvents.Contracts:PowerOnRequested", ""), ("", PowerOnQueue) };
        await using var connection = await ConnectAsync(other);
        // An actuator's account binds its own queue, which takes write permission on the queue's name: that one way in
        // is closed by the actuator's origin check (the test below).
        foreach (var (exchange, routingKey) in routes.Where(r => !r.Item1.StartsWith(account + "-", StringComparison.Ordinal)))
        {
            var refused = await PublishAsync(connection, exchange, routingKey, userId: null);
            Assert.True(refused == AccessRefused, $"{account} publishing to '{exchange}' (routing key '{routingKey}'): expected ACCESS_REFUSED, got {Describe(refused)}");
        }

        // Nor can it pass itself off as the saga: the broker checks user_id against the connection's account.
        var impersonated = await PublishAsync(connection, "PowerEvents.Contracts:TemperatureSampled", "", userId: saga.Username);
        Assert.True(impersonated is PreconditionFailed or AccessRefused, $"{account} sending as the saga: got {Describe(impersonated)}");

        Assert.Equal(0u, await MessageCountAsync(saga, account == "vcenter-actuator" ? PowerOnQueue : VmQueue));
        Assert.Equal(0u, await MessageCountAsync(saga, account == "ilo-actuator" ? VmQueue : PowerOnQueue));
        // The saga's own account may.
        await using (var sagaConnection = await ConnectAsync(saga))
            Assert.Null(await PublishAsync(sagaConnection, VmQueue, "", userId: saga.Username));
        Assert.Equal(1u, await MessageCountAsync(saga, VmQueue));
    }

    /// <summary>The event exchanges each account may write: what its service publishes, an actuator its outcomes (and, for
    /// every service with a preflight or an origin check, those). Everything else, commands and the events the saga acts
    /// on (readings, alarms), the broker refuses.</summary>
    public static TheoryData<string, string[]> EventsEachAccountMayWrite() => new()
    {
        { "vcenter-actuator", ["ClusterHaDrsDisabled", "ClusterHaDrsRestored", "ClusterInventoryCaptured", "ClusterInventoryFailed", "ClusterObserved",
            "EsxiHostLoginChecked", "EsxiHostPoweredOff", "HostEnteredMaintenance", "HostExitedMaintenance", "HostPoweredOff", "VCenterStarted",
            "VclsRestored", "VclsRetreatEntered", "VmPoweredOn", "VmShutDown", "VsanResyncChecked", "VsanClusterPowerCompleted", "ForgedCommandRefused", "PreflightCheckCompleted"] },
        { "ilo-actuator", ["HostBootProgressReported", "HostPowerOnCompleted", "HostPowerStateReported", "ForgedCommandRefused", "PreflightCheckCompleted"] },
        { "sensor-poller", ["TemperatureSampled", "AlarmStateSampled", "SourceHealthChanged", "PreflightCheckCompleted"] },
        { "notifier", ["WebhookDelivered", "PreflightCheckCompleted"] },
        { "console", ["ClusterReadinessAssessed", "ScheduledPowerWindowSkipped"] },
        { "operator", [] },
        // The saga may write every contract exchange: proves the probe tells an accepted publish from a refused one.
        { "alarm-evaluator", [.. ContractExchanges().Select(e => e["PowerEvents.Contracts:".Length..])] },
    };

    [Theory]
    [MemberData(nameof(EventsEachAccountMayWrite))]
    public async Task An_account_may_write_only_the_event_exchanges_of_what_its_service_publishes(string account, string[] expected)
    {
        var credential = await rabbit.AddAccountAsync(account);
        await using (var admin = await ConnectAsync(new BrokerAccount(RabbitMqFixture.Username, RabbitMqFixture.Password)))
        await using (var setup = await admin.CreateChannelAsync())
        {
            foreach (var exchange in ContractExchanges())
                await setup.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
        }

        await using var connection = await ConnectAsync(credential);
        var accepted = new List<string>();
        foreach (var exchange in ContractExchanges())
        {
            var refused = await PublishConfirmedAsync(connection, exchange);
            Assert.True(refused is null or AccessRefused, $"{account} publishing to '{exchange}': {Describe(refused)}");
            if (refused is null)
                accepted.Add(exchange["PowerEvents.Contracts:".Length..]);
        }

        Assert.Equal(expected.Order(StringComparer.Ordinal), accepted.Order(StringComparer.Ordinal));
    }

    /// <summary>MassTransit's exchange of every type in the contracts assembly.</summary>
    static IEnumerable<string> ContractExchanges() =>
        typeof(VmShutdownRequested).Assembly.GetExportedTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false, IsGenericType: false, Namespace: "PowerEvents.Contracts" })
            .Select(t => $"PowerEvents.Contracts:{t.Name}")
            .Order(StringComparer.Ordinal);

    /// <summary>Publishes one message and waits for the broker's confirm: null when accepted, else the reply code that closed the channel.</summary>
    static async Task<ushort?> PublishConfirmedAsync(IConnection connection, string exchange)
    {
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        try
        {
            // With confirm tracking the call returns only after the broker's ack, which follows its permission check.
            await channel.BasicPublishAsync(exchange, "", mandatory: false, new BasicProperties(), Encoding.UTF8.GetBytes("{\"message\":{}}"));
            return null;
        }
        catch (Exception ex) when (ex is OperationInterruptedException or AlreadyClosedException or RabbitMQ.Client.Exceptions.PublishException)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (channel.CloseReason is null && DateTime.UtcNow < deadline)
                await Task.Delay(20);
            return channel.CloseReason?.ReplyCode ?? 0;
        }
    }

    [Fact]
    public async Task The_actuator_works_under_its_own_account_and_refuses_and_alerts_a_command_the_saga_did_not_send()
    {
        var saga = await rabbit.AddAccountAsync("alarm-evaluator");
        var actuatorAccount = await rabbit.AddAccountAsync("ilo-actuator");
        await using var bmc = await Bmcs.StartAsync(o => o.Name = "esx-01");
        await using var observer = await ObserverBus.StartAsync(rabbit);
        await using var actuator = await StartActuatorAsync(actuatorAccount, saga, bmc);
        var runId = Guid.NewGuid();

        // Commands that reach the queue without the saga's origin: through the actuator's own (stolen) account, which
        // may write its own queue (it binds it), stamped with that account; through the admin account, unstamped.
        await using (var thief = await StartBusAsync(actuatorAccount, "ilo-actuator"))
            await (await thief.GetSendEndpoint(new Uri($"queue:{PowerOnQueue}"))).Send(new PowerOnRequested(runId, "cluster1", "esx-01"));
        await using (var admin = await StartBusAsync(null, null))
            await (await admin.GetSendEndpoint(new Uri($"queue:{PowerOnQueue}"))).Send(new PowerOnRequested(runId, "cluster1", "esx-01"));

        var stolen = await observer.WaitAsync<ForgedCommandRefused>(m => m.SentBy == actuatorAccount.Username);
        var unstamped = await observer.WaitAsync<ForgedCommandRefused>(m => m.SentBy == "");
        Assert.Equal(("ilo-actuator", nameof(PowerOnRequested), saga.Username), (stolen.Service, stolen.Command, stolen.ExpectedOrigin));
        Assert.Equal(("ilo-actuator", nameof(PowerOnRequested), saga.Username), (unstamped.Service, unstamped.Command, unstamped.ExpectedOrigin));
        Assert.Equal("Off", bmc.Bmc.PowerState);
        Assert.Empty(bmc.Bmc.ResetRequests);
        Assert.False(observer.Received<HostPowerOnCompleted>(m => m.RunId == runId));

        // The saga's account, sending as the saga does, from the handling of a message (ConsumeContext.Send): carried
        // out, and the outcome published under the actuator's account.
        var trigger = Guid.NewGuid().ToString("N");
        await using var sagaBus = await StartBusAsync(saga, "alarm-evaluator", cfg => cfg.ReceiveEndpoint($"alarm-evaluator-relay-{trigger}", e =>
        {
            e.AutoDelete = true;
            e.Handler<SourceHealthChanged>(c => c.Message.Source == trigger
                ? c.Send(new Uri($"queue:{PowerOnQueue}"), new PowerOnRequested(runId, "cluster1", "esx-01"))
                : Task.CompletedTask);
        }));
        await using (var admin = await StartBusAsync(null, null))
            await admin.Publish(new SourceHealthChanged(trigger, false, ["relay"], DateTimeOffset.UtcNow));
        var done = await observer.WaitAsync<HostPowerOnCompleted>(m => m.RunId == runId);
        Assert.Equal(PowerOnOutcome.PoweredOn, done.Outcome);
        Assert.Equal("On", bmc.Bmc.PowerState);
        Assert.Equal(2, observer.All<ForgedCommandRefused>().Count());
    }

    [Theory]
    [InlineData("sensor-poller")]
    [InlineData("notifier")]
    [InlineData("vcenter-actuator")]
    [InlineData("ilo-actuator")]
    [InlineData("alarm-evaluator")]
    public async Task A_service_runs_its_endpoints_and_publishes_its_events_under_its_own_account(string service)
    {
        var account = await rabbit.AddAccountAsync(service);
        await using var observer = await ObserverBus.StartAsync(rabbit);
        var app = ServiceDefaults.CreateBuilder(service, [.. rabbit.HostArgsFor(account), "--Urls=http://127.0.0.1:0"],
            bus => bus.AddConsumer<SourceHealthChangedEcho>()).Build();
        app.MapDefaultEndpoints();
        await using var host = await InProcessHost.StartAsync(app);

        var source = Guid.NewGuid().ToString("N");
        await using (var admin = await StartBusAsync(null, null))
            await admin.Publish(new SourceHealthChanged(source, false, ["probe"], DateTimeOffset.UtcNow));
        await observer.WaitAsync<PreflightCheckCompleted>(m => m.Target == source);
    }

    [Theory]
    [InlineData("notifier")]
    [InlineData("vcenter-actuator")]
    public async Task A_failing_message_is_dead_lettered_and_its_fault_published_under_the_services_own_account(string service)
    {
        var account = await rabbit.AddAccountAsync(service);
        await using var observer = await ObserverBus.StartAsync(rabbit);
        var app = ServiceDefaults.CreateBuilder(service, [.. rabbit.HostArgsFor(account), "--Urls=http://127.0.0.1:0"],
            bus => bus.AddConsumer<SourceHealthChangedBug>()).Build();
        app.MapDefaultEndpoints();
        await using var host = await InProcessHost.StartAsync(app);

        var source = Guid.NewGuid().ToString("N");
        await using (var admin = await StartBusAsync(null, null))
            await admin.Publish(new SourceHealthChanged(source, false, ["probe"], DateTimeOffset.UtcNow));

        await observer.WaitAsync<Fault<SourceHealthChanged>>(f => f.Message.Source == source);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!(await rabbit.QueueNamesAsync()).Contains($"{service}-source-health-changed-bug_error") && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Contains($"{service}-source-health-changed-bug_error", await rabbit.QueueNamesAsync());
    }

    /// <summary>A consumer with a bug (not an outage: dead-lettered at once).</summary>
    public sealed class SourceHealthChangedBug : IConsumer<SourceHealthChanged>
    {
        public Task Consume(ConsumeContext<SourceHealthChanged> context) => throw new InvalidOperationException("a bug");
    }

    [Fact]
    public async Task The_console_account_sends_operator_commands_to_the_sagas_queue_only()
    {
        const string SagaCommands = "alarm-evaluator-power-commands";
        var saga = await rabbit.AddAccountAsync("alarm-evaluator");
        var console = await rabbit.AddAccountAsync("console");
        await using (var sagaConnection = await ConnectAsync(saga))
        await using (var setup = await sagaConnection.CreateChannelAsync())
        {
            // The saga's command queue as its endpoint leaves it; emptied, the virtual host is shared by the cases.
            await setup.ExchangeDeclareAsync(SagaCommands, ExchangeType.Fanout, durable: true);
            await setup.QueueDeclareAsync(SagaCommands, durable: true, exclusive: false, autoDelete: false);
            await setup.QueueBindAsync(SagaCommands, SagaCommands, "");
            await setup.QueuePurgeAsync(SagaCommands);
        }

        // As the Console sends (OperatorCommands.SendAsync): to the queue, stamped with its account.
        // Bounded: a refused binding makes MassTransit retry the send without end (the console's request then hangs).
        using (var sendLimit = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        await using (var bus = await StartBusAsync(console, "console"))
            await (await bus.GetSendEndpoint(new Uri($"queue:{SagaCommands}"))).Send(
                new ClusterShutdownNowRequested(Guid.NewGuid(), "cluster1", "admin", "test", DateTimeOffset.UtcNow), sendLimit.Token);
        Assert.Equal(1u, await MessageCountAsync(saga, SagaCommands));

        // Not as a publish of the command's type, which the saga's endpoint would also receive.
        await using var connection = await ConnectAsync(console);
        Assert.Equal(AccessRefused, await PublishConfirmedAsync(connection, "PowerEvents.Contracts:ClusterShutdownNowRequested"));
    }

    [Fact]
    public async Task The_saga_account_asks_for_an_inventory_and_the_vcenter_actuator_account_answers_it()
    {
        var saga = await rabbit.AddAccountAsync("alarm-evaluator");
        var vcenter = await rabbit.AddAccountAsync("vcenter-actuator");
        CommandRoutes.EnsureMapped();
        var actuatorApp = ServiceDefaults.CreateBuilder("vcenter-actuator",
            [.. rabbit.HostArgsFor(vcenter), $"--Bus:CommandOrigin={saga.Username}", "--Urls=http://127.0.0.1:0"],
            bus => bus.AddConsumer<ClusterInventoryRequestedConsumer>()).Build();
        actuatorApp.MapDefaultEndpoints();
        await using var actuator = await InProcessHost.StartAsync(actuatorApp);
        var sagaApp = ServiceDefaults.CreateBuilder("alarm-evaluator", [.. rabbit.HostArgsFor(saga), "--Urls=http://127.0.0.1:0"],
            bus => bus.AddRequestClient<ClusterInventoryRequested>()).Build();
        sagaApp.MapDefaultEndpoints();
        await using var sagaHost = await InProcessHost.StartAsync(sagaApp);

        using var scope = sagaHost.Services.CreateScope();
        var client = scope.ServiceProvider.GetRequiredService<IRequestClient<ClusterInventoryRequested>>();
        var runId = Guid.NewGuid();
        var response = await client.GetResponse<ClusterInventoryCaptured>(new ClusterInventoryRequested(runId, "cluster1"), timeout: RequestTimeout.After(s: 30));

        Assert.Equal((runId, "cluster1"), (response.Message.RunId, response.Message.Cluster));
    }

    [Fact]
    public async Task The_console_account_asks_the_saga_account_for_a_plan_and_gets_its_answer()
    {
        const string PlanQueue = "alarm-evaluator-plan-preview";
        var saga = await rabbit.AddAccountAsync("alarm-evaluator");
        var console = await rabbit.AddAccountAsync("console");
        var sagaApp = ServiceDefaults.CreateBuilder("alarm-evaluator", [.. rabbit.HostArgsFor(saga), "--Urls=http://127.0.0.1:0"],
            bus => bus.AddConsumer<ClusterPlanPreviewRequestedConsumer>(typeof(ClusterPlanPreviewRequestedConsumerDefinition))).Build();
        sagaApp.MapDefaultEndpoints();
        await using var sagaHost = await InProcessHost.StartAsync(sagaApp);
        // As the Console registers it (ConsoleHost): sent to the saga's plan queue, answered on the console's bus queue.
        var consoleApp = ServiceDefaults.CreateBuilder("console", [.. rabbit.HostArgsFor(console), "--Urls=http://127.0.0.1:0"],
            bus => bus.AddRequestClient<ClusterPlanPreviewRequested>(new Uri($"queue:{PlanQueue}"))).Build();
        consoleApp.MapDefaultEndpoints();
        await using var consoleHost = await InProcessHost.StartAsync(consoleApp);

        using var scope = consoleHost.Services.CreateScope();
        var client = scope.ServiceProvider.GetRequiredService<IRequestClient<ClusterPlanPreviewRequested>>();
        // Bounded: a refused binding or answer makes MassTransit retry without end (the console's request would hang).
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var response = await client.GetResponse<ClusterPlanPreviewed, ClusterPlanPreviewFailed>(
            new ClusterPlanPreviewRequested("cluster1", "admin", DateTimeOffset.UtcNow), limit.Token, RequestTimeout.After(s: 60));

        Assert.True(response.Is(out Response<ClusterPlanPreviewed>? plan));
        Assert.Equal(("cluster1", "vm-shutdown"), (plan!.Message.Cluster, plan.Message.Stages.Single().Kind));

        // Not as a publish of the request's type, which only the saga's account may write.
        await using var connection = await ConnectAsync(console);
        Assert.Equal(AccessRefused, await PublishConfirmedAsync(connection, "PowerEvents.Contracts:ClusterPlanPreviewRequested"));
    }

    /// <summary>Stands in for the AlarmEvaluator's plan preview consumer (same queue name).</summary>
    public sealed class ClusterPlanPreviewRequestedConsumer : IConsumer<ClusterPlanPreviewRequested>
    {
        public Task Consume(ConsumeContext<ClusterPlanPreviewRequested> context) =>
            context.RespondAsync(new ClusterPlanPreviewed(context.Message.Cluster, "room", DateTimeOffset.UtcNow, false,
                [new PlanStage("shutdown", 1, "vm-shutdown", "tier default", "guest shutdown", 1, ["vm-1"], TimeSpan.FromMinutes(12))],
                null, [], [], [], [], 0, TimeSpan.FromMinutes(12)));
    }

    public sealed class ClusterPlanPreviewRequestedConsumerDefinition : ConsumerDefinition<ClusterPlanPreviewRequestedConsumer>
    {
        public ClusterPlanPreviewRequestedConsumerDefinition() => EndpointName = "alarm-evaluator-plan-preview";
    }

    /// <summary>Stands in for a service's consumer: consumes an event, publishes one every service but the Console may (a preflight result).</summary>
    public sealed class SourceHealthChangedEcho : IConsumer<SourceHealthChanged>
    {
        public Task Consume(ConsumeContext<SourceHealthChanged> context) =>
            context.Publish(new PreflightCheckCompleted("echo", "probe", context.Message.Source, true, "echo", DateTimeOffset.UtcNow));
    }

    /// <summary>Stands in for the VCenterActuator's inventory consumer (same queue name, same origin check).</summary>
    public sealed class ClusterInventoryRequestedConsumer : IConsumer<ClusterInventoryRequested>
    {
        public Task Consume(ConsumeContext<ClusterInventoryRequested> context) =>
            context.RespondAsync(new ClusterInventoryCaptured(context.Message.RunId, context.Message.Cluster, [], [], DateTimeOffset.UtcNow));
    }

    async Task<WebApplication> StartActuatorAsync(BrokerAccount account, BrokerAccount saga, PowerEvents.RedfishSimulator.BmcServer bmc) =>
        await InProcessHost.StartAsync(IloActuatorHost.Build(
        [
            .. rabbit.HostArgsFor(account),
            $"--Bus:CommandOrigin={saga.Username}",
            "--Urls=http://127.0.0.1:0",
            "--Bmc:RequestTimeout=00:00:02",
            "--Bmc:PowerOnTimeout=00:00:10",
            "--Bmc:PollInterval=00:00:00.100",
            "--Bmc:Hosts:0:Name=esx-01",
            $"--Bmc:Hosts:0:Url={bmc.BaseUrl}",
            $"--Bmc:Hosts:0:Username={Bmcs.Username}",
            $"--Bmc:Hosts:0:Password={Bmcs.Password}",
            $"--Bmc:Hosts:0:CertificateFingerprint={bmc.Fingerprint}",
        ]));

    /// <summary>A bus as a service has it (hosting's user_id stamp, the bus endpoint under its prefix); null: the admin account, unstamped.</summary>
    async Task<StartedBus> StartBusAsync(BrokerAccount? account, string? service, Action<IRabbitMqBusFactoryConfigurator>? configure = null)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
            {
                h.Username(account?.Username ?? RabbitMqFixture.Username);
                h.Password(account?.Password ?? RabbitMqFixture.Password);
            });
            if (account is not null)
            {
                cfg.OverrideDefaultBusEndpointQueueName($"{service}-bus-{Guid.NewGuid():N}");
                cfg.ConfigureSend(s => s.UseFilter(new BrokerUserIdFilter(account.Username)));
            }
            configure?.Invoke(cfg);
        });
        await bus.StartAsync();
        return new StartedBus(bus);
    }

    sealed class StartedBus(IBusControl bus) : IAsyncDisposable
    {
        public Task<ISendEndpoint> GetSendEndpoint(Uri address) => bus.GetSendEndpoint(address);

        public Task Publish<T>(T message)
            where T : class => bus.Publish(message);

        public async ValueTask DisposeAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await bus.StopAsync(timeout.Token);
        }
    }

    async Task<IConnection> ConnectAsync(BrokerAccount account) =>
        await new ConnectionFactory
        {
            HostName = "127.0.0.1",
            Port = rabbit.Port,
            VirtualHost = rabbit.VirtualHost,
            UserName = account.Username,
            Password = account.Password,
        }.CreateConnectionAsync();

    /// <summary>Publishes one message on a channel of its own; the broker's reply code when it closed the channel, else null.</summary>
    static async Task<ushort?> PublishAsync(IConnection connection, string exchange, string routingKey, string? userId)
    {
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        try
        {
            var properties = new BasicProperties { UserId = userId, ContentType = "application/vnd.masstransit+json", Persistent = true };
            await channel.BasicPublishAsync(exchange, routingKey, mandatory: false, properties, Encoding.UTF8.GetBytes("{\"message\":{}}"));
        }
        catch (Exception ex) when (ex is OperationInterruptedException or AlreadyClosedException or RabbitMQ.Client.Exceptions.PublishException)
        {
        }

        // A refusal closes the channel (asynchronously to the publish without confirms); wait for it, generously.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (channel.IsOpen && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        return channel.IsOpen ? null : channel.CloseReason?.ReplyCode;
    }

    async Task<uint> MessageCountAsync(BrokerAccount account, string queue)
    {
        await using var connection = await ConnectAsync(account);
        await using var channel = await connection.CreateChannelAsync();
        return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
    }

    static string Describe(ushort? code) => code is null ? "accepted" : code.Value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Observes the events (admin account): outcomes and alerts.</summary>
    sealed class ObserverBus : IAsyncDisposable
    {
        readonly ConcurrentQueue<object> _received = new();
        IBusControl _bus = null!;

        public static async Task<ObserverBus> StartAsync(RabbitMqFixture rabbit)
        {
            var observer = new ObserverBus();
            observer._bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
            {
                cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
                {
                    h.Username(RabbitMqFixture.Username);
                    h.Password(RabbitMqFixture.Password);
                });
                cfg.ReceiveEndpoint($"broker-tests-{Guid.NewGuid():N}", e =>
                {
                    e.AutoDelete = true;
                    e.Handler<HostPowerOnCompleted>(c => { observer._received.Enqueue(c.Message); return Task.CompletedTask; });
                    e.Handler<ForgedCommandRefused>(c => { observer._received.Enqueue(c.Message); return Task.CompletedTask; });
                    e.Handler<PreflightCheckCompleted>(c => { observer._received.Enqueue(c.Message); return Task.CompletedTask; });
                    e.Handler<Fault<SourceHealthChanged>>(c => { observer._received.Enqueue(c.Message); return Task.CompletedTask; });
                });
            });
            await observer._bus.StartAsync();
            return observer;
        }

        public IEnumerable<T> All<T>() => _received.OfType<T>();

        public bool Received<T>(Func<T, bool> match) => _received.OfType<T>().Any(match);

        public async Task<T> WaitAsync<T>(Func<T, bool> match, double seconds = 20)
        {
            var deadline = DateTime.UtcNow.AddSeconds(seconds);
            while (DateTime.UtcNow < deadline)
            {
                if (_received.OfType<T>().FirstOrDefault(match) is { } found)
                    return found;
                await Task.Delay(20);
            }
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"no matching {typeof(T).Name} within {seconds} s; received: {string.Join("; ", _received)}"));
        }

        public async ValueTask DisposeAsync() => await _bus.StopAsync();
    }
}
