using Microsoft.Extensions.Configuration;
using PowerEvents.Hosting;
using Xunit;

namespace PowerEvents.Hosting.Tests;

public sealed class SecretFileConfigurationTests
{
    [Fact]
    public void A_section_key_FILE_variable_sets_the_key_to_the_file_content()
    {
        var section = $"Secret{Guid.NewGuid():N}";
        var file = Path.GetTempFileName();
        File.WriteAllText(file, "s3cret\n");
        Environment.SetEnvironmentVariable($"{section}__Password_FILE", file);
        try
        {
            var configuration = new ConfigurationBuilder().Add(new SecretFileConfigurationSource()).Build();

            Assert.Equal("s3cret", configuration[$"{section}:Password"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable($"{section}__Password_FILE", null);
            File.Delete(file);
        }
    }

    [Fact]
    public void An_unreadable_secret_file_fails_naming_the_key_and_not_the_content()
    {
        var section = $"Secret{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable($"{section}__Password_FILE", "/nonexistent/secret");
        try
        {
            var error = Assert.Throws<InvalidOperationException>(() =>
                new ConfigurationBuilder().Add(new SecretFileConfigurationSource()).Build());

            Assert.StartsWith($"{section}:Password: cannot read the secret file", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable($"{section}__Password_FILE", null);
        }
    }

    [Fact]
    public void Other_tools_FILE_variables_are_ignored()
    {
        var variable = $"SOMETOOL{Guid.NewGuid():N}_FILE";
        Environment.SetEnvironmentVariable(variable, "/nonexistent/config");
        try
        {
            var configuration = new ConfigurationBuilder().Add(new SecretFileConfigurationSource()).Build();

            Assert.Empty(configuration.AsEnumerable());
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }
}
