using MassTransit;
using PowerEvents.Contracts;
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

    [Fact]
    public async Task Metrics_count_webhook_deliveries_and_follow_a_run_through_its_phases_and_steps()
    {
        var token = "SeCrEt" + Guid.NewGuid().ToString("N");
        var path = $"services/T0METRIC/B0METRIC/{token}";
        var environment = rabbit.Environment.Concat(postgres.Environment).ToDictionary(e => e.Key, e => (string?)e.Value);
        environment["Notifier__Destinations__0__Name"] = "ops-slack";
        environment["Notifier__Destinations__0__Format"] = "slack";
        environment["Notifier__Destinations__0__Url"] = receiver.ChatUrl(path);
        environment["Notifier__Destinations__0__AllowHttp"] = "true";
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
            const string destination = "destination=\"ops-slack\"";
            var before = await MetricsScrape.ReadAsync(notifier.BaseAddress);
            var cluster = $"metrics-{Guid.NewGuid():N}"[..16];
            var run = Guid.NewGuid();
            var start = DateTimeOffset.UtcNow;

            await bus.Publish(new PowerRunStarted(run, cluster, "server-room", ["all"], 1, 1, false, start));
            var running = await MetricsScrape.UntilAsync(notifier.BaseAddress,
                m => m.Sum("powerevents_run_phase", $"cluster=\"{cluster}\"", "phase=\"shutdown\"") == 1,
                TimeSpan.FromSeconds(30), "the shutdown phase is not shown");
            Assert.Equal(0, running.Sum("powerevents_run_phase", $"cluster=\"{cluster}\"", "phase=\"off\""));

            await bus.Publish(new VmShutDown(run, cluster, "vm-1", "app-01", VmShutdownOutcome.Graceful, null, start.AddSeconds(20)));
            await bus.Publish(new HostPoweredOff(run, cluster, "esx-01", StepOutcome.Done, null, start.AddSeconds(50)));
            await bus.Publish(new PowerRunCompleted(run, cluster, [], false, start, start.AddSeconds(60)));

            var after = await MetricsScrape.UntilAsync(notifier.BaseAddress,
                m => m.Sum("powerevents_run_phase", $"cluster=\"{cluster}\"", "phase=\"off\"") == 1
                    && m.Sum("powerevents_run_step_outcomes_total", "kind=\"vm-shutdown\"", "outcome=\"Graceful\"") > before.Sum("powerevents_run_step_outcomes_total", "kind=\"vm-shutdown\"", "outcome=\"Graceful\"")
                    && m.Sum("powerevents_run_step_outcomes_total", "kind=\"host-shutdown\"", "outcome=\"Done\"") > before.Sum("powerevents_run_step_outcomes_total", "kind=\"host-shutdown\"", "outcome=\"Done\"")
                    && m.Sum("powerevents_webhook_deliveries_total", destination, "result=\"delivered\"") > before.Sum("powerevents_webhook_deliveries_total", destination, "result=\"delivered\""),
                TimeSpan.FromSeconds(45), "the run's end, its steps or a webhook delivery are not counted");

            Assert.Equal(0, after.Sum("powerevents_run_phase", $"cluster=\"{cluster}\"", "phase=\"shutdown\""));
            // The host's step ended 50 s into the shutdown: its time lands in the 64 s bucket, not the 32 s one.
            Assert.Equal(1, after.Sum("powerevents_run_step_seconds_bucket", "kind=\"host-shutdown\"", "le=\"64\"") - before.Sum("powerevents_run_step_seconds_bucket", "kind=\"host-shutdown\"", "le=\"64\""));
            Assert.Equal(0, after.Sum("powerevents_run_step_seconds_bucket", "kind=\"host-shutdown\"", "le=\"32\"") - before.Sum("powerevents_run_step_seconds_bucket", "kind=\"host-shutdown\"", "le=\"32\""));
            Assert.True(after.Sum("powerevents_run_phase_duration_seconds_count", "phase=\"shutdown\"", "result=\"clean\"") > before.Sum("powerevents_run_phase_duration_seconds_count", "phase=\"shutdown\"", "result=\"clean\""));
            Assert.True(after.Sum("powerevents_webhook_attempts_total", destination) > 0);
            Assert.Contains(after.Series.Keys, k => k.StartsWith("masstransit_", StringComparison.Ordinal));
            // The destination's URL holds its token; only the destination's name may appear.
            Assert.DoesNotContain(token, after.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("B0METRIC", after.Text, StringComparison.Ordinal);
        }
        finally
        {
            await bus.StopAsync();
        }
    }
}
