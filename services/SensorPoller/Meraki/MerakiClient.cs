using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using PowerEvents.SensorPoller.Polling;

namespace PowerEvents.SensorPoller.Meraki;

/// <summary>
/// The Meraki Dashboard API v1 calls the poller needs. Follows the <c>Link: rel=next</c> header to
/// the last page (absolute URLs, possibly on another host of the same service), and turns error statuses
/// and malformed bodies into <see cref="SourceException"/> carrying Meraki's own <c>errors</c> text.
/// </summary>
public sealed class MerakiClient(HttpClient http, MerakiSourceOptions options)
{
    const int MaxPages = 10_000;
    readonly CredentialScope _scope = CredentialScope.For(options);

    /// <summary>GET /organizations/{id}/sensor/readings/latest?metrics[]=temperature, every page (collected).</summary>
    public async Task<List<JsonElement>> GetLatestTemperatureReadingsAsync(CancellationToken cancellationToken)
    {
        var items = new List<JsonElement>();
        await foreach (var page in GetLatestTemperatureReadingPagesAsync(cancellationToken))
            items.AddRange(page);
        return items;
    }

    /// <summary>The same, page by page, as each page arrives: a slow last page does not hold back the first.</summary>
    public async IAsyncEnumerable<List<JsonElement>> GetLatestTemperatureReadingPagesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var query = new List<string> { $"perPage={options.PerPage}", "metrics%5B%5D=temperature" };
        query.AddRange(options.NetworkIds.Select(id => "networkIds%5B%5D=" + Uri.EscapeDataString(id)));
        query.AddRange(options.Serials.Select(s => "serials%5B%5D=" + Uri.EscapeDataString(s)));
        Uri? next = new(Base, $"organizations/{Uri.EscapeDataString(options.OrganizationId)}/sensor/readings/latest?{string.Join('&', query)}");

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var page = 0; next is not null; page++)
        {
            if (page >= MaxPages || !seen.Add(next.AbsoluteUri))
                throw new SourceException($"pagination does not end (page {page}, {next})");

            using var response = await SendAsync(next, cancellationToken);
            using var document = await ReadJsonAsync(response, cancellationToken);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
                throw new SourceException($"readings/latest answered a JSON {document.RootElement.ValueKind}, not an array");
            var following = NextLink(response);
            // The key goes with every page request: never outside the configured origin and AllowedHosts.
            if (following is not null && !_scope.Allows(following))
                throw new SourceException($"next page link to {CredentialScope.Origin(following)} refused (not the configured origin nor an AllowedHosts entry)");
            yield return document.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
            next = following;
        }
    }

    /// <summary>GET /networks/{id}/sensor/alerts/current/overview/byMetric.</summary>
    public async Task<JsonElement> GetCurrentAlertOverviewAsync(string networkId, CancellationToken cancellationToken)
    {
        var uri = new Uri(Base, $"networks/{Uri.EscapeDataString(networkId)}/sensor/alerts/current/overview/byMetric");
        using var response = await SendAsync(uri, cancellationToken);
        using var document = await ReadJsonAsync(response, cancellationToken);
        return document.RootElement.Clone();
    }

    /// <summary>GET /organizations/{id}: the cheapest read that proves the key is valid and may see the organization (preflight).</summary>
    public async Task<string> GetOrganizationNameAsync(CancellationToken cancellationToken)
    {
        using var response = await SendAsync(new Uri(Base, $"organizations/{Uri.EscapeDataString(options.OrganizationId)}"), cancellationToken);
        using var document = await ReadJsonAsync(response, cancellationToken);
        return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("name", out var name)
            ? name.ToString() : "";
    }

    Uri Base => options.BaseUrl.AbsoluteUri.EndsWith('/') ? options.BaseUrl : new Uri(options.BaseUrl.AbsoluteUri + "/");

    async Task<HttpResponseMessage> SendAsync(Uri uri, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("PowerEvents-SensorPoller", "1.0"));
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (response.IsSuccessStatusCode)
            return response;

        using (response)
        {
            var errors = await ErrorsAsync(response, cancellationToken);
            var path = uri.AbsolutePath;
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                throw new SourceThrottledException(ResilientHttp.RetryAfter(response) ?? options.Interval,
                    $"HTTP 429 from {path} (Retry-After {ResilientHttp.RetryAfter(response)?.TotalSeconds ?? 0} s){errors}");
            throw new SourceException($"HTTP {(int)response.StatusCode} from {path}{errors}");
        }
    }

    static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            return await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
        }
        catch (JsonException ex)
        {
            throw new SourceException($"malformed JSON from {response.RequestMessage?.RequestUri?.AbsolutePath}: {ex.Message}", ex);
        }
    }

    /// <summary>Meraki's error bodies are {"errors":["..."]}; anything else is not repeated.</summary>
    static async Task<string> ErrorsAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
                return ": " + string.Join("; ", errors.EnumerateArray().Select(e => e.ToString()));
        }
        catch (JsonException)
        {
        }
        return "";
    }

    /// <summary>RFC 8288 Link header: the target of rel=next, if any.</summary>
    public static Uri? NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var values))
            return null;
        foreach (var link in values.SelectMany(SplitLinks))
        {
            var close = link.IndexOf('>', StringComparison.Ordinal);
            var open = link.IndexOf('<', StringComparison.Ordinal);
            if (open < 0 || close < open)
                continue;
            var parameters = link[(close + 1)..].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var isNext = parameters.Any(p => p.StartsWith("rel=", StringComparison.OrdinalIgnoreCase)
                && p[4..].Trim('"').Split(' ').Contains("next", StringComparer.OrdinalIgnoreCase));
            if (isNext)
            {
                var target = link[(open + 1)..close];
                return Uri.TryCreate(target, UriKind.Absolute, out var absolute) ? absolute
                    : new Uri(response.RequestMessage!.RequestUri!, target);
            }
        }
        return null;
    }

    // Commas separate links but may not appear inside <...>.
    static IEnumerable<string> SplitLinks(string header)
    {
        var start = 0;
        var inside = false;
        for (var i = 0; i < header.Length; i++)
        {
            if (header[i] == '<') inside = true;
            else if (header[i] == '>') inside = false;
            else if (header[i] == ',' && !inside)
            {
                yield return header[start..i].Trim();
                start = i + 1;
            }
        }
        yield return header[start..].Trim();
    }
}
