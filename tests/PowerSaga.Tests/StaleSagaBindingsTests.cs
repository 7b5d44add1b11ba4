using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.Testing;
using RabbitMQ.Client;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>
/// An upgraded broker's bindings, made as MassTransit made them for an earlier version (the outcome's exchange bound to
/// the saga endpoint's exchange), removed by <see cref="StaleSagaBindings"/> over the saga's own least-privilege account
/// on the real RabbitMQ; the saga's other bindings and the step-outcome queue's are left alone.
/// </summary>
public sealed class StaleSagaBindingsTests : IAsyncLifetime
{
    const string StepOutcomeQueue = "alarm-evaluator-power-step-outcome";
    readonly RabbitMqFixture _rabbit = new();
    readonly HttpClient _management = new() { Timeout = TimeSpan.FromSeconds(10) };

    public async Task InitializeAsync()
    {
        await _rabbit.InitializeAsync();
        _management.BaseAddress = _rabbit.ManagementApi;
        _management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.ASCII.GetBytes($"{RabbitMqFixture.Username}:{RabbitMqFixture.Password}")));
    }

    public async Task DisposeAsync()
    {
        _management.Dispose();
        await _rabbit.DisposeAsync();
    }

    [Fact]
    public async Task The_outcome_bindings_an_earlier_version_left_on_the_saga_are_removed_and_nothing_else()
    {
        var kept = StaleSagaBindings.ExchangeOf(typeof(ClusterShutdownRequested));
        await using (var admin = await ConnectAsync(RabbitMqFixture.Username, RabbitMqFixture.Password))
        await using (var channel = await admin.CreateChannelAsync())
        {
            foreach (var endpoint in new[] { CommandRoutes.PowerSagaQueue, StepOutcomeQueue })
            {
                await channel.ExchangeDeclareAsync(endpoint, ExchangeType.Fanout, durable: true);
                await channel.QueueDeclareAsync(endpoint, durable: true, exclusive: false, autoDelete: false);
                await channel.QueueBindAsync(endpoint, endpoint, "");
            }
            foreach (var exchange in StaleSagaBindings.NoLongerConsumed.Select(StaleSagaBindings.ExchangeOf).Append(kept))
            {
                await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
                await channel.ExchangeBindAsync(CommandRoutes.PowerSagaQueue, exchange, "");
                if (exchange != kept)
                    await channel.ExchangeBindAsync(StepOutcomeQueue, exchange, "");
            }
        }
        foreach (var message in StaleSagaBindings.NoLongerConsumed)
            Assert.True(await BoundAsync(StaleSagaBindings.ExchangeOf(message), CommandRoutes.PowerSagaQueue), $"{message.Name} bound before");

        var account = await _rabbit.AddAccountAsync("alarm-evaluator");
        await Unbinder(account).RemoveAsync(CancellationToken.None);

        foreach (var message in StaleSagaBindings.NoLongerConsumed)
        {
            Assert.False(await BoundAsync(StaleSagaBindings.ExchangeOf(message), CommandRoutes.PowerSagaQueue), $"{message.Name} still bound to the saga");
            Assert.True(await BoundAsync(StaleSagaBindings.ExchangeOf(message), StepOutcomeQueue), $"{message.Name} no longer bound to its step-outcome queue");
        }
        Assert.True(await BoundAsync(kept, CommandRoutes.PowerSagaQueue), "the saga's own binding was removed");

        // Every later start finds nothing to remove.
        await Unbinder(account).RemoveAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_broker_without_those_exchanges_yet_is_left_as_it_is()
    {
        var account = await _rabbit.AddAccountAsync("alarm-evaluator");

        await Unbinder(account).RemoveAsync(CancellationToken.None);

        var exchanges = await _management.GetFromJsonAsync<List<Named>>($"exchanges/{_rabbit.VirtualHost}") ?? [];
        Assert.DoesNotContain(exchanges, e => e.Name.StartsWith("PowerEvents.", StringComparison.Ordinal) || e.Name == CommandRoutes.PowerSagaQueue);
    }

    StaleSagaBindings Unbinder(BrokerAccount account) => new(Options.Create(new RabbitMqOptions
    {
        Host = "127.0.0.1",
        Port = _rabbit.Port,
        VirtualHost = _rabbit.VirtualHost,
        Username = account.Username,
        Password = account.Password,
    }), NullLogger<StaleSagaBindings>.Instance);

    Task<IConnection> ConnectAsync(string user, string password) => new ConnectionFactory
    {
        HostName = "127.0.0.1",
        Port = _rabbit.Port,
        VirtualHost = _rabbit.VirtualHost,
        UserName = user,
        Password = password,
    }.CreateConnectionAsync();

    async Task<bool> BoundAsync(string source, string destination)
    {
        var bindings = await _management.GetFromJsonAsync<List<Named>>(
            $"bindings/{Uri.EscapeDataString(_rabbit.VirtualHost)}/e/{Uri.EscapeDataString(source)}/e/{Uri.EscapeDataString(destination)}");
        return bindings is { Count: > 0 };
    }

    sealed record Named(string Name);
}
