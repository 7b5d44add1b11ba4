using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.Console.Tests;

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleFixture>
{
    public const string Name = "console";
}

/// <summary>
/// The Console host in-process over the real RabbitMQ and PostgreSQL, plus a bus of the test's own that publishes the
/// other services' events and listens on the saga's command queue (standing in for the saga).
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    // xUnit 2 collection fixtures cannot take other fixtures: this one owns its servers' fixtures.
    readonly RabbitMqFixture rabbit = new();
    readonly PostgresFixture postgres = new();

    public const string AdminPassword = "admin-password-for-tests";
    public const string SagaQueue = "alarm-evaluator-power-commands";
    public const string ScheduleAlarmCluster = "cluster-sched-alarm";
    public const string ScheduleAlarmZone = "zone-sched";
    public const string ReadinessCluster = "cluster-ready-api";
    public const string ReadinessZone = "zone-ready-api";
    public const string BrowserReadinessCluster = "cluster-r";
    public const string BrowserReadinessZone = "room-r";
    /// <summary>A cluster whose plan the stand-in for the AlarmEvaluator answers; <see cref="SilentPlanCluster"/>'s it never answers.</summary>
    public const string PlanCluster = "cluster-p";
    public const string PlanZone = "room-p";
    public const string SilentPlanCluster = "cluster-p-silent";
    public const string UnknownPlanCluster = "cluster-p-unknown";

    WebApplication _app = null!;
    IBusControl _bus = null!;

    public ConcurrentQueue<object> SagaCommands { get; } = new();

    /// <summary>Every plan request the Console sent to the AlarmEvaluator's queue.</summary>
    public ConcurrentQueue<ClusterPlanPreviewRequested> PlanRequests { get; } = new();

    /// <summary>Every readiness assessment the console published, as another service on the bus receives it.</summary>
    public ConcurrentQueue<ClusterReadinessAssessed> Assessments { get; } = new();

    public string ConnectionString => postgres.ConnectionString;

    /// <summary>http://localhost:port — browsers keep Secure cookies on localhost.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await rabbit.InitializeAsync();
        await postgres.InitializeAsync();
        _bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
            {
                h.Username(RabbitMqFixture.Username);
                h.Password(RabbitMqFixture.Password);
            });
            cfg.ReceiveEndpoint(SagaQueue, e =>
            {
                e.Handler<ClusterDrillRequested>(c => Record(c.Message));
                e.Handler<ClusterShutdownNowRequested>(c => Record(c.Message));
                e.Handler<ClusterPowerOnNowRequested>(c => Record(c.Message));
                e.Handler<PowerOnCancelRequested>(c => Record(c.Message));
            });
            // The AlarmEvaluator's plan preview endpoint (PlanPreviewConsumer), as the Console's requests reach it.
            // Durable as the AlarmEvaluator's endpoint is: the console's send declares the queue so, and a mismatch is refused.
            cfg.ReceiveEndpoint("alarm-evaluator-plan-preview", e =>
            {
                e.Handler<ClusterPlanPreviewRequested>(c =>
                {
                    PlanRequests.Enqueue(c.Message);
                    return c.Message.Cluster switch
                    {
                        PlanCluster => c.RespondAsync(Plans.Typical(PlanCluster, PlanZone)),
                        SilentPlanCluster => Task.CompletedTask,
                        _ => c.RespondAsync(new ClusterPlanPreviewFailed(c.Message.Cluster, "not-found", "no protected cluster by that name")),
                    };
                });
            });
            cfg.ReceiveEndpoint("console-tests-readiness", e =>
            {
                e.AutoDelete = true;
                e.Handler<ClusterReadinessAssessed>(c =>
                {
                    Assessments.Enqueue(c.Message);
                    return Task.CompletedTask;
                });
            });
        });
        await _bus.StartAsync();

        // MassTransit keeps its log context in an AsyncLocal; the host gets a flow of its own.
        Task<WebApplication> starting;
        using (ExecutionContext.SuppressFlow())
            starting = Task.Run(async () =>
            {
                var app = ConsoleHost.Build(
                [
                    "--urls=http://127.0.0.1:0", "--environment=Development", "--Serilog:MinimumLevel:Default=Warning", .. rabbit.HostArgs, .. postgres.HostArgs,
                    $"--Console:AdminPassword={AdminPassword}", "--Console:MinimumOffTime=01:00:00",
                    "--Console:MaxFailedLogins=3", "--Console:LockoutDuration=00:10:00",
                    "--Console:ScheduleTick=00:00:01", "--Console:TimeZone=UTC",
                    $"--Console:Clusters:0:Name={ScheduleAlarmCluster}", $"--Console:Clusters:0:Zones:0={ScheduleAlarmZone}",
                    $"--Console:Clusters:1:Name={ReadinessCluster}", $"--Console:Clusters:1:Zones:0={ReadinessZone}",
                    $"--Console:Clusters:2:Name={BrowserReadinessCluster}", $"--Console:Clusters:2:Zones:0={BrowserReadinessZone}",
                    $"--Console:Clusters:3:Name={PlanCluster}", $"--Console:Clusters:3:Zones:0={PlanZone}",
                    $"--Console:Clusters:4:Name={SilentPlanCluster}", $"--Console:Clusters:5:Name={UnknownPlanCluster}",
                    "--Console:PlanPreviewTimeout=00:00:10",
                    "--Console:Readiness:Interval=00:00:01", "--Console:Readiness:SettleTime=00:00:00",
                ]);
                return await InProcessHost.StartAsync(app);
            });
        _app = await starting;
        var address = new Uri(_app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        BaseAddress = new Uri($"http://localhost:{address.Port}/");
        await WaitForAccountsAsync();
    }

    Task Record(object message)
    {
        SagaCommands.Enqueue(message);
        return Task.CompletedTask;
    }

    public Task PublishAsync<T>(T message) where T : class => _bus.Publish(message);

    /// <summary>An HTTP client with its own cookie jar, logged in (with the CSRF token) unless <paramref name="user"/> is null.</summary>
    public async Task<ConsoleClient> ClientAsync(string? user = "admin", string password = AdminPassword)
    {
        var client = new ConsoleClient(BaseAddress);
        if (user is not null)
        {
            using var response = await client.LoginAsync(user, password);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        return client;
    }

    /// <summary>Creates an account through the API, as the admin would.</summary>
    public async Task CreateUserAsync(string name, string password, string role)
    {
        using var admin = await ClientAsync();
        using var response = await admin.PostAsync("api/users", new { name, password, role });
        Assert.True(response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.Conflict, $"create {name}: {response.StatusCode}");
    }

    async Task WaitForAccountsAsync()
    {
        // The first admin is created by a background service; log in once to know it is there.
        await Eventually.TrueAsync(async () =>
        {
            using var client = new ConsoleClient(BaseAddress);
            using var response = await client.LoginAsync("admin", AdminPassword);
            return response.StatusCode == HttpStatusCode.OK;
        }, "the first admin account was not created");
    }

    public async Task DisposeAsync()
    {
        await _bus.StopAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await postgres.DisposeAsync();
        await rabbit.DisposeAsync();
    }
}

/// <summary>A script's or a browser's view of the API: cookies, and the CSRF token sent back on every change.</summary>
public sealed class ConsoleClient : IDisposable
{
    readonly HttpClient _http;
    // The console's cookies are Secure; .NET's CookieContainer would not send them over http://localhost as browsers do.
    readonly Dictionary<string, string> _cookies = [];
    string _csrf = "";

    public ConsoleClient(Uri baseAddress, string? bearer = null)
    {
        _http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (bearer is not null)
            _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
    }

    public IReadOnlyList<string> SetCookieHeaders { get; private set; } = [];

    async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request)
    {
        if (_cookies.Count > 0)
            request.Headers.Add("Cookie", string.Join("; ", _cookies.Select(c => $"{c.Key}={c.Value}")));
        var response = await _http.SendAsync(request);
        if (response.Headers.TryGetValues("Set-Cookie", out var values))
        {
            SetCookieHeaders = [.. values];
            foreach (var header in values)
            {
                var pair = header.Split(';')[0];
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                var (name, value) = (pair[..eq].Trim(), pair[(eq + 1)..].Trim());
                if (value.Length == 0 || header.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase))
                    _cookies.Remove(name);
                else
                    _cookies[name] = value;
            }
        }
        return response;
    }

    public bool SendCsrf { get; set; } = true;

    public async Task RefreshCsrfAsync()
    {
        using var response = await GetAsync("api/session");
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"GET /api/session: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        _csrf = (await response.Content.ReadFromJsonAsync<SessionView>())!.CsrfToken;
    }

    public async Task<HttpResponseMessage> LoginAsync(string user, string password)
    {
        await RefreshCsrfAsync();
        var response = await PostAsync("api/login", new { user, password });
        await RefreshCsrfAsync(); // the token is bound to the signed-in user
        return response;
    }

    public Task<HttpResponseMessage> GetAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Get, path));

    public async Task<T?> GetJsonAsync<T>(string path)
    {
        using var response = await GetAsync(path);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<T>();
    }

    public Task<HttpResponseMessage> PostAsync(string path, object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (SendCsrf && _csrf.Length > 0)
            request.Headers.Add("X-CSRF-TOKEN", _csrf);
        return SendAsync(request);
    }

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, path);
        if (SendCsrf && _csrf.Length > 0)
            request.Headers.Add("X-CSRF-TOKEN", _csrf);
        return SendAsync(request);
    }

    public void Dispose() => _http.Dispose();
}

public static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, string failure, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
                return;
            await Task.Delay(100);
        }
        Assert.Fail(failure);
    }
}
