namespace PowerEvents.Testing;

/// <summary>
/// The shared vcsim started by <c>scripts/test-servers.sh start vcsim</c> (default inventory; see
/// docs/vcsim.md). Its certificate is self-signed: clients pin the SHA-256 fingerprint it wrote.
/// </summary>
public static class VcsimServer
{
    public const string Username = "user";
    public const string Password = "pass";

    public static Uri SdkUrl => new($"https://127.0.0.1:{TestServers.VcsimPort}/sdk");

    public static string Fingerprint
    {
        get
        {
            var path = Path.Combine(TestServers.StateDir, "vcsim", "fingerprint");
            if (!File.Exists(path) || !IsListening())
                throw TestServers.NotRunning("vcsim", SdkUrl.ToString());
            return File.ReadAllText(path).Trim();
        }
    }

    static bool IsListening()
    {
        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            client.Connect("127.0.0.1", TestServers.VcsimPort);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>Accepts exactly the certificate whose SHA-256 fingerprint is pinned; nothing else.</summary>
    public static HttpClientHandler PinnedHandler(string fingerprint) => new()
    {
        UseCookies = true,
        ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            certificate is not null && string.Equals(
                Convert.ToHexString(certificate.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256)),
                fingerprint.Replace(":", "", StringComparison.Ordinal),
                StringComparison.OrdinalIgnoreCase),
    };
}
