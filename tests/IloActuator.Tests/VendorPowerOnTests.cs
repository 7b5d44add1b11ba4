using System.Diagnostics;
using PowerEvents.Contracts;
using PowerEvents.IloActuator;
using PowerEvents.RedfishSimulator;
using Xunit;

namespace IloActuator.Tests;

/// <summary>
/// The actuator against every vendor profile of the simulator, strict ones included (chunked bodies refused,
/// trailing-slash redirects, no SessionService), with the default settings a new user has (AuthMode Auto, no SystemId).
/// </summary>
public sealed class VendorPowerOnTests
{
    public static TheoryData<string> Profiles => [.. VendorProfile.All.Keys];

    [Theory]
    [MemberData(nameof(Profiles))]
    public async Task An_off_host_is_powered_on_through_every_vendor_profile(string profile)
    {
        await using var server = await Bmcs.StartAsync(o => o.Profile = profile);
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.PoweredOn, result);
        Assert.Equal("On", server.Bmc.PowerState);
        Assert.Equal(["On"], server.Bmc.ResetRequests);
        // Bodies went with Content-Length: a chunked one is what the strict profiles refuse.
        Assert.Equal(0, server.Bmc.ChunkedRequests);
        Assert.Equal(0, server.Bmc.ActiveSessions);
        Assert.Contains($"esx-01: powered on through the BMC at {server.BaseUrl}", result.Reason, StringComparison.Ordinal);
        // The system id was discovered from the Systems collection (iDRAC System.Embedded.1, CIMC its serial, …).
        Assert.Contains($"/redfish/v1/Systems/{server.Bmc.Profile.SystemId}", result.Reason, StringComparison.Ordinal);
        if (server.Bmc.Profile.SessionService)
        {
            Assert.Contains("authentication: a Redfish session", result.Reason, StringComparison.Ordinal);
            Assert.Equal(1, server.Bmc.SessionsCreated);
        }
        else
        {
            Assert.Contains("authentication: HTTP Basic, because the service root offers no sessions", result.Reason, StringComparison.Ordinal);
            Assert.All(server.Bmc.Requests.Skip(1), r => Assert.Equal("basic", r.Auth));
        }
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public async Task A_host_that_is_on_is_AlreadyOn_whatever_the_vendor_answers_to_On_while_On(string profile)
    {
        await using var server = await Bmcs.StartAsync(o => { o.Profile = profile; o.InitialPowerState = "On"; });
        // The first read says Off (a stale BMC cache): the client sends On and meets the vendor's "already on" answer.
        server.Bmc.StaleOffReads = 1;
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);

        var noOp = server.Bmc.Profile.OnWhileOnStatus is >= 200 and < 300;
        // A BMC that accepts On on a running system as a no-op leaves nothing to tell the two apart: PowerState On.
        Outcomes.Expect(noOp ? PowerOnOutcome.PoweredOn : PowerOnOutcome.AlreadyOn, result);
        Assert.Equal(["On"], server.Bmc.ResetRequests);
        Assert.Equal("On", server.Bmc.PowerState);
        if (!noOp)
            Assert.Contains($"{server.Bmc.Profile.OnWhileOnStatus} ", result.Reason, StringComparison.Ordinal);
        Assert.Equal(0, server.Bmc.ActiveSessions);
    }

    [Fact]
    public async Task A_trailing_slash_redirect_is_followed_with_the_body_and_the_authentication()
    {
        await using var server = await Bmcs.StartAsync(o => o.Profile = "ilo5-early");
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.PoweredOn, result);
        var requests = server.Bmc.Requests;
        Assert.Contains(requests, r => r is { Method: "POST", Auth: "redirect" } && r.Path.EndsWith("/Sessions", StringComparison.Ordinal));
        Assert.Contains(requests, r => r is { Method: "POST", Auth: "session" } && r.Path.EndsWith("ComputerSystem.Reset", StringComparison.Ordinal));
        Assert.Equal(1, server.Bmc.SessionsCreated);
        Assert.Equal(1, server.Bmc.SessionsDeleted);
    }

    [Fact]
    public async Task A_redirect_to_another_origin_is_refused_with_a_reason_and_no_credentials_go_there()
    {
        await using var elsewhere = await Bmcs.StartAsync();
        await using var server = await Bmcs.StartAsync();
        server.Bmc.RedirectTo = elsewhere.BaseUrl;
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, result);
        Assert.Contains($"esx-01: the BMC at {server.BaseUrl} redirected GET /redfish/v1/ to another origin (307 Temporary Redirect to {elsewhere.BaseUrl}redfish/v1/); refused",
            result.Reason, StringComparison.Ordinal);
        Assert.Empty(elsewhere.Bmc.Requests);
        Assert.Empty(server.Bmc.ResetRequests);
    }

    [Fact]
    public async Task With_the_session_table_full_Auto_uses_HTTP_Basic_at_once_and_says_why()
    {
        await using var server = await Bmcs.StartAsync(o => { o.Profile = "idrac9"; o.MaxSessions = 2; });
        server.Bmc.OccupySession();
        server.Bmc.OccupySession();
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.PoweredOn, result);
        Assert.Contains("authentication: HTTP Basic, because the BMC's session table is full (503 Base.1.12.SessionLimitExceeded)", result.Reason, StringComparison.Ordinal);
        // Not retried: Basic needs no slot, so there is nothing to wait for.
        Assert.Single(server.Bmc.Requests, r => r.Method == "POST" && r.Path.EndsWith("/Sessions", StringComparison.Ordinal));
        Assert.Contains(server.Bmc.Requests, r => r is { Method: "POST", Auth: "basic" } && r.Path.EndsWith("ComputerSystem.Reset", StringComparison.Ordinal));
        Assert.Equal(2, server.Bmc.ActiveSessions);
    }

    [Fact]
    public async Task With_the_session_table_full_and_Basic_refused_the_reason_says_both()
    {
        await using var server = await Bmcs.StartAsync(o => { o.MaxSessions = 1; o.BasicAuth = false; });
        server.Bmc.OccupySession();
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, result);
        Assert.Contains($"esx-01: the BMC at {server.BaseUrl} answered 401 Unauthorized to GET /redfish/v1/Systems Base.1.4.NoValidSession; " +
            "the BMC refused the credentials of user 'Administrator' with HTTP Basic", result.Reason, StringComparison.Ordinal);
        Assert.Contains("because the BMC's session table is full (503 Base.1.4.SessionLimitExceeded)", result.Reason, StringComparison.Ordinal);
        Assert.Empty(server.Bmc.ResetRequests);
    }

    [Fact]
    public async Task A_wrong_password_with_Basic_on_a_BMC_without_sessions_names_host_BMC_and_answer()
    {
        await using var server = await Bmcs.StartAsync(o => o.Profile = "minimal");
        server.Bmc.Password = "changed-on-the-bmc";
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-09", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, result);
        Assert.Contains($"esx-09: the BMC at {server.BaseUrl} answered 401 Unauthorized to GET /redfish/v1/Systems Base.1.13.ResourceAtUriUnauthorized", result.Reason, StringComparison.Ordinal);
        Assert.Contains("refused the credentials of user 'Administrator' with HTTP Basic", result.Reason, StringComparison.Ordinal);
        Assert.Contains("because the service root offers no sessions", result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(Bmcs.Password, result.Reason, StringComparison.Ordinal);
        Assert.Equal(1, server.Bmc.LoginFailures);
    }

    [Fact]
    public async Task AuthMode_Session_against_a_BMC_without_sessions_says_so_instead_of_blaming_the_password()
    {
        await using var server = await Bmcs.StartAsync(o => o.Profile = "minimal");
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server, h => h.AuthMode = BmcAuthMode.Session), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, result);
        Assert.Contains($"esx-01: the BMC at {server.BaseUrl} offers no SessionService", result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("password", result.Reason, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, server.Bmc.LoginFailures);
    }

    [Theory]
    [InlineData(new[] { "ForceOn", "ForceOff" }, "ForceOn")]
    [InlineData(new[] { "PushPowerButton", "ForceOff" }, "PushPowerButton")]
    [InlineData(new[] { "ForceOn", "On" }, "On")]
    public async Task The_reset_type_is_chosen_from_what_the_BMC_advertises(string[] advertised, string expected)
    {
        await using var server = await Bmcs.StartAsync(o => { o.Profile = "xcc"; o.AllowableResetTypes = [.. advertised]; });
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.PoweredOn, result);
        Assert.Equal([expected], server.Bmc.ResetRequests);
        Assert.Contains($"ComputerSystem.Reset {expected}", result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "Off", "On")]
    [InlineData(new[] { "PushPowerButton" }, "Off", "PushPowerButton")]
    [InlineData(new[] { "PushPowerButton" }, "PoweringOff", null)]
    [InlineData(new[] { "ForceOff", "Nmi" }, "Off", null)]
    public void PushPowerButton_is_only_chosen_for_a_system_that_is_Off(string[]? advertised, string state, string? expected) =>
        Assert.Equal(expected, RedfishClient.ChooseResetType(advertised, state));

    [Theory]
    [InlineData(503)]
    [InlineData(429)]
    public async Task Retry_After_is_honoured_before_the_next_attempt(int status)
    {
        await using var server = await Bmcs.StartAsync();
        void Outage(bool on)
        {
            if (status == 503)
                server.Bmc.Unavailable = on;
            else
                server.Bmc.TooManyRequests = on;
        }
        Outage(true);
        var options = Bmcs.FastOptions();
        options.RetryBaseDelay = TimeSpan.FromMilliseconds(20);
        using var actuator = new Bmcs.Actuator(options);
        var clock = Stopwatch.StartNew();

        // The outage ends once the first request has been answered with it (the simulator records a request after
        // choosing its answer): a retry 20 ms later would succeed at once, the BMC's Retry-After of 1 s makes it wait.
        var powerOn = actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None);
        await RedfishClientTests.Eventually(() => server.Bmc.Requests.Count >= 1);
        Outage(false);
        var result = await powerOn;

        Outcomes.Expect(PowerOnOutcome.PoweredOn, result);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"took only {clock.Elapsed}");
        Assert.Equal(2, server.Bmc.Requests.Count(r => r is { Method: "GET", Path: "/redfish/v1" }));
    }

    [Fact]
    public async Task Boot_progress_is_reported_from_POST_to_booting_the_OS()
    {
        // InPost lasts half the boot: 3 s, so a busy machine's first read still finds the host in POST.
        await using var server = await Bmcs.StartAsync(o => { o.Profile = "ilo6"; o.BootDelay = TimeSpan.FromSeconds(6); });
        var options = Bmcs.FastOptions();
        options.PowerOnTimeout = TimeSpan.FromSeconds(60);
        using var actuator = new Bmcs.Actuator(options);
        var stages = new List<BootProgress>();

        var result = await actuator.Redfish.PowerOnAsync(Bmcs.Host("esx-01", server), CancellationToken.None, (progress, _) =>
        {
            lock (stages)
                stages.Add(progress);
            return Task.CompletedTask;
        });

        Outcomes.Expect(PowerOnOutcome.PoweredOn, result);
        Assert.Equal(["POST", "booting OS"], stages.Select(s => s.Stage).Distinct());
        Assert.Equal("Oem.Hpe.PostState InPost", stages[0].BmcState);
        Assert.Contains("boot progress: booting OS (Oem.Hpe.PostState FinishedPost)", result.Reason, StringComparison.Ordinal);
    }
}
