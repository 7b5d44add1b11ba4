using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace PowerEvents.Testing;

/// <summary>
/// One of the project's tools (a simulator, the webhook receiver) started as its own OS process from its build
/// output, with its output captured; SIGTERM (then kill) on dispose.
/// </summary>
public sealed partial class ToolProcess : IAsyncDisposable
{
    readonly Process _process;
    readonly ConcurrentQueue<string> _output = new();

    ToolProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }
    public int ProcessId => _process.Id;
    public bool HasExited => _process.HasExited;
    public IReadOnlyCollection<string> Output => _output;
    public string OutputText => string.Join('\n', _output);

    /// <summary>The tool's build output, e.g. tools/MerakiSimulator/bin/Debug/net10.0/PowerEvents.MerakiSimulator.dll.</summary>
    public static string AssemblyPath(string tool)
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var path = Path.Combine(TestServers.RepositoryRoot, "tools", tool, "bin", configuration, "net10.0", $"PowerEvents.{tool}.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build tools/{tool} first (dotnet build): {path} is missing.", path);
    }

    public static ToolProcess Start(string tool, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(AssemblyPath(tool))!,
        };
        info.ArgumentList.Add(AssemblyPath(tool));
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            info.Environment[key] = value;

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var tool1 = new ToolProcess(process, tool);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) tool1._output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) tool1._output.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return tool1;
    }

    /// <summary>Waits until <paramref name="count"/> output lines satisfy <paramref name="predicate"/>; fails with the output if the tool exits.</summary>
    public async Task<IReadOnlyList<string>> WaitForLinesAsync(Func<string, bool> predicate, int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var lines = _output.Where(predicate).ToList();
            if (lines.Count >= count)
                return lines;
            if (_process.HasExited)
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}:\n{OutputText}");
            await Task.Delay(50);
        }
        throw new TimeoutException($"{Name}: fewer than {count} matching lines after {timeout}:\n{OutputText}");
    }

    /// <summary>Polls <paramref name="url"/> until it answers 2xx.</summary>
    public async Task WaitUntilAnswersAsync(Uri url, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}:\n{OutputText}");
            try
            {
                using var response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode)
                    return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{Name}: {url} did not answer within {timeout}:\n{OutputText}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, SigTerm);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
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
        _process.Dispose();
    }

    const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
