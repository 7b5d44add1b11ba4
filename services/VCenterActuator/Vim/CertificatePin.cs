using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PowerEvents.VCenterActuator.Vim;

/// <summary>Certificate pinning: a SHA-256 fingerprint of the exact certificate vCenter must present.</summary>
public static class CertificatePin
{
    /// <summary>Parses <c>AB:CD:…</c> or <c>abcd…</c>; null for an empty setting.</summary>
    public static byte[]? Parse(string fingerprint)
    {
        var hex = fingerprint.Replace(":", "", StringComparison.Ordinal).Trim();
        if (hex.Length == 0)
            return null;
        return hex.Length == 64
            ? Convert.FromHexString(hex)
            : throw new InvalidOperationException($"{VCenterOptions.Section}:{nameof(VCenterOptions.CertificateFingerprint)}: must be 64 hex digits (SHA-256)");
    }

    /// <summary>
    /// With a pin, only the pinned certificate is accepted, whatever its chain or name (self-signed appliances
    /// rarely carry the name they are reached by); without one, only a certificate that fully validates.
    /// </summary>
    public static bool Accept(X509Certificate? certificate, SslPolicyErrors errors, byte[]? pin)
    {
        if (pin is null)
            return errors == SslPolicyErrors.None;
        if (certificate is null)
            return false;
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(certificate.GetRawCertData()), pin);
    }
}
