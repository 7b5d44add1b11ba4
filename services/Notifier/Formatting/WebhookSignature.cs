using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace PowerEvents.Notifier.Formatting;

/// <summary>
/// The generic format's signature: <c>X-PowerEvents-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256&gt;</c>
/// over the UTF-8 bytes of <c>"&lt;t&gt;." + body</c>. Signing the timestamp lets a receiver reject replays.
/// </summary>
public static class WebhookSignature
{
    public const string HeaderName = "X-PowerEvents-Signature";

    public static string Create(string secret, DateTimeOffset timestamp, string body)
    {
        var t = timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"t={t},v1={Compute(secret, t, body)}";
    }

    /// <summary>
    /// What a receiver does: parse the header, recompute the HMAC, compare in constant time, and refuse a
    /// timestamp further than <paramref name="tolerance"/> from its own clock.
    /// </summary>
    public static SignatureCheck Verify(string secret, string? header, string body, DateTimeOffset now, TimeSpan tolerance)
    {
        if (string.IsNullOrEmpty(header))
            return SignatureCheck.Missing;

        string? t = null;
        var signatures = new List<string>();
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                return SignatureCheck.Malformed;
            var (key, value) = (part[..eq], part[(eq + 1)..]);
            if (key == "t")
                t = value;
            else if (key == "v1")
                signatures.Add(value);
        }

        if (t is null || signatures.Count == 0 || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            return SignatureCheck.Malformed;

        var expected = Encoding.ASCII.GetBytes(Compute(secret, t, body));
        if (!signatures.Any(s => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(s), expected)))
            return SignatureCheck.Mismatch;

        var age = now - DateTimeOffset.FromUnixTimeSeconds(seconds);
        return age.Duration() > tolerance ? SignatureCheck.Expired : SignatureCheck.Valid;
    }

    static string Compute(string secret, string t, string body) => Convert.ToHexStringLower(
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{t}.{body}")));
}

public enum SignatureCheck
{
    Valid,
    Missing,
    Malformed,
    Mismatch,
    Expired,
}
