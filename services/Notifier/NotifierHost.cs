using PowerEvents.Hosting;

namespace PowerEvents.Notifier;

/// <summary>Turns events into operator alerts.</summary>
public static class NotifierHost
{
    public const string ServiceName = "notifier";

    public static WebApplication Build(string[] args)
    {
        var builder = ServiceDefaults.CreateBuilder(ServiceName, args, bus =>
        {
            bus.AddConsumer<AlarmLogConsumer>();
        });
        var app = builder.Build();
        app.MapDefaultEndpoints();
        return app;
    }
}
