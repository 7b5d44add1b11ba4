using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PowerEvents.Hosting;

/// <summary>
/// TLS to appliances (vCenter, ESXi, BMCs, sensor sources, the MQTT broker): with a pinned SHA-256 fingerprint exactly
/// that certificate is accepted, whatever its chain or name (self-signed appliances rarely carry the name they are
/// reached by); without one, only a certificate that fully validates. The one implementation every pinning client uses.
/// </summary>
public static class CertificatePinning
{
    /// <summary>Upper-case hex without separators (colons and spaces allowed in the setting, any case); null when empty or not a SHA-256 fingerprint.</summary>
    public static string? Normalize(string? fingerprint)
    {
        var hex = (fingerprint ?? "").Replace(":", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).Trim().ToUpperInvariant();
        return hex.Length == 64 && hex.All(Uri.IsHexDigit) ? hex : null;
    }

    /// <summary>For options validation: an empty setting (no pin) or a SHA-256 fingerprint.</summary>
    public static bool IsValidSetting(string? fingerprint) => string.IsNullOrWhiteSpace(fingerprint) || Normalize(fingerprint) is not null;

    /// <summary>The SHA-256 fingerprint of a certificate, upper-case hex without separators.</summary>
    public static string Fingerprint(X509Certificate certificate) => Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData()));

    /// <summary><c>AB:CD:…</c>, the form appliances display and operators paste.</summary>
    public static string WithColons(string hex) => string.Join(':', hex.Chunk(2).Select(pair => new string(pair)));

    /// <summary>Why a server certificate is refused (null: accepted). Fingerprints are public, safe to log.</summary>
    public static string? Problem(X509Certificate? certificate, SslPolicyErrors errors, string? pinnedFingerprint)
    {
        if (Normalize(pinnedFingerprint) is not { } pinned)
            return errors == SslPolicyErrors.None ? null : $"the server's certificate is not trusted ({errors}); pin it with CertificateFingerprint if it is self-signed";
        if (certificate is null)
            return "the server sent no certificate";
        var actual = Fingerprint(certificate);
        // Fixed-time although a fingerprint is no secret: it costs nothing and leaves no question.
        return CryptographicOperations.FixedTimeEquals(Convert.FromHexString(actual), Convert.FromHexString(pinned))
            ? null
            : $"the server's certificate (SHA-256 {actual}) is not the pinned one ({pinned})";
    }

    /// <summary>
    /// The validation callback for <see cref="SslClientAuthenticationOptions.RemoteCertificateValidationCallback"/>;
    /// <paramref name="seen"/> receives each presented certificate's fingerprint (to tell an operator what to pin).
    /// </summary>
    public static RemoteCertificateValidationCallback Callback(string? pinnedFingerprint, Action<string>? seen = null) =>
        (_, certificate, _, errors) =>
        {
            if (certificate is not null)
                seen?.Invoke(Fingerprint(certificate));
            return Problem(certificate, errors, pinnedFingerprint) is null;
        };
}
