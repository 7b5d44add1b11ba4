using PowerEvents.Hosting;
using Xunit;

namespace PowerEvents.Hosting.Tests;

public sealed class ServiceConfigurationFileTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("pe-config-").FullName;
    readonly string _section = $"Sample{Guid.NewGuid():N}";

    [Fact]
    public void A_mounted_service_file_is_read_and_the_environment_and_command_line_win_over_it()
    {
        File.WriteAllText(Path.Combine(_directory, "test-service.json"),
            $$"""{ "{{_section}}": { "FromFile": "file", "Overridden": "file", "OnCommandLine": "file" } }""");
        Environment.SetEnvironmentVariable($"{_section}__Overridden", "environment");
        try
        {
            var builder = ServiceDefaults.CreateBuilder("test-service",
                [$"--{ServiceConfigurationFile.DirectoryKey}={_directory}", $"--{_section}:OnCommandLine=command-line"]);

            Assert.Equal("file", builder.Configuration[$"{_section}:FromFile"]);
            Assert.Equal("environment", builder.Configuration[$"{_section}:Overridden"]);
            Assert.Equal("command-line", builder.Configuration[$"{_section}:OnCommandLine"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable($"{_section}__Overridden", null);
        }
    }

    [Fact]
    public void Another_services_file_and_a_missing_file_are_ignored()
    {
        File.WriteAllText(Path.Combine(_directory, "other-service.json"), $$"""{ "{{_section}}": { "FromFile": "other" } }""");

        var builder = ServiceDefaults.CreateBuilder("test-service", [$"--{ServiceConfigurationFile.DirectoryKey}={_directory}"]);

        Assert.Null(builder.Configuration[$"{_section}:FromFile"]);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
