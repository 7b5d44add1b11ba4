namespace PowerEvents.Contracts;

/// <summary>What a vCenter step (other than a VM shutdown) did.</summary>
public enum StepOutcome
{
    /// <summary>The step changed the state as asked.</summary>
    Done,

    /// <summary>The object was already in the asked state; nothing was changed.</summary>
    AlreadyInState,

    /// <summary>The step gave up; the event's fault says why.</summary>
    Failed,
}
