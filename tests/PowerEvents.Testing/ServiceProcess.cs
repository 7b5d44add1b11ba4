using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PowerEvents.Testing;

/// <summary>
/// A PowerEvents service started as its own OS process from its build output, the way an operator
/// runs it: configuration through environment variables, output captured for assertions.
/// </summary>
public sealed partial class ServiceProcess : IAsyncDisposable
{
    readonly Process _process;
    readonly ConcurrentQueue<string> _output = new();
    // Generous: a plan preview reads a live inventory, which takes seconds on a loaded machine.
    readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };

    ServiceProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }
    public int ProcessId => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public IReadOnlyCollection<string> Output => _output;

    /// <summary>The service's build output, e.g. services/Notifier/bin/Debug/net10.0/PowerEvents.Notifier.dll.</summary>
    public static string AssemblyPath(string service)
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var path = Path.Combine(TestServers.RepositoryRoot, "services", service, "bin", configuration, "net10.0", $"PowerEvents.{service}.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build {service} first (dotnet build): {path} is missing.", path);
    }

    public static ServiceProcess Start(string service, IReadOnlyDictionary<string, string?> environment)
    {
        var port = FreeTcpPort();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(AssemblyPath(service))!,
        };
        info.ArgumentList.Add(AssemblyPath(service));
        info.Environment["Urls"] = $"http://127.0.0.1:{port}";
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
        {
            if (value is null)
                info.Environment.Remove(key);
            else
                info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var service1 = new ServiceProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) service1._output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) service1._output.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service1;
    }

    /// <summary>Polls <c>/health/ready</c> until it answers 200; fails with the service's output otherwise.</summary>
    public async Task<TimeSpan> WaitUntilReadyAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"The service exited with {_process.ExitCode} before it was ready:\n{OutputText}");
            try
            {
                using var response = await _http.GetAsync(new Uri(BaseAddress, "health/ready"));
                if (response.StatusCode == HttpStatusCode.OK)
                    return clock.Elapsed;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // A slow answer while starting; ask again.
            }
            await Task.Delay(100);
        }

        throw new TimeoutException($"Not ready after {timeout}:\n{OutputText}");
    }

    public Task<HttpResponseMessage> GetAsync(string path) => _http.GetAsync(new Uri(BaseAddress, path));

    /// <summary>Waits until a line of output satisfies <paramref name="predicate"/>.</summary>
    public async Task<string> WaitForOutputAsync(Func<string, bool> predicate, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var line = _output.FirstOrDefault(predicate);
            if (line is not null)
                return line;
            await Task.Delay(50);
        }

        throw new TimeoutException($"No matching output line after {timeout}:\n{OutputText}");
    }

    /// <summary>Sends SIGTERM, as docker stop does, and waits for the process to exit.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited && Kill(_process.Id, SigTerm) != 0)
            throw new InvalidOperationException($"kill(SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");

        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Waits for the process to exit by itself (a service that refuses its configuration).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Still running after {timeout}:\n{OutputText}");
        }
        return _process.ExitCode;
    }

    public string OutputText => string.Join('\n', _output);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        _http.Dispose();
    }

    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
