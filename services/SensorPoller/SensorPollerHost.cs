using PowerEvents.Hosting;
using PowerEvents.SensorPoller.Polling;

namespace PowerEvents.SensorPoller;

/// <summary>Polls temperature sources and publishes one <c>TemperatureSampled</c> per reading.</summary>
public static class SensorPollerHost
{
    public const string ServiceName = "sensor-poller";

    public static WebApplication Build(string[] args)
    {
        var builder = ServiceDefaults.CreateBuilder(ServiceName, args);
        builder.Services.AddValidatedOptions<SensorPollerOptions>(SensorPollerOptions.Section);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddHostedService<PollerService>();
        builder.Services.AddPreflight<SourcePreflight>(ServiceName);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        return app;
    }
}
