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
        await File.WriteAllTextAsync(secretFile, receiver.Url(path) + "\n");
        try
        {
            var environment = new Dictionary<string, string?>
            {
                ["Logging__Format"] = "json",
                ["Notifier__Destinations__0__Name"] = "ops-slack",
                ["Notifier__Destinations__0__Format"] = "slack",
                ["Notifier__Destinations__0__Url_FILE"] = secretFile,
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
        }
        finally
        {
            File.Delete(secretFile);
        }
    }
}
