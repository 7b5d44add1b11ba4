using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.Integration.Tests;

[CollectionDefinition(Name)]
public sealed class RealServersCollection : ICollectionFixture<RabbitMqFixture>, ICollectionFixture<PostgresFixture>
{
    public const string Name = "real servers";
}
