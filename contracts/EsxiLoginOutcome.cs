namespace PowerEvents.Contracts;

/// <summary>What a login to an ESXi host's own API found.</summary>
public enum EsxiLoginOutcome
{
    /// <summary>Logged in.</summary>
    Accepted,

    /// <summary>No user or password is configured for the host.</summary>
    NoCredentials,

    /// <summary>The host refused the user or password (<c>InvalidLogin</c>), and it is not in lockdown mode as far as vCenter says.</summary>
    Refused,

    /// <summary>The host refused the login and vCenter shows it in lockdown mode (direct logins are refused).</summary>
    LockdownMode,

    /// <summary>The host's certificate did not validate or did not match its pinned fingerprint.</summary>
    CertificateRejected,

    /// <summary>The host did not answer.</summary>
    Unreachable,
}
