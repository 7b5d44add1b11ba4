using MassTransit;
using PowerEvents.Hosting;

namespace PowerEvents.IloActuator;

/// <summary>The only service that talks to BMCs (Redfish) and sends Wake-on-LAN packets.</summary>
public static class IloActuatorHost
{
    public const string ServiceName = "ilo-actuator";

    public static WebApplication Build(string[] args)
    {
        var builder = ServiceDefaults.CreateBuilder(ServiceName, args, bus =>
        {
            bus.AddConsumer<PowerOnRequestedConsumer, PowerOnRequestedConsumerDefinition>();
            bus.AddConsumer<PowerStateRequestedConsumer, PowerStateRequestedConsumerDefinition>();
        });
        builder.Services.AddValidatedOptions<BmcOptions>(BmcOptions.Section);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<BmcHttpClients>();
        builder.Services.AddSingleton<RedfishClient>();
        builder.Services.AddSingleton<WakeOnLanSender>();
        builder.Services.AddSingleton<IBmcClient, BmcPowerService>();
        builder.Services.AddPreflight<BmcPreflight>(ServiceName);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        return app;
    }
}
