using PowerEvents.Testing;
using Xunit;

namespace IloActuator.Tests;

/// <summary>The IloActuator as its own process, configured by environment variables as in docker-compose.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class ActuatorProcessTests(RabbitMqFixture rabbit)
{
    [Theory]
    [InlineData("Bmc__Hosts__0__Url", null, "Bmc:Hosts:0:Url: set Url (a BMC) or WakeOnLan:Mac")]
    [InlineData("Bmc__Hosts__0__CertificateFingerprint", "AB:CD", "Bmc:Hosts:0:CertificateFingerprint")]
    [InlineData("Bmc__Hosts__0__Url", "http://ilo-esx01/", "Bmc:Hosts:0:Url: is http://")]
    [InlineData("Bmc__RequestTimeout", "fifteen", "Bmc:RequestTimeout")]
    public async Task An_invalid_BMC_setting_stops_the_service_naming_the_key(string variable, string? value, string expected)
    {
        var environment = Environment();
        environment[variable] = value;
        await using var process = ServiceProcess.Start("IloActuator", environment);

        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains(process.Output, line => line.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_BMC_password_from_a_secret_file_satisfies_the_configuration_and_is_never_printed()
    {
        var secret = Path.GetTempFileName();
        await File.WriteAllTextAsync(secret, "file-secret-Pa55\n");
        try
        {
            var environment = Environment();
            environment.Remove("Bmc__Hosts__0__Password");
            environment["Bmc__Hosts__0__Password_FILE"] = secret;
            await using var process = ServiceProcess.Start("IloActuator", environment);

            await process.WaitUntilReadyAsync(TimeSpan.FromSeconds(45));
            await process.TerminateAsync(TimeSpan.FromSeconds(30));

            Assert.DoesNotContain(process.Output, line => line.Contains("file-secret", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(secret);
        }
    }

    Dictionary<string, string?> Environment()
    {
        var environment = rabbit.Environment.ToDictionary(e => e.Key, e => (string?)e.Value);
        environment["Bmc__Hosts__0__Name"] = "esx-01.pe.test";
        environment["Bmc__Hosts__0__Url"] = "https://ilo-esx01.example.net/";
        environment["Bmc__Hosts__0__Username"] = "powerevents";
        environment["Bmc__Hosts__0__Password"] = "env-secret-Pa55";
        return environment;
    }
}
