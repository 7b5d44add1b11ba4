using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace PowerEvents.RedfishSimulator;

/// <summary>One simulated BMC listening on its own port (HTTP or HTTPS), started in the calling process.</summary>
public sealed class BmcServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly HttpClient? _vcsim;

    BmcServer(WebApplication app, SimulatedBmc bmc, Uri baseUrl, string? fingerprint, HttpClient? vcsim)
    {
        _app = app;
        Bmc = bmc;
        BaseUrl = baseUrl;
        Fingerprint = fingerprint;
        _vcsim = vcsim;
    }

    public SimulatedBmc Bmc { get; }

    /// <summary>e.g. <c>https://127.0.0.1:40123/</c>; the Redfish service root is <c>redfish/v1</c> below it.</summary>
    public Uri BaseUrl { get; }

    /// <summary>SHA-256 fingerprint of the server certificate as <c>AA:BB:…</c>; null over plain HTTP.</summary>
    public string? Fingerprint { get; }

    public static async Task<BmcServer> StartAsync(SimulatedBmcOptions options, Action<ILoggingBuilder>? logging = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);

        var certificate = options.Https ? CreateCertificate(options.Name) : null;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Parse(options.ListenAddress), options.Port, listen =>
        {
            // BMC web servers speak HTTP/1.1.
            listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1;
            if (certificate is not null)
                listen.UseHttps(certificate);
        }));

        var bmc = new SimulatedBmc(options);
        HttpClient? vcsim = null;
        if (options.VcsimControlUrl is { } control && !string.IsNullOrEmpty(options.VcsimHost))
        {
            vcsim = new HttpClient { BaseAddress = control, Timeout = TimeSpan.FromSeconds(10) };
            var host = Uri.EscapeDataString(options.VcsimHost);
            bmc.PoweredOn = async cancellationToken =>
            {
                // The server came up: its ESXi host boots and reconnects in the vCenter simulator.
                using var response = await vcsim.PostAsync($"hosts/{host}/power-on", null, cancellationToken);
                if (!response.IsSuccessStatusCode)
                    throw new InvalidOperationException(
                        $"vcsim control answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
            };
        }

        var app = builder.Build();
        app.MapRedfish(bmc);
        app.MapControl(bmc);
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        var port = new Uri(address).Port;
        var baseUrl = new Uri($"{(options.Https ? "https" : "http")}://{options.ListenAddress}:{port}/");
        var fingerprint = certificate is null ? null : FormatFingerprint(certificate);
        if (fingerprint is not null && options.FingerprintFile is { Length: > 0 } file)
            await File.WriteAllTextAsync(file, fingerprint + "\n");
        return new BmcServer(app, bmc, baseUrl, fingerprint, vcsim);
    }

    public static string FormatFingerprint(X509Certificate2 certificate) =>
        string.Join(':', certificate.GetCertHash(HashAlgorithmName.SHA256).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>A self-signed certificate for 127.0.0.1, ::1 and localhost, like the one an iLO ships with.</summary>
    static X509Certificate2 CreateCertificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}, O=PowerEvents Redfish simulator", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        // Round-trip through PKCS#12 so the private key is usable by the TLS stack on every platform.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    public async ValueTask DisposeAsync()
    {
        Bmc.Stop();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _vcsim?.Dispose();
    }
}
