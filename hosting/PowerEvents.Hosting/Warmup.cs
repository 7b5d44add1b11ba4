using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using MassTransit;
using MassTransit.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PowerEvents.Contracts;

namespace PowerEvents.Hosting;

/// <summary>One thing a service runs once at start so that its first real message does not pay for it (JIT, EF Core's
/// model and query compilation, serializer metadata, broker topology). It must leave no trace: no message sent, no row kept.
/// <paramref name="Alongside"/>: runs beside the others from the start (work that mostly waits on another process, such as
/// PostgreSQL starting server processes), and readiness does not wait for it; the warm-up's closing log line does.</summary>
public sealed record WarmupStep(string Name, Func<IServiceProvider, CancellationToken, Task> RunAsync, bool Alongside = false);

/// <summary>
/// Runs the registered <see cref="WarmupStep"/>s once after start, one after the other (those marked
/// <see cref="WarmupStep.Alongside"/> beside them from the start), and logs what each warmed and how long it took. An
/// operator's first alarm after a restart would otherwise pay for the first run's paths (≈ 0.5–1 s on the 2-core test
/// machine: docs/benchmarks.md). <c>/health/ready</c> reports not ready until the steps in line are done; a step that fails
/// is logged and skipped (it only costs the first message time), and the whole is bounded so readiness never waits forever.
/// </summary>
public sealed class StartupWarmup(IEnumerable<WarmupStep> steps, IServiceProvider services, ILogger<StartupWarmup> logger) : BackgroundService
{
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    volatile bool _done;

    public bool Done => _done;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        bounded.CancelAfter(Bound);
        var total = Stopwatch.StartNew();
        var took = new List<string>();
        try
        {
            async Task RunAsync(WarmupStep step)
            {
                var clock = Stopwatch.StartNew();
                try
                {
                    await step.RunAsync(services, bounded.Token);
                    logger.LogInformation("Warmed {Step} in {Milliseconds} ms", step.Name, clock.ElapsedMilliseconds);
                    lock (took)
                        took.Add($"{step.Name} {clock.ElapsedMilliseconds} ms");
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning("Warm-up of {Step} failed after {Milliseconds} ms (its first real use pays for it instead): {Error}",
                        step.Name, clock.ElapsedMilliseconds, ex.Message);
                }
            }

            var alongside = steps.Where(s => s.Alongside).Select(s => Task.Run(() => RunAsync(s), CancellationToken.None)).ToList();
            foreach (var step in steps.Where(s => !s.Alongside))
                await RunAsync(step);
            // Ready once the first run's own paths are warm; what runs alongside only spares the run work it can also do itself.
            _done = true;
            await Task.WhenAll(alongside);
            logger.LogInformation("Start-up warm-up done in {Milliseconds} ms: {Steps}", total.ElapsedMilliseconds, string.Join(", ", took));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping while warming: nothing to report.
        }
        finally
        {
            _done = true;
        }
    }

    /// <summary>Serializer metadata of every message contract, for the bus's serializer and the outbox's (each builds it per type on first use).</summary>
    public static readonly WarmupStep ContractSerializers = new("message serializers (every contract)", (_, ct) =>
    {
        var types = typeof(AlarmRaised).Assembly.GetExportedTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false } && t.Namespace == typeof(AlarmRaised).Namespace)
            .ToList();
        var failed = new List<string>();
        foreach (var type in types)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                // Serialising an empty instance builds the type's metadata and runs its converters once (the bus's options
                // have no resolver of their own to ask for metadata directly).
                var empty = RuntimeHelpers.GetUninitializedObject(type);
                JsonSerializer.Serialize(empty, type, SystemTextJsonMessageSerializer.Options);
                Outbox.Warm(empty);
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
            {
                failed.Add($"{type.Name} ({ex.Message})");
            }
        }
        return failed.Count == 0 ? Task.CompletedTask
            : throw new InvalidOperationException($"{types.Count - failed.Count} of {types.Count} contracts warmed; not: {string.Join(", ", failed)}");
    });

    /// <summary>The send endpoints of the command queues (the bus caches each one, with its topology, on first use).</summary>
    public static readonly WarmupStep CommandSendEndpoints = new("command send endpoints", async (services, ct) =>
    {
        var bus = services.GetRequiredService<IBus>();
        foreach (var queue in CommandRoutes.Queues.Values.Distinct(StringComparer.Ordinal))
        {
            ct.ThrowIfCancellationRequested();
            await bus.GetSendEndpoint(new Uri($"queue:{queue}")).WaitAsync(ct);
        }
    });
}

/// <summary>Not ready until the start-up warm-up is done (see <see cref="StartupWarmup"/>).</summary>
public sealed class StartupWarmupHealthCheck(StartupWarmup warmup) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(warmup.Done ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("warming up the first run's paths"));
}

public static class StartupWarmupRegistration
{
    /// <summary>Adds a warm-up step (run in registration order after start) and, once, the warm-up itself and its readiness check.</summary>
    public static IServiceCollection AddWarmup(this IServiceCollection services, WarmupStep step)
    {
        services.AddSingleton(step);
        if (services.Any(d => d.ServiceType == typeof(StartupWarmup)))
            return services;
        services.AddSingleton<StartupWarmup>();
        services.AddHostedService(sp => sp.GetRequiredService<StartupWarmup>());
        services.AddHealthChecks().AddCheck<StartupWarmupHealthCheck>("warm-up", tags: [ServiceDefaults.ReadyTag]);
        return services;
    }
}
