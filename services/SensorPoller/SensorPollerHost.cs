using PowerEvents.Hosting;

namespace PowerEvents.SensorPoller;

/// <summary>Polls temperature sources and publishes one <c>TemperatureSampled</c> per reading.</summary>
public static class SensorPollerHost
{
    public const string ServiceName = "sensor-poller";

    public static WebApplication Build(string[] args)
    {
        var builder = ServiceDefaults.CreateBuilder(ServiceName, args);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        return app;
    }
}
