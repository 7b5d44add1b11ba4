using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit;

namespace PowerEvents.Hosting.Tests;

public sealed class OperatorAccessTests
{
    const string Token = "0123456789abcdef0123456789abcdef-operator";

    static OperatorAccess Access(string? token) =>
        new(Options.Create(new OperatorApiOptions { Token = token }), NullLogger<OperatorAccess>.Instance);

    static DefaultHttpContext Request(string path, string remote = "192.168.1.20", string? authorization = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Path = path;
        context.Connection.RemoteIpAddress = IPAddress.Parse(remote);
        if (authorization is not null)
            context.Request.Headers.Authorization = authorization;
        return context;
    }

    [Theory]
    [InlineData(null)]
    [InlineData(Token)]
    public void Health_answers_anyone(string? token)
    {
        Assert.Null(Access(token).Refusal(Request("/health/ready")));
        Assert.Null(Access(token).Refusal(Request("/health/live")));
    }

    [Fact]
    public void Without_a_token_only_local_callers_are_answered()
    {
        Assert.Null(Access(null).Refusal(Request("/power/plan/cluster1", remote: "127.0.0.1")));
        Assert.Null(Access(null).Refusal(Request("/power/plan/cluster1", remote: "::1")));
        Assert.Equal(StatusCodes.Status403Forbidden, Access(null).Refusal(Request("/power/plan/cluster1")));
        // A container's port is reached from the bridge, not loopback: with no token, nobody outside gets in.
        Assert.Equal(StatusCodes.Status403Forbidden, Access(null).Refusal(Request("/power/plan/cluster1", remote: "172.18.0.1")));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Basic b3BlcmF0b3I6cGFzc3dvcmQ=")]
    [InlineData("Bearer ")]
    [InlineData("Bearer 0123456789abcdef0123456789abcdef-operatoR")]
    [InlineData("Bearer 0123456789abcdef0123456789abcdef-operator-and-more")]
    public void With_a_token_anything_but_that_bearer_token_is_refused_also_from_loopback(string? authorization)
    {
        Assert.Equal(StatusCodes.Status401Unauthorized, Access(Token).Refusal(Request("/power/plan/cluster1", authorization: authorization)));
        Assert.Equal(StatusCodes.Status401Unauthorized, Access(Token).Refusal(Request("/power/plan/cluster1", remote: "127.0.0.1", authorization: authorization)));
    }

    [Fact]
    public void The_bearer_token_opens_every_operator_endpoint()
    {
        Assert.Null(Access(Token).Refusal(Request("/power/plan/cluster1", authorization: "Bearer " + Token)));
        Assert.Null(Access(Token).Refusal(Request("/console/api/runs", authorization: "bearer " + Token)));
    }

    [Fact]
    public void A_short_token_is_refused_at_start_naming_its_key()
    {
        var failures = KeyedOptionsValidator<OperatorApiOptions>.Validate(new OperatorApiOptions { Token = "short" }, OperatorApiOptions.Section);

        Assert.Equal("OperatorApi:Token", Assert.Single(failures).Split(": ")[0]);
    }

    [Fact]
    public void The_generated_validator_names_the_key_too()
    {
        var result = new SectionKeyedValidator<OperatorApiOptions>(new OperatorApiOptionsValidator(), OperatorApiOptions.Section)
            .Validate(Microsoft.Extensions.Options.Options.DefaultName, new OperatorApiOptions { Token = "short" });

        Assert.Equal("OperatorApi:Token: must be at least 32 characters (e.g. openssl rand -hex 32).", Assert.Single(result.Failures!));
    }
}
