using System.Collections.Concurrent;
using System.Reflection;
using MassTransit;
using SerilogLogContext = Serilog.Context.LogContext;

namespace PowerEvents.Hosting;

/// <summary>
/// Puts the message's correlation id (and type) on every log line written while it is handled.
/// The id is the message's own correlating property (<c>CorrelationId</c>, <c>RunId</c> or
/// <c>AlarmId</c>, in that order), falling back to the envelope's correlation or conversation id.
/// </summary>
public sealed class LogContextConsumeFilter<T> : IFilter<ConsumeContext<T>>
    where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        var correlationId = MessageCorrelation.Find(context.Message)
            ?? context.CorrelationId
            ?? context.ConversationId;

        using (SerilogLogContext.PushProperty("CorrelationId", correlationId))
        using (SerilogLogContext.PushProperty("MessageType", typeof(T).Name))
        {
            await next.Send(context);
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("logContext");
}

public static class MessageCorrelation
{
    static readonly string[] PropertyNames = ["CorrelationId", "RunId", "AlarmId"];
    static readonly ConcurrentDictionary<Type, PropertyInfo?> Properties = new();

    public static Guid? Find(object message)
    {
        var property = Properties.GetOrAdd(message.GetType(), static type => PropertyNames
            .Select(name => type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance))
            .FirstOrDefault(p => p is not null && (p.PropertyType == typeof(Guid) || p.PropertyType == typeof(Guid?))));

        return property?.GetValue(message) is Guid id && id != Guid.Empty ? id : null;
    }
}
