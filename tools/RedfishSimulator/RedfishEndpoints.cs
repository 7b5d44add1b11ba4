using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PowerEvents.RedfishSimulator;

/// <summary>
/// The Redfish resources of one BMC, shaped as DMTF's schema and as HPE iLO answers them: the service root,
/// the Systems collection, a ComputerSystem with its <c>#ComputerSystem.Reset</c> action, the SessionService
/// with X-Auth-Token sessions (limited in number, timing out), HTTP Basic, and iLO's error bodies
/// (<c>error.code = iLO.0.10.ExtendedInfo</c> with the message ids in <c>@Message.ExtendedInfo</c>).
/// </summary>
public static class RedfishEndpoints
{
    // Registry versions as an iLO 5 2.x firmware reports them.
    public const string Base = "Base.1.4";
    public const string Ilo = "iLO.2.16";

    public static void MapRedfish(this WebApplication app, SimulatedBmc bmc)
    {
        app.Map("/redfish", context => HandleAsync(context, bmc, ""));
        app.Map("/redfish/{**path}", context => HandleAsync(context, bmc, (string?)context.Request.RouteValues["path"] ?? ""));
    }

    static async Task HandleAsync(HttpContext context, SimulatedBmc bmc, string rawPath)
    {
        var path = "/redfish/" + rawPath.Trim('/');
        var method = context.Request.Method;

        if (bmc.Hang)
        {
            bmc.Record(method, path, "none");
            // A BMC whose web server stopped answering: the request stays open until the client gives up.
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        if (bmc.Unavailable)
        {
            bmc.Record(method, path, "none");
            context.Response.Headers.RetryAfter = "1";
            await ErrorAsync(context, 503, $"{Base}.ServiceTemporarilyUnavailable", "1");
            return;
        }

        if (bmc.TakeFailure())
        {
            bmc.Record(method, path, "none");
            await ErrorAsync(context, 500, $"{Base}.InternalError");
            return;
        }

        // Open to anyone, as the Redfish specification requires: the service root and session login.
        if (path is "/redfish" or "/redfish/v1" && HttpMethods.IsGet(method))
        {
            bmc.Record(method, path, "none");
            await JsonAsync(context, 200, ServiceRoot(bmc));
            return;
        }

        if (path == "/redfish/v1/SessionService/Sessions" && HttpMethods.IsPost(method))
        {
            bmc.Record(method, path, "none");
            await CreateSessionAsync(context, bmc);
            return;
        }

        var (auth, session) = Authenticate(context, bmc);
        bmc.Record(method, path, auth);
        if (auth == "none")
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"iLO\"";
            await ErrorAsync(context, 401, $"{Base}.NoValidSession");
            return;
        }

        var systemPrefix = "/redfish/v1/Systems/";
        switch (path)
        {
            case "/redfish/v1/Systems" when HttpMethods.IsGet(method):
                await JsonAsync(context, 200, SystemsCollection(bmc));
                return;
            case "/redfish/v1/SessionService" when HttpMethods.IsGet(method):
                await JsonAsync(context, 200, SessionService(bmc));
                return;
            case "/redfish/v1/SessionService/Sessions" when HttpMethods.IsGet(method):
                await JsonAsync(context, 200, SessionsCollection(bmc));
                return;
        }

        if (path.StartsWith("/redfish/v1/SessionService/Sessions/", StringComparison.Ordinal))
        {
            var id = path["/redfish/v1/SessionService/Sessions/".Length..];
            if (HttpMethods.IsDelete(method))
            {
                if (!bmc.DeleteSession(id))
                {
                    await ErrorAsync(context, 404, $"{Base}.ResourceMissingAtURI", path);
                    return;
                }
                await ErrorAsync(context, 200, $"{Base}.Success");
                return;
            }
            if (HttpMethods.IsGet(method) && bmc.Sessions.FirstOrDefault(s => s.Id == id) is { } found)
            {
                await JsonAsync(context, 200, SessionResource(bmc, found));
                return;
            }
        }

        if (path.StartsWith(systemPrefix, StringComparison.Ordinal))
        {
            var rest = path[systemPrefix.Length..];
            var id = rest.Split('/')[0];
            if (id != bmc.Options.SystemId && !bmc.Options.ExtraSystemIds.Contains(id))
            {
                await ErrorAsync(context, 404, $"{Base}.ResourceMissingAtURI", path);
                return;
            }
            if (rest == id && HttpMethods.IsGet(method))
            {
                await JsonAsync(context, 200, ComputerSystem(bmc, id));
                return;
            }
            if (rest == $"{id}/ResetActionInfo" && HttpMethods.IsGet(method) && bmc.Options.UseActionInfo)
            {
                await JsonAsync(context, 200, ResetActionInfo(bmc, id));
                return;
            }
            if (rest == $"{id}/Actions/ComputerSystem.Reset")
            {
                if (!HttpMethods.IsPost(method))
                {
                    await ErrorAsync(context, 405, $"{Ilo}.UnsupportedOperation");
                    return;
                }
                await ResetAsync(context, bmc, id);
                return;
            }
        }

        await ErrorAsync(context, 404, $"{Base}.ResourceMissingAtURI", path);
    }

    static (string Auth, SimulatedBmc.Session? Session) Authenticate(HttpContext context, SimulatedBmc bmc)
    {
        if (context.Request.Headers.TryGetValue("X-Auth-Token", out var token) && token.ToString().Length > 0)
        {
            var session = bmc.FindByToken(token.ToString());
            return session is null ? ("none", null) : ("session", session);
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && bmc.CheckBasic(decoded[..colon], decoded[(colon + 1)..]))
                    return ("basic", null);
            }
            catch (FormatException)
            {
                // Falls through to "no valid session", as a malformed header gets on iLO.
            }
        }
        return ("none", null);
    }

    static async Task CreateSessionAsync(HttpContext context, SimulatedBmc bmc)
    {
        var body = await ReadJsonAsync(context);
        if (body is null)
        {
            await ErrorAsync(context, 400, $"{Base}.MalformedJSON");
            return;
        }
        var username = body["UserName"]?.GetValue<string>();
        var password = body["Password"]?.GetValue<string>();
        if (username is null || password is null)
        {
            await ErrorAsync(context, 400, $"{Base}.PropertyMissing", username is null ? "UserName" : "Password");
            return;
        }

        var result = bmc.Login(username, password);
        switch (result.Status)
        {
            case SimulatedBmc.LoginStatus.BadCredentials:
                await ErrorAsync(context, 401, $"{Base}.NoValidSession");
                return;
            case SimulatedBmc.LoginStatus.LimitReached:
                await ErrorAsync(context, 503, $"{Base}.SessionLimitExceeded");
                return;
        }

        var session = result.Session!;
        var location = $"{context.Request.Scheme}://{context.Request.Host}{Id(bmc, $"/redfish/v1/SessionService/Sessions/{session.Id}")}";
        context.Response.Headers["X-Auth-Token"] = session.Token;
        context.Response.Headers.Location = location;
        await JsonAsync(context, 201, SessionResource(bmc, session));
    }

    static async Task ResetAsync(HttpContext context, SimulatedBmc bmc, string systemId)
    {
        var body = await ReadJsonAsync(context);
        if (body is null)
        {
            await ErrorAsync(context, 400, $"{Base}.MalformedJSON");
            return;
        }
        if (body["ResetType"] is not JsonValue value || value.GetValueKind() != JsonValueKind.String)
        {
            await ErrorAsync(context, 400, $"{Base}.ActionParameterMissing", "ComputerSystem.Reset", "ResetType");
            return;
        }
        var resetType = value.GetValue<string>();
        if (!bmc.Options.AllowableResetTypes.Contains(resetType, StringComparer.Ordinal))
        {
            await ErrorAsync(context, 400, $"{Ilo}.ActionParameterValueNotInList", resetType, "ResetType");
            return;
        }
        if (systemId != bmc.Options.SystemId)
        {
            await ErrorAsync(context, 400, $"{Ilo}.InvalidOperationForSystemState", "Power is off");
            return;
        }
        if (!bmc.TryReset(resetType))
        {
            var state = bmc.PowerState is "On" or "PoweringOn" ? "Power is on" : "Power is off";
            await ErrorAsync(context, 400, $"{Ilo}.InvalidOperationForSystemState", state);
            return;
        }
        await ErrorAsync(context, 200, $"{Base}.Success");
    }

    static JsonObject ServiceRoot(SimulatedBmc bmc) => new()
    {
        ["@odata.context"] = "/redfish/v1/$metadata#ServiceRoot.ServiceRoot",
        ["@odata.id"] = Id(bmc, "/redfish/v1"),
        ["@odata.type"] = "#ServiceRoot.v1_5_1.ServiceRoot",
        ["Id"] = "RootService",
        ["Name"] = "HPE RESTful Root Service",
        ["RedfishVersion"] = "1.6.0",
        ["Vendor"] = "HPE",
        ["Product"] = "ProLiant DL380 Gen10 (simulated)",
        ["UUID"] = StableGuid(bmc.Options.Name).ToString(),
        ["Systems"] = Link(bmc, "/redfish/v1/Systems"),
        ["SessionService"] = Link(bmc, "/redfish/v1/SessionService"),
        ["Links"] = new JsonObject { ["Sessions"] = Link(bmc, "/redfish/v1/SessionService/Sessions") },
        ["Oem"] = new JsonObject
        {
            ["Hpe"] = new JsonObject
            {
                ["Manager"] = new JsonArray(new JsonObject { ["ManagerType"] = "iLO 5", ["ManagerFirmwareVersion"] = "2.90" }),
            },
        },
    };

    static JsonObject SystemsCollection(SimulatedBmc bmc)
    {
        var members = new JsonArray();
        foreach (var id in new[] { bmc.Options.SystemId }.Concat(bmc.Options.ExtraSystemIds))
            members.Add(Link(bmc, $"/redfish/v1/Systems/{id}"));
        return new JsonObject
        {
            ["@odata.id"] = Id(bmc, "/redfish/v1/Systems"),
            ["@odata.type"] = "#ComputerSystemCollection.ComputerSystemCollection",
            ["Name"] = "Computer Systems",
            ["Members@odata.count"] = members.Count,
            ["Members"] = members,
        };
    }

    static JsonObject ComputerSystem(SimulatedBmc bmc, string id)
    {
        var state = id == bmc.Options.SystemId ? bmc.PowerState : "Off";
        if (id == bmc.Options.SystemId && bmc.TakeStaleRead())
            state = "Off";
        var allowable = new JsonArray();
        foreach (var type in bmc.Options.AllowableResetTypes)
            allowable.Add(type);
        return new JsonObject
        {
            ["@odata.context"] = "/redfish/v1/$metadata#ComputerSystem.ComputerSystem",
            ["@odata.id"] = Id(bmc, $"/redfish/v1/Systems/{id}"),
            ["@odata.type"] = "#ComputerSystem.v1_10_0.ComputerSystem",
            ["Id"] = id,
            ["Name"] = "Computer System",
            ["HostName"] = bmc.Options.VcsimHost ?? bmc.Options.Name,
            ["Manufacturer"] = "HPE",
            ["Model"] = "ProLiant DL380 Gen10",
            ["SystemType"] = "Physical",
            ["PowerState"] = state,
            ["Status"] = new JsonObject { ["State"] = state == "On" ? "Enabled" : "Disabled", ["Health"] = "OK" },
            ["Actions"] = new JsonObject
            {
                ["#ComputerSystem.Reset"] = bmc.Options.UseActionInfo
                    ? new JsonObject
                    {
                        ["target"] = Id(bmc, $"/redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset"),
                        ["@Redfish.ActionInfo"] = Id(bmc, $"/redfish/v1/Systems/{id}/ResetActionInfo"),
                    }
                    : new JsonObject
                    {
                        ["target"] = Id(bmc, $"/redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset"),
                        ["ResetType@Redfish.AllowableValues"] = allowable,
                    },
            },
        };
    }

    static JsonObject ResetActionInfo(SimulatedBmc bmc, string id)
    {
        var allowable = new JsonArray();
        foreach (var type in bmc.Options.AllowableResetTypes)
            allowable.Add(type);
        return new JsonObject
        {
            ["@odata.id"] = Id(bmc, $"/redfish/v1/Systems/{id}/ResetActionInfo"),
            ["@odata.type"] = "#ActionInfo.v1_1_2.ActionInfo",
            ["Id"] = "ResetActionInfo",
            ["Name"] = "Reset Action Info",
            ["Parameters"] = new JsonArray(new JsonObject
            {
                ["Name"] = "ResetType",
                ["Required"] = true,
                ["DataType"] = "String",
                ["AllowableValues"] = allowable,
            }),
        };
    }

    static JsonObject SessionService(SimulatedBmc bmc) => new()
    {
        ["@odata.id"] = Id(bmc, "/redfish/v1/SessionService"),
        ["@odata.type"] = "#SessionService.v1_0_0.SessionService",
        ["Id"] = "SessionService",
        ["Name"] = "Session Service",
        ["ServiceEnabled"] = true,
        ["SessionTimeout"] = (int)bmc.Options.SessionTimeout.TotalSeconds,
        ["Sessions"] = Link(bmc, "/redfish/v1/SessionService/Sessions"),
    };

    static JsonObject SessionsCollection(SimulatedBmc bmc)
    {
        var members = new JsonArray();
        foreach (var session in bmc.Sessions)
            members.Add(Link(bmc, $"/redfish/v1/SessionService/Sessions/{session.Id}"));
        return new JsonObject
        {
            ["@odata.id"] = Id(bmc, "/redfish/v1/SessionService/Sessions"),
            ["@odata.type"] = "#SessionCollection.SessionCollection",
            ["Name"] = "Sessions",
            ["Members@odata.count"] = members.Count,
            ["Members"] = members,
        };
    }

    static JsonObject SessionResource(SimulatedBmc bmc, SimulatedBmc.Session session) => new()
    {
        ["@odata.id"] = Id(bmc, $"/redfish/v1/SessionService/Sessions/{session.Id}"),
        ["@odata.type"] = "#Session.v1_0_0.Session",
        ["Id"] = session.Id,
        ["Name"] = "User Session",
        ["UserName"] = session.UserName,
    };

    static JsonObject Link(SimulatedBmc bmc, string path) => new() { ["@odata.id"] = Id(bmc, path) };

    static string Id(SimulatedBmc bmc, string path) => bmc.Options.TrailingSlashes ? path + "/" : path;

    static Guid StableGuid(string name) =>
        new(System.Security.Cryptography.MD5.HashData(Encoding.UTF8.GetBytes(name)));

    /// <summary>iLO's extended error (also used for its 200 "Success" answers, as iLO does).</summary>
    public static JsonObject ErrorBody(string messageId, params string[] args)
    {
        var info = new JsonObject { ["MessageId"] = messageId };
        if (args.Length > 0)
            info["MessageArgs"] = new JsonArray(args.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray());
        return new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["code"] = "iLO.0.10.ExtendedInfo",
                ["message"] = "See @Message.ExtendedInfo for more information.",
                ["@Message.ExtendedInfo"] = new JsonArray(info),
            },
        };
    }

    static Task ErrorAsync(HttpContext context, int status, string messageId, params string[] args) =>
        JsonAsync(context, status, ErrorBody(messageId, args));

    static async Task JsonAsync(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers["OData-Version"] = "4.0";
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    static async Task<JsonObject?> ReadJsonAsync(HttpContext context)
    {
        try
        {
            return await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
