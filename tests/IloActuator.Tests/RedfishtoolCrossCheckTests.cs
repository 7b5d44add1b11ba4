using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace IloActuator.Tests;

/// <summary>
/// A second opinion on the simulator from DMTF's own client, redfishtool (Debian package): it logs in with a
/// session, reads the system, resets it, and logs out, as against a real BMC.
/// </summary>
public sealed class RedfishtoolCrossCheckTests
{
    [Fact]
    public async Task DMTFs_redfishtool_reads_and_powers_on_the_simulated_system_and_deletes_its_sessions()
    {
        await using var server = await Bmcs.StartAsync();

        var (readCode, system) = await RedfishtoolAsync(server, Bmcs.Password, "Session", "Systems", "-I", "1", "get");
        var (resetCode, _) = await RedfishtoolAsync(server, Bmcs.Password, "Session", "Systems", "-I", "1", "reset", "On");

        Assert.True(readCode == 0, system);
        using var json = JsonDocument.Parse(system);
        Assert.Equal("Off", json.RootElement.GetProperty("PowerState").GetString());
        Assert.Equal(0, resetCode);
        Assert.Equal(["On"], server.Bmc.ResetRequests);
        Assert.Equal(2, server.Bmc.SessionsCreated);
        Assert.Equal(0, server.Bmc.ActiveSessions);
    }

    public static TheoryData<string> Profiles => [.. PowerEvents.RedfishSimulator.VendorProfile.All.Keys];

    /// <summary>
    /// Every vendor profile as redfishtool sees it: the Systems collection and the system parse, and a reset On
    /// goes through (with a session where the profile has a SessionService, else Basic; following any redirect).
    /// </summary>
    [Theory]
    [MemberData(nameof(Profiles))]
    public async Task DMTFs_redfishtool_reads_and_powers_on_every_vendor_profile(string profile)
    {
        await using var server = await Bmcs.StartAsync(o => o.Profile = profile);
        var bmc = server.Bmc.Profile;
        var auth = bmc.SessionService ? "Session" : "Basic";

        var (listCode, collection) = await RedfishtoolAsync(server, Bmcs.Password, auth, "Systems");
        var (readCode, system) = await RedfishtoolAsync(server, Bmcs.Password, auth, "Systems", "-I", bmc.SystemId, "get");
        var (resetCode, resetOutput) = await RedfishtoolAsync(server, Bmcs.Password, auth, "Systems", "-I", bmc.SystemId, "reset", "On");

        Assert.True(listCode == 0, collection);
        using var members = JsonDocument.Parse(collection);
        Assert.Equal(1, members.RootElement.GetProperty("Members@odata.count").GetInt32());
        Assert.True(readCode == 0, system);
        using var json = JsonDocument.Parse(system);
        Assert.Equal(bmc.SystemId, json.RootElement.GetProperty("Id").GetString());
        Assert.Equal("Off", json.RootElement.GetProperty("PowerState").GetString());
        Assert.True(resetCode == 0, resetOutput);
        Assert.Equal(["On"], server.Bmc.ResetRequests);
        Assert.Equal(0, server.Bmc.ChunkedRequests);
        Assert.Equal(0, server.Bmc.ActiveSessions);
    }

    [Fact]
    public async Task DMTFs_redfishtool_is_refused_with_a_wrong_password()
    {
        await using var server = await Bmcs.StartAsync();

        var (code, output) = await RedfishtoolAsync(server, "wrong", "Session", "Systems", "-I", "1", "get");

        Assert.NotEqual(0, code);
        Assert.Contains("401", output, StringComparison.Ordinal);
        Assert.Equal(1, server.Bmc.LoginFailures);
    }

    static async Task<(int Code, string Output)> RedfishtoolAsync(PowerEvents.RedfishSimulator.BmcServer server, string password, string auth, params string[] command)
    {
        var info = new ProcessStartInfo("redfishtool") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-r", $"{server.BaseUrl.Host}:{server.BaseUrl.Port}", "-u", Bmcs.Username, "-p", password, "-S", "Always", "-A", auth, "-T", "10" })
            info.ArgumentList.Add(arg);
        foreach (var arg in command)
            info.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException("redfishtool is not installed: run scripts/install-deps.sh (Debian package redfishtool).", ex);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await stdout + await stderr);
        }
    }
}
