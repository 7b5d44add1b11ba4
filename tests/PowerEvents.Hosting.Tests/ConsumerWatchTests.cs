using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;
using Xunit;

namespace PowerEvents.Hosting.Tests;

/// <summary>The consumer check's decisions (<see cref="ConsumerWatch"/>) over plain data, and its settings' validation.</summary>
public sealed class ConsumerWatchTests
{
    static readonly TimeSpan Grace = TimeSpan.FromSeconds(60);
    static readonly DateTimeOffset T0 = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    static Dictionary<string, uint> Counts(params (string Queue, uint Consumers)[] counts) => counts.ToDictionary(c => c.Queue, c => c.Consumers);

    [Fact]
    public void A_queue_without_a_consumer_for_the_grace_is_restarted_once_then_given_up_on_a_grace_later()
    {
        var watch = new ConsumerWatch(Grace);
        var empty = Counts(("a", 0), ("b", 1));

        Assert.Empty(watch.Observe(T0, empty).Restart);
        Assert.Empty(watch.Observe(T0 + Grace - TimeSpan.FromSeconds(1), empty).Restart);
        var restart = watch.Observe(T0 + Grace, empty);
        Assert.Equal(["a"], restart.Restart);
        Assert.Empty(restart.GiveUp);
        Assert.Empty(watch.Observe(T0 + Grace + TimeSpan.FromSeconds(30), empty).Restart);
        var giveUp = watch.Observe(T0 + Grace + Grace, empty);
        Assert.Empty(giveUp.Restart);
        Assert.Equal(["a"], giveUp.GiveUp);
    }

    [Fact]
    public void A_queue_with_its_consumer_back_starts_over()
    {
        var watch = new ConsumerWatch(Grace);

        watch.Observe(T0, Counts(("a", 0)));
        Assert.Equal(["a"], watch.Observe(T0 + Grace, Counts(("a", 0))).Restart);
        watch.Observe(T0 + Grace + TimeSpan.FromSeconds(10), Counts(("a", 1)));
        watch.Observe(T0 + Grace + TimeSpan.FromSeconds(20), Counts(("a", 0)));

        var later = watch.Observe(T0 + Grace + Grace + TimeSpan.FromSeconds(19), Counts(("a", 0)));
        Assert.Empty(later.GiveUp);
        Assert.Empty(later.Restart);
        Assert.Equal(["a"], watch.Observe(T0 + Grace + Grace + TimeSpan.FromSeconds(20), Counts(("a", 0))).Restart);
    }

    [Fact]
    public void While_the_broker_does_not_answer_nothing_is_done_and_the_count_starts_again_after_it()
    {
        var watch = new ConsumerWatch(Grace);

        watch.Observe(T0, Counts(("a", 0)));
        Assert.Empty(watch.Observe(T0 + Grace, null).Restart);
        Assert.Empty(watch.Observe(T0 + Grace + TimeSpan.FromSeconds(1), Counts(("a", 0))).Restart);
        Assert.Empty(watch.Observe(T0 + Grace + Grace, Counts(("a", 0))).Restart);
        Assert.Equal(["a"], watch.Observe(T0 + Grace + Grace + TimeSpan.FromSeconds(1), Counts(("a", 0))).Restart);
    }

    [Theory]
    [InlineData("--ConsumerCheck:Interval=00:00:00", "ConsumerCheck:Interval: ")]
    [InlineData("--ConsumerCheck:Grace=00:00:01", "ConsumerCheck:Grace: ")]
    [InlineData("--ConsumerCheck:Grace=1.00:00:00", "ConsumerCheck:Grace: ")]
    public async Task A_bad_consumer_check_setting_stops_the_start_naming_its_key(string setting, string key)
    {
        await using var app = Build(setting);

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(failure.Failures, f => f.StartsWith(key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_interval_longer_than_the_grace_stops_the_start_naming_both_keys()
    {
        await using var app = Build("--ConsumerCheck:Interval=00:02:00", "--ConsumerCheck:Grace=00:01:00");

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        var line = Assert.Single(failure.Failures);
        Assert.StartsWith("ConsumerCheck:Interval: ", line, StringComparison.Ordinal);
        Assert.Contains("ConsumerCheck:Grace", line, StringComparison.Ordinal);
    }

    static WebApplication Build(params string[] settings) => ServiceDefaults.CreateBuilder("hosting-test",
        ["--urls=http://127.0.0.1:0", "--RabbitMq:Host=127.0.0.1", "--RabbitMq:Username=u", "--RabbitMq:Password=p", .. settings]).Build();
}
