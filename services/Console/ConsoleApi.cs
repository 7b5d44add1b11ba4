using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using PowerEvents.Console.Auth;
using PowerEvents.Console.Commands;
using PowerEvents.Console.ReadModel;
using PowerEvents.Console.Readiness;
using PowerEvents.Console.Schedule;

namespace PowerEvents.Console;

public sealed record LoginRequest(string User, string Password);
public sealed record SessionView(bool Authenticated, string? User, string? Role, string CsrfToken);
public sealed record TokenRequest(string Label);
public sealed record UserRequest(string Name, string Password, string Role);
public sealed record WindowRequest(string Days, string? OffAt, string? OnAt, string Confirm, string Reason);
public sealed record WindowView(long Id, string Cluster, string Days, string? OffAt, string? OnAt, bool Enabled, DateOnly? LastOffOn, DateOnly? LastOnOn);

/// <summary>The HTTP API the UI (and scripts, with a token) use; described at /openapi/v1.json.</summary>
public static class ConsoleApi
{
    public static void MapConsoleApi(this WebApplication app)
    {
        var api = app.MapGroup("/api");

        api.MapGet("/session", (HttpContext http, IAntiforgery antiforgery) =>
        {
            var tokens = antiforgery.GetAndStoreTokens(http);
            var user = http.User.Identity?.IsAuthenticated == true ? http.User : null;
            return new SessionView(user is not null, user?.Identity?.Name, user?.FindFirstValue(ClaimTypes.Role), tokens.RequestToken!);
        }).WithSummary("Who is logged in, and the CSRF token to send as X-CSRF-TOKEN");

        api.MapPost("/login", async (LoginRequest request, HttpContext http, AccountStore accounts, AuditLog audit, CancellationToken ct) =>
        {
            var (result, account) = await accounts.LoginAsync(request.User ?? "", request.Password ?? "", ct);
            await audit.WriteAsync(request.User ?? "", "login", null, "", result.ToString(), ct);
            if (result == LoginResult.LockedOut)
                return Results.Problem("Too many failed logins: this account is locked for a while.", statusCode: StatusCodes.Status429TooManyRequests);
            if (account is null)
                return Results.Problem("Wrong user name or password.", statusCode: StatusCodes.Status401Unauthorized);
            var principal = new ClaimsPrincipal(new ClaimsIdentity(ConsoleAuth.Claims(account), CookieAuthenticationDefaults.AuthenticationScheme));
            await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, principal);
            return Results.Ok(new { user = account.Name, role = account.Role });
        }).RequireCsrf().WithSummary("Log in with a local account (sets the session cookie)");

        api.MapPost("/logout", async (HttpContext http, AuditLog audit, CancellationToken ct) =>
        {
            await audit.WriteAsync(http.User.Identity?.Name ?? "", "logout", null, "", "done", ct);
            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.NoContent();
        }).RequireAuthorization().RequireCsrf();

        var view = api.MapGroup("").RequireAuthorization();
        view.MapGet("/state", (ConsoleReadModel model) => model.Snapshot())
            .WithSummary("Zones, sensors, alarms, sources, clusters with hosts (desired/actual status) and VMs");
        view.MapGet("/zones/{zone}/history", (string zone, ConsoleReadModel model) =>
            model.History(zone) is { } history ? Results.Ok(history) : Results.NotFound())
            .WithSummary("The zone's temperatures over the last 24 h, with its thresholds");
        view.MapGet("/runs", (ConsoleReadModel model, int? limit) => model.Runs(Math.Clamp(limit ?? 20, 1, 200)))
            .WithSummary("Current and past runs with their steps (newest first)");
        view.MapGet("/audit", (AuditLog audit, int? limit, CancellationToken ct) => audit.RecentAsync(Math.Clamp(limit ?? 50, 1, 500), ct))
            .WithSummary("Who did what, when and why (newest first)");
        view.MapGet("/readiness", (ClusterReadiness readiness) => readiness.AssessAll())
            .WithSummary("Every cluster's readiness grade with its findings and the shutdown/power-on estimate");
        view.MapGet("/clusters/{cluster}/readiness", (string cluster, ConsoleReadModel model, ClusterReadiness readiness) =>
            model.KnowsCluster(cluster) ? Results.Ok(readiness.Assess(cluster)) : Results.NotFound())
            .Produces<ReadinessView>()
            .WithSummary("The cluster's readiness: ready / degraded / not-ready, each finding with what to do, and the estimate with its basis");
        view.MapGet("/clusters/{cluster}/plan", async (string cluster, ClaimsPrincipal user, ConsoleReadModel model, ClusterPlans plans, CancellationToken ct) =>
            {
                if (!model.KnowsCluster(cluster))
                    return Results.NotFound();
                var (plan, failure) = await plans.PreviewAsync(cluster, user.Identity!.Name!, ct);
                return plan is not null ? Results.Ok(plan) : Results.Json(failure, statusCode: failure!.Status switch
                {
                    "not-found" => StatusCodes.Status404NotFound,
                    "timeout" => StatusCodes.Status504GatewayTimeout,
                    _ => StatusCodes.Status502BadGateway,
                });
            })
            .Produces<PlanView>()
            .Produces<PlanFailure>(StatusCodes.Status404NotFound)
            .Produces<PlanFailure>(StatusCodes.Status502BadGateway)
            .Produces<PlanFailure>(StatusCodes.Status504GatewayTimeout)
            .WithSummary("The plan the power saga would run on the cluster now (from a fresh inventory, touching nothing): the shutdown's and the power-on's " +
                         "stages in order with their steps and estimated durations and the estimate's basis, where vCenter runs and how its host is finished, " +
                         "what is changed on the cluster and put back");
        view.MapGet("/preflight", (ConsoleReadModel model) => model.PreflightResults())
            .WithSummary("The latest result of every preflight check of every service (failing first)");
        view.MapGet("/deliveries", (ConsoleReadModel model, int? limit) => model.Deliveries(Math.Clamp(limit ?? 50, 1, 200)))
            .WithSummary("The Notifier's recent webhook deliveries (newest first), delivered or failed");
        view.MapGet("/clusters/{cluster}/windows", async (string cluster, PowerWindowStore store, CancellationToken ct) =>
            (await store.ListAsync(cluster, ct)).Select(ToView))
            .WithSummary("The cluster's scheduled power windows");

        var operate = api.MapGroup("/clusters/{cluster}").RequireAuthorization(Roles.OperatePolicy);
        foreach (var action in Enum.GetValues<ClusterAction>())
        {
            operate.MapPost($"/{OperatorCommands.Name(action)}", async (string cluster, ActionRequest request, ClaimsPrincipal user, OperatorCommands commands, CancellationToken ct) =>
            {
                var result = await commands.ExecuteAsync(user.Identity!.Name!, cluster, action, request, ct);
                return result.Accepted ? Results.Accepted(value: result) : Results.Conflict(result);
            }).RequireCsrf().WithSummary($"Send {OperatorCommands.Name(action)} to the power saga (confirm: the cluster's name; reason: why)");
        }

        operate.MapPost("/windows", async (string cluster, WindowRequest request, ClaimsPrincipal user, PowerWindowStore store, AuditLog audit, ConsoleReadModel model, CancellationToken ct) =>
        {
            if (!model.KnowsCluster(cluster))
                return Results.NotFound();
            if (request.Confirm?.Trim() != cluster || string.IsNullOrWhiteSpace(request.Reason))
                return Results.Conflict(new ActionResult(false, $"type the cluster's name ({cluster}) and a reason"));
            IReadOnlySet<DayOfWeek> days;
            TimeOnly? off, on;
            try
            {
                days = PowerWindowSchedule.ParseDays(request.Days ?? "");
                off = string.IsNullOrWhiteSpace(request.OffAt) ? null : TimeOnly.ParseExact(request.OffAt, "HH:mm", System.Globalization.CultureInfo.InvariantCulture);
                on = string.IsNullOrWhiteSpace(request.OnAt) ? null : TimeOnly.ParseExact(request.OnAt, "HH:mm", System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (FormatException ex)
            {
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status400BadRequest);
            }
            if (off is null && on is null)
                return Results.Problem("give an off time, an on time, or both (HH:mm)", statusCode: StatusCodes.Status400BadRequest);
            var id = await store.AddAsync(cluster, days, off, on, user.Identity!.Name!, ct);
            await audit.WriteAsync(user.Identity!.Name!, "add-power-window", cluster,
                $"{request.Reason} ({PowerWindowSchedule.FormatDays(days)} off {request.OffAt ?? "-"} on {request.OnAt ?? "-"})", $"window {id}", ct);
            return Results.Ok(new { id });
        }).RequireCsrf().WithSummary("Add a scheduled power window (days: Mon,Tue… or weekdays; times HH:mm in the console's time zone)");

        operate.MapDelete("/windows/{id:long}", async (string cluster, long id, ClaimsPrincipal user, PowerWindowStore store, AuditLog audit, CancellationToken ct) =>
        {
            var deleted = await store.DeleteAsync(cluster, id, ct);
            await audit.WriteAsync(user.Identity!.Name!, "delete-power-window", cluster, $"window {id}", deleted ? "done" : "not found", ct);
            return deleted ? Results.NoContent() : Results.NotFound();
        }).RequireCsrf();

        api.MapPost("/tokens", async (TokenRequest request, ClaimsPrincipal user, AccountStore accounts, AuditLog audit, CancellationToken ct) =>
        {
            var label = string.IsNullOrWhiteSpace(request.Label) ? "script" : request.Label.Trim();
            var token = await accounts.CreateTokenAsync(user.Identity!.Name!, label, ct);
            await audit.WriteAsync(user.Identity!.Name!, "create-token", null, label, "done", ct);
            return Results.Ok(new { token, note = "Shown once. Send it as 'Authorization: Bearer <token>'." });
        }).RequireAuthorization().RequireCsrf().WithSummary("Create an API token for scripts, with the caller's role");

        api.MapPost("/users", async (UserRequest request, ClaimsPrincipal user, AccountStore accounts, AuditLog audit, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(request.Name) || !Roles.IsValid(request.Role) || (request.Password ?? "").Length < 12)
                return Results.Problem("name, role (viewer, operator, admin) and a password of at least 12 characters", statusCode: StatusCodes.Status400BadRequest);
            var created = await accounts.CreateAsync(request.Name.Trim(), request.Password!, request.Role, ct);
            await audit.WriteAsync(user.Identity!.Name!, "create-user", null, $"{request.Name} as {request.Role}", created ? "done" : "exists", ct);
            return created ? Results.Ok() : Results.Conflict();
        }).RequireAuthorization(Roles.AdminPolicy).RequireCsrf().WithSummary("Create a local account (admin only)");
    }

    static WindowView ToView(PowerWindow w) => new(w.Id, w.Cluster, PowerWindowSchedule.FormatDays(w.Days), w.OffAt?.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture),
        w.OnAt?.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture), w.Enabled, w.LastOffOn, w.LastOnOn);
}
