using System.Diagnostics;
using PowerEvents.Contracts;
using PowerEvents.IloActuator;
using Xunit;

namespace IloActuator.Tests;

/// <summary>The actuator's Redfish client against the Redfish simulator over real HTTPS on loopback.</summary>
public sealed class RedfishClientTests
{
    [Fact]
    public async Task An_off_host_is_powered_on_through_a_session_that_is_deleted_afterwards()
    {
        await using var server = await Bmcs.StartAsync();
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.PoweredOn, result);
        Assert.Equal("redfish", result.Method);
        Assert.Equal("On", server.Bmc.PowerState);
        Assert.Equal(["On"], server.Bmc.ResetRequests);
        Assert.Equal(1, server.Bmc.SessionsCreated);
        Assert.Equal(1, server.Bmc.SessionsDeleted);
        Assert.Equal(0, server.Bmc.ActiveSessions);
        // Every request after the (anonymous) service root and login carried the session token, the logout last.
        var requests = server.Bmc.Requests;
        Assert.All(requests.Skip(2), r => Assert.Equal("session", r.Auth));
        Assert.Equal("DELETE", requests[^1].Method);
        // The client saw the system go through PoweringOn (it polled while the BMC booted it).
        Assert.Contains(requests, r => r.Method == "GET" && r.Path == "/redfish/v1/Systems/1");
    }

    [Fact]
    public async Task Basic_authentication_powers_on_without_opening_a_session()
    {
        await using var server = await Bmcs.StartAsync();
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server, h => h.AuthMode = BmcAuthMode.Basic), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.PoweredOn, result);
        Assert.Equal(0, server.Bmc.SessionsCreated);
        Assert.All(server.Bmc.Requests.Skip(1), r => Assert.Equal("basic", r.Auth));
    }

    [Fact]
    public async Task A_host_that_is_already_on_is_a_success_and_gets_no_reset()
    {
        await using var server = await Bmcs.StartAsync(o => o.InitialPowerState = "On");
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.AlreadyOn, result);
        Assert.Empty(server.Bmc.ResetRequests);
        Assert.Equal(0, server.Bmc.ActiveSessions);
    }

    [Fact]
    public async Task When_a_stale_Off_read_leads_to_iLO_InvalidOperationForSystemState_the_host_is_already_on()
    {
        await using var server = await Bmcs.StartAsync(o => o.InitialPowerState = "On");
        server.Bmc.StaleOffReads = 1;
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.AlreadyOn, result);
        Assert.Contains("InvalidOperationForSystemState", result.Reason, StringComparison.Ordinal);
        Assert.Equal(["On"], server.Bmc.ResetRequests);
    }

    [Fact]
    public async Task A_wrong_password_fails_once_naming_the_host_and_user_but_never_the_secret()
    {
        await using var server = await Bmcs.StartAsync();
        server.Bmc.Password = "the-password-was-changed";
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-07", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, result);
        Assert.Contains("esx-07", result.Reason, StringComparison.Ordinal);
        Assert.Contains("rejected the credentials of user 'Administrator'", result.Reason, StringComparison.Ordinal);
        Assert.Contains("NoValidSession", result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(Bmcs.Password, result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(actuator.Logs.Lines, line => line.Contains(Bmcs.Password, StringComparison.Ordinal));
        // iLO delays logins after a failure: the client must not hammer it.
        Assert.Equal(1, server.Bmc.LoginFailures);
        Assert.Empty(server.Bmc.ResetRequests);
    }

    [Fact]
    public async Task In_Session_mode_a_full_session_table_is_retried_then_fails_with_the_session_limit()
    {
        await using var server = await Bmcs.StartAsync(o => o.MaxSessions = 2);
        server.Bmc.OccupySession();
        server.Bmc.OccupySession();
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server, h => h.AuthMode = BmcAuthMode.Session), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, result);
        Assert.Contains("no free session", result.Reason, StringComparison.Ordinal);
        Assert.Contains("SessionLimitExceeded", result.Reason, StringComparison.Ordinal);
        Assert.Equal(3, server.Bmc.Requests.Count(r => r.Method == "POST" && r.Path.EndsWith("/Sessions", StringComparison.Ordinal)));
        Assert.Equal(2, server.Bmc.ActiveSessions);
    }

    [Fact]
    public async Task Concurrent_power_ons_of_one_host_never_hold_more_than_one_session()
    {
        await using var server = await Bmcs.StartAsync(o => o.MaxSessions = 1);
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions(Bmcs.Host("esx-01", await Task.FromResult(server))));

        var results = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => actuator.Service.PowerOnAsync("esx-01", CancellationToken.None)));

        Assert.Single(results, r => r.Outcome == PowerOnOutcome.PoweredOn);
        Assert.Equal(4, results.Count(r => r.Outcome == PowerOnOutcome.AlreadyOn));
        Assert.Equal(1, server.Bmc.PeakSessions);
        Assert.Equal(5, server.Bmc.SessionsDeleted);
    }

    [Fact]
    public async Task A_session_that_expires_during_the_wait_is_opened_again_and_the_power_on_completes()
    {
        await using var server = await Bmcs.StartAsync(o => o.BootDelay = TimeSpan.FromSeconds(1));
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var powerOn = actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);
        await Eventually(() => server.Bmc.PowerState == "PoweringOn");
        server.Bmc.ExpireAllSessions();
        var result = await powerOn;

        Outcomes.Expect(PowerOnOutcome.PoweredOn, result);
        Assert.Equal(2, server.Bmc.SessionsCreated);
        Assert.Equal(0, server.Bmc.ActiveSessions);
        Assert.Contains(server.Bmc.Requests, r => r.Auth == "none" && r.Path == "/redfish/v1/Systems/1");
    }

    [Fact]
    public async Task A_host_that_never_reports_On_fails_at_the_deadline_and_still_logs_out()
    {
        await using var server = await Bmcs.StartAsync();
        server.Bmc.NeverBoots = true;
        var options = Bmcs.FastOptions();
        options.PowerOnTimeout = TimeSpan.FromSeconds(1.5);
        using var actuator = new Bmcs.Actuator(options);
        var clock = Stopwatch.StartNew();

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, result);
        Assert.Contains($"esx-01: the BMC at {server.BaseUrl} did not report PowerState On within 00:00:01.5", result.Reason, StringComparison.Ordinal);
        Assert.Contains("last PowerState: PoweringOn", result.Reason, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.4), TimeSpan.FromSeconds(8));
        Assert.Equal(0, server.Bmc.ActiveSessions);
    }

    [Fact]
    public async Task A_BMC_that_hangs_fails_within_the_request_timeouts()
    {
        await using var server = await Bmcs.StartAsync();
        server.Bmc.Hang = true;
        var options = Bmcs.FastOptions();
        options.RequestTimeout = TimeSpan.FromMilliseconds(300);
        options.PowerOnTimeout = TimeSpan.FromSeconds(30);
        using var actuator = new Bmcs.Actuator(options);
        var clock = Stopwatch.StartNew();

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, result);
        Assert.Contains("did not answer within 00:00:00.3", result.Reason, StringComparison.Ordinal);
        // Three attempts of 0.3 s and two short back-offs: nowhere near the 30 s power-on deadline.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_BMC_that_refuses_connections_is_reported_unreachable()
    {
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());
        var closedPort = PowerEvents.Testing.ServiceProcess.FreeTcpPort();

        var result = await actuator.Redfish.PowerOnAsync(new BmcHostOptions
        {
            Name = "esx-04", Url = new Uri($"https://127.0.0.1:{closedPort}/"), Username = "u", Password = "p",
        }, CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, result);
        Assert.Contains($"esx-04: the BMC at https://127.0.0.1:{closedPort}/ is not reachable", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Transient_internal_errors_are_retried()
    {
        await using var server = await Bmcs.StartAsync();
        server.Bmc.FailNextRequests = 2;
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.PoweredOn, result);
        Assert.Equal(0, server.Bmc.ActiveSessions);
    }

    [Fact]
    public async Task A_system_that_offers_no_reset_type_that_powers_on_fails_without_a_reset()
    {
        await using var server = await Bmcs.StartAsync(o => o.AllowableResetTypes = ["ForceOff", "ForceRestart"]);
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, result);
        Assert.Contains("offers no reset type that powers /redfish/v1/Systems/1 on (it allows ForceOff, ForceRestart", result.Reason, StringComparison.Ordinal);
        Assert.Empty(server.Bmc.ResetRequests);
        Assert.Equal(0, server.Bmc.ActiveSessions);
    }

    [Fact]
    public async Task Reset_types_advertised_through_ActionInfo_are_respected()
    {
        await using var server = await Bmcs.StartAsync(o => { o.UseActionInfo = true; o.AllowableResetTypes = ["ForceOff"]; });
        await using var offersOn = await Bmcs.StartAsync(o => o.UseActionInfo = true);
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var refused = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);
        var poweredOn = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-02", offersOn), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, refused);
        Assert.Contains("offers no reset type that powers", refused.Reason, StringComparison.Ordinal);
        Assert.Empty(server.Bmc.ResetRequests);
        Outcomes.Expect(PowerOnOutcome.PoweredOn, poweredOn);
        Assert.Contains(offersOn.Bmc.Requests, r => r.Path == "/redfish/v1/Systems/1/ResetActionInfo");
    }

    [Fact]
    public async Task iLO_4_style_trailing_slashes_and_an_absolute_session_location_are_followed()
    {
        await using var server = await Bmcs.StartAsync(o => o.TrailingSlashes = true);
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.PoweredOn, result);
        Assert.Equal(0, server.Bmc.ActiveSessions);
    }

    [Fact]
    public async Task With_several_systems_the_configured_SystemId_is_used_and_without_it_the_client_refuses_to_guess()
    {
        await using var server = await Bmcs.StartAsync(o => { o.SystemId = "2"; o.ExtraSystemIds = ["1"]; });
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var unconfigured = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);
        var configured = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server, h => h.SystemId = "2"), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, unconfigured);
        Assert.Contains("several systems (2, 1); set SystemId", unconfigured.Reason, StringComparison.Ordinal);
        Outcomes.Expect(PowerOnOutcome.PoweredOn, configured);
        Assert.Equal(0, server.Bmc.ActiveSessions);
    }

    [Fact]
    public async Task Reading_the_power_state_changes_nothing()
    {
        await using var server = await Bmcs.StartAsync();
        var options = Bmcs.FastOptions(Bmcs.Host("esx-01", await Task.FromResult(server)));
        // The logout is best effort within twice the request timeout; 1 s was too short for a first TLS call under load.
        options.RequestTimeout = TimeSpan.FromSeconds(30);
        using var actuator = new Bmcs.Actuator(options);

        var state = await actuator.Service.ReadPowerStateAsync("esx-01", CancellationToken.None);

        Assert.Equal(new HostPowerState(true, "Off", ""), state);
        Assert.Empty(server.Bmc.ResetRequests);
        Assert.Equal(0, server.Bmc.ActiveSessions);
    }

    internal static Task Eventually(Func<bool> condition, double seconds = 5) => Eventually(() => Task.FromResult(condition()), seconds);

    internal static async Task Eventually(Func<Task<bool>> condition, double seconds = 5)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"condition not met within {seconds} s");
            await Task.Delay(20);
        }
    }
}
