using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

[CollectionDefinition(Name)]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqFixture>
{
    public const string Name = "rabbitmq";
}
