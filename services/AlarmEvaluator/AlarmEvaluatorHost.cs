using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Hosting;

namespace PowerEvents.AlarmEvaluator;

/// <summary>Turns samples into per-zone alarm state and hosts the power saga.</summary>
public static class AlarmEvaluatorHost
{
    public const string ServiceName = "alarm-evaluator";

    public static WebApplication Build(string[] args)
    {
        var builder = ServiceDefaults.CreateBuilder(ServiceName, args, bus =>
        {
            bus.AddConsumer<TemperatureSampledConsumer>();
            bus.AddPowerSaga();
        });
        builder.AddPostgres();

        var app = builder.Build();
        app.MapDefaultEndpoints();
        return app;
    }
}
