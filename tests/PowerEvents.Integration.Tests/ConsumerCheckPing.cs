// In the contracts' namespace only so that its exchange (PowerEvents.Contracts:ConsumerCheckPing) is one a service's
// least-privilege broker account may declare (deploy/rabbitmq/users.json); a test message, not a contract.
namespace PowerEvents.Contracts;

public sealed record ConsumerCheckPing(Guid Id);
