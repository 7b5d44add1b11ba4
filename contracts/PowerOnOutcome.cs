namespace PowerEvents.Contracts;

/// <summary>How a <see cref="PowerOnRequested"/> ended for one host.</summary>
public enum PowerOnOutcome
{
    /// <summary>The BMC accepted <c>ComputerSystem.Reset</c> (On) and then reported <c>PowerState</c> On.</summary>
    PoweredOn = 0,

    /// <summary>The BMC reported the host On before anything was asked of it: nothing was done.</summary>
    AlreadyOn = 1,

    /// <summary>A Wake-on-LAN magic packet was sent; whether the host woke up is not known from here.</summary>
    WakeOnLanSent = 2,

    /// <summary>The host could not be powered on; <see cref="HostPowerOnCompleted.Reason"/> says why.</summary>
    Failed = 3,
}
