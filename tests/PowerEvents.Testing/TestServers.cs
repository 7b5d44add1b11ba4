namespace PowerEvents.Testing;

/// <summary>
/// Where the project's scripts start the real test servers (scripts/env.sh holds the same defaults).
/// A test that needs one and cannot reach it fails with <see cref="NotRunning"/>'s message.
/// </summary>
public static class TestServers
{
    public const string StartCommand = "scripts/test-servers.sh start";

    public static string StateDir => Env("PE_STATE_DIR", "/tmp/powerevents-servers");
    public static int RabbitMqPort => int.Parse(Env("PE_RABBITMQ_PORT", "35672"), System.Globalization.CultureInfo.InvariantCulture);
    public static int RabbitMqManagementPort => int.Parse(Env("PE_RABBITMQ_MGMT_PORT", "35673"), System.Globalization.CultureInfo.InvariantCulture);
    public static int PostgresPort => int.Parse(Env("PE_POSTGRES_PORT", "35432"), System.Globalization.CultureInfo.InvariantCulture);
    /// <summary>RabbitMQ's MQTT listener (the rabbitmq_mqtt plugin), guest/guest on loopback.</summary>
    public static int MqttPort => int.Parse(Env("PE_MQTT_PORT", "35883"), System.Globalization.CultureInfo.InvariantCulture);
    /// <summary>The same MQTT listener over TLS, with the server certificate in <see cref="MqttServerCertificateFile"/>.</summary>
    public static int MqttsPort => int.Parse(Env("PE_MQTTS_PORT", "35884"), System.Globalization.CultureInfo.InvariantCulture);
    /// <summary>The throwaway CA and server certificate (for 127.0.0.1/localhost) test-servers.sh generates once.</summary>
    public static string TlsDirectory => Path.Combine(StateDir, "tls");
    /// <summary>PEM: the certificate RabbitMQ's TLS listeners present (issued by <see cref="TestCaFile"/>).</summary>
    public static string MqttServerCertificateFile => Path.Combine(TlsDirectory, "server.pem");
    /// <summary>PEM: the self-signed test CA, trusted by nothing on the machine.</summary>
    public static string TestCaFile => Path.Combine(TlsDirectory, "ca.pem");
    public static int VcsimPort => int.Parse(Env("PE_VCSIM_PORT", "35443"), System.Globalization.CultureInfo.InvariantCulture);

    public static Exception NotRunning(string server, string where, Exception? inner = null) => new InvalidOperationException(
        $"The {server} test server is not reachable at {where}. Start it with `{StartCommand} {server}` " +
        $"from the repository root (or run the whole suite with scripts/test.sh, which starts everything).", inner);

    /// <summary>The repository root, found from the test binaries' location.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PowerEvents.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"PowerEvents.sln not found above {AppContext.BaseDirectory}");
    }

    static string Env(string name, string fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : fallback;
}
