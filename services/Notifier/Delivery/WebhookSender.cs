using System.Text;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using PowerEvents.Notifier.Alerts;
using PowerEvents.Notifier.Formatting;

namespace PowerEvents.Notifier.Delivery;

/// <summary>
/// Sends one alert to one destination: a Polly pipeline of retries (exponential backoff with jitter,
/// or the receiver's Retry-After) around a per-attempt timeout. Each attempt is rendered afresh, so a
/// generic payload's signature timestamp is always current.
/// </summary>
/// <remarks>
/// Not Microsoft.Extensions.Http.Resilience's handler on the webhook client: a handler retries by sending the same
/// request again, with the first attempt's signature timestamp, which a receiver enforcing a replay window refuses;
/// and the attempt count recorded per delivery is known only out here.
/// </remarks>
public sealed class WebhookSender
{
    public const string HttpClientName = "webhooks";

    readonly IHttpClientFactory _httpClients;
    readonly TimeProvider _time;
    readonly ILogger<WebhookSender> _logger;
    readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    public WebhookSender(IHttpClientFactory httpClients, IOptions<NotifierOptions> options, TimeProvider time, ILogger<WebhookSender> logger)
    {
        _httpClients = httpClients;
        _time = time;
        _logger = logger;
        var delivery = options.Value.Delivery;

        _pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(delivery.MaxRetries, 1),
                ShouldHandle = args => ValueTask.FromResult(delivery.MaxRetries > 0 && args.Outcome switch
                {
                    { Exception: HttpRequestException or TimeoutRejectedException } => true,
                    { Result: { } response } => RetryDelays.IsTransient(response.StatusCode),
                    _ => false,
                }),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                    (args.Outcome.Result is { } response ? RetryDelays.RetryAfter(response, _time.GetUtcNow(), delivery.MaxRetryAfter) : null)
                    ?? RetryDelays.Backoff(args.AttemptNumber, delivery, Random.Shared.NextDouble())),
                OnRetry = args =>
                {
                    var destination = args.Context.Properties.GetValue(DestinationKey, null!);
                    _logger.LogWarning("Delivery of alert {AlertId} to {Destination} ({Url}) failed: {Reason}; retry {Retry} of {MaxRetries} in {Delay}",
                        args.Context.Properties.GetValue(AlertIdKey, Guid.Empty), destination.Name, UrlMask.Mask(destination.Url),
                        Describe(args.Outcome), args.AttemptNumber + 1, delivery.MaxRetries, args.RetryDelay);
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(delivery.AttemptTimeout)
            .Build();
    }

    static readonly ResiliencePropertyKey<DestinationOptions> DestinationKey = new("destination");
    static readonly ResiliencePropertyKey<Guid> AlertIdKey = new("alert");

    public async Task<DeliveryOutcome> SendAsync(DestinationOptions destination, Alert alert, CancellationToken cancellationToken)
    {
        var client = _httpClients.CreateClient(HttpClientName);
        var attempts = 0;
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(DestinationKey, destination);
        context.Properties.Set(AlertIdKey, alert.Id);
        try
        {
            var outcome = await _pipeline.ExecuteOutcomeAsync(async (ctx, _) =>
            {
                attempts++;
                var request = Payloads.Render(alert, destination, _time.GetUtcNow());
                using var message = new HttpRequestMessage(HttpMethod.Post, destination.Url)
                {
                    Content = new StringContent(request.Body, Encoding.UTF8, "application/json"),
                };
                foreach (var (name, value) in request.Headers)
                    message.Headers.TryAddWithoutValidation(name, value);
                try
                {
                    return Outcome.FromResult(await client.SendAsync(message, ctx.CancellationToken));
                }
                catch (HttpRequestException ex)
                {
                    return Outcome.FromException<HttpResponseMessage>(ex);
                }
            }, context, state: 0);

            cancellationToken.ThrowIfCancellationRequested();
            if (outcome.Exception is { } exception)
                return new DeliveryOutcome(false, attempts, null, Mask(exception.Message, destination));

            using var response = outcome.Result!;
            if (response.IsSuccessStatusCode)
                return new DeliveryOutcome(true, attempts, (int)response.StatusCode, null);

            var body = await ReadSnippetAsync(response, cancellationToken);
            return new DeliveryOutcome(false, attempts, (int)response.StatusCode,
                Mask($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}{(body.Length > 0 ? ": " + body : "")}", destination));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    static string Describe(Outcome<HttpResponseMessage> outcome) => outcome.Exception is { } ex
        ? ex.GetType().Name + ": " + ex.Message
        : $"HTTP {(int)outcome.Result!.StatusCode} {outcome.Result.ReasonPhrase}";

    // A receiver's explanation ("invalid_payload", Discord's error JSON) helps an operator; a page of HTML does not.
    static async Task<string> ReadSnippetAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        text = text.ReplaceLineEndings(" ").Trim();
        return text.Length <= 200 ? text : text[..200] + "…";
    }

    static string Mask(string text, DestinationOptions destination) =>
        text.Replace(destination.Url, UrlMask.Mask(destination.Url), StringComparison.Ordinal);
}
