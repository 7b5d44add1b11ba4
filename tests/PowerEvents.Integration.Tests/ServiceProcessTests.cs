using System.Text.Json;
using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using Xunit;
using Xunit.Abstractions;

namespace PowerEvents.Integration.Tests;

/// <summary>Each service as its own process, configured by environment variables as in docker-compose.</summary>
[Collection(RealServersCollection.Name)]
public sealed class ServiceProcessTests(RabbitMqFixture rabbit, PostgresFixture postgres, ITestOutputHelper output)
{
    public static TheoryData<string> Services => ["SensorPoller", "AlarmEvaluator", "VCenterActuator", "IloActuator", "Notifier"];

    static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(45);
    static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Each_service_becomes_ready_and_stops_cleanly_on_SIGTERM(string service)
    {
        await using var process = ServiceProcess.Start(service, Environment());

        var ready = await process.WaitUntilReadyAsync(ReadyTimeout);
        output.WriteLine($"{service}: ready after {ready.TotalMilliseconds:F0} ms");
        Assert.True((await process.GetAsync("health/live")).IsSuccessStatusCode);

        var exitCode = await process.TerminateAsync(StopTimeout);
        Assert.True(exitCode == 0, $"exit code {exitCode}:\n{process.OutputText}");
        Assert.Contains(process.Output, line => line.Contains("Bus stopped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_handler_log_line_carries_the_message_correlation_id()
    {
        var environment = Environment();
        environment["Logging__Format"] = "json";
        await using var notifier = ServiceProcess.Start("Notifier", environment);
        await notifier.WaitUntilReadyAsync(ReadyTimeout);

        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
        {
            h.Username(RabbitMqFixture.Username);
            h.Password(RabbitMqFixture.Password);
        }));
        await bus.StartAsync();
        try
        {
            var alarm = new AlarmRaised(Guid.NewGuid(), "server-room", DateTimeOffset.UtcNow, 35,
                [new SensorReading("Q3CA-AAAA-0001", 36.2, DateTimeOffset.UtcNow)]);
            await bus.Publish(alarm);

            var line = await notifier.WaitForOutputAsync(l => l.Contains("ALARM RAISED", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
            using var json = JsonDocument.Parse(line);
            var properties = json.RootElement.GetProperty("Properties");
            Assert.Equal(alarm.AlarmId.ToString(), properties.GetProperty("CorrelationId").GetString());
            Assert.Equal(nameof(AlarmRaised), properties.GetProperty("MessageType").GetString());
            Assert.Equal("notifier", properties.GetProperty("Service").GetString());
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    [Theory]
    [InlineData("RabbitMq__Port", "not-a-port", "RabbitMq:Port")]
    [InlineData("RabbitMq__Port", "70000", "RabbitMq:Port")]
    [InlineData("RabbitMq__Password", null, "RabbitMq:Password")]
    [InlineData("Postgres__Host", "", "Postgres:Host")]
    [InlineData("Logging__Format", "xml", "Logging:Format")]
    public async Task An_invalid_setting_stops_the_service_with_a_message_naming_the_key(string variable, string? value, string key)
    {
        var environment = Environment();
        environment[variable] = value;
        await using var process = ServiceProcess.Start("AlarmEvaluator", environment);

        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains(process.Output, line => line.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_secret_can_come_from_a_file_and_is_never_logged()
    {
        var secretFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(secretFile, RabbitMqFixture.Password + "\n");
        try
        {
            var environment = Environment();
            environment["RabbitMq__Password"] = "wrong-password-that-must-be-overridden";
            environment["RabbitMq__Password_FILE"] = secretFile;
            await using var process = ServiceProcess.Start("IloActuator", environment);

            await process.WaitUntilReadyAsync(ReadyTimeout);
            await process.TerminateAsync(StopTimeout);

            Assert.DoesNotContain(process.Output, line => line.Contains("wrong-password", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(secretFile);
        }
    }

    Dictionary<string, string?> Environment()
    {
        var environment = new Dictionary<string, string?>();
        foreach (var (key, value) in rabbit.Environment)
            environment[key] = value;
        foreach (var (key, value) in postgres.Environment)
            environment[key] = value;
        // The vCenter actuator needs its settings to start; it connects on the first command, not before.
        environment["VCenter__Url"] = "https://vcenter.invalid/sdk";
        environment["VCenter__Username"] = "pe-test";
        environment["VCenter__Password"] = "pe-test";
        return environment;
    }
}
