using PowerEvents.Hosting;

namespace PowerEvents.VCenterActuator;

/// <summary>The only service that talks to vCenter: one step per command, one outcome event per step.</summary>
public static class VCenterActuatorHost
{
    public const string ServiceName = "vcenter-actuator";

    public static WebApplication Build(string[] args)
    {
        var builder = ServiceDefaults.CreateBuilder(ServiceName, args);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        return app;
    }
}
