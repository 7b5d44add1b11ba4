using MassTransit;
using Microsoft.Extensions.Options;
using PowerEvents.Console.Auth;
using PowerEvents.Console.Commands;
using PowerEvents.Console.Persistence;
using PowerEvents.Console.ReadModel;
using PowerEvents.Console.Readiness;
using PowerEvents.Console.Schedule;
using PowerEvents.Hosting;

namespace PowerEvents.Console;

/// <summary>The operator console: a read model from the bus, a web UI and API, and commands to the power saga.</summary>
public static class ConsoleHost
{
    public const string ServiceName = "console";

    public static WebApplication Build(string[] args)
    {
        var builder = ServiceDefaults.CreateBuilder(ServiceName, args,
            bus =>
            {
                bus.AddConsumer<ReadModelConsumer, ReadModelConsumerDefinition>();
                bus.AddRequestClient<PowerEvents.Contracts.ClusterPlanPreviewRequested>(new Uri($"queue:{ClusterPlans.Queue}"));
            });
        builder.AddPostgres();
        builder.Services.AddValidatedOptions<ConsoleOptions>(ConsoleOptions.Section);
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<ConsoleOptions>>().Value);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSchemaMigrations(ConsoleSchema.Schema);
        builder.Services.AddSingleton<ConsoleSchema>();
        // The console has its own accounts, cookies and tokens (Auth/): the operator-token guard of the other services does not apply.
        builder.Services.RemoveOperatorAccessGuard();
        builder.Services.AddSingleton<ConsoleReadModel>();
        builder.Services.AddSingleton<EventLog>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EventLog>());
        builder.Services.AddSingleton<OperatorCommands>();
        builder.Services.AddSingleton<PowerWindowStore>();
        builder.Services.AddHostedService<PowerWindowService>();
        builder.Services.AddSingleton<ClusterReadiness>();
        builder.Services.AddHostedService<ReadinessPublisher>();
        builder.Services.AddScoped<ClusterPlans>();
        builder.Services.AddHealthChecks().AddCheck<ReadModelHealthCheck>("read-model", tags: [ServiceDefaults.ReadyTag]);
        builder.AddConsoleAuth();
        builder.Services.AddOpenApi();

        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            // Everything is served from here; nothing may be framed or fetched from elsewhere.
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            await next();
        });
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi();
        app.MapConsoleApi();
        app.MapDefaultEndpoints();
        return app;
    }
}
