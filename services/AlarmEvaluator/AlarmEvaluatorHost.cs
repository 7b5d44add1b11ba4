using PowerEvents.AlarmEvaluator.Persistence;
using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.AlarmEvaluator.Zones;
using Microsoft.Extensions.Options;
using PowerEvents.Hosting;

namespace PowerEvents.AlarmEvaluator;

/// <summary>Turns samples into per-zone alarm state and hosts the power saga.</summary>
public static class AlarmEvaluatorHost
{
    public const string ServiceName = "alarm-evaluator";

    /// <summary>PostgreSQL connections kept open: the outcome consumers' and four for the saga, the outbox's delivery and the watchdogs.</summary>
    const int PowerConnections = StepOutcomeConsumerDefinition.Concurrency + 4;

    public static WebApplication Build(string[] args)
    {
        var builder = ServiceDefaults.CreateBuilder(ServiceName, args, bus =>
        {
            bus.AddConsumer<TemperatureSampledConsumer>(typeof(TemperatureSampledConsumerDefinition));
            bus.AddConsumer<ShutdownEstimateConsumer>();
            bus.AddConsumer<PlanPreviewConsumer>(typeof(PlanPreviewConsumerDefinition));
            bus.AddPowerSaga();
        });
        // Opened at start and kept, so that a run's first tier does not start PostgreSQL server processes (PowerWarmup.Connections).
        builder.AddPostgres(keepOpen: PowerConnections);
        builder.Services.AddValidatedOptions<AlarmEvaluatorOptions>(AlarmEvaluatorOptions.Section);
        builder.Services.AddSingleton<IValidateOptions<PowerOptions>, ClusterZoneValidator>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ShutdownEstimates>();
        builder.Services.AddSingleton<ZoneDirectory>();
        builder.Services.AddOutbox();
        builder.Services.AddSingleton<ZoneStore>();
        builder.Services.AddSchemaMigrations(ZoneStore.Schema);
        builder.Services.AddSingleton<ZoneSampleHandler>();
        builder.Services.AddHostedService<ZoneWatchdog>();
        // The first alarm after a restart must not pay for the first run's paths: warmed at start, logged, before ready.
        builder.Services.AddWarmup(StartupWarmup.ContractSerializers);
        builder.Services.AddWarmup(PowerWarmup.SagaRepository);
        builder.Services.AddWarmup(StartupWarmup.CommandSendEndpoints);
        builder.Services.AddWarmup(PowerWarmup.Connections(PowerConnections));

        var app = builder.Build();
        app.MapDefaultEndpoints();
        return app;
    }
}
