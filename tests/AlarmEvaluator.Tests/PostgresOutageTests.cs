using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using PowerEvents.Contracts;
using PowerEvents.Notifier.Tests;
using PowerEvents.Testing;
using Xunit;
using Xunit.Abstractions;

namespace PowerEvents.AlarmEvaluator.Tests;

/// <summary>
/// Issue 15, point 6: a 10-second PostgreSQL outage once put a <see cref="TemperatureSampled"/> into the <c>_error</c>
/// queue (the endpoint's own three quick retries). A restart of up to a minute must cost a delay, never a reading.
/// </summary>
[Collection(RealServersCollection.Name)]
public sealed class PostgresOutageTests(RabbitMqFixture rabbit, ITestOutputHelper output)
{
    [Fact]
    public async Task A_reading_that_arrives_during_a_60_second_PostgreSQL_outage_is_evaluated_after_it_and_never_dead_lettered()
    {
        await using var postgres = await PrivatePostgres.StartAsync();
        var zone = $"zone-{Guid.NewGuid():N}"[..16];
        var sensor = $"S-{Guid.NewGuid():N}"[..12];
        await using var recorder = await BusRecorder.StartAsync(rabbit);
        WebApplication evaluator = await Hosts.StartAsync(AlarmEvaluatorHost.Build([
            .. rabbit.HostArgs, .. postgres.HostArgs, "--Urls=http://127.0.0.1:0",
            $"--AlarmEvaluator:Zones:0:Name={zone}",
            $"--AlarmEvaluator:Zones:0:Sensors:0={sensor}",
            "--AlarmEvaluator:Zones:0:ConsecutiveSamples=1",
            "--AlarmEvaluator:Zones:0:StaleAfter=00:10:00",
            "--AlarmEvaluator:OutboxInterval=00:00:00.500",
        ]));
        try
        {
            await postgres.StopServerAsync();
            var now = DateTimeOffset.UtcNow;
            await recorder.Publisher.Publish(new TemperatureSampled("outage-test", sensor, zone, 45, now, now));

            var outage = Stopwatch.StartNew();
            while (outage.Elapsed < TimeSpan.FromSeconds(60))
            {
                Assert.DoesNotContain(await rabbit.QueueNamesAsync(), q => q.EndsWith("_error", StringComparison.Ordinal));
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
            Assert.Empty(recorder.Received<AlarmRaised>(a => a.Zone == zone));

            await postgres.StartServerAsync();
            await recorder.WaitForAsync<AlarmRaised>(a => a.Zone == zone, TimeSpan.FromSeconds(120));
            output.WriteLine($"alarm raised {outage.Elapsed.TotalSeconds:F0} s after PostgreSQL went down");
            Assert.DoesNotContain(await rabbit.QueueNamesAsync(), q => q.EndsWith("_error", StringComparison.Ordinal));
        }
        finally
        {
            await Hosts.StopAsync(evaluator);
        }
    }
}
