using System.Diagnostics;
using PowerEvents.Testing;

namespace PowerEvents.Notifier.Tests;

/// <summary>
/// A PostgreSQL 15 cluster of the test's own (initdb in a temporary directory, as scripts/test-servers.sh does), so
/// that a test can stop and restart it without touching the shared test server.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    const string Bin = "/usr/lib/postgresql/15/bin";
    readonly string _dir;

    PrivatePostgres(string dir, int port)
    {
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => new Npgsql.NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1", Port = Port, Username = PostgresFixture.Username, Database = "postgres", Pooling = false,
    }.ConnectionString;

    public IEnumerable<string> HostArgs =>
    [
        "--Postgres:Host=127.0.0.1", $"--Postgres:Port={Port}", "--Postgres:Database=postgres", $"--Postgres:Username={PostgresFixture.Username}",
    ];

    public static async Task<PrivatePostgres> StartAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pe-pg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        if (Environment.UserName == "root")
            await RunAsync("chown", "postgres:postgres", dir);
        var postgres = new PrivatePostgres(dir, ServiceProcess.FreeTcpPort());
        await postgres.AsServerUserAsync($"{Bin}/initdb", "-D", Path.Combine(dir, "data"), "-U", PostgresFixture.Username, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8");
        await postgres.StartServerAsync();
        return postgres;
    }

    public Task StartServerAsync() => AsServerUserAsync($"{Bin}/pg_ctl", "-D", Path.Combine(_dir, "data"), "-l", Path.Combine(_dir, "server.log"), "-w", "-t", "60",
        "-o", $"-c listen_addresses=127.0.0.1 -p {Port} -k {_dir} -c fsync=off", "start");

    public Task StopServerAsync() => AsServerUserAsync($"{Bin}/pg_ctl", "-D", Path.Combine(_dir, "data"), "-m", "fast", "-w", "stop");

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopServerAsync();
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }
        Directory.Delete(_dir, recursive: true);
    }

    // PostgreSQL refuses to run as root: the test servers run it as the postgres user, and so does this.
    Task AsServerUserAsync(string program, params string[] args) => Environment.UserName == "root"
        ? RunAsync("runuser", ["-u", "postgres", "--", program, .. args])
        : RunAsync(program, args);

    static async Task RunAsync(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited with {process.ExitCode}: {await output}{await error}");
    }
}
