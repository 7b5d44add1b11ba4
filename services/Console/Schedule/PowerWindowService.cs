using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.Console.Auth;
using PowerEvents.Console.Commands;
using PowerEvents.Console.ReadModel;
using PowerEvents.Contracts;

namespace PowerEvents.Console.Schedule;

/// <summary>Carries out due power windows by sending the same commands an operator would; skips (and alerts) while an alarm holds.</summary>
public sealed class PowerWindowService(PowerWindowStore store, ConsoleReadModel model, OperatorCommands commands, AuditLog audit,
    IBus publish, IOptions<ConsoleOptions> options, TimeProvider clock, ILogger<PowerWindowService> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var zone = string.IsNullOrEmpty(options.Value.TimeZone) ? TimeZoneInfo.Local : TimeZoneInfo.FindSystemTimeZoneById(options.Value.TimeZone);
        using var timer = new PeriodicTimer(options.Value.ScheduleTick, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await TickAsync(TimeZoneInfo.ConvertTime(clock.GetUtcNow(), zone).DateTime, stoppingToken);
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or MassTransitException or TimeoutException)
            {
                log.LogWarning("Scheduled power windows not checked: {Error}", ex.Message);
            }
        }
    }

    async Task TickAsync(DateTime localNow, CancellationToken cancellationToken)
    {
        foreach (var window in await store.ListAsync(null, cancellationToken))
        {
            foreach (var due in PowerWindowSchedule.Due(window, localNow))
            {
                var name = due.Action == WindowAction.PowerOff ? "power-off" : "power-on";
                var user = $"schedule:{window.Id}";
                var reason = $"scheduled {name} at {due.ScheduledFor:HH:mm} ({PowerWindowSchedule.FormatDays(window.Days)})";
                if (model.AlarmHolds(window.Cluster, out var zones))
                {
                    var why = $"the alarm of {zones} holds";
                    await publish.Publish(new ScheduledPowerWindowSkipped(window.Cluster, name, new DateTimeOffset(due.ScheduledFor, clock.GetUtcNow().Offset), why, clock.GetUtcNow()), cancellationToken);
                    await audit.WriteAsync(user, $"scheduled-{name}", window.Cluster, reason, $"skipped: {why}", cancellationToken);
                }
                else
                {
                    var id = ClusterIds.For(window.Cluster);
                    object command = due.Action == WindowAction.PowerOff
                        ? new ClusterShutdownNowRequested(id, window.Cluster, user, reason, clock.GetUtcNow())
                        : new ClusterPowerOnNowRequested(id, window.Cluster, user, reason, false, "", clock.GetUtcNow());
                    await commands.SendAsync(command, cancellationToken);
                    await audit.WriteAsync(user, $"scheduled-{name}", window.Cluster, reason, "sent to the power saga", cancellationToken);
                }
                await store.MarkDoneAsync(window.Id, due.Action, DateOnly.FromDateTime(localNow), cancellationToken);
            }
        }
    }
}
