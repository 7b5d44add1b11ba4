using Microsoft.Extensions.Options;
using PowerEvents.Notifier;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>Configuration validation at start: a bad destination stops the Notifier with a message naming the key.</summary>
public sealed class OptionsTests
{
    static readonly string[] Base =
    [
        "--urls=http://127.0.0.1:0",
        "--RabbitMq:Host=127.0.0.1", "--RabbitMq:Username=guest", "--RabbitMq:Password=guest",
        "--Postgres:Host=127.0.0.1", "--Postgres:Database=unused", "--Postgres:Username=powerevents",
    ];

    static async Task<string> StartFailure(params string[] settings)
    {
        await using var app = NotifierHost.Build([.. Base, .. settings]);
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());
        return failure is OptionsValidationException validation ? string.Join("\n", validation.Failures) : failure.Message;
    }

    [Fact]
    public async Task A_destination_without_a_url_names_its_key()
    {
        var message = await StartFailure("--Notifier:Destinations:0:Name=ops", "--Notifier:Destinations:0:Format=Slack");
        Assert.Contains("Notifier:Destinations:0:Url", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_url_that_is_not_http_is_refused_without_repeating_it()
    {
        var message = await StartFailure("--Notifier:Destinations:0:Name=ops", "--Notifier:Destinations:0:Format=Slack",
            "--Notifier:Destinations:0:Url=ftp://secret-token@example.com/x");
        Assert.Contains("Notifier:Destinations:0:Url", message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_generic_destination_needs_a_signing_secret_of_32_characters()
    {
        var message = await StartFailure("--Notifier:Destinations:0:Name=siem", "--Notifier:Destinations:0:Url=https://siem.example.com/in",
            "--Notifier:Destinations:0:SigningSecret=short");
        Assert.Contains("Notifier:Destinations:0:SigningSecret", message, StringComparison.Ordinal);
        Assert.DoesNotContain("short", message.Replace("Notifier:Destinations:0:SigningSecret", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_destinations_with_one_name_are_refused()
    {
        var message = await StartFailure(
            "--Notifier:Destinations:0:Name=ops", "--Notifier:Destinations:0:Format=Slack", "--Notifier:Destinations:0:Url=https://hooks.slack.com/services/a/b/c",
            "--Notifier:Destinations:1:Name=ops", "--Notifier:Destinations:1:Format=Discord", "--Notifier:Destinations:1:Url=https://discord.com/api/webhooks/1/x");
        Assert.Contains("Notifier:Destinations", message, StringComparison.Ordinal);
        Assert.Contains("'ops'", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_format_names_its_key()
    {
        var message = await StartFailure("--Notifier:Destinations:0:Name=ops", "--Notifier:Destinations:0:Format=Fax",
            "--Notifier:Destinations:0:Url=https://example.com/x");
        Assert.Contains("Notifier:Destinations:0:Format", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_minimum_severity_names_its_key()
    {
        var message = await StartFailure("--Notifier:Destinations:0:Name=ops", "--Notifier:Destinations:0:Format=slack",
            "--Notifier:Destinations:0:MinimumSeverity=urgent", "--Notifier:Destinations:0:Url=https://example.com/x");
        Assert.Contains("Notifier:Destinations:0:MinimumSeverity", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plain_http_url_needs_its_own_opt_in()
    {
        const string Url = "http://hooks.example.local/services/T0/B0/plain-secret";
        var message = await StartFailure("--Notifier:Destinations:0:Name=ops", "--Notifier:Destinations:0:Format=slack", $"--Notifier:Destinations:0:Url={Url}");
        Assert.StartsWith("Notifier:Destinations:0:Url: must use https://", message, StringComparison.Ordinal);
        Assert.Contains("AllowHttp", message, StringComparison.Ordinal);
        Assert.DoesNotContain("plain-secret", message, StringComparison.Ordinal);

        var optedIn = new NotifierOptions { Destinations = [new DestinationOptions { Name = "ops", Format = "slack", Url = Url, AllowHttp = true }] };
        Assert.Empty(PowerEvents.Hosting.KeyedOptionsValidator<NotifierOptions>.Validate(optedIn, NotifierOptions.Section));
    }

    [Fact]
    public async Task A_zero_base_delay_names_its_key()
    {
        var message = await StartFailure("--Notifier:Delivery:BaseDelay=00:00:00");
        Assert.Contains("Notifier:Delivery:BaseDelay", message, StringComparison.Ordinal);
    }
}
