using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PowerEvents.Notifier.Alerts;

namespace PowerEvents.Notifier.Formatting;

/// <summary>
/// Renders an alert in each destination's format. Each chat format follows the shape and length limits
/// its service documents (cited per method); examples are in docs/notifier.md.
/// </summary>
public static class Payloads
{
    /// <summary>Version of the generic payload's shape; a receiver should refuse a major version it does not know.</summary>
    public const int GenericSchemaVersion = 1;

    public const string EventHeader = "X-PowerEvents-Event";
    public const string DeliveryHeader = "X-PowerEvents-Delivery";

    static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static WebhookRequest Render(Alert alert, DestinationOptions destination, DateTimeOffset now) => destination.FormatKind switch
    {
        WebhookFormat.Generic => Generic(alert, destination.SigningSecret ?? throw new InvalidOperationException($"destination {destination.Name} has no signing secret"), now),
        WebhookFormat.Slack => Unsigned(Slack(alert)),
        WebhookFormat.Teams => Unsigned(Teams(alert)),
        WebhookFormat.Discord => Unsigned(Discord(alert)),
        _ => throw new ArgumentOutOfRangeException(nameof(destination), destination.FormatKind, "unknown format"),
    };

    /// <summary>The documented, versioned JSON of docs/notifier.md, signed over "timestamp.body".</summary>
    public static WebhookRequest Generic(Alert alert, string signingSecret, DateTimeOffset now)
    {
        var body = new JsonObject
        {
            ["schemaVersion"] = GenericSchemaVersion,
            ["id"] = alert.Id,
            ["eventType"] = alert.EventType,
            ["severity"] = SeverityName(alert.Severity),
            ["title"] = alert.Title,
            ["summary"] = alert.Summary,
            ["occurredAt"] = alert.OccurredAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
            ["site"] = alert.Site,
            ["cluster"] = alert.Cluster,
            ["zone"] = alert.Zone,
            ["runId"] = alert.RunId,
            ["correlationId"] = alert.CorrelationId,
            ["facts"] = new JsonArray([.. alert.Facts.Select(f => new JsonObject { ["label"] = f.Label, ["value"] = f.Value })]),
            ["details"] = JsonNode.Parse(alert.Details.GetRawText()),
        }.ToJsonString(Compact);

        return new WebhookRequest(body, new Dictionary<string, string>
        {
            [WebhookSignature.HeaderName] = WebhookSignature.Create(signingSecret, now, body),
            [EventHeader] = alert.EventType,
            [DeliveryHeader] = alert.Id.ToString(),
        });
    }

    /// <summary>
    /// Slack incoming webhook: <c>text</c> (the notification and fallback) plus Block Kit <c>blocks</c>:
    /// header (plain_text, 150 chars), section (mrkdwn, 3000), section fields (10 of 2000), context.
    /// Slack reads <c>&amp; &lt; &gt;</c> as markup, so event text is escaped.
    /// </summary>
    public static JsonObject Slack(Alert alert)
    {
        var blocks = new JsonArray
        {
            new JsonObject
            {
                ["type"] = "header",
                ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = Fit($"{Icon(alert.Severity)} {alert.Title}", 150), ["emoji"] = true },
            },
            new JsonObject
            {
                ["type"] = "section",
                ["text"] = Mrkdwn(Fit($"*{SeverityLabel(alert.Severity)}* · {SlackEscape(alert.Summary)}", 3000)),
            },
        };

        if (alert.Facts.Count > 0)
        {
            blocks.Add(new JsonObject
            {
                ["type"] = "section",
                ["fields"] = new JsonArray([.. alert.Facts.Take(10).Select(f =>
                    (JsonNode)Mrkdwn(Fit($"*{SlackEscape(f.Label)}*\n{SlackEscape(f.Value)}", 2000)))]),
            });
        }

        blocks.Add(new JsonObject
        {
            ["type"] = "context",
            ["elements"] = new JsonArray(Mrkdwn(Fit(SlackEscape(Footer(alert)), 3000))),
        });

        return new JsonObject
        {
            ["text"] = Fit($"{Icon(alert.Severity)} {SeverityLabel(alert.Severity)}: {SlackEscape(alert.Title)}", 3000),
            ["blocks"] = blocks,
        };
    }

    /// <summary>
    /// Microsoft Teams Workflows webhook ("When a Teams webhook request is received"): a <c>message</c>
    /// whose one attachment is an Adaptive Card (contentType <c>application/vnd.microsoft.card.adaptive</c>, version 1.4).
    /// </summary>
    public static JsonObject Teams(Alert alert)
    {
        var body = new JsonArray
        {
            new JsonObject
            {
                ["type"] = "TextBlock",
                ["text"] = $"{Icon(alert.Severity)} {alert.Title}",
                ["weight"] = "Bolder",
                ["size"] = "Medium",
                ["color"] = alert.Severity switch { Severity.Critical => "Attention", Severity.Warning => "Warning", _ => "Accent" },
                ["wrap"] = true,
                ["style"] = "heading",
            },
            new JsonObject
            {
                ["type"] = "TextBlock",
                ["text"] = $"{SeverityLabel(alert.Severity)} · {Where(alert)}",
                ["isSubtle"] = true,
                ["spacing"] = "None",
                ["wrap"] = true,
            },
            new JsonObject { ["type"] = "TextBlock", ["text"] = alert.Summary, ["wrap"] = true },
        };

        if (alert.Facts.Count > 0)
        {
            body.Add(new JsonObject
            {
                ["type"] = "FactSet",
                ["facts"] = new JsonArray([.. alert.Facts.Select(f => (JsonNode)new JsonObject { ["title"] = f.Label, ["value"] = f.Value })]),
            });
        }

        body.Add(new JsonObject
        {
            ["type"] = "TextBlock",
            ["text"] = $"{alert.EventType} · {alert.Id}",
            ["isSubtle"] = true,
            ["size"] = "Small",
            ["wrap"] = true,
        });

        return new JsonObject
        {
            ["type"] = "message",
            ["attachments"] = new JsonArray(new JsonObject
            {
                ["contentType"] = "application/vnd.microsoft.card.adaptive",
                ["contentUrl"] = null,
                ["content"] = new JsonObject
                {
                    ["$schema"] = "http://adaptivecards.io/schemas/adaptive-card.json",
                    ["type"] = "AdaptiveCard",
                    ["version"] = "1.4",
                    ["msteams"] = new JsonObject { ["width"] = "Full" },
                    ["body"] = body,
                },
            }),
        };
    }

    /// <summary>
    /// Discord "Execute Webhook": <c>content</c> (2000 chars) plus one embed (title 256, description 4096,
    /// 25 fields of 256/1024, footer 2048, 6000 in all). <c>allowed_mentions</c> is empty so event text
    /// can never ping @everyone.
    /// </summary>
    public static JsonObject Discord(Alert alert)
    {
        var title = Fit(alert.Title, 256);
        var description = Fit(alert.Summary, 2000);
        var footer = Fit(Footer(alert), 1024);
        // Discord refuses a message whose embeds hold more than 6000 characters in all: drop facts past that.
        var budget = 6000 - title.Length - description.Length - footer.Length;
        var fields = new List<JsonNode>();
        foreach (var fact in alert.Facts.Take(25))
        {
            var (name, value) = (Fit(fact.Label, 256), Fit(fact.Value, 1024));
            if ((budget -= name.Length + value.Length) < 0)
                break;
            fields.Add(new JsonObject { ["name"] = name, ["value"] = value, ["inline"] = true });
        }

        return new JsonObject
        {
            ["content"] = Fit($"{Icon(alert.Severity)} **{SeverityLabel(alert.Severity)}** {DiscordEscape(alert.Title)}", 2000),
            ["allowed_mentions"] = new JsonObject { ["parse"] = new JsonArray() },
            ["embeds"] = new JsonArray(new JsonObject
            {
                ["title"] = title,
                ["description"] = description,
                ["color"] = alert.Severity switch { Severity.Critical => 0xD32F2F, Severity.Warning => 0xF57C00, _ => 0x1976D2 },
                ["timestamp"] = alert.OccurredAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
                ["fields"] = new JsonArray([.. fields]),
                ["footer"] = new JsonObject { ["text"] = footer },
            }),
        };
    }

    public static string SeverityName(Severity severity) => severity.ToString().ToLowerInvariant();

    static string SeverityLabel(Severity severity) => severity.ToString().ToUpperInvariant();

    static string Icon(Severity severity) => severity switch
    {
        Severity.Critical => "\U0001F534",
        Severity.Warning => "\U0001F7E0",
        _ => "\U0001F535",
    };

    /// <summary>Where and when, in one line: "zone server-room · cluster A · 2026-11-21 10:32:14 UTC".</summary>
    static string Where(Alert alert)
    {
        var parts = new List<string>();
        if (alert.Site is { Length: > 0 })
            parts.Add($"site {alert.Site}");
        if (alert.Cluster is { Length: > 0 })
            parts.Add($"cluster {alert.Cluster}");
        if (alert.Zone is { Length: > 0 })
            parts.Add($"zone {alert.Zone}");
        if (alert.RunId is { } run)
            parts.Add($"run {run.ToString()[..8]}");
        parts.Add(alert.OccurredAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture));
        return string.Join(" · ", parts);
    }

    static string Footer(Alert alert) => $"{Where(alert)} · {alert.EventType} · {alert.Id}";

    static JsonObject Mrkdwn(string text) => new() { ["type"] = "mrkdwn", ["text"] = text };

    static string SlackEscape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal)
        .Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    static string DiscordEscape(string text)
    {
        var escaped = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is '*' or '_' or '~' or '`' or '|' or '>' or '\\')
                escaped.Append('\\');
            escaped.Append(c);
        }
        return escaped.ToString();
    }

    /// <summary>Cuts to a service's length limit (in UTF-16 units, as the services count) with an ellipsis.</summary>
    public static string Fit(string text, int max)
    {
        if (text.Length <= max)
            return text;
        var cut = char.IsHighSurrogate(text[max - 2]) ? max - 2 : max - 1;
        return string.Concat(text.AsSpan(0, cut), "…");
    }

    static WebhookRequest Unsigned(JsonObject payload) =>
        new(payload.ToJsonString(Compact), new Dictionary<string, string>());
}
