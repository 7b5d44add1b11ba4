namespace PowerEvents.Contracts;

/// <summary>How a VM came to be powered off (or did not).</summary>
public enum VmShutdownOutcome
{
    /// <summary>The guest OS shut down after <c>ShutdownGuest</c>.</summary>
    Graceful,

    /// <summary>Powered off hard: no running VMware Tools, or the guest shutdown timed out.</summary>
    Forced,

    /// <summary>The VM was already powered off; nothing was done.</summary>
    AlreadyOff,

    /// <summary>The VM may still be on; the event's fault says why.</summary>
    Failed,
}
