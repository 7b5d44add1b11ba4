using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PowerEvents.Hosting;

/// <summary>Who may call a service's operator endpoints (configuration section <c>OperatorApi</c>).</summary>
public sealed class OperatorApiOptions
{
    public const string Section = "OperatorApi";

    /// <summary>
    /// The bearer token operators send (<c>Authorization: Bearer …</c>); a secret: <c>OperatorApi__Token_FILE</c>.
    /// Unset: only callers on the same machine (loopback) are answered, which inside a container is nobody.
    /// </summary>
    [MinLength(32, ErrorMessage = "must be at least 32 characters (e.g. openssl rand -hex 32).")]
    public string? Token { get; set; }
}

/// <summary>
/// Guards every HTTP endpoint of a service except <c>/health/*</c>: the plan preview today, the console's API later.
/// Installed by <see cref="ServiceDefaults.CreateBuilder"/> ahead of every other startup filter, so that an endpoint
/// mapped by a component (as a middleware branch or an endpoint) is behind it without that component knowing.
/// </summary>
public sealed class OperatorAccess(IOptions<OperatorApiOptions> options, ILogger<OperatorAccess> logger)
{
    static readonly PathString Health = "/health";

    byte[]? _tokenHash;

    public bool TokenConfigured => !string.IsNullOrEmpty(options.Value.Token);

    /// <summary>Null when the caller may go on; otherwise the status code to answer (the body never says more).</summary>
    public int? Refusal(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments(Health))
            return null;

        if (!TokenConfigured)
            return context.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote) ? null : StatusCodes.Status403Forbidden;

        var header = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return StatusCodes.Status401Unauthorized;

        // Hashes have one length whatever was sent, so the comparison's time says nothing about the token.
        _tokenHash ??= SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.Token!));
        var sent = SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(sent, _tokenHash) ? null : StatusCodes.Status401Unauthorized;
    }

    internal async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (Refusal(context) is not { } status)
        {
            await next(context);
            return;
        }

        logger.LogWarning("Refused {Method} {Path} from {Remote}: {Reason}", context.Request.Method, context.Request.Path,
            context.Connection.RemoteIpAddress, status == StatusCodes.Status403Forbidden ? "no OperatorApi:Token is set, so only local callers are answered" : "missing or wrong bearer token");
        context.Response.StatusCode = status;
        if (status == StatusCodes.Status401Unauthorized)
            context.Response.Headers.WWWAuthenticate = "Bearer";
    }

    /// <summary>Says at start which way the operator endpoints are protected (quietly where the default holds: most services have none).</summary>
    internal void LogMode()
    {
        if (TokenConfigured)
            logger.LogInformation("Operator endpoints require the bearer token from OperatorApi:Token");
        else
            logger.LogDebug("OperatorApi:Token is not set: operator endpoints answer local (loopback) callers only");
    }
}

sealed class OperatorAccessStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        var access = app.ApplicationServices.GetRequiredService<OperatorAccess>();
        access.LogMode();
        app.Use((context, nextMiddleware) => access.InvokeAsync(context, nextMiddleware));
        next(app);
    };
}

public static class OperatorAccessRegistration
{
    /// <summary>For a service with its own authentication (the Console): its endpoints are not behind the operator token.</summary>
    public static IServiceCollection RemoveOperatorAccessGuard(this IServiceCollection services)
    {
        foreach (var descriptor in services.Where(d => d.ImplementationType == typeof(OperatorAccessStartupFilter)).ToList())
            services.Remove(descriptor);
        return services;
    }
}
