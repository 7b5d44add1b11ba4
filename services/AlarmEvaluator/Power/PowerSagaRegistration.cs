using MassTransit;
using MassTransit.Configuration;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using PowerEvents.Contracts;
using PowerEvents.Hosting;

namespace PowerEvents.AlarmEvaluator.Power;

public static class PowerSagaRegistration
{
    /// <summary>
    /// Everything the power saga needs, in one call from the bus configuration: the state machine on its PostgreSQL
    /// repository, the zone-alarm consumer, the schema, the deadline watchdog, and <c>GET /power/plan/{cluster}</c>.
    /// Needs <c>AddPostgres</c> (the <see cref="NpgsqlDataSource"/>).
    /// </summary>
    public static IBusRegistrationConfigurator AddPowerSaga(this IBusRegistrationConfigurator bus)
    {
        CommandRoutes.EnsureMapped();
        bus.AddValidatedOptions<PowerOptions>(PowerOptions.Section);
        bus.TryAddSingleton(TimeProvider.System);
        bus.AddDbContext<PowerDbContext>((sp, o) => o.UseNpgsql(sp.GetRequiredService<NpgsqlDataSource>()));
        bus.AddOutbox();
        bus.AddSchemaMigrations(PowerSchema.Migrations);
        bus.AddHostedService<DeadlineWatchdog>();
        bus.AddTransient<IStartupFilter, PlanPreviewStartupFilter>();
        bus.TryAddSingleton<SharedReads<Response<ClusterInventoryCaptured, ClusterInventoryFailed>>>();

        bus.AddConsumer<ZoneAlarmConsumer, ZoneAlarmConsumerDefinition>();
        // VM outcomes are recorded on their step rows by a concurrent consumer; the saga hears only of completed stages.
        bus.TryAddSingleton<StepRowRecording>();
        bus.AddConsumer<StepOutcomeConsumer, StepOutcomeConsumerDefinition>();
        bus.AddHostedService<StaleSagaBindings>();
        bus.AddConsumer<PowerCommandConsumer, PowerCommandConsumerDefinition>();
        bus.AddSagaStateMachine<PowerStateMachine, PowerSagaState, PowerSagaDefinition>()
            .Repository(r => r.RegisterSagaRepository<PowerSagaState, PowerDbContext, PowerSagaConsumeContextFactory, PowerSagaRepositoryContextFactory>());
        bus.AddRequestClient<ClusterInventoryRequested>();
        bus.AddRequestClient<EsxiHostLoginCheckRequested>();
        return bus;
    }
}
