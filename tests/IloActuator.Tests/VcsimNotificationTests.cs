using System.Diagnostics;
using System.Text.Json;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using Xunit;

namespace IloActuator.Tests;

/// <summary>
/// When a simulated BMC powers its server on, the ESXi host comes back in the vCenter simulator: a pe-vcsim of this
/// test's own (the shared one belongs to other tests), its host cut off, then powered on through Redfish.
/// </summary>
public sealed class VcsimNotificationTests
{
    [Fact]
    public async Task A_host_powered_on_through_its_BMC_comes_back_in_vcsim()
    {
        await using var vcsim = await OwnVcsim.StartAsync();
        (await vcsim.Control.PostAsync("hosts/esx-02.pe.test/power-off", null)).EnsureSuccessStatusCode();
        Assert.NotEqual("poweredOn", await vcsim.HostPowerStateAsync("esx-02.pe.test"));

        await using var server = await Bmcs.StartAsync(o =>
        {
            o.Name = "esx-02";
            o.VcsimControlUrl = vcsim.Control.BaseAddress;
            o.VcsimHost = "esx-02.pe.test";
        });
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());
        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-02", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.PoweredOn, result);
        await RedfishClientTests.Eventually(async () => await vcsim.HostPowerStateAsync("esx-02.pe.test") == "poweredOn", 10);
        Assert.Equal(1, server.Bmc.VcsimNotifications);
        Assert.Null(server.Bmc.LastVcsimError);
    }

    sealed class OwnVcsim : IAsyncDisposable
    {
        readonly Process _process;

        OwnVcsim(Process process, HttpClient control)
        {
            _process = process;
            Control = control;
        }

        public HttpClient Control { get; }

        public static async Task<OwnVcsim> StartAsync()
        {
            var binary = Path.Combine(TestServers.StateDir, "bin", "pe-vcsim");
            if (!File.Exists(binary))
                throw new InvalidOperationException($"{binary} is missing: build it with `scripts/vcsim.sh build` (scripts/test.sh does).");
            var controlPort = ServiceProcess.FreeTcpPort();
            var info = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "-listen", "127.0.0.1:0", "-control", $"127.0.0.1:{controlPort}", "-hosts", "3", "-vms", "1" })
                info.ArgumentList.Add(arg);
            var process = Process.Start(info)!;
            process.ErrorDataReceived += (_, _) => { };
            process.BeginErrorReadLine();

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            string? line;
            do
                line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            while (line is not null && !line.StartsWith("VCSIM_READY", StringComparison.Ordinal));
            if (line is null)
                throw new InvalidOperationException($"pe-vcsim exited ({process.ExitCode}) before it was ready");

            var control = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{controlPort}/"), Timeout = TimeSpan.FromSeconds(10) };
            return new OwnVcsim(process, control);
        }

        public async Task<string?> HostPowerStateAsync(string host)
        {
            using var state = JsonDocument.Parse(await Control.GetStringAsync("state"));
            return state.RootElement.GetProperty("hosts").EnumerateArray()
                .Single(h => h.GetProperty("name").GetString() == host)
                .GetProperty("powerState").GetString();
        }

        public async ValueTask DisposeAsync()
        {
            Control.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
        }
    }
}
