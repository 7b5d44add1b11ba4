namespace PowerEvents.VCenterActuator.Vim;

/// <summary>
/// A vSphere fault (the SOAP fault's detail type, e.g. <c>ToolsUnavailable</c>, or a failed task's
/// <c>info.error</c>) or a transport failure standing for one (<see cref="Unreachable"/>, <see cref="Timeout"/>).
/// </summary>
public class VCenterException : Exception
{
    public const string Unreachable = "Unreachable";
    public const string Timeout = "Timeout";
    public const string CertificateRejected = "CertificateRejected";
    public const string NotAuthenticated = "NotAuthenticated";
    public const string InvalidLogin = "InvalidLogin";
    public const string InvalidState = "InvalidState";
    public const string InvalidPowerState = "InvalidPowerState";
    public const string ToolsUnavailable = "ToolsUnavailable";
    public const string ManagedObjectNotFound = "ManagedObjectNotFound";
    public const string NotFound = "NotFound";

    // Subtypes the steps test for by their base type (the vSphere API reference's fault hierarchy, the part we meet).
    static readonly Dictionary<string, string> Parents = new(StringComparer.Ordinal)
    {
        ["InvalidPowerState"] = InvalidState,
        ["InvalidHostState"] = InvalidState,
        ["InvalidHostConnectionState"] = "InvalidHostState",
        ["TaskInProgress"] = "VimFault",
        ["HostNotConnected"] = "HostCommunication",
        ["HostNotReachable"] = "HostCommunication",
        ["NotAuthenticated"] = "NoPermission",
        ["InvalidLogin"] = "VimFault",
    };

    public VCenterException(string faultName, string message, bool isTransient = false, Exception? inner = null)
        : base(message, inner)
    {
        FaultName = faultName;
        IsTransient = isTransient;
    }

    /// <summary>The vSphere fault type name, or one of this class's transport names.</summary>
    public string FaultName { get; }

    /// <summary>Safe to try again later: vCenter did not answer, or answered that it is busy.</summary>
    public bool IsTransient { get; }

    /// <summary>Whether the fault is <paramref name="faultName"/> or one of its subtypes.</summary>
    public bool Is(string faultName)
    {
        for (var name = FaultName; name is not null; name = Parents.GetValueOrDefault(name))
        {
            if (name == faultName)
                return true;
        }
        return false;
    }
}
