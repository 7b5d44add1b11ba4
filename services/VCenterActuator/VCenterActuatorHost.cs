using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
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
            bus.AddConsumer<VsanClusterPowerRequestedConsumer>(typeof(VsanClusterPowerRequestedConsumerDefinition));
            bus.AddConsumer<EsxiHostShutdownRequestedConsumer>(typeof(EsxiHostShutdownRequestedConsumerDefinition));
            bus.AddConsumer<VCenterStartRequestedConsumer>(typeof(VCenterStartRequestedConsumerDefinition));
            bus.AddConsumer<EsxiHostLoginCheckRequestedConsumer>(typeof(EsxiHostLoginCheckRequestedConsumerDefinition));
        });

        builder.Services.AddValidatedOptions<VCenterOptions>(VCenterOptions.Section);
        builder.Services.TryAddSingleton(TimeProvider.System);
        // One session per vCenter for the service; disposing it at stop logs out. The default vCenter's (VCenter:Url), resolved only when configured:
        builder.Services.AddSingleton<VimConnection>();
        builder.Services.AddSingleton<IVCenterClient, VCenterClient>();
        builder.Services.AddSingleton<Platforms>();
        builder.Services.AddSingleton<OutcomeMemory>();
        builder.Services.AddSingleton<EsxiHosts>();
        builder.Services.AddSingleton(sp => new VCenterSteps(sp.GetRequiredService<Platforms>(), sp.GetRequiredService<IOptions<VCenterOptions>>(),
            sp.GetRequiredService<OutcomeMemory>(), sp.GetRequiredService<ILogger<VCenterSteps>>(), sp.GetRequiredService<EsxiHosts>(),
            sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddPreflight<VSpherePreflight>(ServiceName);
        // A tier's first commands must not pay for the first step's paths: warmed at start, logged, before ready.
        builder.Services.AddWarmup(StartupWarmup.ContractSerializers);
        builder.Services.AddWarmup(ActuatorWarmup.VCenterSessions);

        var app = builder.Build();
        app.MapDefaultEndpoints();
        return app;
    }
}
