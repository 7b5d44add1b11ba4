using System.Text.Json;
using PowerEvents.Notifier.Alerts;
using PowerEvents.Notifier.Formatting;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>Unit tests of the payload shapes, against what Slack, Microsoft Teams and Discord document.</summary>
public sealed class PayloadFormatTests
{
    const string Secret = "0123456789abcdef0123456789abcdef-test";
    static readonly DateTimeOffset Now = new(2026, 11, 21, 10, 32, 15, TimeSpan.Zero);

    static JsonElement Parse(string body) => JsonDocument.Parse(body).RootElement;

    static JsonElement Render(WebhookFormat format, Alert alert) => Parse(Payloads.Render(alert,
        new DestinationOptions { Name = "d", Url = "https://example.invalid/x", Format = format.ToString(), SigningSecret = Secret }, Now).Body);

    [Fact]
    public void The_generic_payload_carries_every_documented_field_at_schema_version_1()
    {
        var alert = TestAlerts.Alert();
        var request = Payloads.Generic(alert, Secret, Now);
        var json = Parse(request.Body);

        Assert.Equal(1, json.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(alert.Id, json.GetProperty("id").GetGuid());
        Assert.Equal("AlarmRaised", json.GetProperty("eventType").GetString());
        Assert.Equal("critical", json.GetProperty("severity").GetString());
        Assert.Equal(alert.Title, json.GetProperty("title").GetString());
        Assert.Equal(alert.Summary, json.GetProperty("summary").GetString());
        Assert.Equal("2026-11-21T10:32:14.0000000+00:00", json.GetProperty("occurredAt").GetString());
        Assert.Equal("dc1", json.GetProperty("site").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("cluster").ValueKind);
        Assert.Equal("server-room", json.GetProperty("zone").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("runId").ValueKind);
        Assert.Equal(alert.CorrelationId, json.GetProperty("correlationId").GetGuid());
        Assert.Equal("Threshold", json.GetProperty("facts")[0].GetProperty("label").GetString());
        Assert.Equal(35.0, json.GetProperty("details").GetProperty("thresholdCelsius").GetDouble());

        Assert.Equal("AlarmRaised", request.Headers[Payloads.EventHeader]);
        Assert.Equal(alert.Id.ToString(), request.Headers[Payloads.DeliveryHeader]);
        Assert.StartsWith($"t={Now.ToUnixTimeSeconds()},v1=", request.Headers[WebhookSignature.HeaderName], StringComparison.Ordinal);
    }

    [Fact]
    public void Slack_gets_fallback_text_and_header_section_fields_and_context_blocks()
    {
        var json = Render(WebhookFormat.Slack, TestAlerts.Alert());

        Assert.Contains("CRITICAL", json.GetProperty("text").GetString(), StringComparison.Ordinal);
        var blocks = json.GetProperty("blocks").EnumerateArray().ToList();
        Assert.Equal(["header", "section", "section", "context"], blocks.Select(b => b.GetProperty("type").GetString()));

        var header = blocks[0].GetProperty("text");
        Assert.Equal("plain_text", header.GetProperty("type").GetString());
        Assert.EndsWith("ALARM RAISED in zone server-room", header.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal("mrkdwn", blocks[1].GetProperty("text").GetProperty("type").GetString());
        var fields = blocks[2].GetProperty("fields").EnumerateArray().ToList();
        Assert.Equal(2, fields.Count);
        Assert.All(fields, f => Assert.Equal("mrkdwn", f.GetProperty("type").GetString()));
        Assert.Equal("*Threshold*\n35.0 °C", fields[0].GetProperty("text").GetString());
        Assert.Equal("mrkdwn", blocks[3].GetProperty("elements")[0].GetProperty("type").GetString());
    }

    [Fact]
    public void Slack_text_is_escaped_and_cut_to_the_block_limits()
    {
        var facts = Enumerable.Range(1, 14).Select(i => new AlertFact($"Sensor {i}", new string('x', 2500))).ToList();
        var alert = TestAlerts.Alert(title: "<!channel> " + new string('T', 200), summary: "a < b & c > d " + new string('s', 4000), facts: facts);
        var json = Render(WebhookFormat.Slack, alert);
        var blocks = json.GetProperty("blocks");

        Assert.True(blocks[0].GetProperty("text").GetProperty("text").GetString()!.Length <= 150);
        var section = blocks[1].GetProperty("text").GetProperty("text").GetString()!;
        Assert.True(section.Length <= 3000);
        Assert.Contains("a &lt; b &amp; c &gt; d", section, StringComparison.Ordinal);
        Assert.DoesNotContain("<!channel>", json.GetProperty("text").GetString(), StringComparison.Ordinal);
        var fields = blocks[2].GetProperty("fields").EnumerateArray().ToList();
        Assert.Equal(10, fields.Count);
        Assert.All(fields, f => Assert.True(f.GetProperty("text").GetString()!.Length <= 2000));
    }

    [Fact]
    public void Teams_gets_an_adaptive_card_in_the_message_attachments_envelope()
    {
        var json = Render(WebhookFormat.Teams, TestAlerts.Alert());

        Assert.Equal("message", json.GetProperty("type").GetString());
        var attachment = Assert.Single(json.GetProperty("attachments").EnumerateArray());
        Assert.Equal("application/vnd.microsoft.card.adaptive", attachment.GetProperty("contentType").GetString());
        Assert.Equal(JsonValueKind.Null, attachment.GetProperty("contentUrl").ValueKind);
        var card = attachment.GetProperty("content");
        Assert.Equal("http://adaptivecards.io/schemas/adaptive-card.json", card.GetProperty("$schema").GetString());
        Assert.Equal("AdaptiveCard", card.GetProperty("type").GetString());
        Assert.Equal("1.4", card.GetProperty("version").GetString());

        var body = card.GetProperty("body").EnumerateArray().ToList();
        Assert.Equal("TextBlock", body[0].GetProperty("type").GetString());
        Assert.Equal("Attention", body[0].GetProperty("color").GetString());
        Assert.True(body[0].GetProperty("wrap").GetBoolean());
        var facts = body.Single(b => b.GetProperty("type").GetString() == "FactSet").GetProperty("facts").EnumerateArray().ToList();
        Assert.Equal(("Threshold", "35.0 °C"), (facts[0].GetProperty("title").GetString(), facts[0].GetProperty("value").GetString()));
        Assert.All(body.Where(b => b.GetProperty("type").GetString() == "TextBlock"), b => Assert.True(b.GetProperty("wrap").GetBoolean()));
    }

    [Theory]
    [InlineData(Severity.Critical, "Attention", 0xD32F2F)]
    [InlineData(Severity.Warning, "Warning", 0xF57C00)]
    [InlineData(Severity.Info, "Accent", 0x1976D2)]
    public void Each_severity_has_its_own_colour(Severity severity, string teamsColor, int discordColor)
    {
        var alert = TestAlerts.Alert(severity);
        Assert.Equal(teamsColor, Render(WebhookFormat.Teams, alert).GetProperty("attachments")[0].GetProperty("content").GetProperty("body")[0].GetProperty("color").GetString());
        Assert.Equal(discordColor, Render(WebhookFormat.Discord, alert).GetProperty("embeds")[0].GetProperty("color").GetInt32());
        Assert.Contains(severity.ToString().ToUpperInvariant(), Render(WebhookFormat.Slack, alert).GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Discord_gets_content_and_one_embed_and_never_pings_anyone()
    {
        var json = Render(WebhookFormat.Discord, TestAlerts.Alert());

        Assert.Contains("**CRITICAL**", json.GetProperty("content").GetString(), StringComparison.Ordinal);
        Assert.Empty(json.GetProperty("allowed_mentions").GetProperty("parse").EnumerateArray());
        var embed = Assert.Single(json.GetProperty("embeds").EnumerateArray());
        Assert.Equal("ALARM RAISED in zone server-room", embed.GetProperty("title").GetString());
        Assert.Equal("2026-11-21T10:32:14.0000000+00:00", embed.GetProperty("timestamp").GetString());
        Assert.True(DateTimeOffset.TryParse(embed.GetProperty("timestamp").GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _));
        var field = embed.GetProperty("fields")[0];
        Assert.Equal(("Threshold", "35.0 °C", true), (field.GetProperty("name").GetString(), field.GetProperty("value").GetString(), field.GetProperty("inline").GetBoolean()));
        Assert.Contains("AlarmRaised", embed.GetProperty("footer").GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Discord_stays_within_its_documented_limits()
    {
        var facts = Enumerable.Range(1, 40).Select(i => new AlertFact(new string('n', 300), new string('v', 1500))).ToList();
        var alert = TestAlerts.Alert(title: "zone_a *hot* " + new string('T', 2100), summary: new string('s', 5000), facts: facts);
        var json = Render(WebhookFormat.Discord, alert);
        var embed = json.GetProperty("embeds")[0];

        Assert.True(json.GetProperty("content").GetString()!.Length <= 2000);
        Assert.Contains(@"zone\_a \*hot\*", json.GetProperty("content").GetString(), StringComparison.Ordinal);
        Assert.True(embed.GetProperty("title").GetString()!.Length <= 256);
        Assert.True(embed.GetProperty("description").GetString()!.Length <= 4096);
        var fields = embed.GetProperty("fields").EnumerateArray().ToList();
        Assert.InRange(fields.Count, 1, 25);
        Assert.All(fields, f => Assert.True(f.GetProperty("name").GetString()!.Length <= 256 && f.GetProperty("value").GetString()!.Length <= 1024));
        var total = embed.GetProperty("title").GetString()!.Length + embed.GetProperty("description").GetString()!.Length
            + embed.GetProperty("footer").GetProperty("text").GetString()!.Length
            + fields.Sum(f => f.GetProperty("name").GetString()!.Length + f.GetProperty("value").GetString()!.Length);
        Assert.True(total <= 6000, $"embed holds {total} characters");
    }

    [Fact]
    public void Cutting_text_never_splits_an_emoji()
    {
        var cut = Payloads.Fit("ab\U0001F534cd", 4);
        Assert.Equal("ab…", cut);
    }
}
