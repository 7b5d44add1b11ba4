using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;

namespace PowerEvents.Testing;

/// <summary>One scrape of a service's <c>/metrics</c> (Prometheus text format), read the way Prometheus reads it.</summary>
public sealed class MetricsScrape
{
    MetricsScrape(string text, IReadOnlyDictionary<string, double> series)
    {
        Text = text;
        Series = series;
    }

    public string Text { get; }

    /// <summary>Every sample: <c>name{labels}</c> → value.</summary>
    public IReadOnlyDictionary<string, double> Series { get; }

    /// <summary>Scrapes over HTTP; fails on any status but 200. A token goes as <c>Authorization: Bearer</c>, as Prometheus sends it.</summary>
    public static async Task<MetricsScrape> ReadAsync(Uri baseAddress, string? token = null)
    {
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "metrics");
        if (token is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"GET /metrics answered {(int)response.StatusCode}: {text}");
        return new MetricsScrape(text, Parse(text));
    }

    /// <summary>Scrapes until <paramref name="condition"/> holds; fails naming what was wanted and showing the PowerEvents series.</summary>
    public static async Task<MetricsScrape> UntilAsync(Uri baseAddress, Func<MetricsScrape, bool> condition, TimeSpan timeout, string wanted, string? token = null)
    {
        var clock = Stopwatch.StartNew();
        MetricsScrape? last = null;
        while (clock.Elapsed < timeout)
        {
            last = await ReadAsync(baseAddress, token);
            if (condition(last))
                return last;
            await Task.Delay(200);
        }
        var ours = last is null ? "" : string.Join('\n', last.Series.Keys.Where(k => k.StartsWith("powerevents_", StringComparison.Ordinal)).Order());
        throw new TimeoutException($"After {timeout}: {wanted}. Series:\n{ours}");
    }

    /// <summary>The sum of the samples of <paramref name="name"/> whose labels include every one of <paramref name="labels"/> (<c>key="value"</c>).</summary>
    public double Sum(string name, params string[] labels) =>
        Series.Where(s => NameOf(s.Key) == name && labels.All(l => s.Key.Contains(l, StringComparison.Ordinal))).Sum(s => s.Value);

    /// <summary>Whether any sample of <paramref name="name"/> with those labels exists (whatever its value).</summary>
    public bool Has(string name, params string[] labels) =>
        Series.Keys.Any(k => NameOf(k) == name && labels.All(l => k.Contains(l, StringComparison.Ordinal)));

    static string NameOf(string key) => key.Split('{', 2)[0];

    static Dictionary<string, double> Parse(string text)
    {
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
                continue;
            var split = line.LastIndexOf(' ');
            if (split > 0 && double.TryParse(line[(split + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                series[line[..split]] = value;
        }
        return series;
    }
}
