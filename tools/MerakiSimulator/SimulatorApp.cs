using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Primitives;

namespace PowerEvents.Tools.MerakiSimulator;

/// <summary>
/// The Meraki Dashboard API v1 sensor paths as the real service answers them (schemas from the v1.44.0
/// OpenAPI spec): API-key auth (Bearer or X-Cisco-Meraki-API-Key), a per-organization token bucket
/// answered with 429 + Retry-After, Link-header pagination with absolute URLs, and {"errors":[...]}
/// bodies. Plus <c>/generic/alarms</c> (a generic alarm API whose body the test sets) and a control API
/// under <c>/_sim</c>. Tests host it in-process on port 0, the local run as a process.
/// </summary>
public static class SimulatorApp
{
    public const string ApiPrefix = "/api/v1";
    const string FirstToken = "0000-0000-0000";
    const string LastToken = "ZZZZ-ZZZZ-ZZZZ";

    /// <param name="certificate">Serve https with this certificate (tests: a self-signed one the client pins).</param>
    public static WebApplication Build(string[] args, TimeProvider? clock = null, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(SimulatorApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        if (builder.Configuration["urls"] is null && builder.Configuration["Urls"] is null)
            builder.WebHost.UseUrls("http://127.0.0.1:35480");
        if (certificate is not null)
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate));

        var world = new World(clock ?? TimeProvider.System);
        var settings = builder.Configuration.GetSection("Simulator");
        foreach (var key in settings.GetSection("ApiKeys").GetChildren().Select(c => c.Value).OfType<string>())
            world.ApiKeys.Add(key);
        if (settings.GetValue("Demo", false))
            SeedDemo(world);
        builder.Services.AddSingleton(world);
        builder.Services.AddSingleton(new MqttGateway(world, settings.GetSection("Mqtt")));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MqttGateway>());

        var app = builder.Build();
        app.Use((context, next) => MerakiGate(world, context, next));
        MapMeraki(app, world);
        MapGeneric(app, world);
        MapControl(app, world);
        return app;
    }

    /// <summary>A small inventory for the local run: one organization, one network, three sensors reporting every 20 s.</summary>
    static void SeedDemo(World world)
    {
        world.AddOrganization("549236", "PowerEvents Demo");
        world.AddNetwork("N_24329156", "549236", "Main Office", 35);
        foreach (var serial in new[] { "Q3CA-AAAA-0001", "Q3CA-AAAA-0002", "Q3CA-AAAA-0003" })
            world.SetSensor(serial, "N_24329156", 24, null, TimeSpan.FromSeconds(20), null);
    }

    /// <summary>Auth, rate limit and faults for /api/v1, in the order the real service applies them.</summary>
    static async Task MerakiGate(World world, HttpContext context, Func<Task> next)
    {
        var path = context.Request.Path.Value ?? "";
        if (!path.StartsWith(ApiPrefix + "/", StringComparison.Ordinal) && !path.StartsWith("/generic/", StringComparison.Ordinal))
        {
            await next();
            return;
        }

        // Requests are recorded with the time they arrived (when the real API's limiter counts them).
        var arrived = world.Clock.GetUtcNow();
        var auth = context.Request.Headers.Authorization.ToString() is { Length: > 0 } bearer ? "bearer"
            : context.Request.Headers.ContainsKey("X-Cisco-Meraki-API-Key") ? "x-cisco-meraki-api-key" : "none";
        context.Response.OnCompleted(() =>
        {
            world.Record(new RequestRecord(arrived, context.Request.Method,
                path + context.Request.QueryString, context.Response.StatusCode, auth));
            return Task.CompletedTask;
        });

        if (path.StartsWith("/generic/", StringComparison.Ordinal))
        {
            if (await ApplyFault(world, context, path) is false)
                await next();
            return;
        }

        if (ApiKey(context.Request) is not { } key || !world.ApiKeys.Contains(key))
        {
            await Errors(context, StatusCodes.Status401Unauthorized, "Invalid API key");
            return;
        }

        var organization = OrganizationOf(world, path);
        if (organization is not null && world.TryTakeToken(organization) is { } wait)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            await Errors(context, StatusCodes.Status429TooManyRequests, "API rate limit exceeded for organization");
            return;
        }

        if (await ApplyFault(world, context, path) is false)
            await next();
    }

    static string? ApiKey(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return authorization["Bearer ".Length..].Trim();
        return request.Headers.TryGetValue("X-Cisco-Meraki-API-Key", out var key) ? key.ToString() : null;
    }

    static Organization? OrganizationOf(World world, string path)
    {
        var parts = path[ApiPrefix.Length..].Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length >= 2 && parts[0] == "organizations")
            return world.FindOrganization(parts[1]);
        if (parts.Length >= 2 && parts[0] == "networks" && world.FindNetwork(parts[1]) is { } network)
            return world.FindOrganization(network.OrganizationId);
        return null;
    }

    /// <summary>Status and transport faults answer here; content faults are left on the context for the handler.</summary>
    static async Task<bool> ApplyFault(World world, HttpContext context, string path)
    {
        var fault = world.TakeFault(path);
        if (fault is null)
            return false;
        if (fault.DelayMilliseconds > 0)
            await Task.Delay(fault.DelayMilliseconds, context.RequestAborted);

        switch (fault.Kind)
        {
            case "status":
                if (fault.Status == StatusCodes.Status429TooManyRequests)
                    context.Response.Headers.RetryAfter = fault.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                await Errors(context, fault.Status, fault.Status == 429 ? "API rate limit exceeded for organization" : "Something went wrong");
                return true;
            case "redirect":
                // The real API redirects to an organization's shard host; the same API on another host name here,
                // or to the fault's Target (another server: an attacker's, in a test).
                var target = fault.Target is { Length: > 0 } elsewhere
                    ? new UriBuilder(new Uri(new Uri(elsewhere), path)) { Query = context.Request.QueryString.Value?.TrimStart('?') ?? "" }
                    : new UriBuilder(context.Request.Scheme, context.Request.Host.Host == "localhost" ? "127.0.0.1" : "localhost",
                        context.Request.Host.Port ?? 80, path) { Query = context.Request.QueryString.Value?.TrimStart('?') ?? "" };
                context.Response.StatusCode = StatusCodes.Status307TemporaryRedirect;
                context.Response.Headers.Location = target.Uri.AbsoluteUri;
                return true;
            default:
                context.Items[nameof(Fault)] = fault;
                return false;
        }
    }

    static void MapMeraki(WebApplication app, World world)
    {
        var api = app.MapGroup(ApiPrefix);

        api.MapGet("/organizations", () => Results.Json(world.Organizations().Select(o => new
        {
            id = o.Id, name = o.Name, url = $"https://n1.meraki.com/o/{o.Id}/manage/organization/overview", api = new { enabled = true },
        })));

        // What a key may read: 404 for an organization it has no access to (the real API's answer), as for one that does not exist.
        api.MapGet("/organizations/{organizationId}", async (HttpContext context, string organizationId) =>
            world.FindOrganization(organizationId) is { } o
                ? Results.Json(new { id = o.Id, name = o.Name, url = $"https://n1.meraki.com/o/{o.Id}/manage/organization/overview", api = new { enabled = true } })
                : await NotFound(context));

        api.MapGet("/organizations/{organizationId}/networks", async (HttpContext context, string organizationId) =>
        {
            if (world.FindOrganization(organizationId) is null)
                return await NotFound(context);
            return Results.Json(world.Networks(organizationId).Select(n => new
            {
                id = n.Id, organizationId = n.OrganizationId, name = n.Name, productTypes = new[] { "sensor" }, timeZone = "Etc/UTC", tags = Array.Empty<string>(),
            }));
        });

        api.MapGet("/organizations/{organizationId}/sensor/readings/latest", async (HttpContext context, string organizationId) =>
        {
            if (world.FindOrganization(organizationId) is null)
                return await NotFound(context);
            var query = context.Request.Query;
            var perPage = 1000;
            if (query.TryGetValue("perPage", out var perPageText)
                && (!int.TryParse(perPageText, NumberStyles.Integer, CultureInfo.InvariantCulture, out perPage) || perPage is < 3 or > 1000))
            {
                await Errors(context, StatusCodes.Status400BadRequest, "'perPage' must be an integer between 3 and 1000");
                return Results.Empty;
            }

            var networkIds = ArrayParameter(query, "networkIds");
            var serials = ArrayParameter(query, "serials");
            var metrics = ArrayParameter(query, "metrics");
            var all = world.Readings(organizationId)
                .Where(r => networkIds.Count == 0 || networkIds.Contains(r.Network.Id))
                .Where(r => serials.Count == 0 || serials.Contains(r.Sensor.Serial))
                .ToList();

            var startingAfter = query["startingAfter"].ToString();
            var endingBefore = query["endingBefore"].ToString();
            List<(Sensor Sensor, Network Network, DateTimeOffset Ts)> page;
            if (startingAfter.Length > 0)
                page = all.Where(r => string.CompareOrdinal(r.Sensor.Serial, startingAfter) > 0).Take(perPage).ToList();
            else if (endingBefore.Length > 0)
                page = all.Where(r => string.CompareOrdinal(r.Sensor.Serial, endingBefore) < 0).TakeLast(perPage).ToList();
            else
                page = all.Take(perPage).ToList();

            // The real API takes its time per page (seconds for a large organization); every page, first to last.
            if (world.PageLatency > TimeSpan.Zero)
                await Task.Delay(world.PageLatency, world.Clock, context.RequestAborted);

            var fault = context.Items[nameof(Fault)] as Fault;
            var body = new JsonArray();
            foreach (var (sensor, network, ts) in page)
            {
                var readings = new JsonArray();
                if (metrics.Count == 0 || metrics.Contains("temperature"))
                    readings.Add(TemperatureReading(sensor, ts, fault, world.Clock.GetUtcNow()));
                if (metrics.Count == 0 || metrics.Contains("humidity"))
                    readings.Add(new JsonObject { ["ts"] = Iso.Format(ts), ["metric"] = "humidity", ["humidity"] = new JsonObject { ["relativePercentage"] = 41 } });
                if (readings.Count == 0)
                    continue;
                body.Add(new JsonObject
                {
                    ["serial"] = sensor.Serial,
                    ["network"] = new JsonObject { ["id"] = network.Id, ["name"] = network.Name },
                    ["readings"] = readings,
                });
            }

            var links = new List<string>();
            string Link(string rel, string? after, string? before) => $"<{PageUrl(context, perPage, after, before)}>; rel={rel}";
            // As the real API does: first and last through sentinel tokens, prev/next through the page's edge items.
            links.Add(Link("first", FirstToken, null));
            if (page.Count > 0 && all.Count > 0 && page[0].Sensor.Serial != all[0].Sensor.Serial)
                links.Add(Link("prev", null, page[0].Sensor.Serial));
            if (page.Count > 0 && all.Count > 0 && page[^1].Sensor.Serial != all[^1].Sensor.Serial)
                links.Add(Link("next", page[^1].Sensor.Serial, null));
            links.Add(Link("last", null, LastToken));
            context.Response.Headers.Link = fault?.Kind == "foreignNextLink"
                ? $"<{(fault.Target is { Length: > 0 } t ? t.TrimEnd('/') : "https://evil.example")}/api/v1/organizations/{organizationId}/sensor/readings/latest?perPage={perPage}&startingAfter=x>; rel=next"
                : string.Join(", ", links);
            return Json(context, body, fault);
        });

        api.MapGet("/networks/{networkId}/sensor/alerts/current/overview/byMetric", async (HttpContext context, string networkId) =>
        {
            if (world.FindNetwork(networkId) is not { } network)
                return await NotFound(context);
            var fault = context.Items[nameof(Fault)] as Fault;
            var now = world.Clock.GetUtcNow();
            var alerting = world.SensorsOf(networkId).Count(s => s.CelsiusAt(now) > network.AlertAboveCelsius);
            var counts = new JsonObject
            {
                ["apparentPower"] = 0, ["co2"] = 0, ["current"] = 0, ["door"] = 0, ["frequency"] = 0, ["humidity"] = 0,
                ["indoorAirQuality"] = 0, ["noise"] = new JsonObject { ["ambient"] = 0 }, ["pm25"] = 0, ["powerFactor"] = 0,
                ["realPower"] = 0, ["temperature"] = alerting, ["tvoc"] = 0, ["upstreamPower"] = 0, ["voltage"] = 0, ["water"] = 0,
            };
            if (fault?.Kind == "missingFields")
                counts.Remove("temperature");
            var body = new JsonObject
            {
                ["supportedMetrics"] = new JsonArray("temperature", "humidity"),
                ["counts"] = counts,
            };
            return Json(context, body, fault);
        });
    }

    static JsonObject TemperatureReading(Sensor sensor, DateTimeOffset ts, Fault? fault, DateTimeOffset now)
    {
        var celsius = fault?.Kind == "outOfRange" ? 900 : sensor.Celsius;
        var fahrenheit = Math.Round(celsius * 9 / 5 + 32, 2);
        var temperature = new JsonObject
        {
            ["fahrenheit"] = fahrenheit,
            // A sensor misconfigured upstream: the Fahrenheit figure in the Celsius field.
            ["celsius"] = fault?.Kind == "wrongUnit" ? fahrenheit : Math.Round(celsius, 2),
        };
        if (fault?.Kind == "nullTemperature")
            temperature["celsius"] = null;
        var reading = new JsonObject
        {
            ["ts"] = Iso.Format(fault?.Kind == "staleTimestamp" ? now.AddHours(-3) : ts),
            ["metric"] = "temperature",
            ["temperature"] = temperature,
        };
        if (fault?.Kind == "missingFields")
            reading.Remove("temperature");
        return reading;
    }

    static IResult Json(HttpContext context, JsonNode body, Fault? fault)
    {
        var text = body.ToJsonString();
        if (fault?.Kind == "malformedJson")
            text = text[..(text.Length / 2)];
        return Results.Text(text, "application/json; charset=utf-8", Encoding.UTF8);
    }

    /// <summary>Meraki spells array parameters <c>name[]=a&amp;name[]=b</c>; plain <c>name=a</c> is accepted too.</summary>
    static HashSet<string> ArrayParameter(IQueryCollection query, string name)
    {
        var values = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in new[] { name + "[]", name })
            foreach (var value in query[key].OfType<string>())
                values.Add(value);
        return values;
    }

    static string PageUrl(HttpContext context, int perPage, string? startingAfter, string? endingBefore)
    {
        var request = context.Request;
        var parameters = new List<string> { $"perPage={perPage}" };
        if (startingAfter is not null)
            parameters.Add("startingAfter=" + Uri.EscapeDataString(startingAfter));
        if (endingBefore is not null)
            parameters.Add("endingBefore=" + Uri.EscapeDataString(endingBefore));
        foreach (var (key, values) in request.Query)
        {
            if (key is "perPage" or "startingAfter" or "endingBefore")
                continue;
            foreach (var value in values.OfType<string>())
                parameters.Add($"{Uri.EscapeDataString(key)}={Uri.EscapeDataString(value)}");
        }
        return $"{request.Scheme}://{request.Host}{request.PathBase}{request.Path}?{string.Join('&', parameters)}";
    }

    static void MapGeneric(WebApplication app, World world)
    {
        // GET, or POST with a JSON body (JSON-RPC such as Zabbix's): the body and headers are recorded for tests.
        app.MapMethods("/generic/alarms", ["GET", "POST"], async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            world.RecordGeneric(new GenericRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, context.Request.ContentType,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body));
            if (world.GenericAuth is { } auth && context.Request.Headers[auth.Header].ToString() != auth.Value)
                return Results.Json(new { error = "unauthorized" }, statusCode: StatusCodes.Status401Unauthorized);
            var response = world.Generic;
            return Results.Text(response.Body, response.ContentType, Encoding.UTF8, response.Status);
        });
    }

    static void MapControl(WebApplication app, World world)
    {
        var sim = app.MapGroup("/_sim");
        sim.MapPost("/reset", () => { world.Reset(); return Results.NoContent(); });
        sim.MapPut("/organizations/{id}", (string id, OrganizationBody body) => { world.AddOrganization(id, body.Name); return Results.NoContent(); });
        sim.MapPut("/networks/{id}", (string id, NetworkBody body) =>
        {
            world.AddNetwork(id, body.OrganizationId, body.Name, body.AlertAboveCelsius ?? 35);
            return Results.NoContent();
        });
        sim.MapPut("/sensors/{serial}", (string serial, SensorBody body) =>
        {
            if (body.RisePerSecond is { } rise && body.ReportEverySeconds is { } every)
                world.SetRamp(serial, body.NetworkId, body.Celsius, rise, TimeSpan.FromSeconds(every), body.Pattern);
            else
                world.SetSensor(serial, body.NetworkId, body.Pattern is { Length: > 0 } pattern ? pattern : [body.Celsius], body.Ts,
                    body.ReportEverySeconds is { } s ? TimeSpan.FromSeconds(s) : null, body.Mac);
            return Results.NoContent();
        });
        sim.MapPut("/latency", (LatencyBody body) => { world.PageLatency = TimeSpan.FromMilliseconds(body.PageMilliseconds); return Results.NoContent(); });
        sim.MapPut("/rate-limit", (RateLimitBody body) => { world.RatePerSecond = body.RatePerSecond; world.Burst = body.Burst; return Results.NoContent(); });
        sim.MapPost("/mqtt/publish", async (HttpContext context) =>
        {
            var gateway = context.RequestServices.GetRequiredService<MqttGateway>();
            if (!gateway.Configured)
                return Results.Json(new { errors = new[] { "no broker: start with --Simulator:Mqtt:Url=mqtt://host:port" } }, statusCode: StatusCodes.Status409Conflict);
            return Results.Json(new { published = await gateway.PublishAsync(context.RequestAborted) });
        });
        sim.MapPost("/faults", (Fault fault) => { world.AddFault(fault); return Results.NoContent(); });
        sim.MapDelete("/faults", () => { world.ClearFaults(); return Results.NoContent(); });
        sim.MapGet("/requests", () => Results.Json(world.Requests()));
        sim.MapPut("/generic", (GenericResponse response) => { world.Generic = response; return Results.NoContent(); });
    }

    static async Task<IResult> NotFound(HttpContext context)
    {
        await Errors(context, StatusCodes.Status404NotFound, "Not found");
        return Results.Empty;
    }

    static Task Errors(HttpContext context, int status, string error)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { errors = new[] { error } }));
    }

    public sealed record OrganizationBody(string Name);
    public sealed record NetworkBody(string OrganizationId, string Name, double? AlertAboveCelsius);
    /// <param name="RisePerSecond">With <paramref name="ReportEverySeconds"/>: a ramp from <paramref name="Celsius"/>, the pattern as noise.</param>
    public sealed record SensorBody(string NetworkId, double Celsius, DateTimeOffset? Ts, double? ReportEverySeconds, double[]? Pattern, string? Mac, double? RisePerSecond = null);
    public sealed record LatencyBody(int PageMilliseconds);
    public sealed record RateLimitBody(double RatePerSecond, double Burst);
}
