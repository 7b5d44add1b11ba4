namespace PowerEvents.Contracts;

/// <summary>What a <see cref="VsanResyncCheckRequested"/> found.</summary>
public enum VsanResyncOutcome
{
    /// <summary>Nothing was resyncing.</summary>
    Idle,

    /// <summary>A resync was running and finished within the deadline.</summary>
    Finished,

    /// <summary>Still resyncing at the deadline: the event's figures say how much is left.</summary>
    StillResyncing,

    /// <summary>The cluster does not have vSAN; nothing to wait for.</summary>
    NotVsan,

    /// <summary>vCenter could not be asked; the event's fault says why.</summary>
    Failed,
}
