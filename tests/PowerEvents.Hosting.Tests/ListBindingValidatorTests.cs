using Microsoft.Extensions.Configuration;
using PowerEvents.Hosting;
using Xunit;

namespace PowerEvents.Hosting.Tests;

public sealed class ListBindingValidatorTests
{
    public sealed class Top
    {
        public List<Item> Items { get; set; } = [];
    }

    public sealed class WithDefaults
    {
        public List<string> Metrics { get; set; } = ["temperature"];
    }

    public sealed class Item
    {
        public string Name { get; set; } = "";
        public TimeSpan Every { get; set; }
        public List<int> Numbers { get; set; } = [];
    }

    static (Top Options, IConfiguration Configuration) Bind(Dictionary<string, string?> values)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var options = new Top();
        configuration.GetSection("Top").Bind(options);
        return (options, configuration);
    }

    [Fact]
    public void Items_that_all_bind_pass()
    {
        var (options, configuration) = Bind(new() { ["Top:Items:0:Name"] = "a", ["Top:Items:0:Every"] = "00:01:00", ["Top:Items:0:Numbers:0"] = "3" });

        Assert.True(new ListBindingValidator<Top>(configuration, "Top").Validate(null, options).Succeeded);
    }

    [Fact]
    public void An_item_the_binder_dropped_is_named_by_its_key()
    {
        var (options, configuration) = Bind(new() { ["Top:Items:0:Name"] = "a", ["Top:Items:0:Every"] = "every minute" });

        Assert.Empty(options.Items);
        var result = new ListBindingValidator<Top>(configuration, "Top").Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains("Top:Items:0:Every", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dropped_value_in_a_nested_list_is_found_too()
    {
        var (options, configuration) = Bind(new() { ["Top:Items:0:Name"] = "a", ["Top:Items:0:Numbers:0"] = "3", ["Top:Items:0:Numbers:1"] = "four" });

        var result = new ListBindingValidator<Top>(configuration, "Top").Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains("Top:Items:0:Numbers:1", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_list_with_defaults_and_no_configuration_passes()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Other:Key"] = "x" }).Build();

        Assert.True(new ListBindingValidator<WithDefaults>(configuration, "Top").Validate(null, new WithDefaults()).Succeeded);
    }
}
