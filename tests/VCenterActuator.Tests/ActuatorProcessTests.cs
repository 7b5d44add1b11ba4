using MassTransit;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using PowerEvents.VCenterActuator.Vim;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>The actuator as its own process, configured through environment variables as docker-compose does.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class ActuatorProcessTests(RabbitMqFixture rabbit)
{
    Dictionary<string, string?> Environment(VcsimProcess? vcsim = null)
    {
        var environment = new Dictionary<string, string?>();
        foreach (var (key, value) in rabbit.Environment)
            environment[key] = value;
        environment["VCenter__Url"] = vcsim?.Url.ToString() ?? "https://vcenter.invalid/sdk";
        environment["VCenter__Username"] = VcsimProcess.Username;
        environment["VCenter__Password"] = VcsimProcess.Password;
        environment["VCenter__CertificateFingerprint"] = vcsim?.Fingerprint ?? "";
        return environment;
    }

    [Theory]
    [InlineData("VCenter__Url", null, "VCenter:Url")]
    [InlineData("VCenter__Url", "http://vcenter.example/sdk", "VCenter:Url")]
    [InlineData("VCenter__Password", null, "VCenter:Password")]
    [InlineData("VCenter__CertificateFingerprint", "AB:CD", "VCenter:CertificateFingerprint")]
    [InlineData("VCenter__PollInterval", "-00:00:01", "VCenter:PollInterval")]
    [InlineData("VCenter__MaxConcurrentCalls", "0", "VCenter:MaxConcurrentCalls")]
    public async Task An_invalid_vcenter_setting_stops_the_service_with_a_message_naming_the_key(string variable, string? value, string key)
    {
        var environment = Environment();
        environment[variable] = value;
        await using var process = ServiceProcess.Start("VCenterActuator", environment);

        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains(process.Output, line => line.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_password_from_a_secret_file_is_reported_as_InvalidLogin_and_never_logged()
    {
        const string wrong = "wrong-secret-from-file-7f3a";
        await using var vcsim = await VcsimProcess.StartAsync(["-hosts", "1", "-vms", "1"]);
        var secretFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(secretFile, wrong + "\n");
        try
        {
            var environment = Environment(vcsim);
            environment["VCenter__Password_FILE"] = secretFile;
            environment["VCenter__Retry__BaseDelay"] = "00:00:00.050";
            await using var actuator = ServiceProcess.Start("VCenterActuator", environment);
            await actuator.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));

            var failed = new TaskCompletionSource<ClusterInventoryFailed>(TaskCreationOptions.RunContinuationsAsynchronously);
            var run = Guid.NewGuid();
            var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
            {
                cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
                {
                    h.Username(RabbitMqFixture.Username);
                    h.Password(RabbitMqFixture.Password);
                });
                cfg.ReceiveEndpoint($"vcenter-actuator-process-tests-{Guid.NewGuid():N}", e =>
                {
                    e.AutoDelete = true;
                    e.Handler<ClusterInventoryFailed>(context =>
                    {
                        if (context.Message.RunId == run)
                            failed.TrySetResult(context.Message);
                        return Task.CompletedTask;
                    });
                });
            });
            await bus.StartAsync();
            try
            {
                await bus.Publish(new ClusterInventoryRequested(run, "cluster1"));
                var outcome = await failed.Task.WaitAsync(TimeSpan.FromSeconds(30));

                Assert.Equal(VCenterException.InvalidLogin, outcome.Fault.Name);
                await actuator.TerminateAsync(TimeSpan.FromSeconds(30));
                Assert.Contains(actuator.Output, line => line.Contains("InvalidLogin", StringComparison.Ordinal));
                Assert.DoesNotContain(actuator.Output, line => line.Contains(wrong, StringComparison.Ordinal));
            }
            finally
            {
                await bus.StopAsync();
            }
        }
        finally
        {
            File.Delete(secretFile);
        }
    }
}
