using PowerEvents.Hosting;
using PowerEvents.SensorPoller.Polling;
using Xunit;

namespace PowerEvents.SensorPoller.Tests;

/// <summary>Invalid source configuration is refused with the key an operator has to fix.</summary>
public sealed class OptionsTests
{
    static MerakiSourceOptions Meraki() => new() { Name = "hq", ApiKey = "k", OrganizationId = "1" };

    static HttpSourceOptions Http() => new()
    {
        Name = "bms", Url = new Uri("https://bms.example/api/alarms"), FixedId = "bms",
        AlarmStatePath = "state", ActiveValues = ["alarm"], ClearedValues = ["ok"],
    };

    static IReadOnlyList<string> Validate(SensorPollerOptions options) => KeyedOptionsValidator<SensorPollerOptions>.Validate(options, SensorPollerOptions.Section);

    [Fact]
    public void A_complete_configuration_is_accepted() =>
        Assert.Empty(Validate(new SensorPollerOptions { Meraki = [Meraki()], Http = [Http()] }));

    [Fact]
    public void No_sources_is_accepted_the_service_then_only_warns() =>
        Assert.Empty(Validate(new SensorPollerOptions()));

    [Theory]
    [InlineData("ApiKey", "SensorPoller:Meraki:0:ApiKey")]
    [InlineData("OrganizationId", "SensorPoller:Meraki:0:OrganizationId")]
    [InlineData("PerPage", "SensorPoller:Meraki:0:PerPage")]
    [InlineData("Interval", "SensorPoller:Meraki:0:Interval")]
    [InlineData("MinCelsius", "SensorPoller:Meraki:0:MinCelsius")]
    public void A_bad_meraki_value_names_its_key(string property, string key)
    {
        var meraki = Meraki();
        switch (property)
        {
            case "ApiKey": meraki.ApiKey = ""; break;
            case "OrganizationId": meraki.OrganizationId = ""; break;
            case "PerPage": meraki.PerPage = 2; break;
            case "Interval": meraki.Interval = TimeSpan.Zero; break;
            case "MinCelsius": meraki.MinCelsius = 200; break;
        }

        Assert.Contains(Validate(new SensorPollerOptions { Meraki = [meraki] }), f => f.StartsWith(key + ":", StringComparison.Ordinal));
    }

    [Fact]
    public void A_generic_source_needs_both_criteria_for_an_alarm_state()
    {
        var http = Http();
        http.ClearedValues = [];
        Assert.Contains(Validate(new SensorPollerOptions { Http = [http] }),
            f => f.StartsWith("SensorPoller:Http:0:ActiveValues:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_generic_source_without_anything_to_read_is_refused()
    {
        var http = Http();
        http.AlarmStatePath = null;
        Assert.Contains(Validate(new SensorPollerOptions { Http = [http] }), f => f.StartsWith("SensorPoller:Http:0:TemperaturePath:", StringComparison.Ordinal));
    }

    [Fact]
    public void Two_sources_with_one_name_are_refused()
    {
        var http = Http();
        http.Name = "hq";
        Assert.Contains(Validate(new SensorPollerOptions { Meraki = [Meraki()], Http = [http] }), f => f.Contains("'hq' is used twice", StringComparison.Ordinal));
    }
}
