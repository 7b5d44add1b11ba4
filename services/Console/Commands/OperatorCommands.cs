using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.Console.Auth;
using PowerEvents.Console.ReadModel;
using PowerEvents.Contracts;

namespace PowerEvents.Console.Commands;

public enum ClusterAction { Drill, ShutdownNow, PowerOnNow, CancelPowerOn }

/// <summary>What an operator (or a scheduled window) asks for, with the words typed to confirm it.</summary>
public sealed record ActionRequest(string Confirm, string Reason, bool OverrideMinimumOffTime = false, string OverrideReason = "");

public sealed record ActionResult(bool Accepted, string Message);

/// <summary>
/// Checks an operator's action against what the console knows (typed confirmation, a reason, the minimum off time, the
/// standby time between power actions), audits it either way, and sends the command to the saga's queue. The saga
/// remains the one that decides and orders; these checks spare the operator a refusal from it.
/// </summary>
public sealed class OperatorCommands(IBus bus, ConsoleReadModel model, AuditLog audit,
    IOptions<ConsoleOptions> options, TimeProvider clock)
{
    readonly Dictionary<string, DateTimeOffset> _lastPowerAction = new(StringComparer.OrdinalIgnoreCase);
    readonly Lock _gate = new();

    public static string Name(ClusterAction action) => action switch
    {
        ClusterAction.Drill => "drill",
        ClusterAction.ShutdownNow => "shutdown-now",
        ClusterAction.PowerOnNow => "power-on-now",
        _ => "cancel-power-on",
    };

    public async Task<ActionResult> ExecuteAsync(string user, string cluster, ClusterAction action, ActionRequest request, CancellationToken cancellationToken)
    {
        var refusal = Check(cluster, action, request);
        var reason = request.OverrideMinimumOffTime ? $"{request.Reason} (minimum off time overridden: {request.OverrideReason})" : request.Reason ?? "";
        if (refusal is not null)
        {
            await audit.WriteAsync(user, Name(action), cluster, reason, $"refused: {refusal}", cancellationToken);
            return new ActionResult(false, refusal);
        }

        await SendAsync(Build(user, cluster, action, request), cancellationToken);
        if (action is ClusterAction.ShutdownNow or ClusterAction.PowerOnNow)
            lock (_gate)
                _lastPowerAction[cluster] = clock.GetUtcNow();
        await audit.WriteAsync(user, Name(action), cluster, reason, "sent to the power saga", cancellationToken);
        return new ActionResult(true, $"{Name(action)} sent to the power saga for {cluster}");
    }

    string? Check(string cluster, ClusterAction action, ActionRequest request)
    {
        if (!model.KnowsCluster(cluster))
            return $"unknown cluster '{cluster}'";
        if (!string.Equals(request.Confirm?.Trim(), cluster, StringComparison.Ordinal))
            return $"type the cluster's name ({cluster}) to confirm";
        if (string.IsNullOrWhiteSpace(request.Reason))
            return "say why (the reason is kept in the audit trail)";
        if (action is ClusterAction.ShutdownNow or ClusterAction.PowerOnNow)
        {
            var standby = options.Value.StandbyTime;
            lock (_gate)
                if (_lastPowerAction.TryGetValue(cluster, out var last) && clock.GetUtcNow() - last < standby)
                    return $"a power action was sent {(clock.GetUtcNow() - last).TotalSeconds:F0} s ago; wait for the standby time ({standby})";
        }
        if (action == ClusterAction.PowerOnNow)
        {
            if (model.AlarmHolds(cluster, out var zones))
                return $"the alarm of {zones} holds";
            var minimum = options.Value.MinimumOffTime;
            if (model.OffSince(cluster) is { } off && clock.GetUtcNow() - off < minimum)
            {
                if (!request.OverrideMinimumOffTime)
                    return $"off since {off:u}: the minimum off time ({minimum}) has not passed; override it with a reason";
                if (string.IsNullOrWhiteSpace(request.OverrideReason))
                    return "overriding the minimum off time needs a reason";
            }
        }
        return null;
    }

    object Build(string user, string cluster, ClusterAction action, ActionRequest request)
    {
        var id = ClusterIds.For(cluster);
        var now = clock.GetUtcNow();
        var reason = request.Reason.Trim();
        return action switch
        {
            ClusterAction.Drill => new ClusterDrillRequested(id, cluster, user, reason, now),
            ClusterAction.ShutdownNow => new ClusterShutdownNowRequested(id, cluster, user, reason, now),
            ClusterAction.PowerOnNow => new ClusterPowerOnNowRequested(id, cluster, user, reason, request.OverrideMinimumOffTime,
                request.OverrideMinimumOffTime ? request.OverrideReason?.Trim() ?? "" : "", now),
            _ => new PowerOnCancelRequested(id, cluster, user, reason, now),
        };
    }

    /// <summary>Commands go to the saga's one queue (never published): only the saga acts on them.</summary>
    public async Task SendAsync(object command, CancellationToken cancellationToken)
    {
        var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{options.Value.SagaCommandQueue}"));
        await endpoint.Send(command, command.GetType(), cancellationToken);
    }
}
