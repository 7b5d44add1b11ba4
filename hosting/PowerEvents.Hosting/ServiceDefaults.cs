using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Serilog;

namespace PowerEvents.Hosting;

/// <summary>What every PowerEvents service gets in one call: logging, the bus, health, metrics, validated options.</summary>
public static class ServiceDefaults
{
    public const string LiveTag = "live";
    public const string ReadyTag = "ready";

    /// <summary>
    /// Creates the service's builder: configuration (appsettings, the optional <c>config/{service}.json</c>, environment, <c>*_FILE</c> secrets,
    /// command line), Serilog console logging, MassTransit over RabbitMQ with kebab-case endpoint names
    /// prefixed by <paramref name="serviceName"/>, and liveness/readiness checks.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    public static WebApplicationBuilder CreateBuilder(
        string serviceName,
        string[] args,
        Action<IBusRegistrationConfigurator>? configureBus = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            // The service's assembly, also when a test builds the host in-process.
            ApplicationName = System.Reflection.Assembly.GetCallingAssembly().GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });

        ServiceConfigurationFile.Add(builder.Configuration, serviceName, AppContext.BaseDirectory);

        // Secret files come after environment variables; the command line still wins over both.
        var sources = builder.Configuration.Sources;
        var commandLine = sources.ToList().FindIndex(s => s is Microsoft.Extensions.Configuration.CommandLine.CommandLineConfigurationSource);
        sources.Insert(commandLine < 0 ? sources.Count : commandLine, new SecretFileConfigurationSource());

        // The aspnet image sets ASPNETCORE_HTTP_PORTS=8080; our Urls win anyway, so drop the ports instead of warning at every start.
        if (!string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [WebHostDefaults.HttpPortsKey] = null,
                [WebHostDefaults.HttpsPortsKey] = null,
            });

        var logger = Logging.CreateLogger(builder.Configuration, serviceName);
        builder.Logging.ClearProviders();
        // A provider, not Serilog.Extensions.Hosting's replacement logger factory: Logging:LogLevel filters keep
        // working and a test's own provider still sees every line.
        builder.Logging.AddSerilog(logger, dispose: true);

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Services.AddValidatedOptions<RabbitMqOptions, RabbitMqOptionsValidator>(RabbitMqOptions.Section);
        builder.Services.AddValidatedOptions<BusOptions>(BusOptions.Section);

        // Registered before any component's startup filter, so it stands in front of every endpoint they map.
        builder.Services.AddValidatedOptions<OperatorApiOptions, OperatorApiOptionsValidator>(OperatorApiOptions.Section);
        builder.Services.AddSingleton<OperatorAccess>();
        builder.Services.AddTransient<IStartupFilter, OperatorAccessStartupFilter>();

        PrometheusMetrics.Add(builder);

        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), tags: [LiveTag]);

        // The broker may come up after the service: start without waiting, report not-ready until connected.
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = false;
            o.StopTimeout = TimeSpan.FromSeconds(20);
        });

        // MassTransit may leave an endpoint without a consumer after a broker outage while reporting it Healthy.
        QueueConsumerCheck.Add(builder.Services, serviceName);

        builder.Services.AddMassTransit(bus =>
        {
            bus.SetEndpointNameFormatter(new KebabCaseEndpointNameFormatter(serviceName, includeNamespace: false));
            // MassTransit would otherwise post usage data to usage-tracking.masstransit.io: nothing leaves unasked.
            bus.DisableUsageTelemetry();
            configureBus?.Invoke(bus);
            bus.AddConfigureEndpointsCallback(WarnWithoutCommandOrigin);

            bus.UsingRabbitMq((context, cfg) =>
            {
                var rabbit = context.GetRequiredService<IOptions<RabbitMqOptions>>().Value;
                cfg.Host(rabbit.Host, (ushort)rabbit.Port, rabbit.VirtualHost, serviceName, h =>
                {
                    h.Username(rabbit.Username);
                    h.Password(rabbit.Password);
                });
                // Least privilege on the bus (docs/deploy.md, "Broker accounts"): the temporary bus endpoint under the
                // service's own prefix, which its broker account may use; every message stamped with that account.
                cfg.OverrideDefaultBusEndpointQueueName($"{serviceName}-bus-{Guid.NewGuid():N}");
                cfg.ConfigureSend(s => s.UseFilter(new BrokerUserIdFilter(rabbit.Username)));
                cfg.UseConsumeFilter(typeof(LogContextConsumeFilter<>), context);
                cfg.UseConsumeFilter(typeof(CommandOriginFilter<>), context);
                // Every endpoint rides out a PostgreSQL or broker restart instead of dead-lettering the message.
                cfg.UseMessageRetry(TransientFaults.Configure);
                cfg.ConfigureEndpoints(context);
            });
        });

        return builder;
    }

    /// <summary>Warns at start when an actuator's command queue has no origin check (one shared broker account).</summary>
    static void WarnWithoutCommandOrigin(IRegistrationContext context, string queueName, IReceiveEndpointConfigurator endpoint)
    {
        if (!CommandRoutes.Queues.Any(q => q.Value == queueName && CommandRoutes.ActuatorCommands.Contains(q.Key)))
            return;
        if (!string.IsNullOrEmpty(context.GetRequiredService<IOptions<BusOptions>>().Value.CommandOrigin))
            return;
        context.GetRequiredService<ILoggerFactory>().CreateLogger("PowerEvents.Bus").LogWarning(
            "{Queue}: Bus:CommandOrigin is not set, so commands are carried out whichever broker account sent them (one shared account); set it to the power saga's account (docs/deploy.md)",
            queueName);
    }

    /// <summary>PostgreSQL for services that keep state: a data source, and a readiness check that it answers.
    /// <paramref name="keepOpen"/>: connections the pool keeps once opened (a warm-up step
    /// opens them at start), for a service whose run needs that many at once and must not start a server process for each mid-run.</summary>
    public static WebApplicationBuilder AddPostgres(this WebApplicationBuilder builder, int keepOpen = 0)
    {
        builder.Services.AddValidatedOptions<PostgresOptions, PostgresOptionsValidator>(PostgresOptions.Section);
        builder.Services.AddSingleton(sp => NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(
            sp.GetRequiredService<IOptions<PostgresOptions>>().Value.ToConnectionString()) { MinPoolSize = keepOpen }.ConnectionString));
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres", tags: [ReadyTag]);
        return builder;
    }

    /// <summary><c>/health/live</c>: the process runs. <c>/health/ready</c>: the bus is connected and, where used, PostgreSQL answers.
    /// <c>/metrics</c>: Prometheus metrics, behind the operator guard like every endpoint but the health checks.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(LiveTag),
            ResponseWriter = WriteHealth,
        });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = WriteHealth,
        });
        PrometheusMetrics.Map(app);
        return app;
    }

    /// <summary>
    /// Builds and runs a service until SIGTERM. A configuration or start-up failure, whether it shows
    /// while building or while starting, is logged as one line (a line per key for configuration) and exits
    /// non-zero (2 for configuration, 1 otherwise), so docker-compose shows why the service did not come up.
    /// The stack trace follows only at Debug level (<c>Serilog__MinimumLevel__Default=Debug</c>).
    /// </summary>
    public static async Task<int> RunAsync(string[] args, Func<string[], WebApplication> build)
    {
        if (HealthProbe.IsRequested(args))
            return await HealthProbe.RunAsync();

        WebApplication app;
        try
        {
            app = build(args);
        }
        catch (Exception ex)
        {
            // The service's own logger may be what failed; the level comes from where an operator would set it.
            var level = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine(args).Build()["Serilog:MinimumLevel:Default"];
            using var bootstrap = new LoggerConfiguration()
                .MinimumLevel.Is(Enum.TryParse<Serilog.Events.LogEventLevel>(level, ignoreCase: true, out var parsed) ? parsed : Serilog.Events.LogEventLevel.Information)
                .WriteTo.Console(
                    outputTemplate: "[{Timestamp:yyyy-MM-dd HH:mm:ss.fff} {Level:u3}] PowerEvents.Startup: {Message:lj}{NewLine}{Exception}",
                    formatProvider: System.Globalization.CultureInfo.InvariantCulture).CreateLogger();
            return ReportStartupFailure(ex,
                (failure, isConfiguration) => bootstrap.Fatal(isConfiguration ? "Invalid configuration: {Failure}" : "Service failed to start: {Failure}", failure),
                exception => bootstrap.Debug(exception, "Start-up failure in full"));
        }

        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PowerEvents.Startup");
        try
        {
            // Taken before the run: RunAsync disposes the host's services when it returns.
            var consumerCheck = app.Services.GetService<QueueConsumerCheck>();
            await app.RunAsync();
            // Stopped by the consumer check (logged Critical): non-zero, so that a supervisor counts it as a failure.
            return consumerCheck is { StoppedService: true } ? 1 : 0;
        }
        catch (Exception ex)
        {
            return ReportStartupFailure(ex,
                (failure, isConfiguration) => log.LogCritical(isConfiguration ? "Invalid configuration: {Failure}" : "Service failed: {Failure}", failure),
                exception => log.LogDebug(exception, "Start-up failure in full"));
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    static int ReportStartupFailure(Exception ex, Action<string, bool> report, Action<Exception> reportInFull)
    {
        var exitCode = 2;
        // The options binder wraps conversion errors; its message names the key ("... at 'RabbitMq:Port' ...").
        var validation = ex as OptionsValidationException ?? ex.InnerException as OptionsValidationException;
        if (validation is not null)
        {
            foreach (var failure in validation.Failures)
                report(failure, true);
        }
        else if (ex is InvalidOperationException && ex.Message.Contains(':', StringComparison.Ordinal))
        {
            report(ex.Message, true);
        }
        else
        {
            report(OneLine(ex), false);
            exitCode = 1;
        }

        // After the line that names the cause, so that it stays the first thing an operator reads.
        reportInFull(ex);
        return exitCode;
    }

    /// <summary>The exception and its causes as one line: "type: message &lt;- type: message".</summary>
    public static string OneLine(Exception exception)
    {
        var parts = new List<string>();
        for (Exception? e = exception; e is not null && parts.Count < 5; e = e.InnerException)
            parts.Add($"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
        return string.Join(" <- ", parts);
    }

    /// <summary>Status only: a check's description or exception (host names, driver messages) is for the log, not the network.</summary>
    public static Task WriteHealth(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString() }),
        }));
    }
}

sealed class PostgresHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy($"PostgreSQL does not answer: {ex.Message}");
        }
    }
}
