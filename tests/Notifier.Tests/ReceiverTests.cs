using System.Net;
using System.Text;
using PowerEvents.Notifier.Formatting;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>tools/WebhookReceiver as a reference receiver: with a secret, an unsigned call is refused.</summary>
[Collection(DeliveryCollection.Name)]
public sealed class ReceiverTests(ReceiverFixture receiver)
{
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    readonly string _path = "receiver-" + Guid.NewGuid().ToString("N")[..8];

    async Task<HttpStatusCode> PostAsync(string url, string body, string? signature = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (signature is not null)
            request.Headers.TryAddWithoutValidation(WebhookSignature.HeaderName, signature);
        using var response = await Http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task A_call_without_a_signature_is_refused()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(receiver.Url(_path), """{"schemaVersion":1,"title":"forged"}"""));
        Assert.Equal("missing", Assert.Single(receiver.Received(_path)).Signature);
    }

    [Fact]
    public async Task A_signed_call_is_taken_and_a_wrong_signature_refused()
    {
        const string Body = """{"schemaVersion":1,"title":"signed"}""";
        var signature = WebhookSignature.Create(ReceiverFixture.SigningSecret, DateTimeOffset.UtcNow, Body);

        Assert.Equal(HttpStatusCode.OK, await PostAsync(receiver.Url(_path), Body, signature));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(receiver.Url(_path), Body.Replace("signed", "forged", StringComparison.Ordinal), signature));
        Assert.Equal(["valid", "mismatch"], receiver.Received(_path).Select(c => c.Signature));
    }

    [Fact]
    public async Task Only_a_path_named_as_a_chat_stand_in_takes_unsigned_calls()
    {
        Assert.Equal(HttpStatusCode.OK, await PostAsync(receiver.ChatUrl(_path), """{"text":"chat"}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(receiver.Url(_path + "-other"), """{"text":"chat"}"""));
    }
}
