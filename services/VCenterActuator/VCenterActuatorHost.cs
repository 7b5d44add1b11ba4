using PowerEvents.Hosting;
using PowerEvents.VCenterActuator.Consumers;
using PowerEvents.VCenterActuator.Vim;

namespace PowerEvents.VCenterActuator;

/// <summary>The only service that talks to vCenter: one step per command, one outcome event per step.</summary>
public static class VCenterActuatorHost
{
    public const string ServiceName = "vcenter-actuator";

    public static WebApplication Build(string[] args)
    {
        var builder = ServiceDefaults.CreateBuilder(ServiceName, args, bus =>
        {
            bus.AddConsumer<VmShutdownRequestedConsumer>(typeof(VmShutdownRequestedConsumerDefinition));
            bus.AddConsumer<VmPowerOnRequestedConsumer>(typeof(VmPowerOnRequestedConsumerDefinition));
            bus.AddConsumer<HostMaintenanceRequestedConsumer>(typeof(HostMaintenanceRequestedConsumerDefinition));
            bus.AddConsumer<HostExitMaintenanceRequestedConsumer>(typeof(HostExitMaintenanceRequestedConsumerDefinition));
            bus.AddConsumer<HostShutdownRequestedConsumer>(typeof(HostShutdownRequestedConsumerDefinition));
            bus.AddConsumer<ClusterInventoryRequestedConsumer>(typeof(ClusterInventoryRequestedConsumerDefinition));
            bus.AddConsumer<VclsRetreatRequestedConsumer>(typeof(VclsRetreatRequestedConsumerDefinition));
            bus.AddConsumer<VclsRestoreRequestedConsumer>(typeof(VclsRestoreRequestedConsumerDefinition));
            bus.AddConsumer<ClusterHaDrsDisableRequestedConsumer>(typeof(ClusterHaDrsDisableRequestedConsumerDefinition));
            bus.AddConsumer<ClusterHaDrsRestoreRequestedConsumer>(typeof(ClusterHaDrsRestoreRequestedConsumerDefinition));
            bus.AddConsumer<VsanResyncCheckRequestedConsumer>(typeof(VsanResyncCheckRequestedConsumerDefinition));
            bus.AddConsumer<EsxiHostShutdownRequestedConsumer>(typeof(EsxiHostShutdownRequestedConsumerDefinition));
            bus.AddConsumer<VCenterStartRequestedConsumer>(typeof(VCenterStartRequestedConsumerDefinition));
            bus.AddConsumer<EsxiHostLoginCheckRequestedConsumer>(typeof(EsxiHostLoginCheckRequestedConsumerDefinition));
        });

        builder.Services.AddValidatedOptions<VCenterOptions>(VCenterOptions.Section);
        // One session for the service; disposing it at stop logs out.
        builder.Services.AddSingleton<VimConnection>();
        builder.Services.AddSingleton<IVCenterClient, VCenterClient>();
        builder.Services.AddSingleton<OutcomeMemory>();
        builder.Services.AddSingleton<EsxiHosts>();
        builder.Services.AddSingleton<VCenterSteps>();

        var app = builder.Build();
        app.MapDefaultEndpoints();
        return app;
    }
}
