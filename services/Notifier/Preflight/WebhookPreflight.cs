using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Options;
using PowerEvents.Hosting;
using PowerEvents.Notifier.Delivery;

namespace PowerEvents.Notifier.Preflight;

/// <summary>
/// Preflight of every webhook destination without posting anything: a TCP connection to its host and port and,
/// for https, a TLS handshake that validates its certificate for that host — what a delivery needs before its
/// first byte of HTTP. The URL's path (a chat service's token) is never sent and never reported.
/// </summary>
public sealed class WebhookPreflight(IOptions<NotifierOptions> options) : IPreflightCheck
{
    public const string Kind = "webhook";

    public IEnumerable<PreflightProbe> Probes() => options.Value.Destinations
        .Select(d => new PreflightProbe(Kind, d.Name, token => ProbeAsync(d, token)));

    static async Task<PreflightOutcome?> ProbeAsync(DestinationOptions destination, CancellationToken cancellationToken)
    {
        var uri = new Uri(destination.Url);
        var origin = UrlMask.Mask(uri.GetLeftPart(UriPartial.Authority));
        using var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(uri.Host, uri.Port, cancellationToken);
        }
        catch (SocketException ex)
        {
            return PreflightOutcome.Failed($"{origin} is not reachable: {ex.SocketErrorCode}");
        }
        if (uri.Scheme != Uri.UriSchemeHttps)
            return PreflightOutcome.Passed($"{origin} accepts connections (plain http, no TLS to check)");

        await using var tls = new SslStream(tcp.GetStream());
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = uri.IdnHost }, cancellationToken);
        }
        catch (AuthenticationException ex)
        {
            return PreflightOutcome.Failed($"{origin}: the TLS handshake failed: {ex.Message}");
        }
        catch (IOException)
        {
            return PreflightOutcome.Failed($"{origin}: the connection closed during the TLS handshake");
        }
        return PreflightOutcome.Passed($"{origin} accepts connections; TLS {tls.SslProtocol} with a valid certificate");
    }
}
