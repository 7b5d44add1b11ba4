namespace PowerEvents.Contracts;

/// <summary>
/// An actuator refused a command that did not come from the power saga's broker account: someone with access to the
/// broker tried to make it act (shut down or power on) outside a power run. Nothing was done.
/// </summary>
/// <param name="Service">The actuator that refused it (e.g. <c>vcenter-actuator</c>).</param>
/// <param name="Command">The command's type name (e.g. <c>VmShutdownRequested</c>).</param>
/// <param name="SentBy">The broker account the message carried (the AMQP <c>user_id</c>, which the broker checks); empty when none.</param>
/// <param name="ExpectedOrigin">The only account allowed to command the actuator.</param>
/// <param name="MessageId">The refused message's id, to find it in the broker's or the actuator's log.</param>
/// <param name="RefusedAt">When the actuator refused it.</param>
public sealed record ForgedCommandRefused(
    string Service,
    string Command,
    string SentBy,
    string ExpectedOrigin,
    Guid? MessageId,
    DateTimeOffset RefusedAt);
