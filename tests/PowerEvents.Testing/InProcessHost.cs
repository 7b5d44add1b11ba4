using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace PowerEvents.Testing;

/// <summary>A service host built in the test's process (<c>XxxHost.Build(args)</c>) and started on a real port.</summary>
public static class InProcessHost
{
    static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Starts the host and waits until its <c>/health/ready</c> answers 200.</summary>
    public static async Task<WebApplication> StartAsync(WebApplication app, TimeSpan? timeout = null)
    {
        await app.StartAsync();
        await WaitUntilReadyAsync(app, timeout);
        return app;
    }

    /// <summary>Polls <c>/health/ready</c> until it answers 200; fails with the last answer otherwise.</summary>
    public static async Task WaitUntilReadyAsync(WebApplication app, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + limit;
        var last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await http.GetAsync("/health/ready");
                if (response.StatusCode == HttpStatusCode.OK)
                    return;
                last = $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}";
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                last = ex.Message;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{address}/health/ready not OK after {limit.TotalSeconds:F0} s (last: {last})");
    }
}
