using System.Diagnostics;
using System.Text.RegularExpressions;
using PowerEvents.Contracts;
using PowerEvents.IloActuator;
using PowerEvents.Testing;
using Xunit;

namespace IloActuator.Tests;

/// <summary>The simulator as the local run starts it: one process, several BMCs, one ready line each.</summary>
public sealed partial class SimulatorProcessTests
{
    [Fact]
    public async Task One_process_serves_a_BMC_per_host_and_prints_url_and_fingerprint_for_each()
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var dll = Path.Combine(TestServers.RepositoryRoot, "tools", "RedfishSimulator", "bin", configuration, "net10.0", "PowerEvents.RedfishSimulator.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { dll, "--Count=2", "--BootDelay=00:00:00.200", "--Username=admin", "--Password=lab-pass" })
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var ready = new List<Match>();
            while (ready.Count < 2 && await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
                if (ReadyLine().Match(line) is { Success: true } match)
                    ready.Add(match);

            Assert.Equal(["esx-01.pe.test", "esx-02.pe.test"], ready.Select(m => m.Groups["name"].Value));
            var second = ready[1];
            using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());
            var result = await actuator.Redfish.PowerOnAsync(new BmcHostOptions
            {
                Name = "esx-02",
                Url = new Uri(second.Groups["url"].Value),
                Username = "admin",
                Password = "lab-pass",
                CertificateFingerprint = second.Groups["fingerprint"].Value,
            }, CancellationToken.None);
            Outcomes.Expect(PowerOnOutcome.PoweredOn, result);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    [GeneratedRegex("^REDFISH_READY name=(?<name>\\S+) url=(?<url>\\S+) user=\\S+ fingerprint=(?<fingerprint>[0-9A-F:]{95}) ")]
    private static partial Regex ReadyLine();
}
