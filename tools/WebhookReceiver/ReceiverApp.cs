using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace PowerEvents.WebhookReceiver;

/// <summary>
/// A webhook endpoint for tests and the local run.
/// <list type="bullet">
/// <item><c>POST /hooks/{name}</c>: records the call and answers 200 "ok" (or what a failure plan says).</item>
/// <item><c>POST /control/fail</c> <c>{"path":"/hooks/a","status":429,"count":2,"retryAfter":"1"}</c>: the next
/// <c>count</c> calls to <c>path</c> (every path when omitted) answer <c>status</c>; <c>retryAfter</c> is sent as the
/// Retry-After header (<c>"2"</c>, or <c>"date:+2"</c> for an HTTP date 2 s ahead); status 0 never answers.</item>
/// <item><c>GET /control/received[?path=/hooks/a]</c>: what was received, in order. <c>DELETE /control/received</c> forgets it and the plans.</item>
/// </list>
/// With <c>Receiver:SigningSecret</c> set, every call is verified the way docs/notifier.md tells a receiver to, and
/// refused with 401 when its signature is missing, wrong or older than <c>Receiver:SignatureTolerance</c>. Paths that
/// stand in for Slack, Teams or Discord (which are not signed) are exempt only when named: <c>Receiver:UnsignedPaths:N</c>
/// (e.g. <c>/hooks/slack</c>), or <see cref="ReceiverState.AllowUnsigned"/> in a test.
/// </summary>
public static class ReceiverApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(ReceiverApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Services.AddSingleton<ReceiverState>();
        var app = builder.Build();
        foreach (var path in app.Configuration.GetSection("Receiver:UnsignedPaths").Get<string[]>() ?? [])
            app.Services.GetRequiredService<ReceiverState>().AllowUnsigned(path);

        var secret = app.Configuration["Receiver:SigningSecret"];
        var tolerance = app.Configuration.GetValue("Receiver:SignatureTolerance", TimeSpan.FromMinutes(5));

        app.MapPost("/hooks/{**name}", async (HttpContext http, ReceiverState state) =>
        {
            var receivedAt = DateTimeOffset.UtcNow;
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
            var raw = buffer.ToArray();
            var path = http.Request.Path.Value!;
            var headers = http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);

            string? signature = null;
            if (secret is { Length: > 0 } && !state.IsUnsigned(path))
                signature = SignatureVerifier.Check(secret, headers.GetValueOrDefault("X-PowerEvents-Signature"), raw, receivedAt, tolerance);

            var plan = state.TakeFailure(path);
            var status = plan?.Status ?? (signature is null or "valid" ? 200 : 401);
            state.Record(new ReceivedCall(path, headers, System.Text.Encoding.UTF8.GetString(raw), receivedAt, status, signature));

            if (status == 0)
            {
                // A dead endpoint: the connection stays open, nothing comes back.
                await Task.Delay(Timeout.Infinite, http.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return Results.Empty;
            }

            if (plan?.RetryAfter is { } retryAfter)
                http.Response.Headers.RetryAfter = retryAfter.StartsWith("date:+", StringComparison.Ordinal)
                    ? receivedAt.AddSeconds(double.Parse(retryAfter[6..], CultureInfo.InvariantCulture)).ToString("R", CultureInfo.InvariantCulture)
                    : retryAfter;
            return status == 200 ? Results.Text("ok") : Results.Json(new { error = $"planned answer {status}" }, statusCode: status);
        });

        app.MapPost("/control/fail", (FailurePlan plan, ReceiverState state) =>
        {
            state.Plan(plan);
            return Results.NoContent();
        });
        app.MapGet("/control/received", (string? path, ReceiverState state) => Results.Json(state.Received(path)));
        app.MapDelete("/control/received", (ReceiverState state) =>
        {
            state.Clear();
            return Results.NoContent();
        });
        app.MapGet("/health", () => Results.Text("ok"));
        return app;
    }

    /// <summary>Where the started receiver listens (useful with <c>--urls=http://127.0.0.1:0</c>).</summary>
    public static Uri BaseAddress(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
}

/// <summary>One call as the receiver saw it. <paramref name="Signature"/>: valid, mismatch, expired, malformed, missing; null when not checked.</summary>
public sealed record ReceivedCall(string Path, IReadOnlyDictionary<string, string> Headers, string Body, DateTimeOffset ReceivedAt, int Status, string? Signature);

/// <summary>The next <see cref="Count"/> calls to <see cref="Path"/> (all paths when null) answer <see cref="Status"/>.</summary>
public sealed record FailurePlan(string? Path, int Status, int Count, string? RetryAfter);

public sealed class ReceiverState
{
    readonly ConcurrentQueue<ReceivedCall> _received = new();
    readonly ConcurrentDictionary<string, bool> _unsigned = new(StringComparer.Ordinal);
    readonly List<(FailurePlan Plan, int Left)> _plans = [];
    readonly Lock _lock = new();

    public void Record(ReceivedCall call) => _received.Enqueue(call);

    /// <summary>Calls to this path (exactly, e.g. <c>/hooks/slack</c>) are taken without a signature: a chat format stands in here.</summary>
    public void AllowUnsigned(string path) => _unsigned[path] = true;

    public bool IsUnsigned(string path) => _unsigned.ContainsKey(path);

    public IReadOnlyList<ReceivedCall> Received(string? path = null) =>
        _received.Where(c => path is null || c.Path == path).ToList();

    public void Plan(FailurePlan plan)
    {
        lock (_lock)
            _plans.Add((plan, plan.Count));
    }

    public FailurePlan? TakeFailure(string path)
    {
        lock (_lock)
        {
            var index = _plans.FindIndex(p => p.Left > 0 && (p.Plan.Path is null || p.Plan.Path == path));
            if (index < 0)
                return null;
            var (plan, left) = _plans[index];
            _plans[index] = (plan, left - 1);
            return plan;
        }
    }

    public void Clear()
    {
        lock (_lock)
            _plans.Clear();
        _received.Clear();
    }
}
