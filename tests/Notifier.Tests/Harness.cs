using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Npgsql;
using PowerEvents.Hosting;
using PowerEvents.Testing;
using PowerEvents.WebhookReceiver;
using Xunit;

namespace PowerEvents.Notifier.Tests;

[CollectionDefinition(Name)]
public sealed class DeliveryCollection : ICollectionFixture<RabbitMqFixture>, ICollectionFixture<PostgresFixture>, ICollectionFixture<ReceiverFixture>
{
    public const string Name = "notifier delivery";
}

/// <summary>The WebhookReceiver tool, started in-process on a free port: a real HTTP endpoint for the Notifier to call.</summary>
public sealed class ReceiverFixture : IAsyncLifetime
{
    public const string SigningSecret = "receiver-test-secret-0123456789abcdef";

    WebApplication _app = null!;

    public Uri BaseAddress { get; private set; } = null!;
    public ReceiverState State => _app.Services.GetRequiredService<ReceiverState>();

    public string Url(string path) => new Uri(BaseAddress, "hooks/" + path).ToString();

    /// <summary>A URL standing in for Slack, Teams or Discord, which do not sign: the receiver takes it without a signature.</summary>
    public string ChatUrl(string path)
    {
        State.AllowUnsigned("/hooks/" + path);
        return Url(path);
    }

    public IReadOnlyList<ReceivedCall> Received(string path) => State.Received("/hooks/" + path);

    public void Plan(string path, int status, int count, string? retryAfter = null) =>
        State.Plan(new FailurePlan("/hooks/" + path, status, count, retryAfter));

    public async Task InitializeAsync()
    {
        _app = ReceiverApp.Build(["--urls=http://127.0.0.1:0", $"--Receiver:SigningSecret={SigningSecret}", "--Logging:LogLevel:Default=Warning"]);
        await _app.StartAsync();
        BaseAddress = ReceiverApp.BaseAddress(_app);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>
/// The Notifier host in-process over the real RabbitMQ and PostgreSQL, with its log lines captured, and a
/// bus of the test's own to publish events the way the AlarmEvaluator does.
/// </summary>
public sealed class NotifierHarness : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly IBusControl _bus;
    readonly string _connectionString;

    NotifierHarness(WebApplication app, IBusControl bus, string connectionString, LogCapture logs)
    {
        _app = app;
        _bus = bus;
        _connectionString = connectionString;
        Logs = logs;
    }

    public LogCapture Logs { get; }

    public static Task<NotifierHarness> StartAsync(RabbitMqFixture rabbit, PostgresFixture postgres, params string[] settings) =>
        StartAsync(rabbit, postgres.HostArgs, postgres.ConnectionString, settings);

    public static Task<NotifierHarness> StartAsync(RabbitMqFixture rabbit, IEnumerable<string> postgresArgs, string connectionString, params string[] settings)
    {
        // MassTransit keeps its log context in an AsyncLocal: a second host started in the same async flow
        // (a restart within one test) would inherit the first host's disposed logger factory.
        using (ExecutionContext.SuppressFlow())
            return Task.Run(() => StartInCleanContextAsync(rabbit, postgresArgs, connectionString, settings));
    }

    static async Task<NotifierHarness> StartInCleanContextAsync(RabbitMqFixture rabbit, IEnumerable<string> postgresArgs, string connectionString, string[] settings)
    {
        var logs = new LogCapture();
        var app = NotifierHost.Build(
            // The daily readiness summary off unless a test asks for it: it would land in any test's receiver at its hour.
            ["--urls=http://127.0.0.1:0", "--Serilog:MinimumLevel:Default=Warning", "--Notifier:Readiness:DailySummaryAt=off", .. rabbit.HostArgs, .. postgresArgs, .. settings],
            builder => builder.Logging.AddProvider(logs));
        await app.StartAsync();

        var health = app.Services.GetRequiredService<HealthCheckService>();
        await Eventually.Async(async () => (await health.CheckHealthAsync(c => c.Tags.Contains(ServiceDefaults.ReadyTag))).Status == HealthStatus.Healthy,
            TimeSpan.FromSeconds(30), "the Notifier did not become ready");

        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
        {
            h.Username(RabbitMqFixture.Username);
            h.Password(RabbitMqFixture.Password);
        }));
        await bus.StartAsync();
        return new NotifierHarness(app, bus, connectionString, logs);
    }

    /// <summary>Publishes with a chosen message id, which is the alert's id (and what dedupe keys on).</summary>
    public Task PublishAsync<T>(T message, Guid messageId) where T : class =>
        _bus.Publish(message, context => context.MessageId = messageId);

    public async Task<IReadOnlyList<DeliveryRow>> DeliveriesAsync(Guid alertId)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT destination, status, attempts, last_status, last_error FROM notifier.deliveries WHERE alert_id = @id ORDER BY id", connection);
        command.Parameters.AddWithValue("id", alertId);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<DeliveryRow>();
        while (await reader.ReadAsync())
            rows.Add(new DeliveryRow(reader.GetString(0), reader.GetString(1), reader.GetInt32(2),
                reader.IsDBNull(3) ? null : reader.GetInt32(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        return rows;
    }

    /// <summary>When the Notifier last stored a result of the preflight check <paramref name="key"/> (service/kind/target), or null.</summary>
    public async Task<DateTimeOffset?> PreflightCheckedAtAsync(string key)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT checked_at FROM notifier.preflight_checks WHERE check_key = @key", connection);
        command.Parameters.AddWithValue("key", key);
        return await command.ExecuteScalarAsync() is DateTime at ? new DateTimeOffset(at, TimeSpan.Zero) : null;
    }

    /// <summary>The titles of the alerts the Notifier recorded whose title contains <paramref name="part"/>.</summary>
    public async Task<IReadOnlyList<string>> AlertTitlesAsync(string part)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT title FROM notifier.alerts WHERE strpos(title, @part) > 0 ORDER BY received_at", connection);
        command.Parameters.AddWithValue("part", part);
        await using var reader = await command.ExecuteReaderAsync();
        var titles = new List<string>();
        while (await reader.ReadAsync())
            titles.Add(reader.GetString(0));
        return titles;
    }

    /// <summary>Whether the Notifier's window of a cluster off by a run knows that the run's shutdown completed (null: no window).</summary>
    public async Task<bool?> ClusterOffShutDownAsync(string cluster)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT shut_down_at IS NOT NULL FROM notifier.cluster_off WHERE cluster = @cluster", connection);
        command.Parameters.AddWithValue("cluster", cluster);
        return await command.ExecuteScalarAsync() as bool?;
    }

    /// <summary>The Notifier's window of a cluster off by a run: null when it has none, else whether it has ended.</summary>
    public async Task<bool?> ClusterOffEndedAsync(string cluster)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT ended_at IS NOT NULL FROM notifier.cluster_off WHERE cluster = @cluster", connection);
        command.Parameters.AddWithValue("cluster", cluster);
        return await command.ExecuteScalarAsync() as bool?;
    }

    /// <summary>When the Notifier last stored an assessment of <paramref name="cluster"/>, or null.</summary>
    public async Task<DateTimeOffset?> ReadinessAssessedAtAsync(string cluster)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT assessed_at FROM notifier.readiness WHERE cluster = @cluster", connection);
        command.Parameters.AddWithValue("cluster", cluster);
        return await command.ExecuteScalarAsync() is DateTime at ? new DateTimeOffset(at, TimeSpan.Zero) : null;
    }

    public async ValueTask DisposeAsync()
    {
        await _bus.StopAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed record DeliveryRow(string Destination, string Status, int Attempts, int? LastStatus, string? LastError);

/// <summary>Every log line the host writes, formatted as a logger would print it (exceptions included).</summary>
public sealed class LogCapture : ILoggerProvider
{
    readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
    }
}

public static class Eventually
{
    public static Task Until(Func<bool> condition, TimeSpan timeout, string failure) =>
        Async(() => Task.FromResult(condition()), timeout, failure);

    public static async Task Async(Func<Task<bool>> condition, TimeSpan timeout, string failure)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"After {timeout}: {failure}");
            await Task.Delay(25);
        }
    }
}
