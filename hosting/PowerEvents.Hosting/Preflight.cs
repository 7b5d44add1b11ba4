using System.ComponentModel.DataAnnotations;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PowerEvents.Contracts;

namespace PowerEvents.Hosting;

/// <summary>Configuration section <c>Preflight</c>: how often each service proves, read-only, that what it needs on the day still works.</summary>
public sealed class PreflightOptions
{
    public const string Section = "Preflight";

    /// <summary>False turns the checks off in this service (a test that does not want them).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The checks run at start and then this often.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "7.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>One check (one target) may take this long; past it, it failed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>While a check keeps failing, the Notifier reminds this often (it alerts every change at once).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan RemindEvery { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>What one probe found: passed or failed, with a one-line reason that never carries a secret.</summary>
public sealed record PreflightOutcome(bool Ok, string Reason)
{
    public static PreflightOutcome Passed(string reason) => new(true, reason);

    public static PreflightOutcome Failed(string reason) => new(false, reason);
}

/// <summary>
/// One read-only check of one target (a BMC, a source, a destination). A null outcome means "not now" (the target is
/// busy with the real thing, e.g. a BMC in the middle of a power-on): nothing is published and the next interval tries again.
/// <paramref name="Clusters"/>: the protected clusters the target serves, carried on the result (<see cref="PreflightCheckCompleted.Clusters"/>).
/// </summary>
public sealed record PreflightProbe(string Kind, string Target, Func<CancellationToken, Task<PreflightOutcome?>> RunAsync,
    IReadOnlyList<string>? Clusters = null);

/// <summary>A service's preflight checks: one probe per configured target. A probe never writes anything.</summary>
public interface IPreflightCheck
{
    IEnumerable<PreflightProbe> Probes();
}

/// <summary>
/// Runs every registered <see cref="IPreflightCheck"/>'s probes at start and every <see cref="PreflightOptions.Interval"/>,
/// side by side, each within <see cref="PreflightOptions.Timeout"/>, and publishes one <see cref="PreflightCheckCompleted"/> per probe.
/// </summary>
public sealed class PreflightService(
    string serviceName,
    IEnumerable<IPreflightCheck> checks,
    IBus bus,
    IOptions<PreflightOptions> options,
    TimeProvider clock,
    ILogger<PreflightService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
            return;
        using var timer = new PeriodicTimer(options.Value.Interval, clock);
        do
        {
            var probes = checks.SelectMany(c => c.Probes()).ToList();
            await Task.WhenAll(probes.Select(p => RunAndPublishAsync(p, stoppingToken)));
        }
        while (await NextAsync(timer, stoppingToken));
    }

    /// <summary>Runs one probe and publishes its result; a probe that throws or overruns has failed, it never stops the loop.</summary>
    public async Task<PreflightCheckCompleted?> RunAsync(PreflightProbe probe, CancellationToken stoppingToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        deadline.CancelAfter(options.Value.Timeout);
        PreflightOutcome? outcome;
        try
        {
            outcome = await probe.RunAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            outcome = PreflightOutcome.Failed($"no answer within {options.Value.Timeout}");
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            // The type only: an exception's message may quote a URL that carries a token.
            logger.LogWarning("Preflight {Kind} {Target}: the check itself failed ({Error})", probe.Kind, probe.Target, ex.GetType().Name);
            outcome = PreflightOutcome.Failed($"the check failed unexpectedly ({ex.GetType().Name})");
        }
        return outcome is null ? null : new PreflightCheckCompleted(serviceName, probe.Kind, probe.Target, outcome.Ok, outcome.Reason, clock.GetUtcNow(),
            probe.Clusters is { Count: > 0 } clusters ? clusters : null);
    }

    async Task RunAndPublishAsync(PreflightProbe probe, CancellationToken stoppingToken)
    {
        try
        {
            var result = await RunAsync(probe, stoppingToken);
            if (result is null)
            {
                logger.LogInformation("Preflight {Kind} {Target}: skipped this time (busy)", probe.Kind, probe.Target);
                return;
            }
            if (result.Ok)
                logger.LogInformation("Preflight {Kind} {Target}: ok ({Reason})", result.Kind, result.Target, result.Reason);
            else
                logger.LogWarning("Preflight {Kind} {Target}: FAILED: {Reason}", result.Kind, result.Target, result.Reason);
            await bus.Publish(result, stoppingToken);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            // The broker away: the next interval publishes afresh.
            logger.LogWarning("Preflight {Kind} {Target}: result not published ({Error})", probe.Kind, probe.Target, ex.Message);
        }
        catch (OperationCanceledException)
        {
        }
    }

    static async Task<bool> NextAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

public static class PreflightRegistration
{
    /// <summary>Registers <typeparamref name="TCheck"/> and, once per service, the loop that runs every check and publishes the results.</summary>
    public static IServiceCollection AddPreflight<TCheck>(this IServiceCollection services, string serviceName)
        where TCheck : class, IPreflightCheck
    {
        services.AddSingleton<IPreflightCheck, TCheck>();
        if (services.Any(d => d.ServiceType == typeof(PreflightService)))
            return services;
        services.AddValidatedOptions<PreflightOptions, PreflightOptionsValidator>(PreflightOptions.Section);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<PreflightService>(sp, serviceName));
        services.AddHostedService(sp => sp.GetRequiredService<PreflightService>());
        return services;
    }
}
