using System.Text;
using PowerEvents.Notifier.Formatting;
using PowerEvents.WebhookReceiver;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>Unit tests of the generic format's HMAC signature, checked by the Notifier's verifier and by the receiver's own.</summary>
public sealed class SignatureTests
{
    const string Secret = "0123456789abcdef0123456789abcdef-test";
    static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);
    static readonly DateTimeOffset SentAt = new(2026, 11, 21, 10, 32, 15, TimeSpan.Zero);

    static (string Body, string Header) Signed()
    {
        var request = Payloads.Generic(TestAlerts.Alert(), Secret, SentAt);
        return (request.Body, request.Headers[WebhookSignature.HeaderName]);
    }

    [Fact]
    public void A_signed_payload_verifies_with_the_same_secret()
    {
        var (body, header) = Signed();
        Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify(Secret, header, body, SentAt.AddSeconds(2), Tolerance));
        Assert.Equal("valid", SignatureVerifier.Check(Secret, header, Encoding.UTF8.GetBytes(body), SentAt.AddSeconds(2), Tolerance));
    }

    [Fact]
    public void The_signature_is_HMAC_SHA256_over_timestamp_dot_body_in_lowercase_hex()
    {
        var (body, header) = Signed();
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(
            Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes($"{SentAt.ToUnixTimeSeconds()}.{body}")));
        Assert.Equal($"t={SentAt.ToUnixTimeSeconds()},v1={expected}", header);
    }

    [Fact]
    public void A_changed_body_or_another_secret_is_refused()
    {
        var (body, header) = Signed();
        var tampered = body.Replace("critical", "info", StringComparison.Ordinal);
        Assert.Equal(SignatureCheck.Mismatch, WebhookSignature.Verify(Secret, header, tampered, SentAt, Tolerance));
        Assert.Equal(SignatureCheck.Mismatch, WebhookSignature.Verify(Secret + "x", header, body, SentAt, Tolerance));
        Assert.Equal("mismatch", SignatureVerifier.Check(Secret, header, Encoding.UTF8.GetBytes(tampered), SentAt, Tolerance));
    }

    [Fact]
    public void A_replay_outside_the_tolerance_is_refused()
    {
        var (body, header) = Signed();
        var later = SentAt + Tolerance + TimeSpan.FromSeconds(1);
        Assert.Equal(SignatureCheck.Expired, WebhookSignature.Verify(Secret, header, body, later, Tolerance));
        Assert.Equal("expired", SignatureVerifier.Check(Secret, header, Encoding.UTF8.GetBytes(body), later, Tolerance));
    }

    [Theory]
    [InlineData(null, SignatureCheck.Missing)]
    [InlineData("v1=abc", SignatureCheck.Malformed)]
    [InlineData("t=1763721135", SignatureCheck.Malformed)]
    [InlineData("t=soon,v1=abc", SignatureCheck.Malformed)]
    public void A_missing_or_malformed_header_is_refused(string? header, SignatureCheck expected) =>
        Assert.Equal(expected, WebhookSignature.Verify(Secret, header, "{}", SentAt, Tolerance));
}
