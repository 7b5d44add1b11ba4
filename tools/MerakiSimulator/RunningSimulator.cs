using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace PowerEvents.Tools.MerakiSimulator;

/// <summary>The simulator started in the caller's process on a free loopback port (for tests).</summary>
public sealed class RunningSimulator : IAsyncDisposable
{
    readonly WebApplication _app;

    RunningSimulator(WebApplication app, Uri root)
    {
        _app = app;
        Root = root;
        World = app.Services.GetRequiredService<World>();
    }

    /// <summary>http://127.0.0.1:port/</summary>
    public Uri Root { get; }

    /// <summary>The Meraki API base, http://127.0.0.1:port/api/v1/.</summary>
    public Uri ApiBase => new(Root, "api/v1/");

    public World World { get; }

    /// <summary>The MT gateway's MQTT publishing (configured by <c>--Simulator:Mqtt:…</c> arguments).</summary>
    public MqttGateway Mqtt => _app.Services.GetRequiredService<MqttGateway>();

    public static Task<RunningSimulator> StartAsync(params string[] apiKeys) => StartAsync(apiKeys, []);

    /// <summary>SHA-256 of the https certificate (<see cref="StartTlsAsync"/>), as a client pins it; null over http.</summary>
    public string? CertificateFingerprint { get; private init; }

    /// <summary>The simulator over https (https://127.0.0.1:port/) with a fresh self-signed certificate for 127.0.0.1.</summary>
    public static async Task<RunningSimulator> StartTlsAsync(params string[] apiKeys)
    {
        using var key = System.Security.Cryptography.RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=127.0.0.1", key,
            System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        var names = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // Kestrel needs the private key in a form it can use on every platform: a PKCS#12 round trip.
        var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(created.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
        var app = SimulatorApp.Build(["--urls=https://127.0.0.1:0", .. apiKeys.Select((k, i) => $"--Simulator:ApiKeys:{i}={k}")], certificate: certificate);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new RunningSimulator(app, new Uri(address.TrimEnd('/') + "/"))
        {
            CertificateFingerprint = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(certificate.RawData)),
        };
    }

    /// <param name="arguments">More settings, e.g. <c>--Simulator:Mqtt:Url=mqtt://127.0.0.1:1883</c>.</param>
    public static async Task<RunningSimulator> StartAsync(IEnumerable<string> apiKeys, IEnumerable<string> arguments)
    {
        var app = SimulatorApp.Build(["--urls=http://127.0.0.1:0", .. apiKeys.Select((k, i) => $"--Simulator:ApiKeys:{i}={k}"), .. arguments]);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new RunningSimulator(app, new Uri(address.TrimEnd('/') + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
