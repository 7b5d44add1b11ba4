using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace PowerEvents.Console.Auth;

/// <summary><c>Authorization: Bearer pec_…</c> for scripts. Token requests carry no cookie, so they need no CSRF token.</summary>
public sealed class TokenAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    AccountStore accounts) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Token";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal))
            return AuthenticateResult.NoResult();
        var account = await accounts.FindByTokenAsync(header["Bearer ".Length..].Trim(), Context.RequestAborted);
        if (account is null)
            return AuthenticateResult.Fail("unknown token");
        var identity = new ClaimsIdentity(ConsoleAuth.Claims(account), SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}
