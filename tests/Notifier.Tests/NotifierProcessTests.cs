using MassTransit;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>The Notifier as its own process, configured the way docker-compose does it: a webhook URL from a secret file.</summary>
[Collection(DeliveryCollection.Name)]
public sealed class NotifierProcessTests(RabbitMqFixture rabbit, PostgresFixture postgres, ReceiverFixture receiver)
{
    [Fact]
    public async Task A_webhook_url_from_a_secret_file_is_used_and_never_printed()
    {
        var token = "SeCrEt" + Guid.NewGuid().ToString("N");
        var path = $"services/T0PROCESS/B0PROCESS/{token}";
        var secretFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(secretFile, receiver.ChatUrl(path) + "\n");
        try
        {
            var environment = new Dictionary<string, string?>
            {
                ["Logging__Format"] = "json",
                ["Notifier__Destinations__0__Name"] = "ops-slack",
                ["Notifier__Destinations__0__Format"] = "slack",
                ["Notifier__Destinations__0__Url_FILE"] = secretFile,
                ["Notifier__Destinations__0__AllowHttp"] = "true",
                // As the aspnet container image sets it.
                ["ASPNETCORE_HTTP_PORTS"] = "8080",
            };
            foreach (var (key, value) in rabbit.Environment.Concat(postgres.Environment))
                environment[key] = value;
            await using var notifier = ServiceProcess.Start("Notifier", environment);
            await notifier.WaitUntilReadyAsync(TimeSpan.FromSeconds(45));

            var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host("127.0.0.1", (ushort)rabbit.Port, rabbit.VirtualHost, h =>
            {
                h.Username(RabbitMqFixture.Username);
                h.Password(RabbitMqFixture.Password);
            }));
            await bus.StartAsync();
            try
            {
                await bus.Publish(TestAlerts.Raised("process-zone"));
                await Eventually.Until(() => receiver.Received(path).Count == 1, TimeSpan.FromSeconds(20), "the alert did not arrive");
            }
            finally
            {
                await bus.StopAsync();
            }

            await notifier.WaitForOutputAsync(l => l.Contains("delivered to", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
            Assert.Equal(0, await notifier.TerminateAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains(notifier.Output, l => l.Contains("hooks/services/***/***/***", StringComparison.Ordinal));
            Assert.DoesNotContain(notifier.Output, l => l.Contains(token, StringComparison.Ordinal) || l.Contains("B0PROCESS", StringComparison.Ordinal));
            // Nothing for an operator to wonder about: no HTTP_PORTS override warning, no Kerberos noise.
            Assert.DoesNotContain(notifier.Output, l => l.Contains("HTTP_PORTS", StringComparison.Ordinal) || l.Contains("gssapi", StringComparison.OrdinalIgnoreCase));
        }
        finally
        {
            File.Delete(secretFile);
        }
    }

    [Fact]
    public async Task A_configuration_error_is_one_line_per_key_and_the_stack_only_at_Debug()
    {
        var environment = rabbit.Environment.Concat(postgres.Environment).ToDictionary(e => e.Key, e => (string?)e.Value);
        environment["Notifier__Delivery__BaseDelay"] = "two seconds";

        await using var notifier = ServiceProcess.Start("Notifier", environment);
        Assert.Equal(2, await notifier.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var problems = notifier.Output.Where(l => !l.Contains("MassTransit: Configured endpoint", StringComparison.Ordinal)).ToList();
        Assert.Equal("Invalid configuration: Failed to convert configuration value 'two seconds' at 'Notifier:Delivery:BaseDelay' to type 'System.TimeSpan'.",
            Assert.Single(problems)[(problems[0].IndexOf("Invalid", StringComparison.Ordinal))..]);

        environment["Serilog__MinimumLevel__Default"] = "Debug";
        await using var debug = ServiceProcess.Start("Notifier", environment);
        Assert.Equal(2, await debug.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(debug.Output, l => l.TrimStart().StartsWith("at Microsoft.Extensions.Configuration.ConfigurationBinder", StringComparison.Ordinal));
    }
}
