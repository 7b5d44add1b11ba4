using System.ComponentModel.DataAnnotations;
using PowerEvents.Hosting;
using Xunit;

namespace PowerEvents.Hosting.Tests;

public sealed class KeyedOptionsValidatorTests
{
    [Fact]
    public void Valid_options_pass()
    {
        var options = new RabbitMqOptions { Host = "rabbitmq", Username = "pe", Password = "secret" };

        Assert.Empty(KeyedOptionsValidator<RabbitMqOptions>.Validate(options, RabbitMqOptions.Section));
    }

    [Fact]
    public void Failures_name_the_full_configuration_key()
    {
        var options = new RabbitMqOptions { Host = "", Port = 0, Username = "pe", Password = "" };

        var failures = KeyedOptionsValidator<RabbitMqOptions>.Validate(options, RabbitMqOptions.Section);

        Assert.Equal(3, failures.Count);
        Assert.Contains(failures, f => f.StartsWith("RabbitMq:Host: ", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("RabbitMq:Port: ", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("RabbitMq:Password: ", StringComparison.Ordinal));
    }

    [Fact]
    public void Nested_lists_and_dictionaries_are_validated_with_their_index_or_key()
    {
        var options = new Parent
        {
            Children = [new Child { Name = "ok" }, new Child { Name = "" }],
            ByName = new Dictionary<string, Child> { ["hall-a"] = new() { Name = "" } },
            Single = new Child { Name = "" },
        };

        var failures = KeyedOptionsValidator<Parent>.Validate(options, "Top");

        Assert.Equal(
            ["Top:Children:1:Name: The Name field is required.", "Top:ByName:hall-a:Name: The Name field is required.", "Top:Single:Name: The Name field is required."],
            failures);
    }

    [Fact]
    public void Cross_field_rules_are_reported_under_their_member()
    {
        var failures = KeyedOptionsValidator<Range>.Validate(new Range { Low = 35, High = 30 }, "Zone");

        Assert.Equal(["Zone:Low: must be below High"], failures);
    }

    sealed class Parent
    {
        public List<Child> Children { get; set; } = [];
        public Dictionary<string, Child> ByName { get; set; } = [];
        public Child? Single { get; set; }
        public List<string> Tags { get; set; } = ["not validated as objects"];
    }

    sealed class Child
    {
        [Required]
        public string Name { get; set; } = "";
    }

    sealed class Range : IValidatableObject
    {
        public double Low { get; set; }
        public double High { get; set; }

        public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
        {
            if (Low >= High)
                yield return new ValidationResult("must be below High", [nameof(Low)]);
        }
    }
}
