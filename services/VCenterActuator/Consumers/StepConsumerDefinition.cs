using MassTransit;
using Microsoft.Extensions.Options;

namespace PowerEvents.VCenterActuator.Consumers;

/// <summary>
/// Endpoint settings shared by the step consumers: steps retry vCenter themselves and always publish an outcome,
/// so the bus does not redeliver; the outcome is sent only once the step finished (in-memory outbox); and a
/// bounded number of steps run at once (each waits on vCenter, most of the time idle).
/// </summary>
public class StepConsumerDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    readonly int _concurrency;

    public StepConsumerDefinition(IOptions<VCenterOptions> options)
    {
        _concurrency = options.Value.MaxConcurrentSteps;
        ConcurrentMessageLimit = _concurrency;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<TConsumer> consumerConfigurator, IRegistrationContext context)
    {
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
            rabbit.PrefetchCount = (ushort)Math.Max(_concurrency, 1);
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}

public sealed class VmShutdownRequestedConsumerDefinition(IOptions<VCenterOptions> options) : StepConsumerDefinition<VmShutdownRequestedConsumer>(options);

public sealed class VmPowerOnRequestedConsumerDefinition(IOptions<VCenterOptions> options) : StepConsumerDefinition<VmPowerOnRequestedConsumer>(options);

public sealed class HostMaintenanceRequestedConsumerDefinition(IOptions<VCenterOptions> options) : StepConsumerDefinition<HostMaintenanceRequestedConsumer>(options);

public sealed class HostExitMaintenanceRequestedConsumerDefinition(IOptions<VCenterOptions> options) : StepConsumerDefinition<HostExitMaintenanceRequestedConsumer>(options);

public sealed class HostShutdownRequestedConsumerDefinition(IOptions<VCenterOptions> options) : StepConsumerDefinition<HostShutdownRequestedConsumer>(options);

public sealed class ClusterInventoryRequestedConsumerDefinition(IOptions<VCenterOptions> options) : StepConsumerDefinition<ClusterInventoryRequestedConsumer>(options);

public sealed class VclsRetreatRequestedConsumerDefinition(IOptions<VCenterOptions> options) : StepConsumerDefinition<VclsRetreatRequestedConsumer>(options);

public sealed class VclsRestoreRequestedConsumerDefinition(IOptions<VCenterOptions> options) : StepConsumerDefinition<VclsRestoreRequestedConsumer>(options);

public sealed class ClusterHaDrsDisableRequestedConsumerDefinition(IOptions<VCenterOptions> options) : StepConsumerDefinition<ClusterHaDrsDisableRequestedConsumer>(options);

public sealed class ClusterHaDrsRestoreRequestedConsumerDefinition(IOptions<VCenterOptions> options) : StepConsumerDefinition<ClusterHaDrsRestoreRequestedConsumer>(options);

public sealed class VsanResyncCheckRequestedConsumerDefinition(IOptions<VCenterOptions> options) : StepConsumerDefinition<VsanResyncCheckRequestedConsumer>(options);
public sealed class VsanClusterPowerRequestedConsumerDefinition(IOptions<VCenterOptions> options) : StepConsumerDefinition<VsanClusterPowerRequestedConsumer>(options);

public sealed class EsxiHostShutdownRequestedConsumerDefinition(IOptions<VCenterOptions> options) : StepConsumerDefinition<EsxiHostShutdownRequestedConsumer>(options);

public sealed class VCenterStartRequestedConsumerDefinition(IOptions<VCenterOptions> options) : StepConsumerDefinition<VCenterStartRequestedConsumer>(options);

public sealed class EsxiHostLoginCheckRequestedConsumerDefinition(IOptions<VCenterOptions> options) : StepConsumerDefinition<EsxiHostLoginCheckRequestedConsumer>(options);
