using System.Text.Json;
using System.Text.RegularExpressions;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.Integration.Tests;

/// <summary>The Grafana dashboard and docs/deploy.md name only series the services define, and every series is documented.</summary>
public sealed partial class MetricsDocsTests
{
    static readonly string Root = TestServers.RepositoryRoot;

    /// <summary>Every <c>powerevents_*</c> series a service defines (the string given to prometheus-net).</summary>
    static HashSet<string> Defined() =>
        Directory.EnumerateFiles(Path.Combine(Root, "services"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => Definition().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);

    static IEnumerable<string> Named(string text) =>
        Series().Matches(text).Select(m => Suffix().Replace(m.Value, "")).Distinct();

    [Fact]
    public void The_dashboard_is_json_and_queries_only_defined_series()
    {
        var path = Path.Combine(Root, "docs", "grafana-dashboard.json");
        using var dashboard = JsonDocument.Parse(File.ReadAllText(path));
        var queries = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!))
            .ToList();
        var defined = Defined();

        Assert.NotEmpty(queries);
        Assert.All(queries.SelectMany(Named), name => Assert.Contains(name, defined));
        // Each service's own series shows on the dashboard.
        Assert.All(defined, name => Assert.Contains(queries, q => q.Contains(name, StringComparison.Ordinal)));
    }

    [Fact]
    public void The_deploy_docs_metrics_section_lists_every_defined_series_and_no_other()
    {
        var deploy = File.ReadAllText(Path.Combine(Root, "docs", "deploy.md"));
        var start = deploy.IndexOf("\n## Metrics", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/deploy.md has no Metrics section");
        var end = deploy.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var docs = deploy[start..(end < 0 ? deploy.Length : end)];
        var defined = Defined();

        Assert.All(defined, name => Assert.Contains(name, docs, StringComparison.Ordinal));
        Assert.All(Named(docs), name => Assert.Contains(name, defined));
    }

    [GeneratedRegex("Metrics\\.Create(?:Counter|Gauge|Histogram)\\(\"(powerevents_[a-z_]+)\"")]
    private static partial Regex Definition();

    [GeneratedRegex("powerevents_[a-z_]+")]
    private static partial Regex Series();

    [GeneratedRegex("_(bucket|sum|count)$")]
    private static partial Regex Suffix();
}
