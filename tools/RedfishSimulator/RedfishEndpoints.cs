using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PowerEvents.RedfishSimulator;

/// <summary>
/// The Redfish resources of one BMC, shaped as DMTF's schema and as the chosen vendor answers them
/// (<see cref="VendorProfile"/>): the service root, the Systems collection, a ComputerSystem with its
/// <c>#ComputerSystem.Reset</c> action and boot progress, the SessionService with X-Auth-Token sessions (limited in
/// number, timing out) where the vendor has one, HTTP Basic, the vendor's error bodies and message registries, and
/// the web server's quirks (chunked bodies refused, trailing-slash redirects, URI case).
/// </summary>
public static class RedfishEndpoints
{
    const string SessionsPath = "/redfish/v1/SessionService/Sessions";
    const string SystemsPrefix = "/redfish/v1/Systems/";

    public static void MapRedfish(this WebApplication app, SimulatedBmc bmc)
    {
        app.Map("/redfish", context => HandleAsync(context, bmc, ""));
        app.Map("/redfish/{**path}", context => HandleAsync(context, bmc, (string?)context.Request.RouteValues["path"] ?? ""));
    }

    static async Task HandleAsync(HttpContext context, SimulatedBmc bmc, string rawPath)
    {
        var profile = bmc.Profile;
        var requested = context.Request.Path.Value ?? "/redfish";
        var path = Canonical(bmc, "/redfish/" + rawPath.Trim('/'));
        var method = context.Request.Method;

        if (bmc.Hang)
        {
            bmc.Record(method, path, "none");
            // A BMC whose web server stopped answering: the request stays open until the client gives up.
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        if (bmc.RedirectTo is { } elsewhere)
        {
            // A misconfigured proxy or a BMC that sends clients to its "real" address: possibly another origin.
            bmc.Record(method, path, "none");
            context.Response.StatusCode = 307;
            context.Response.Headers.Location = new Uri(elsewhere, requested + context.Request.QueryString).AbsoluteUri;
            return;
        }

        if (profile.TrailingSlashRedirect && !requested.EndsWith('/'))
        {
            // As reported for early iLO 5 firmware: the canonical URI ends with a slash, everything else is redirected.
            bmc.Record(method, path, "redirect");
            context.Response.StatusCode = 308;
            context.Response.Headers.Location = requested + "/" + context.Request.QueryString;
            return;
        }

        if (bmc.Unavailable)
        {
            bmc.Record(method, path, "none");
            context.Response.Headers.RetryAfter = profile.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await ErrorAsync(context, bmc, 503, profile.BaseMessage("ServiceTemporarilyUnavailable"), "1");
            return;
        }

        if (bmc.TooManyRequests)
        {
            bmc.Record(method, path, "none");
            context.Response.Headers.RetryAfter = profile.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.StatusCode = 429;
            return;
        }

        if (bmc.TakeFailure())
        {
            bmc.Record(method, path, "none");
            await ErrorAsync(context, bmc, 500, profile.BaseMessage("InternalError"));
            return;
        }

        // Embedded web servers without chunked decoding: a body must come with Content-Length.
        var chunked = context.Request.ContentLength is null
            && context.Request.Headers.TransferEncoding.ToString().Contains("chunked", StringComparison.OrdinalIgnoreCase);
        if (chunked)
            bmc.CountChunkedRequest();
        if (chunked && profile.ChunkedBodies == ChunkedBodyHandling.LengthRequired)
        {
            bmc.Record(method, path, "none");
            context.Response.StatusCode = 411;
            context.Response.ContentType = "text/html";
            context.Response.Headers.Connection = "close";
            await context.Response.WriteAsync("<html><body><h1>411 Length Required</h1></body></html>", context.RequestAborted);
            return;
        }
        var emptyBody = chunked && profile.ChunkedBodies == ChunkedBodyHandling.ReadAsEmpty;

        // Open to anyone, as the Redfish specification requires: the service root and session login.
        if (path is "/redfish" or "/redfish/v1" && HttpMethods.IsGet(method))
        {
            bmc.Record(method, path, "none");
            await JsonAsync(context, 200, ServiceRoot(bmc));
            return;
        }

        if (path == SessionsPath && HttpMethods.IsPost(method) && profile.SessionService)
        {
            bmc.Record(method, path, "none");
            await CreateSessionAsync(context, bmc, emptyBody);
            return;
        }

        var (auth, _) = Authenticate(context, bmc);
        bmc.Record(method, path, auth);
        if (auth == "none")
        {
            context.Response.Headers.WWWAuthenticate = $"Basic realm=\"{profile.AuthRealm}\"";
            await ErrorAsync(context, bmc, 401, profile.BaseMessage(profile.SessionService ? "NoValidSession" : "ResourceAtUriUnauthorized"));
            return;
        }

        switch (path)
        {
            case "/redfish/v1/Systems" when HttpMethods.IsGet(method):
                await JsonAsync(context, 200, SystemsCollection(bmc));
                return;
            case "/redfish/v1/SessionService" when HttpMethods.IsGet(method) && profile.SessionService:
                await JsonAsync(context, 200, SessionService(bmc));
                return;
            case SessionsPath when HttpMethods.IsGet(method) && profile.SessionService:
                await JsonAsync(context, 200, SessionsCollection(bmc));
                return;
        }

        if (profile.SessionService && path.StartsWith(SessionsPath + "/", StringComparison.Ordinal))
        {
            var id = path[(SessionsPath.Length + 1)..];
            if (HttpMethods.IsDelete(method))
            {
                if (!bmc.DeleteSession(id))
                {
                    await ErrorAsync(context, bmc, 404, profile.BaseMessage("ResourceMissingAtURI"), path);
                    return;
                }
                await ErrorAsync(context, bmc, 200, profile.BaseMessage("Success"));
                return;
            }
            if (HttpMethods.IsGet(method) && bmc.Sessions.FirstOrDefault(s => s.Id == id) is { } found)
            {
                await JsonAsync(context, 200, SessionResource(bmc, found));
                return;
            }
        }

        if (path.StartsWith(SystemsPrefix, StringComparison.Ordinal))
        {
            var rest = path[SystemsPrefix.Length..];
            var id = rest.Split('/')[0];
            if (id != profile.SystemId && !bmc.Options.ExtraSystemIds.Contains(id))
            {
                await ErrorAsync(context, bmc, 404, profile.BaseMessage("ResourceMissingAtURI"), path);
                return;
            }
            if (rest == id && HttpMethods.IsGet(method))
            {
                await JsonAsync(context, 200, ComputerSystem(bmc, id));
                return;
            }
            if (rest == id && HttpMethods.IsPatch(method))
            {
                await PatchSystemAsync(context, bmc, emptyBody);
                return;
            }
            if (rest == $"{id}/ResetActionInfo" && HttpMethods.IsGet(method) && profile.UseActionInfo)
            {
                await JsonAsync(context, 200, ResetActionInfo(bmc, id));
                return;
            }
            if (rest == $"{id}/Actions/ComputerSystem.Reset")
            {
                if (!HttpMethods.IsPost(method))
                {
                    context.Response.Headers.Allow = "POST";
                    await ErrorAsync(context, bmc, 405, profile.BaseMessage("OperationNotAllowed"));
                    return;
                }
                await ResetAsync(context, bmc, id, emptyBody);
                return;
            }
        }

        await ErrorAsync(context, bmc, 404, profile.BaseMessage("ResourceMissingAtURI"), path);
    }

    /// <summary>
    /// The path with its known segments spelt as the resource names them when the BMC ignores case (as iLO does);
    /// unchanged otherwise, so that a wrongly cased URI is a 404 as on a case-sensitive BMC.
    /// </summary>
    static string Canonical(SimulatedBmc bmc, string path)
    {
        if (!bmc.Profile.CaseInsensitiveUris)
            return path;
        string[] vocabulary = ["redfish", "v1", "Systems", "SessionService", "Sessions", "Actions", "ComputerSystem.Reset", "ResetActionInfo",
            bmc.Profile.SystemId, .. bmc.Options.ExtraSystemIds];
        return string.Join('/', path.Split('/').Select(segment =>
            vocabulary.FirstOrDefault(word => word.Equals(segment, StringComparison.OrdinalIgnoreCase)) ?? segment));
    }

    static (string Auth, SimulatedBmc.Session? Session) Authenticate(HttpContext context, SimulatedBmc bmc)
    {
        if (bmc.Profile.SessionService && context.Request.Headers.TryGetValue("X-Auth-Token", out var token) && token.ToString().Length > 0)
        {
            var session = bmc.FindByToken(token.ToString());
            return session is null ? ("none", null) : ("session", session);
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (bmc.Options.BasicAuth && header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
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

    static async Task CreateSessionAsync(HttpContext context, SimulatedBmc bmc, bool emptyBody)
    {
        var profile = bmc.Profile;
        var body = emptyBody ? new JsonObject() : await ReadJsonAsync(context);
        if (body is null)
        {
            await ErrorAsync(context, bmc, 400, profile.BaseMessage("MalformedJSON"));
            return;
        }
        var username = body["UserName"]?.GetValue<string>();
        var password = body["Password"]?.GetValue<string>();
        if (username is null || password is null)
        {
            await ErrorAsync(context, bmc, 400, profile.BaseMessage("PropertyMissing"), username is null ? "UserName" : "Password");
            return;
        }

        var result = bmc.Login(username, password);
        switch (result.Status)
        {
            case SimulatedBmc.LoginStatus.BadCredentials:
                await ErrorAsync(context, bmc, 401, profile.BaseMessage("NoValidSession"));
                return;
            case SimulatedBmc.LoginStatus.LimitReached:
                context.Response.Headers.RetryAfter = profile.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await ErrorAsync(context, bmc, 503, profile.BaseMessage("SessionLimitExceeded"));
                return;
        }

        var session = result.Session!;
        var location = $"{context.Request.Scheme}://{context.Request.Host}{Id(bmc, $"{SessionsPath}/{session.Id}")}";
        context.Response.Headers["X-Auth-Token"] = session.Token;
        context.Response.Headers.Location = location;
        await JsonAsync(context, 201, SessionResource(bmc, session));
    }

    /// <summary><c>PowerState</c> is read-only in every vendor's schema: power changes only through the Reset action.</summary>
    static async Task PatchSystemAsync(HttpContext context, SimulatedBmc bmc, bool emptyBody)
    {
        var profile = bmc.Profile;
        var body = emptyBody ? new JsonObject() : await ReadJsonAsync(context);
        if (body is null)
        {
            await ErrorAsync(context, bmc, 400, profile.BaseMessage("MalformedJSON"));
            return;
        }
        var first = body.Select(p => p.Key).FirstOrDefault();
        if (first is null)
        {
            await ErrorAsync(context, bmc, 400, profile.BaseMessage("PropertyMissing"), "PowerState");
            return;
        }
        if (body.ContainsKey("PowerState"))
        {
            await ErrorAsync(context, bmc, 400, profile.BaseMessage("PropertyNotWritable"), "PowerState");
            return;
        }
        await ErrorAsync(context, bmc, 400, profile.BaseMessage("PropertyUnknown"), first);
    }

    static async Task ResetAsync(HttpContext context, SimulatedBmc bmc, string systemId, bool emptyBody)
    {
        var profile = bmc.Profile;
        var body = emptyBody ? new JsonObject() : await ReadJsonAsync(context);
        if (body is null)
        {
            await ErrorAsync(context, bmc, 400, profile.BaseMessage("MalformedJSON"));
            return;
        }
        if (body["ResetType"] is not JsonValue value || value.GetValueKind() != JsonValueKind.String)
        {
            await ErrorAsync(context, bmc, 400, profile.BaseMessage("ActionParameterMissing"), "ComputerSystem.Reset", "ResetType");
            return;
        }
        var resetType = value.GetValue<string>();
        if (!profile.ResetTypes.Contains(resetType, StringComparer.Ordinal))
        {
            await ErrorAsync(context, bmc, 400, profile.Errors == ErrorStyle.Dmtf ? profile.BaseMessage(profile.ResetTypeNotInList) : profile.VendorMessage(profile.ResetTypeNotInList), resetType, "ResetType", "ComputerSystem.Reset");
            return;
        }
        var on = bmc.PowerState is "On" or "PoweringOn";
        if (systemId != profile.SystemId)
        {
            await ErrorAsync(context, bmc, 400, profile.VendorMessage("InvalidOperationForSystemState"), "Power is off");
            return;
        }
        if (!bmc.TryReset(resetType))
        {
            if (resetType is "On" or "ForceOn" && on)
            {
                // How this vendor answers "On" for a running system: iLO 400 InvalidOperationForSystemState,
                // iDRAC 409 PSU501 "Server is already powered ON", others a Base message or a no-op success.
                var id = profile.OnWhileOnVendorMessage ? profile.VendorMessage(profile.OnWhileOnMessage) : profile.BaseMessage(profile.OnWhileOnMessage);
                if (profile.OnWhileOnStatus is >= 200 and < 300)
                {
                    context.Response.StatusCode = profile.OnWhileOnStatus;
                    return;
                }
                await ErrorAsync(context, bmc, profile.OnWhileOnStatus, id, "Power is on");
                return;
            }
            await ErrorAsync(context, bmc, 400, profile.VendorMessage("InvalidOperationForSystemState"), on ? "Power is on" : "Power is off");
            return;
        }
        if (profile.Errors == ErrorStyle.Dmtf)
        {
            // DMTF services answer an accepted action with 204 No Content.
            context.Response.StatusCode = 204;
            return;
        }
        await ErrorAsync(context, bmc, 200, profile.BaseMessage("Success"));
    }

    static JsonObject ServiceRoot(SimulatedBmc bmc)
    {
        var profile = bmc.Profile;
        var root = new JsonObject
        {
            ["@odata.context"] = "/redfish/v1/$metadata#ServiceRoot.ServiceRoot",
            ["@odata.id"] = Id(bmc, "/redfish/v1"),
            ["@odata.type"] = "#ServiceRoot.v1_5_1.ServiceRoot",
            ["Id"] = "RootService",
            ["Name"] = profile.ServiceRootName,
            ["RedfishVersion"] = profile.RedfishVersion,
            ["Vendor"] = profile.Vendor,
            ["Product"] = $"{profile.Product} (simulated)",
            ["UUID"] = StableGuid(bmc.Options.Name).ToString(),
            ["Systems"] = Link(bmc, "/redfish/v1/Systems"),
        };
        if (profile.SessionService)
        {
            root["SessionService"] = Link(bmc, "/redfish/v1/SessionService");
            root["Links"] = new JsonObject { ["Sessions"] = Link(bmc, SessionsPath) };
        }
        if (profile.Errors != ErrorStyle.Dmtf)
            root["Oem"] = new JsonObject
            {
                [profile.Errors == ErrorStyle.Ilo4 ? "Hp" : "Hpe"] = new JsonObject
                {
                    ["Manager"] = new JsonArray(new JsonObject { ["ManagerType"] = profile.Key.StartsWith("ilo4", StringComparison.Ordinal) ? "iLO 4" : profile.Key.StartsWith("ilo6", StringComparison.Ordinal) ? "iLO 6" : "iLO 5" }),
                },
            };
        return root;
    }

    static JsonObject SystemsCollection(SimulatedBmc bmc)
    {
        var members = new JsonArray();
        foreach (var id in new[] { bmc.Profile.SystemId }.Concat(bmc.Options.ExtraSystemIds))
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
        var profile = bmc.Profile;
        var main = id == profile.SystemId;
        var state = main ? bmc.PowerState : "Off";
        if (main && bmc.TakeStaleRead())
            state = "Off";
        var system = new JsonObject
        {
            ["@odata.context"] = "/redfish/v1/$metadata#ComputerSystem.ComputerSystem",
            ["@odata.id"] = Id(bmc, $"/redfish/v1/Systems/{id}"),
            ["@odata.type"] = "#ComputerSystem.v1_13_0.ComputerSystem",
            ["Id"] = id,
            ["Name"] = "Computer System",
            ["HostName"] = bmc.Options.VcsimHost ?? bmc.Options.Name,
            ["Manufacturer"] = profile.Manufacturer,
            ["Model"] = profile.Model,
            ["SystemType"] = "Physical",
            ["PowerState"] = state,
            ["Status"] = new JsonObject { ["State"] = state == "On" ? "Enabled" : "Disabled", ["Health"] = "OK" },
            ["Actions"] = new JsonObject
            {
                ["#ComputerSystem.Reset"] = profile.UseActionInfo
                    ? new JsonObject
                    {
                        ["target"] = Id(bmc, $"/redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset"),
                        ["@Redfish.ActionInfo"] = Id(bmc, $"/redfish/v1/Systems/{id}/ResetActionInfo"),
                    }
                    : new JsonObject
                    {
                        ["target"] = Id(bmc, $"/redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset"),
                        ["ResetType@Redfish.AllowableValues"] = ResetTypes(bmc),
                    },
            },
        };
        var (postState, lastState) = main ? bmc.BootStage(state) : ("PowerOff", "None");
        switch (profile.BootProgress)
        {
            case BootProgressStyle.HpePostState:
                system["Oem"] = new JsonObject { [profile.Errors == ErrorStyle.Ilo4 ? "Hp" : "Hpe"] = new JsonObject { ["PostState"] = postState } };
                break;
            case BootProgressStyle.DmtfBootProgress:
                system["BootProgress"] = new JsonObject { ["LastState"] = lastState };
                break;
        }
        return system;
    }

    static JsonArray ResetTypes(SimulatedBmc bmc)
    {
        var allowable = new JsonArray();
        foreach (var type in bmc.Profile.ResetTypes)
            allowable.Add(type);
        return allowable;
    }

    static JsonObject ResetActionInfo(SimulatedBmc bmc, string id)
    {
        var allowable = ResetTypes(bmc);
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
        ["Sessions"] = Link(bmc, SessionsPath),
    };

    static JsonObject SessionsCollection(SimulatedBmc bmc)
    {
        var members = new JsonArray();
        foreach (var session in bmc.Sessions)
            members.Add(Link(bmc, $"{SessionsPath}/{session.Id}"));
        return new JsonObject
        {
            ["@odata.id"] = Id(bmc, SessionsPath),
            ["@odata.type"] = "#SessionCollection.SessionCollection",
            ["Name"] = "Sessions",
            ["Members@odata.count"] = members.Count,
            ["Members"] = members,
        };
    }

    static JsonObject SessionResource(SimulatedBmc bmc, SimulatedBmc.Session session) => new()
    {
        ["@odata.id"] = Id(bmc, $"{SessionsPath}/{session.Id}"),
        ["@odata.type"] = "#Session.v1_0_0.Session",
        ["Id"] = session.Id,
        ["Name"] = "User Session",
        ["UserName"] = session.UserName,
    };

    static JsonObject Link(SimulatedBmc bmc, string path) => new() { ["@odata.id"] = Id(bmc, path) };

    static string Id(SimulatedBmc bmc, string path) => bmc.Profile.TrailingSlashes ? path + "/" : path;

    static Guid StableGuid(string name) =>
        new(System.Security.Cryptography.MD5.HashData(Encoding.UTF8.GetBytes(name)));

    /// <summary>
    /// The vendor's error body (iLO also uses it for its 200 "Success" answers): iLO's <c>iLO.0.10.ExtendedInfo</c>
    /// code (iLO 4 adding a top-level <c>Messages</c> with <c>MessageID</c>), or DMTF's <c>GeneralError</c> form.
    /// </summary>
    public static JsonObject ErrorBody(VendorProfile profile, string messageId, params string[] args)
    {
        JsonObject Info(string idProperty)
        {
            var info = new JsonObject { [idProperty] = messageId };
            if (args.Length > 0)
                info["MessageArgs"] = new JsonArray(args.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray());
            return info;
        }

        return profile.Errors switch
        {
            ErrorStyle.Ilo => new JsonObject
            {
                ["error"] = new JsonObject
                {
                    ["code"] = "iLO.0.10.ExtendedInfo",
                    ["message"] = "See @Message.ExtendedInfo for more information.",
                    ["@Message.ExtendedInfo"] = new JsonArray(Info("MessageId")),
                },
            },
            ErrorStyle.Ilo4 => new JsonObject
            {
                ["Messages"] = new JsonArray(Info("MessageID")),
                ["Type"] = "ExtendedError.1.0.0",
                ["error"] = new JsonObject
                {
                    ["@Message.ExtendedInfo"] = new JsonArray(Info("MessageID")),
                    ["code"] = "iLO.0.10.ExtendedInfo",
                    ["message"] = "See @Message.ExtendedInfo for more information.",
                },
            },
            _ => new JsonObject
            {
                ["error"] = new JsonObject
                {
                    ["code"] = $"{profile.BaseRegistry}.GeneralError",
                    ["message"] = "A general error has occurred. See ExtendedInfo for more information.",
                    ["@Message.ExtendedInfo"] = new JsonArray(Info("MessageId")),
                },
            },
        };
    }

    static Task ErrorAsync(HttpContext context, SimulatedBmc bmc, int status, string messageId, params string[] args) =>
        JsonAsync(context, status, ErrorBody(bmc.Profile, messageId, args));

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
