using PowerEvents.Hosting;
using PowerEvents.Notifier.Alerts;
using PowerEvents.Notifier.Delivery;
using PowerEvents.Notifier.Readiness;

namespace PowerEvents.Notifier;

/// <summary>Turns events into operator alerts: webhooks per destination, with retries, routing and dedupe.</summary>
public static class NotifierHost
{
    public const string ServiceName = "notifier";

    public static WebApplication Build(string[] args) => Build(args, configure: null);

    /// <param name="configure">Lets a test add to the builder (e.g. a log capture) before the host is built.</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure)
    {
        var builder = ServiceDefaults.CreateBuilder(ServiceName, args, bus =>
        {
            bus.AddAlerts();
            bus.AddReadinessAlerts();
            bus.AddConsumer<Preflight.PreflightConsumer>().Endpoint(e => e.Name = $"{ServiceName}-preflight-check-completed");
            // One at a time: a run's start, end and power-on are decided in the order they arrive.
            bus.AddConsumer<Quiet.ClusterOffConsumer>().Endpoint(e => { e.Name = $"{ServiceName}-cluster-off"; e.ConcurrentMessageLimit = 1; });
        });
        builder.AddPostgres();

        builder.Services.AddValidatedOptions<NotifierOptions>(NotifierOptions.Section);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSchemaMigrations(AlertStore.Schema);
        builder.Services.AddSingleton<AlertStore>();
        builder.Services.AddSingleton<AlertRecorder>();
        builder.Services.AddSingleton<DeliverySignals>();
        builder.Services.AddSingleton<WebhookSender>();
        builder.Services.AddHostedService<DeliveryService>();
        builder.Services.AddReadiness();
        builder.Services.AddSchemaMigrations(Preflight.PreflightSchema.Migrations);
        builder.Services.AddSchemaMigrations(Quiet.ClusterOffConsumer.Schema);
        builder.Services.AddPreflight<Preflight.WebhookPreflight>(ServiceName);
        builder.Services.AddHttpClient(WebhookSender.HttpClientName, client =>
            {
                client.Timeout = Timeout.InfiniteTimeSpan; // Polly times each attempt.
                client.DefaultRequestHeaders.UserAgent.ParseAdd("PowerEvents-Notifier/1.0");
            })
            // A redirect would carry a signed alert somewhere not configured; HttpClient's own logs would print the secret URL.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .RemoveAllLoggers();

        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        return app;
    }
}
