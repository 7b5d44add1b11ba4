using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PowerEvents.Contracts;
using PowerEvents.Notifier.Delivery;
using Xunit;

namespace PowerEvents.Notifier.Tests;

/// <summary>
/// The delivery report's publish is bounded (unit tests on MassTransit's in-memory harness, a publish pipe that never
/// completes standing in for a channel that never learns its connection died, and a fake clock).
/// </summary>
public sealed class DeliveryReportsTests
{
    [Fact]
    public async Task A_report_whose_publish_never_completes_gives_up_after_its_limit_and_frees_the_worker()
    {
        var never = new TaskCompletionSource();
        await using var provider = new ServiceCollection()
            .AddMassTransitTestHarness(x => x.UsingInMemory((context, cfg) =>
            {
                cfg.ConfigurePublish(p => p.UseExecuteAsync(_ => never.Task));
                cfg.ConfigureEndpoints(context);
            }))
            .BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var reports = new DeliveryReports(harness.Bus, clock, NullLogger<DeliveryReports>.Instance);

        var report = reports.ReportAsync("ops", TestAlerts.Alert(), new DeliveryOutcome(true, 1, 200, null), CancellationToken.None);
        clock.Advance(DeliveryReports.PublishLimit - TimeSpan.FromSeconds(1));
        await Task.Delay(200);
        Assert.False(report.IsCompleted, "gave up before its limit");

        clock.Advance(TimeSpan.FromSeconds(3));
        await report.WaitAsync(TimeSpan.FromSeconds(30)); // completes (the worker goes on) without throwing
        Assert.False(await harness.Published.Any<WebhookDelivered>());
    }

    [Fact]
    public async Task A_report_is_published_when_the_bus_answers()
    {
        await using var provider = new ServiceCollection().AddMassTransitTestHarness().BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        var reports = new DeliveryReports(harness.Bus, TimeProvider.System, NullLogger<DeliveryReports>.Instance);

        await reports.ReportAsync("ops", TestAlerts.Alert(), new DeliveryOutcome(false, 3, 503, "Service Unavailable"), CancellationToken.None);

        var published = (await harness.Published.SelectAsync<WebhookDelivered>().First()).Context.Message;
        Assert.Equal(("ops", false, 3, 503), (published.Destination, published.Delivered, published.Attempts, published.StatusCode));
    }
}
