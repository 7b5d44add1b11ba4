using System.Net;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using Xunit;

namespace PowerEvents.Hosting.Tests;

/// <summary>What <see cref="ServiceDefaults.CreateBuilder"/> gives every service, read from a built (not started) host.</summary>
public sealed class ServiceDefaultsTests
{
    static WebApplication Build(params string[] settings) => ServiceDefaults.CreateBuilder("hosting-test",
        ["--urls=http://127.0.0.1:0", "--RabbitMq:Host=127.0.0.1", "--RabbitMq:Username=u", "--RabbitMq:Password=p", .. settings]).Build();

    [Fact]
    public async Task MassTransit_usage_telemetry_is_off()
    {
        await using var app = Build();

        Assert.False(app.Services.GetRequiredService<IOptions<UsageTelemetryOptions>>().Value.Enabled);
    }

    [Theory]
    [InlineData("--RabbitMq:Port=0", "RabbitMq:Port: ")]
    [InlineData("--Metrics:Port=70000", "Metrics:Port: ")]
    public async Task A_bad_flat_setting_stops_the_start_naming_its_key(string setting, string key)
    {
        await using var app = Build(setting);

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.StartsWith(key, Assert.Single(failure.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_container_images_HTTP_PORTS_give_way_to_Urls_without_a_warning()
    {
        await using var app = Build("--HTTP_PORTS=8080", "--HTTPS_PORTS=8443");

        Assert.True(string.IsNullOrEmpty(app.Configuration["HTTP_PORTS"]));
        Assert.True(string.IsNullOrEmpty(app.Configuration["HTTPS_PORTS"]));
    }

    [Fact]
    public void PostgreSQL_connections_do_not_try_Kerberos()
    {
        var options = new PostgresOptions { Host = "db", Database = "powerevents", Username = "powerevents", Password = "x" };

        Assert.Equal(GssEncryptionMode.Disable, new NpgsqlConnectionStringBuilder(options.ToConnectionString()).GssEncryptionMode);
    }

    [Fact]
    public async Task A_health_answer_carries_status_only_never_a_checks_error_text()
    {
        var context = new DefaultHttpContext { Response = { Body = new MemoryStream() } };
        var report = new HealthReport(new Dictionary<string, HealthReportEntry>
        {
            ["postgres"] = new(HealthStatus.Unhealthy, "PostgreSQL does not answer: Failed to connect to db.internal:5432", TimeSpan.Zero,
                new NpgsqlException("Failed to connect to db.internal:5432"), null),
        }, TimeSpan.Zero);

        await ServiceDefaults.WriteHealth(context, report);

        context.Response.Body.Position = 0;
        var body = await new StreamReader(context.Response.Body).ReadToEndAsync();
        Assert.Equal("""{"status":"Unhealthy","checks":{"postgres":{"status":"Unhealthy"}}}""", body);
        Assert.DoesNotContain("db.internal", body, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failure_is_one_line_with_its_causes()
    {
        var failure = new InvalidOperationException("Bus start failed", new IOException("line one\nline two"));

        Assert.Equal("InvalidOperationException: Bus start failed <- IOException: line one line two", ServiceDefaults.OneLine(failure));
    }
}
