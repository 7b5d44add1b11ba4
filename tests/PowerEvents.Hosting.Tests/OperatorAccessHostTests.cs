using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace PowerEvents.Hosting.Tests;

/// <summary>
/// The guard stands in front of an endpoint a component maps in its own startup filter (as the plan preview does),
/// in a host started for real on a loopback port. No broker is needed: the bus connects in the background.
/// </summary>
public sealed class OperatorAccessHostTests
{
    const string Token = "host-test-token-0123456789abcdef0123456789";

    sealed class ComponentEndpoint : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Map("/power/plan", branch => branch.Run(context => context.Response.WriteAsync("the whole inventory")));
            next(app);
        };
    }

    [Fact]
    public async Task An_endpoint_mapped_by_a_component_answers_only_with_the_token_and_health_answers_anyone()
    {
        var builder = ServiceDefaults.CreateBuilder("guard-test",
        [
            "--urls=http://127.0.0.1:0", "--RabbitMq:Host=127.0.0.1", "--RabbitMq:Port=1", "--RabbitMq:Username=u", "--RabbitMq:Password=p",
            $"--OperatorApi:Token={Token}", "--Serilog:MinimumLevel:Default=Fatal",
        ]);
        builder.Services.AddTransient<IStartupFilter, ComponentEndpoint>();
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var http = new HttpClient { BaseAddress = new Uri(address) };

            using var anonymous = await http.GetAsync("/power/plan/cluster1");
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("", await anonymous.Content.ReadAsStringAsync());

            using var request = new HttpRequestMessage(HttpMethod.Get, "/power/plan/cluster1") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
            using var authorized = await http.SendAsync(request);
            Assert.Equal("the whole inventory", await authorized.Content.ReadAsStringAsync());

            using var live = await http.GetAsync("/health/live");
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Metrics_answer_only_with_the_token_also_where_a_service_removed_the_guard(bool guardRemoved)
    {
        var builder = ServiceDefaults.CreateBuilder("metrics-guard-test",
        [
            "--urls=http://127.0.0.1:0", "--RabbitMq:Host=127.0.0.1", "--RabbitMq:Port=1", "--RabbitMq:Username=u", "--RabbitMq:Password=p",
            $"--OperatorApi:Token={Token}", "--Serilog:MinimumLevel:Default=Fatal",
        ]);
        if (guardRemoved)
            builder.Services.RemoveOperatorAccessGuard();
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var http = new HttpClient { BaseAddress = new Uri(address) };

            using var anonymous = await http.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

            using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
            using var authorized = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, authorized.StatusCode);
            Assert.Contains("process_cpu_seconds_total", await authorized.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task A_configured_metrics_port_serves_metrics_without_the_token_and_nothing_else()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var builder = ServiceDefaults.CreateBuilder("metrics-port-test",
        [
            "--urls=http://127.0.0.1:0", "--RabbitMq:Host=127.0.0.1", "--RabbitMq:Port=1", "--RabbitMq:Username=u", "--RabbitMq:Password=p",
            $"--OperatorApi:Token={Token}", "--Serilog:MinimumLevel:Default=Fatal", $"--Metrics:Port={port}", "--Metrics:Host=127.0.0.1",
        ]);
        builder.Services.AddTransient<IStartupFilter, ComponentEndpoint>();
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

            // The metric server is a hosted service that opens its listener in the background: on a loaded machine it may
            // not accept yet when the host has started. Wait for it, generously.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            HttpResponseMessage? first = null;
            while (first is null)
            {
                try
                {
                    first = await http.GetAsync("/metrics");
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(200);
                }
            }

            using var metrics = first;
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
            Assert.Contains("process_cpu_seconds_total", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            using var other = await http.GetAsync("/power/plan/cluster1");
            Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
