using System.Net;
using System.Text;
using System.Text.Json;
using PowerEvents.RedfishSimulator;
using Xunit;

namespace IloActuator.Tests;

/// <summary>
/// The simulator's vendor profiles, checked with a plain HTTP client: the strict behaviours of embedded BMC web
/// servers (chunked bodies, trailing-slash redirects, URI case, no SessionService) and each vendor's ids and answers.
/// </summary>
public sealed class VendorProfileSimulatorTests
{
    public static TheoryData<string> Profiles => [.. VendorProfile.All.Keys];

    const string Login = $$"""{"UserName":"{{Bmcs.Username}}","Password":"{{Bmcs.Password}}"}""";

    /// <summary>A body whose length is not known up front: HttpClient sends it chunked, as JsonContent did.</summary>
    sealed class ChunkedContent(string text) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(Encoding.UTF8.GetBytes(text)).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }

    [Fact]
    public async Task A_chunked_login_is_refused_with_411_where_the_web_server_cannot_decode_it()
    {
        await using var server = await Bmcs.StartAsync(o => o.Profile = "idrac9");
        using var http = RedfishSimulatorTests.Client(server);

        using var response = await http.PostAsync("/redfish/v1/SessionService/Sessions", new ChunkedContent(Login) { Headers = { ContentType = new("application/json") } });

        Assert.Equal(HttpStatusCode.LengthRequired, response.StatusCode);
        Assert.Equal(1, server.Bmc.ChunkedRequests);
        Assert.Equal(0, server.Bmc.SessionsCreated);
    }

    [Fact]
    public async Task A_chunked_body_reads_as_empty_where_the_web_server_ignores_it()
    {
        await using var server = await Bmcs.StartAsync(o => o.Profile = "ilo5");
        using var http = RedfishSimulatorTests.Client(server, basic: true);

        using var login = await http.PostAsync("/redfish/v1/SessionService/Sessions", new ChunkedContent(Login));
        using var reset = await http.PostAsync("/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", new ChunkedContent("""{"ResetType":"On"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, login.StatusCode);
        Assert.Contains("Base.1.4.PropertyMissing", await login.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, reset.StatusCode);
        Assert.Contains("Base.1.4.ActionParameterMissing", await reset.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(server.Bmc.ResetRequests);
    }

    [Fact]
    public async Task Early_iLO_5_firmware_redirects_a_URI_without_trailing_slash_with_308()
    {
        await using var server = await Bmcs.StartAsync(o => o.Profile = "ilo5-early");
        using var http = RedfishSimulatorTests.Client(server, followRedirects: false);

        using var redirected = await http.GetAsync("/redfish/v1");
        using var root = await http.GetAsync("/redfish/v1/");

        Assert.Equal(HttpStatusCode.PermanentRedirect, redirected.StatusCode);
        Assert.Equal("/redfish/v1/", redirected.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.OK, root.StatusCode);
    }

    [Fact]
    public async Task iLO_ignores_the_case_of_URIs_and_iDRAC_does_not()
    {
        await using var ilo = await Bmcs.StartAsync(o => o.Profile = "ilo5");
        await using var idrac = await Bmcs.StartAsync(o => o.Profile = "idrac9");
        using var iloHttp = RedfishSimulatorTests.Client(ilo, basic: true);
        using var idracHttp = RedfishSimulatorTests.Client(idrac, basic: true);

        using var iloSystem = await iloHttp.GetAsync("/redfish/v1/systems/1");
        using var idracLower = await idracHttp.GetAsync("/redfish/v1/systems/system.embedded.1");
        using var idracSystem = await idracHttp.GetAsync("/redfish/v1/Systems/System.Embedded.1");

        Assert.Equal(HttpStatusCode.OK, iloSystem.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, idracLower.StatusCode);
        Assert.Equal(HttpStatusCode.OK, idracSystem.StatusCode);
    }

    [Fact]
    public async Task The_minimal_profile_has_no_SessionService_and_answers_Basic_only()
    {
        await using var server = await Bmcs.StartAsync(o => o.Profile = "minimal");
        using var http = RedfishSimulatorTests.Client(server);
        using var basic = RedfishSimulatorTests.Client(server, basic: true);

        using var root = JsonDocument.Parse(await http.GetStringAsync("/redfish/v1/"));
        using var login = await http.PostAsync("/redfish/v1/SessionService/Sessions", new StringContent(Login, Encoding.UTF8, "application/json"));
        using var system = await basic.GetAsync("/redfish/v1/Systems/system");

        Assert.False(root.RootElement.TryGetProperty("Links", out _));
        Assert.False(root.RootElement.TryGetProperty("SessionService", out _));
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        Assert.Equal(HttpStatusCode.OK, system.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public async Task Every_profile_refuses_a_PATCH_of_PowerState_as_not_writable(string profile)
    {
        await using var server = await Bmcs.StartAsync(o => o.Profile = profile);
        using var http = RedfishSimulatorTests.Client(server, basic: true);
        var system = $"/redfish/v1/Systems/{server.Bmc.Profile.SystemId}{(server.Bmc.Profile.TrailingSlashes || server.Bmc.Profile.TrailingSlashRedirect ? "/" : "")}";

        using var response = await http.PatchAsync(system, new StringContent("""{"PowerState":"On"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("PropertyNotWritable", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("Off", server.Bmc.PowerState);
    }

    [Fact]
    public async Task A_full_session_table_answers_503_SessionLimitExceeded_with_Retry_After()
    {
        await using var server = await Bmcs.StartAsync(o => { o.Profile = "idrac9"; o.MaxSessions = 1; });
        server.Bmc.OccupySession();
        using var http = RedfishSimulatorTests.Client(server);

        using var response = await http.PostAsync("/redfish/v1/SessionService/Sessions", new StringContent(Login, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        Assert.Contains("Base.1.12.SessionLimitExceeded", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ilo4", 400, "iLO.0.10.InvalidOperationForSystemState")]
    [InlineData("ilo5", 400, "iLO.2.16.InvalidOperationForSystemState")]
    [InlineData("idrac9", 409, "IDRAC.2.8.PSU501")]
    [InlineData("minimal", 204, "")]
    public async Task On_while_On_is_answered_as_the_vendor_answers_it(string profile, int status, string messageId)
    {
        await using var server = await Bmcs.StartAsync(o => { o.Profile = profile; o.InitialPowerState = "On"; });
        using var http = RedfishSimulatorTests.Client(server, basic: true);
        var slash = server.Bmc.Profile.TrailingSlashes ? "/" : "";

        using var response = await http.PostAsync($"/redfish/v1/Systems/{server.Bmc.Profile.SystemId}/Actions/ComputerSystem.Reset{slash}",
            new StringContent("""{"ResetType":"On"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains(messageId, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("On", server.Bmc.PowerState);
    }

    [Theory]
    [InlineData("ilo5", "Oem.Hpe.PostState", "InPost", "FinishedPost")]
    [InlineData("idrac9", "BootProgress.LastState", "PrimaryProcessorInitializationStarted", "OSBootStarted")]
    public async Task Boot_progress_goes_from_POST_to_the_OS_where_the_vendor_reports_it(string profile, string property, string during, string after)
    {
        await using var server = await Bmcs.StartAsync(o => { o.Profile = profile; o.BootDelay = TimeSpan.FromSeconds(8); }); // "during" lasts 4 s
        using var http = RedfishSimulatorTests.Client(server, basic: true);
        var system = $"/redfish/v1/Systems/{server.Bmc.Profile.SystemId}";

        var before = await ReadAsync(http, system, property);
        (await http.PostAsync(system + "/Actions/ComputerSystem.Reset", new StringContent("""{"ResetType":"On"}""", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        var booting = await ReadAsync(http, system, property);
        await RedfishClientTests.Eventually(async () => await ReadAsync(http, system, property) == after, 30);

        Assert.Contains(before, new[] { "PowerOff", "None" });
        Assert.Equal(during, booting);
    }

    static async Task<string?> ReadAsync(HttpClient http, string uri, string dottedProperty)
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync(uri));
        var element = document.RootElement;
        foreach (var name in dottedProperty.Split('.'))
            element = element.GetProperty(name);
        return element.GetString();
    }
}
