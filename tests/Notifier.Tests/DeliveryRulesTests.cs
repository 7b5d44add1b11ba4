using System.Net;
using System.Net.Http.Headers;
using PowerEvents.Notifier.Delivery;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>Unit tests of the retry delays and of URL masking.</summary>
public sealed class DeliveryRulesTests
{
    static readonly DeliveryOptions Options = new() { BaseDelay = TimeSpan.FromSeconds(2), MaxDelay = TimeSpan.FromSeconds(30), Jitter = 0.25 };
    static readonly DateTimeOffset Now = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(0, 0.0, 2000)]
    [InlineData(0, 1.0, 2500)]
    [InlineData(1, 0.0, 4000)]
    [InlineData(2, 0.5, 9000)]
    [InlineData(5, 0.0, 30000)]
    public void Backoff_doubles_per_retry_adds_jitter_and_stops_at_the_maximum(int retry, double random, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), RetryDelays.Backoff(retry, Options, random));

    [Fact]
    public void Retry_After_in_seconds_is_honoured()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Headers = { RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(7)) } };
        Assert.Equal(TimeSpan.FromSeconds(7), RetryDelays.RetryAfter(response, Now, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void Retry_After_as_an_HTTP_date_is_honoured_and_a_past_date_means_now()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Headers = { RetryAfter = new RetryConditionHeaderValue(Now.AddSeconds(42)) } };
        Assert.Equal(TimeSpan.FromSeconds(42), RetryDelays.RetryAfter(response, Now, TimeSpan.FromMinutes(5)));
        Assert.Equal(TimeSpan.Zero, RetryDelays.RetryAfter(new RetryConditionHeaderValue(Now.AddSeconds(-3)), Now, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void Retry_After_is_cut_to_the_configured_maximum_and_ignored_on_other_statuses()
    {
        using var throttled = new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Headers = { RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromHours(2)) } };
        Assert.Equal(TimeSpan.FromMinutes(5), RetryDelays.RetryAfter(throttled, Now, TimeSpan.FromMinutes(5)));
        using var failed = new HttpResponseMessage(HttpStatusCode.InternalServerError) { Headers = { RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(9)) } };
        Assert.Null(RetryDelays.RetryAfter(failed, Now, TimeSpan.FromMinutes(5)));
    }

    [Theory]
    [InlineData(HttpStatusCode.TooManyRequests, true)]
    [InlineData(HttpStatusCode.RequestTimeout, true)]
    [InlineData(HttpStatusCode.InternalServerError, true)]
    [InlineData(HttpStatusCode.BadGateway, true)]
    [InlineData(HttpStatusCode.BadRequest, false)]
    [InlineData(HttpStatusCode.NotFound, false)]
    [InlineData(HttpStatusCode.Forbidden, false)]
    public void Only_timeouts_throttling_and_server_errors_are_retried(HttpStatusCode status, bool transient) =>
        Assert.Equal(transient, RetryDelays.IsTransient(status));

    [Theory]
    [InlineData("https://hooks.slack.com/services/T024BE7LD/B01ABCDEF12/Xq8d7bA1secretTokenZZ9", "https://hooks.slack.com/services/***/***/***")]
    [InlineData("https://discord.com/api/webhooks/1234567890123/aBcD-secret_token", "https://discord.com/api/webhooks/***/***")]
    [InlineData("https://prod-12.westeurope.logic.azure.com:443/workflows/0a1b2c3d4e5f/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SeCrEtSiG",
        "https://prod-12.westeurope.logic.azure.com/workflows/***/triggers/manual/paths/invoke?api-version=***&sp=***&sv=***&sig=***")]
    [InlineData("https://user:pass@alerts.example.com:8443/in/Token123?key=abc", "https://alerts.example.com:8443/in/***?key=***")]
    public void Webhook_urls_are_logged_with_their_secret_parts_masked(string url, string masked) =>
        Assert.Equal(masked, UrlMask.Mask(url));
}
