using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace PowerEvents.Testing;

/// <summary>
/// A private vcsim (the project's pe-vcsim harness, built by <c>scripts/vcsim.sh build</c>) on a free port,
/// started with the flags a test needs, so that tests never share the simulator's state. Exposes the SOAP URL,
/// the server certificate's SHA-256 fingerprint and the credentials; killed on dispose.
/// </summary>
public sealed partial class VcsimProcess : IAsyncDisposable
{
    public const string Username = "pe-test";
    public const string Password = "pe-test-secret";
    const string ReadyPrefix = "VCSIM_READY url=";
    const string ControlPrefix = "control endpoint ";

    readonly Process _process;
    readonly string _directory;
    readonly ConcurrentQueue<string> _output = new();

    VcsimProcess(Process process, string directory)
    {
        _process = process;
        _directory = directory;
    }

    /// <summary>The SOAP endpoint, <c>https://127.0.0.1:port/sdk</c>.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>SHA-256 of the server certificate, as <c>AB:CD:…</c> (what <c>openssl x509 -fingerprint -sha256</c> prints).</summary>
    public string Fingerprint { get; private set; } = "";

    /// <summary>The plain-HTTP control/state endpoint when started with <c>-control</c>, else null.</summary>
    public Uri? ControlUrl { get; private set; }

    public IReadOnlyCollection<string> Output => _output;

    public int ProcessId => _process.Id;

    /// <summary>The harness binary: <c>PE_VCSIM_BIN</c>, else where <c>scripts/vcsim.sh build</c> puts it (<c>$PE_STATE_DIR/bin/pe-vcsim</c>).</summary>
    public static string BinaryPath()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("PE_VCSIM_BIN") is { Length: > 0 } configured)
            candidates.Add(configured);
        candidates.Add(Path.Combine(TestServers.StateDir, "bin", "pe-vcsim"));
        return candidates.FirstOrDefault(File.Exists) ?? throw new FileNotFoundException(
            $"The vcsim harness binary is missing (looked in: {string.Join(", ", candidates)}). " +
            "Build it with `scripts/vcsim.sh build` from the repository root (scripts/test.sh does this).");
    }

    /// <summary>
    /// Starts pe-vcsim with <paramref name="arguments"/> (e.g. <c>-hosts 4 -vms 3 -no-tools ^vm-01-002$</c>) plus a free
    /// listen port, the test credentials and a fingerprint file, and waits for its <c>VCSIM_READY</c> line.
    /// </summary>
    public static async Task<VcsimProcess> StartAsync(IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        var binary = BinaryPath();
        var directory = Directory.CreateTempSubdirectory("pe-vcsim-test-").FullName;
        var fingerprintFile = Path.Combine(directory, "fingerprint");
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var argument in (string[])["-listen", "127.0.0.1:0", "-username", Username, "-password", Password, "-fingerprint-file", fingerprintFile])
            info.ArgumentList.Add(argument);
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var vcsim = new VcsimProcess(process, directory);
        var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) => vcsim.OnLine(e.Data, ready);
        process.ErrorDataReceived += (_, e) => vcsim.OnLine(e.Data, ready);
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException(
            $"pe-vcsim exited before it was ready:\n{string.Join('\n', vcsim._output)}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            var url = await ready.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(120));
            vcsim.Url = new Uri(url);
            vcsim.Fingerprint = (await File.ReadAllTextAsync(fingerprintFile)).Trim();
            // The control endpoint's line may come on the other stream, read after VCSIM_READY: wait for it.
            if (arguments.Contains("-control"))
            {
                var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                while (vcsim.ControlUrl is null && DateTime.UtcNow < until && !process.HasExited)
                    await Task.Delay(20);
                if (vcsim.ControlUrl is null)
                    throw new InvalidOperationException($"pe-vcsim did not print its control endpoint:\n{string.Join('\n', vcsim._output)}");
            }
            return vcsim;
        }
        catch (Exception ex)
        {
            await vcsim.DisposeAsync();
            if (ex is TimeoutException)
                throw new TimeoutException($"pe-vcsim not ready after {timeout}:\n{string.Join('\n', vcsim._output)}", ex);
            throw;
        }
    }

    void OnLine(string? line, TaskCompletionSource<string> ready)
    {
        if (line is null)
            return;
        _output.Enqueue(line);
        var control = line.IndexOf(ControlPrefix, StringComparison.Ordinal);
        // Only an absolute URL: pe-vcsim's usage text (printed for an unknown flag) also says "control endpoint ".
        if (control >= 0 && Uri.TryCreate(line[(control + ControlPrefix.Length)..].Trim(), UriKind.Absolute, out var controlUrl))
            ControlUrl = controlUrl;
        if (line.StartsWith(ReadyPrefix, StringComparison.Ordinal))
            ready.TrySetResult(line[ReadyPrefix.Length..].Trim());
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                // SIGTERM first: the harness removes its datastore directories when it stops cleanly.
                _ = Kill(_process.Id, SigTerm);
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try
                {
                    await _process.WaitForExitAsync(grace.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync();
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory.
        }
    }

    const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
