using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PowerEvents.Contracts;

namespace PowerEvents.Hosting;

/// <summary>Who may command the actuators (configuration section <c>Bus</c>).</summary>
public sealed class BusOptions
{
    public const string Section = "Bus";

    /// <summary>
    /// The broker account whose commands the actuators carry out: the power saga's (<c>alarm-evaluator</c> where each
    /// service has its own account, docs/deploy.md). Empty: no origin check, for a bus where every service shares one
    /// account (development, tests on <c>guest</c>); the service warns at start.
    /// </summary>
    public string CommandOrigin { get; set; } = "";
}

/// <summary>
/// Stamps every message this service sends or publishes with its broker account as the AMQP <c>user_id</c>.
/// RabbitMQ refuses a <c>user_id</c> that is not the connection's own user, so a receiver can trust it as the sender.
/// </summary>
public sealed class BrokerUserIdFilter(string username) : IFilter<SendContext>
{
    public Task Send(SendContext context, IPipe<SendContext> next)
    {
        if (context.TryGetPayload<RabbitMqSendContext>(out var rabbit))
            rabbit.BasicProperties.UserId = username;
        return next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("brokerUserId");
}

/// <summary>
/// Carries out an actuator command (<see cref="CommandRoutes.ActuatorCommands"/>) only when the broker says it was sent by
/// <see cref="BusOptions.CommandOrigin"/>; anything else is logged, alerted (<see cref="ForgedCommandRefused"/>) and
/// consumed without acting. The broker's permissions already keep other accounts off the command queues; this holds
/// when someone gets a message there anyway (the admin account, a stolen actuator credential).
/// </summary>
public sealed class CommandOriginFilter<T>(IOptions<BusOptions> options, ILogger<CommandOriginFilter<T>> logger, TimeProvider? time = null)
    : IFilter<ConsumeContext<T>>
    where T : class
{
    static readonly bool IsActuatorCommand = CommandRoutes.ActuatorCommands.Contains(typeof(T));

    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        var origin = options.Value.CommandOrigin;
        if (!IsActuatorCommand || string.IsNullOrEmpty(origin))
        {
            await next.Send(context);
            return;
        }

        var sentBy = context.ReceiveContext.TryGetPayload<RabbitMqBasicConsumeContext>(out var rabbit) ? rabbit.Properties.UserId ?? "" : "";
        if (string.Equals(sentBy, origin, StringComparison.Ordinal))
        {
            await next.Send(context);
            return;
        }

        var service = context.ReceiveContext.InputAddress.AbsolutePath.Split('/').LastOrDefault() ?? "";
        logger.LogCritical(
            "Refused {Command} {MessageId} on {Queue}: sent by broker account '{SentBy}', only '{Origin}' may command this actuator; nothing was done",
            typeof(T).Name, context.MessageId, service, sentBy, origin);
        await context.Publish(new ForgedCommandRefused(
            ServiceOf(service), typeof(T).Name, sentBy, origin, context.MessageId, (time ?? TimeProvider.System).GetUtcNow()));
    }

    /// <summary>The actuator's name from its queue (<c>vcenter-actuator-vm-shutdown-requested</c> → <c>vcenter-actuator</c>).</summary>
    static string ServiceOf(string queue) =>
        new[] { CommandRoutes.VCenterActuator, CommandRoutes.IloActuator }.FirstOrDefault(a => queue.StartsWith(a + "-", StringComparison.Ordinal)) ?? queue;

    public void Probe(ProbeContext context) => context.CreateFilterScope("commandOrigin");
}
