using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace PowerEvents.WebhookReceiver;

/// <summary>
/// How a receiver checks the Notifier's generic payloads, written from docs/notifier.md alone (this tool
/// does not share code with the Notifier, so it also checks the documentation is enough):
/// <c>X-PowerEvents-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(secret, t + "." + raw body)&gt;</c>.
/// </summary>
public static class SignatureVerifier
{
    public static string Check(string secret, string? header, byte[] rawBody, DateTimeOffset now, TimeSpan tolerance)
    {
        if (string.IsNullOrEmpty(header))
            return "missing";

        var parts = header.Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToList();
        var t = parts.FirstOrDefault(p => p[0].Trim() == "t")?[1].Trim();
        var signatures = parts.Where(p => p[0].Trim() == "v1").Select(p => p[1].Trim()).ToList();
        if (t is null || signatures.Count == 0 || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var unixSeconds))
            return "malformed";

        // 1. The HMAC over the timestamp and the exact bytes received (never a re-serialised body).
        var signed = Encoding.UTF8.GetBytes(t + ".").Concat(rawBody).ToArray();
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
        if (!signatures.Any(s => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(s), Encoding.ASCII.GetBytes(expected))))
            return "mismatch";

        // 2. Fresh: a captured request replayed later is refused.
        var age = now - DateTimeOffset.FromUnixTimeSeconds(unixSeconds);
        return age.Duration() > tolerance ? "expired" : "valid";
    }
}
