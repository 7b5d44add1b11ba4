using System.Text;

namespace PowerEvents.Notifier.Delivery;

/// <summary>
/// A webhook URL fit for a log line. Slack, Discord and Teams Workflows carry their secret in the path
/// or the query, so only the scheme, host, port and plain-word path segments ("services", "api",
/// "webhooks", "workflows") are kept; every other segment, every query value and any user info become <c>***</c>.
/// </summary>
public static class UrlMask
{
    const string Hidden = "***";

    public static string Mask(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
            return "(not a URL)";

        var masked = new StringBuilder().Append(uri.Scheme).Append("://").Append(uri.Host);
        if (!uri.IsDefaultPort)
            masked.Append(':').Append(uri.Port);

        foreach (var segment in uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries))
            masked.Append('/').Append(IsPlainWord(segment) ? segment : Hidden);

        if (uri.Query.Length > 1)
        {
            var pairs = uri.Query[1..].Split('&', StringSplitOptions.RemoveEmptyEntries)
                .Select(pair => pair.Split('=', 2)[0])
                .Select(key => IsPlainWord(key) || key.All(c => char.IsAsciiLetterLower(c) || c == '-') && key.Length <= 16 ? $"{key}={Hidden}" : Hidden);
            masked.Append('?').Append(string.Join('&', pairs));
        }

        return masked.ToString();
    }

    // Short, lowercase, letters only: a route word, not an id or a token.
    static bool IsPlainWord(string segment) => segment.Length is > 0 and <= 12 && segment.All(char.IsAsciiLetterLower);
}
