using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace PowerEvents.Console.Auth;

/// <summary>Cookies for people (HttpOnly, Secure, SameSite=Strict, CSRF-checked), bearer tokens for scripts, two roles.</summary>
public static class ConsoleAuth
{
    const string Smart = "CookieOrToken";
    public const string CsrfHeader = "X-CSRF-TOKEN";

    public static IEnumerable<Claim> Claims(Account account) =>
        [new Claim(ClaimTypes.Name, account.Name), new Claim(ClaimTypes.Role, account.Role)];

    public static WebApplicationBuilder AddConsoleAuth(this WebApplicationBuilder builder)
    {
        builder.Services.AddAuthentication(Smart)
            .AddPolicyScheme(Smart, Smart, o => o.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.Ordinal)
                    ? TokenAuthenticationHandler.SchemeName
                    : CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenAuthenticationHandler.SchemeName, null);

        builder.Services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .Configure<IOptions<ConsoleOptions>>((o, console) =>
            {
                o.Cookie.Name = "pe-console";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = console.Value.SecureCookies ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = console.Value.SessionLifetime;
                o.SlidingExpiration = true;
                // An API answers with a status, not a redirect to a login page.
                o.Events.OnRedirectToLogin = c => { c.Response.StatusCode = StatusCodes.Status401Unauthorized; return Task.CompletedTask; };
                o.Events.OnRedirectToAccessDenied = c => { c.Response.StatusCode = StatusCodes.Status403Forbidden; return Task.CompletedTask; };
            });

        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(null)
            .AddPolicy(Roles.OperatePolicy, p => p.RequireRole(Roles.Operator, Roles.Admin))
            .AddPolicy(Roles.AdminPolicy, p => p.RequireRole(Roles.Admin));

        builder.Services.AddAntiforgery(o =>
        {
            o.HeaderName = CsrfHeader;
            o.Cookie.Name = "pe-console-csrf";
            o.Cookie.SameSite = SameSiteMode.Strict;
            // Antiforgery refuses to run over http with Always. This cookie is only half of the CSRF pair (worthless
            // without the page's token and the session), so it follows the request; the session cookie stays Secure.
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        builder.Services.AddSingleton<AccountStore>();
        builder.Services.AddSingleton<AuditLog>();
        builder.Services.AddHostedService<FirstAdmin>();
        return builder;
    }

    /// <summary>Requests that change something and came with the session cookie must carry the page's CSRF token.</summary>
    public static RouteHandlerBuilder RequireCsrf(this RouteHandlerBuilder endpoint) => endpoint.AddEndpointFilter(async (context, next) =>
    {
        var http = context.HttpContext;
        if (http.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.Ordinal))
            return await next(context);
        try
        {
            await http.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(http);
        }
        catch (AntiforgeryValidationException)
        {
            return Results.Problem("Missing or invalid CSRF token: reload the page.", statusCode: StatusCodes.Status400BadRequest);
        }
        return await next(context);
    });

    /// <summary>Creates the first account (an admin) from <c>Console:AdminPassword</c> when there is no account yet.</summary>
    sealed class FirstAdmin(AccountStore accounts, AuditLog audit, IOptions<ConsoleOptions> options, ILogger<FirstAdmin> log) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if (await accounts.AnyAsync(stoppingToken))
                        return;
                    var console = options.Value;
                    if (string.IsNullOrEmpty(console.AdminPassword))
                    {
                        log.LogWarning("No console account exists and Console:AdminPassword is not set (Console__AdminPassword_FILE): nobody can log in");
                        return;
                    }
                    if (await accounts.CreateAsync(console.AdminUser, console.AdminPassword, Roles.Admin, stoppingToken))
                    {
                        await audit.WriteAsync("system", "create-first-admin", null, $"account {console.AdminUser} from Console:AdminPassword", "done", stoppingToken);
                        log.LogInformation("Created the first console account {User} (admin)", console.AdminUser);
                    }
                    return;
                }
                catch (Npgsql.NpgsqlException ex)
                {
                    log.LogWarning("PostgreSQL not ready to create the first account ({Error}); retrying", ex.Message);
                    await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
                }
            }
        }
    }
}
