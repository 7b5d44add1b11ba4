using PowerEvents.Hosting;

namespace PowerEvents.IloActuator;

/// <summary>The only service that talks to BMCs (Redfish) and sends Wake-on-LAN packets.</summary>
public static class IloActuatorHost
{
    public const string ServiceName = "ilo-actuator";

    public static WebApplication Build(string[] args)
    {
        var builder = ServiceDefaults.CreateBuilder(ServiceName, args);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        return app;
    }
}
