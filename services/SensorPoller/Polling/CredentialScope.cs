using System.Text.RegularExpressions;

namespace PowerEvents.SensorPoller.Polling;

/// <summary>
/// Where a source's credentials may go: the configured origin (scheme, host and port exactly) and the hosts an
/// operator listed in AllowedHosts (https, or http with AllowInsecureHttp). A redirect or a next-page link anywhere else is refused.
/// Host names are compared whole: <c>bms.example.co.uk</c> and <c>attacker.co.uk</c> are different services.
/// </summary>
public sealed partial class CredentialScope
{
    // The Meraki API's own regional hosts redirect to their organization's shard (nNNN.meraki.com and the like).
    static readonly Dictionary<string, string> MerakiShardDomains = new(StringComparer.OrdinalIgnoreCase)
    {
        ["api.meraki.com"] = "*.meraki.com",
        ["api.meraki.cn"] = "*.meraki.cn",
        ["api.meraki.ca"] = "*.meraki.ca",
        ["api.meraki.in"] = "*.meraki.in",
        ["api.gov-meraki.com"] = "*.gov-meraki.com",
    };

    readonly Uri _origin;
    readonly bool _allowHttp;
    readonly IReadOnlyList<string> _allowed;

    public CredentialScope(Uri origin, IEnumerable<string> allowedHosts, bool allowHttp)
    {
        _origin = origin;
        _allowHttp = allowHttp;
        _allowed = allowedHosts.Concat(MerakiShardDomains.TryGetValue(origin.Host, out var shards) ? [shards] : Array.Empty<string>()).ToList();
    }

    public static CredentialScope For(SourceOptions options) => new(options switch
    {
        MerakiSourceOptions meraki => meraki.BaseUrl,
        HttpSourceOptions http => http.Url,
        _ => throw new ArgumentException($"no URL for {options.GetType().Name}", nameof(options)),
    }, options.AllowedHosts, options.AllowInsecureHttp);

    /// <summary>True when the credentials may be sent to <paramref name="target"/>.</summary>
    public bool Allows(Uri target)
    {
        if (!target.IsAbsoluteUri)
            return false;
        if (target.Scheme == _origin.Scheme && (target.Scheme == Uri.UriSchemeHttps || _allowHttp)
            && string.Equals(target.Host, _origin.Host, StringComparison.OrdinalIgnoreCase) && target.Port == _origin.Port)
            return true;
        return (target.Scheme == Uri.UriSchemeHttps || (_allowHttp && target.Scheme == Uri.UriSchemeHttp))
            && _allowed.Any(pattern => Matches(pattern, target));
    }

    static bool Matches(string pattern, Uri target)
    {
        if (pattern.StartsWith("*.", StringComparison.Ordinal))
            return target.IsDefaultPort && target.Host.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase);
        var colon = pattern.LastIndexOf(':');
        var (host, port) = colon > 0 && int.TryParse(pattern[(colon + 1)..], out var p) ? (pattern[..colon], (int?)p) : (pattern, null);
        return string.Equals(target.Host, host, StringComparison.OrdinalIgnoreCase) && (port is null ? target.IsDefaultPort : target.Port == port);
    }

    /// <summary><c>host</c>, <c>host:port</c> or <c>*.domain</c> (at least two labels after the star).</summary>
    public static bool IsValidPattern(string pattern) => HostPattern().IsMatch(pattern);

    [GeneratedRegex(@"^(\*\.[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|[A-Za-z0-9.-]+(:[0-9]{1,5})?)$")]
    private static partial Regex HostPattern();

    /// <summary>The origin as logged: scheme, host and port, never a path or query (which may carry tokens).</summary>
    public static string Origin(Uri uri) => $"{uri.Scheme}://{uri.Host}:{uri.Port}";
}
