using System.ComponentModel.DataAnnotations;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace PowerEvents.Hosting;

/// <summary>Configuration section <c>ConsumerCheck</c>: how <see cref="QueueConsumerCheck"/> looks at the broker.</summary>
public sealed class ConsumerCheckOptions
{
    public const string Section = "ConsumerCheck";

    /// <summary>How often each receive endpoint's queue is asked for its consumer count.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a queue may have no consumer while the broker answers before its endpoint is restarted, and again after
    /// that restart before the service stops. Longer than MassTransit's own reconnect after an outage (up to 40 s seen,
    /// its back-off reaches 35 s), so an endpoint still reconnecting is left alone.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan Grace { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>Cross-field rule of <see cref="ConsumerCheckOptions"/>, named by key like the others.</summary>
public sealed class ConsumerCheckOptionsRules : IValidateOptions<ConsumerCheckOptions>
{
    public ValidateOptionsResult Validate(string? name, ConsumerCheckOptions options) => options.Interval > options.Grace
        ? ValidateOptionsResult.Fail($"{ConsumerCheckOptions.Section}:Interval: must not be longer than {ConsumerCheckOptions.Section}:Grace ({options.Grace})")
        : ValidateOptionsResult.Success;
}

/// <summary>What to do after one look at the queues: endpoints to restart, and queues still without a consumer after their restart.</summary>
public sealed record ConsumerDecision(IReadOnlyList<string> Restart, IReadOnlyList<string> GiveUp);

/// <summary>
/// The check's decisions over plain data. A queue counts from the first look that found it without a consumer while the
/// broker answered; a look while the broker does not answer starts every count again (the outage is MassTransit's to
/// ride out). After <see cref="ConsumerCheckOptions.Grace"/> its endpoint is restarted once; if the queue still has no
/// consumer a grace later, it is given up on. A queue with a consumer again starts over.
/// </summary>
public sealed class ConsumerWatch(TimeSpan grace)
{
    readonly Dictionary<string, (DateTimeOffset Since, bool Restarted)> _empty = new(StringComparer.Ordinal);

    /// <param name="consumers">Each endpoint's queue with its consumer count; null when the broker did not answer.</param>
    public ConsumerDecision Observe(DateTimeOffset now, IReadOnlyDictionary<string, uint>? consumers)
    {
        if (consumers is null)
        {
            _empty.Clear();
            return new ConsumerDecision([], []);
        }

        foreach (var queue in _empty.Keys.Where(q => !consumers.TryGetValue(q, out var n) || n > 0).ToList())
            _empty.Remove(queue);

        List<string> restart = [], giveUp = [];
        foreach (var (queue, count) in consumers.Where(c => c.Value == 0).OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            if (!_empty.TryGetValue(queue, out var state))
            {
                _empty[queue] = (now, false);
                continue;
            }
            if (now - state.Since < grace)
                continue;
            if (state.Restarted)
                giveUp.Add(queue);
            else
            {
                restart.Add(queue);
                _empty[queue] = (now, true);
            }
        }
        return new ConsumerDecision(restart, giveUp);
    }
}

/// <summary>
/// Watches, from the broker's side, that every receive endpoint of the service has its consumer. After a RabbitMQ
/// outage MassTransit 8.5 (with RabbitMQ.Client 7) can leave endpoints without a consumer for good while it still
/// reports them Healthy (docs/deploy.md, "Updating"): here each endpoint's queue is asked for its consumer
/// count with a passive declare, over a connection of the service's own account (no management rights). A queue
/// without a consumer for <see cref="ConsumerCheckOptions.Grace"/> while the broker answers has its endpoint stopped
/// and started again; if that does not bring the consumer back within another grace, <c>/health/ready</c> turns
/// Unhealthy and the service stops with a Critical line naming the queue, to be started again by its supervisor
/// (compose: <c>restart: unless-stopped</c>): a clean start is what brings every endpoint back, and the system keeps
/// its work in durable queues, sagas and outboxes. Assumes one instance per service: another instance's consumer on
/// the same queue would hide this one's absence.
/// </summary>
public sealed class QueueConsumerCheck(
    string serviceName,
    IBusControl bus,
    IOptions<RabbitMqOptions> rabbit,
    IOptions<ConsumerCheckOptions> options,
    IHostApplicationLifetime lifetime,
    TimeProvider clock,
    ILogger<QueueConsumerCheck> logger)
    : BackgroundService, IHealthCheck
{
    /// <summary>How long stopping one endpoint may take: one left waiting on the dead connection may never stop.</summary>
    static readonly TimeSpan StopLimit = TimeSpan.FromSeconds(30);

    IConnection? _connection;
    volatile string? _givenUp;
    bool _refusedLogged;

    /// <summary>Set once the check stopped the service: <see cref="ServiceDefaults.RunAsync"/> then exits non-zero.</summary>
    public bool StoppedService => _givenUp is not null;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_givenUp is { } queue
            ? HealthCheckResult.Unhealthy($"queue {queue} has no consumer")
            : HealthCheckResult.Healthy());

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The host stops MassTransit along with this service: endpoints stopping then are no reason to act.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lifetime.ApplicationStopping);
        var token = stopping.Token;
        var watch = new ConsumerWatch(options.Value.Grace);
        using var timer = new PeriodicTimer(options.Value.Interval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(token))
            {
                var endpoints = ReceiveEndpoints();
                var decision = watch.Observe(clock.GetUtcNow(), await ConsumerCountsAsync(endpoints.Keys, token));
                // Side by side: each stop may wait out its limit on the dead connection.
                await Task.WhenAll(decision.Restart.Select(queue => RestartAsync(queue, endpoints[queue], token)));
                if (decision.GiveUp.Count > 0)
                {
                    _givenUp = string.Join(", ", decision.GiveUp);
                    logger.LogCritical(
                        "Queue {Queue} still has no consumer {Grace} after its receive endpoint was restarted, while the broker answers: stopping the service so that it is started again",
                        _givenUp, options.Value.Grace);
                    lifetime.StopApplication();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        finally
        {
            await CloseAsync();
        }
    }

    /// <summary>The service's own receive endpoints by queue name; not the bus's temporary endpoint (auto-deleted, renamed each start).</summary>
    Dictionary<string, IReceiveEndpoint> ReceiveEndpoints()
    {
        var endpoints = new Dictionary<string, IReceiveEndpoint>(StringComparer.Ordinal);
        foreach (var (address, health) in bus.CheckHealth().Endpoints ?? new Dictionary<string, EndpointHealthResult>())
        {
            if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || uri.Query.Contains("temporary=true", StringComparison.Ordinal))
                continue;
            endpoints[uri.Segments[^1]] = health.ReceiveEndpoint;
        }
        return endpoints;
    }

    /// <summary>Each queue's consumer count as the broker sees it (a missing queue has none); null when the broker does not answer.</summary>
    async Task<IReadOnlyDictionary<string, uint>?> ConsumerCountsAsync(IEnumerable<string> queues, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, uint>(StringComparer.Ordinal);
        IChannel? channel = null;
        try
        {
            var connection = await ConnectAsync(cancellationToken);
            foreach (var queue in queues)
            {
                channel ??= await connection.CreateChannelAsync(cancellationToken: cancellationToken);
                try
                {
                    counts[queue] = (await channel.QueueDeclarePassiveAsync(queue, cancellationToken)).ConsumerCount;
                }
                catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
                {
                    // The broker closed the channel over the unknown queue: a new one for the next.
                    counts[queue] = 0;
                    channel.Dispose();
                    channel = null;
                }
            }
            return counts;
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 403)
        {
            // The account may not look at its own queues (deploy/rabbitmq/users.json): the check is blind, say so once.
            if (!_refusedLogged)
                logger.LogWarning("Consumer check cannot read the queues' consumer counts with this broker account: {Error}", ex.Message);
            _refusedLogged = true;
            await CloseAsync();
            return null;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is BrokerUnreachableException or OperationInterruptedException
                                   or AlreadyClosedException or ConnectFailureException or IOException or TimeoutException or OperationCanceledException)
        {
            logger.LogDebug("Consumer check: the broker did not answer ({Error})", ServiceDefaults.OneLine(ex));
            await CloseAsync();
            return null;
        }
        finally
        {
            if (channel is not null)
                await channel.DisposeAsync();
        }
    }

    async Task<IConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        if (_connection is { IsOpen: true })
            return _connection;
        await CloseAsync();
        var factory = rabbit.Value.ConnectionFactory($"{serviceName}-consumer-check");
        return _connection = await factory.CreateConnectionAsync(cancellationToken);
    }

    async Task CloseAsync()
    {
        if (_connection is null)
            return;
        try
        {
            await _connection.DisposeAsync();
        }
        catch (Exception ex) when (ex is IOException or OperationInterruptedException or AlreadyClosedException or ObjectDisposedException)
        {
            // Already gone with the broker.
        }
        _connection = null;
    }

    /// <summary>Stops and starts one receive endpoint; the next looks show whether its queue has a consumer again.</summary>
    async Task RestartAsync(string queue, IReceiveEndpoint endpoint, CancellationToken cancellationToken)
    {
        logger.LogWarning("Queue {Queue} has had no consumer for {Grace} while the broker answers (MassTransit reports its endpoint {Status}): restarting the receive endpoint",
            queue, options.Value.Grace, (bus.CheckHealth().Endpoints ?? new Dictionary<string, EndpointHealthResult>())
                .Where(e => e.Key.EndsWith("/" + queue, StringComparison.Ordinal)).Select(e => e.Value.Status.ToString()).FirstOrDefault() ?? "unknown");
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(StopLimit);
            // Its transport still holds the dropped connection's consumer: stopped first, or Start refuses.
            await endpoint.Stop(limit.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Receive endpoint of {Queue} did not stop cleanly ({Error}); starting it anyway", queue, ServiceDefaults.OneLine(ex));
        }
        try
        {
            endpoint.Start(CancellationToken.None);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Left to the next looks: the queue still without a consumer a grace later stops the service.
            logger.LogError("Receive endpoint of {Queue} could not be started again: {Error}", queue, ServiceDefaults.OneLine(ex));
        }
    }

    public static void Add(IServiceCollection services, string serviceName)
    {
        services.AddValidatedOptions<ConsumerCheckOptions>(ConsumerCheckOptions.Section);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IValidateOptions<ConsumerCheckOptions>, ConsumerCheckOptionsRules>();
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<QueueConsumerCheck>(sp, serviceName));
        services.AddHostedService(sp => sp.GetRequiredService<QueueConsumerCheck>());
        services.AddHealthChecks().Add(new HealthCheckRegistration("consumers", sp => sp.GetRequiredService<QueueConsumerCheck>(),
            HealthStatus.Unhealthy, [ServiceDefaults.ReadyTag]));
    }
}
