using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.Hosting;
using PowerEvents.IloActuator;
using PowerEvents.VCenterActuator.Consumers;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

/// <summary>The command→queue map names exactly the queues the services' consumers get from the endpoint formatter.</summary>
public sealed class CommandRoutesTests
{
    [Fact]
    public void Each_command_goes_to_the_queue_of_the_consumer_that_carries_it_out()
    {
        var vcenter = new KebabCaseEndpointNameFormatter(CommandRoutes.VCenterActuator, includeNamespace: false);
        var ilo = new KebabCaseEndpointNameFormatter(CommandRoutes.IloActuator, includeNamespace: false);

        Assert.Equal(vcenter.Consumer<ClusterInventoryRequestedConsumer>(), CommandRoutes.QueueOf<ClusterInventoryRequested>());
        Assert.Equal(vcenter.Consumer<VmShutdownRequestedConsumer>(), CommandRoutes.QueueOf<VmShutdownRequested>());
        Assert.Equal(vcenter.Consumer<VmPowerOnRequestedConsumer>(), CommandRoutes.QueueOf<VmPowerOnRequested>());
        Assert.Equal(vcenter.Consumer<HostMaintenanceRequestedConsumer>(), CommandRoutes.QueueOf<HostMaintenanceRequested>());
        Assert.Equal(vcenter.Consumer<HostExitMaintenanceRequestedConsumer>(), CommandRoutes.QueueOf<HostExitMaintenanceRequested>());
        Assert.Equal(vcenter.Consumer<HostShutdownRequestedConsumer>(), CommandRoutes.QueueOf<HostShutdownRequested>());
        Assert.Equal(ilo.Consumer<PowerOnRequestedConsumer>(), CommandRoutes.QueueOf<PowerOnRequested>());
        Assert.Equal(ilo.Consumer<PowerStateRequestedConsumer>(), CommandRoutes.QueueOf<PowerStateRequested>());
        Assert.Equal(((ISagaDefinition)new AlarmEvaluator.Power.PowerSagaDefinition()).GetEndpointName(new KebabCaseEndpointNameFormatter("alarm-evaluator", false)),
            CommandRoutes.QueueOf<ClusterShutdownRequested>());
    }
}
