using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using PowerEvents.RedfishSimulator;
using Xunit;

namespace IloActuator.Tests;

/// <summary>
/// The simulator answers what an iLO answers (DMTF resources, iLO error bodies and message ids), checked with a
/// plain HTTP client so that a mistake shared by simulator and actuator cannot hide.
/// </summary>
public sealed class RedfishSimulatorTests
{
    [Fact]
    public async Task The_service_root_is_open_and_names_Systems_and_the_sessions_collection()
    {
        await using var server = await Bmcs.StartAsync();
        using var http = Client(server);

        using var root = JsonDocument.Parse(await http.GetStringAsync("/redfish/v1/"));

        Assert.StartsWith("#ServiceRoot.", root.RootElement.GetProperty("@odata.type").GetString(), StringComparison.Ordinal);
        Assert.Equal("/redfish/v1/Systems", root.RootElement.GetProperty("Systems").GetProperty("@odata.id").GetString());
        Assert.Equal("/redfish/v1/SessionService/Sessions", root.RootElement.GetProperty("Links").GetProperty("Sessions").GetProperty("@odata.id").GetString());
    }

    [Fact]
    public async Task Without_credentials_a_system_answers_401_with_iLOs_extended_error_and_NoValidSession()
    {
        await using var server = await Bmcs.StartAsync();
        using var http = Client(server);

        using var response = await http.GetAsync("/redfish/v1/Systems/1");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = body.RootElement.GetProperty("error");
        Assert.Equal("iLO.0.10.ExtendedInfo", error.GetProperty("code").GetString());
        Assert.Equal("Base.1.4.NoValidSession", error.GetProperty("@Message.ExtendedInfo")[0].GetProperty("MessageId").GetString());
    }

    [Fact]
    public async Task A_session_gives_a_token_and_a_location_and_deleting_it_frees_the_slot()
    {
        await using var server = await Bmcs.StartAsync();
        using var http = Client(server);

        using var created = await http.PostAsync("/redfish/v1/SessionService/Sessions",
            new StringContent($$"""{"UserName":"{{Bmcs.Username}}","Password":"{{Bmcs.Password}}"}""", Encoding.UTF8, "application/json"));
        var token = created.Headers.GetValues("X-Auth-Token").Single();
        var location = created.Headers.Location!;
        using var delete = new HttpRequestMessage(HttpMethod.Delete, location);
        delete.Headers.Add("X-Auth-Token", token);
        using var deleted = await http.SendAsync(delete);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal(0, server.Bmc.ActiveSessions);
    }

    [Fact]
    public async Task Beyond_the_session_limit_a_login_gets_503_SessionLimitExceeded()
    {
        await using var server = await Bmcs.StartAsync(o => o.MaxSessions = 1);
        server.Bmc.OccupySession();
        using var http = Client(server);

        using var response = await http.PostAsync("/redfish/v1/SessionService/Sessions",
            new StringContent($$"""{"UserName":"{{Bmcs.Username}}","Password":"{{Bmcs.Password}}"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("Base.1.4.SessionLimitExceeded", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Off", """{"ResetType":"Bogus"}""", 400, "iLO.2.16.ActionParameterValueNotInList")]
    [InlineData("Off", """{}""", 400, "Base.1.4.ActionParameterMissing")]
    [InlineData("On", """{"ResetType":"On"}""", 400, "iLO.2.16.InvalidOperationForSystemState")]
    [InlineData("Off", """{"ResetType":"On"}""", 200, "Base.1.4.Success")]
    public async Task A_reset_is_answered_as_iLO_answers_it(string powerState, string body, int status, string messageId)
    {
        await using var server = await Bmcs.StartAsync(o => o.InitialPowerState = powerState);
        using var http = Client(server, basic: true);

        using var response = await http.PostAsync("/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains(messageId, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_accepted_On_goes_through_PoweringOn_to_On_after_the_boot_delay()
    {
        // 5 s: long enough that a busy machine's read right after the reset still finds it powering on.
        await using var server = await Bmcs.StartAsync(o => o.BootDelay = TimeSpan.FromSeconds(5));
        using var http = Client(server, basic: true);

        using var reset = await http.PostAsync("/redfish/v1/Systems/1/Actions/ComputerSystem.Reset",
            new StringContent("""{"ResetType":"On"}""", Encoding.UTF8, "application/json"));
        var rightAfter = await PowerStateAsync(http);
        await RedfishClientTests.Eventually(async () => await PowerStateAsync(http) == "On", 30);

        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        Assert.Equal("PoweringOn", rightAfter);
    }

    [Fact]
    public async Task The_control_API_sets_power_and_faults()
    {
        await using var server = await Bmcs.StartAsync();
        using var http = Client(server);

        (await http.PostAsJsonAsync("/control/power", new { State = "On" })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync("/control/faults", new { FailNextRequests = 1, Password = "new" })).EnsureSuccessStatusCode();
        using var failed = await http.GetAsync("/redfish/v1/");
        var state = await http.GetFromJsonAsync<BmcSnapshot>("/control/state");

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal("On", state!.PowerState);
        Assert.Equal("new", server.Bmc.Password);
    }

    static async Task<string?> PowerStateAsync(HttpClient http)
    {
        using var system = JsonDocument.Parse(await http.GetStringAsync("/redfish/v1/Systems/1"));
        return system.RootElement.GetProperty("PowerState").GetString();
    }

    internal static HttpClient Client(BmcServer server, bool basic = false, bool followRedirects = true)
    {
        var fingerprint = server.Fingerprint!.Replace(":", "", StringComparison.Ordinal);
        var http = new HttpClient(new HttpClientHandler
        {
            AllowAutoRedirect = followRedirects,
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
                certificate is not null && certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256) == fingerprint,
        })
        { BaseAddress = server.BaseUrl, Timeout = TimeSpan.FromSeconds(10) };
        if (basic)
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Bmcs.Username}:{Bmcs.Password}")));
        return http;
    }
}
