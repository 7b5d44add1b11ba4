using System.Diagnostics;
using System.Text.RegularExpressions;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.Integration.Tests;

/// <summary>docker-compose.yml is validated by the docker-compose tool itself (no engine needed).</summary>
public sealed class ComposeFileTests
{
    static readonly string Root = TestServers.RepositoryRoot;

    [Fact]
    public async Task The_compose_file_is_valid_with_the_example_env_file()
    {
        var (exitCode, output) = await ComposeAsync("--env-file", Path.Combine(Root, ".env.example"), "config", "-q");

        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public async Task It_declares_the_brokers_and_the_six_services()
    {
        var (exitCode, output) = await ComposeAsync("--env-file", Path.Combine(Root, ".env.example"), "config", "--services");

        Assert.True(exitCode == 0, output);
        Assert.Equal(
            ["alarm-evaluator", "console", "ilo-actuator", "notifier", "postgres", "rabbitmq", "rabbitmq-users", "sensor-poller", "vcenter-actuator"],
            output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order());
    }

    [Fact]
    public async Task Every_service_restarts_is_memory_limited_and_waits_for_a_healthy_broker()
    {
        var (exitCode, output) = await ComposeAsync("--env-file", Path.Combine(Root, ".env.example"), "config");
        Assert.True(exitCode == 0, output);

        foreach (var service in new[] { "sensor-poller", "alarm-evaluator", "vcenter-actuator", "ilo-actuator", "notifier", "console" })
        {
            var block = ServiceBlock(output, service);
            Assert.Contains("restart: unless-stopped", block, StringComparison.Ordinal);
            Assert.Matches(@"mem_limit: \d+m", block);
            Assert.Matches(@"rabbitmq:\s+condition: service_healthy", block);
            Assert.Contains("max-size: 10m", block, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(Root, ServiceDockerfile(block))), $"{service}: Dockerfile missing");
            // One recipe for every service: the build argument names the service's project, which must exist.
            var project = Assert.Single(Regex.Matches(block, @"SERVICE: (\w+)")).Groups[1].Value;
            Assert.True(File.Exists(Path.Combine(Root, "services", project, project + ".csproj")), $"{service}: services/{project}/{project}.csproj missing");
        }
    }

    [Fact]
    public async Task Without_secrets_in_the_environment_compose_refuses_and_names_the_variable()
    {
        var empty = Path.GetTempFileName();
        try
        {
            var (exitCode, output) = await ComposeAsync("--env-file", empty, "config", "-q");

            Assert.NotEqual(0, exitCode);
            Assert.Contains("RABBITMQ_", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(empty);
        }
    }

    [Theory]
    [InlineData("docker-compose.yml")]
    [InlineData("docker-compose.override.example.yml")]
    public void No_secret_is_written_in_the_compose_files(string file)
    {
        var compose = File.ReadAllText(Path.Combine(Root, file));

        // Every secret-looking key takes its value from the environment (${VAR}) or is a *_FILE naming a Docker secret.
        Assert.DoesNotMatch(@"(?im)^\s*(?!secrets\s*:)[\w-]*(password|pass|secret|token|apikey|url)[\w-]*(?<!_FILE)\s*:[ \t]*(?!\$\{)(?!\{ *file:)\S", compose);
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(compose, @"(?m)^\s*(\w+_FILE)\s*:\s*(\S+)"))
            Assert.StartsWith("/run/secrets/", m.Groups[2].Value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Docker_secrets_are_files_under_secrets_and_every_FILE_variable_names_one_the_service_mounts()
    {
        var (exitCode, output) = await ComposeAsync("-f", Path.Combine(Root, "docker-compose.override.example.yml"),
            "--env-file", Path.Combine(Root, ".env.example"), "config");
        Assert.True(exitCode == 0, output);

        var declared = System.Text.RegularExpressions.Regex.Matches(output, @"(?m)^  (\w+):\n    file: (\S+)$")
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.Contains("vcenter_password", declared.Keys);
        Assert.All(declared.Values, path => Assert.StartsWith(Path.Combine(Root, "secrets") + "/", path, StringComparison.Ordinal));

        foreach (var service in new[] { "sensor-poller", "vcenter-actuator", "ilo-actuator", "notifier", "console" })
        {
            var block = ServiceBlock(output, service);
            var files = System.Text.RegularExpressions.Regex.Matches(block, @"_FILE: /run/secrets/(\w+)").Select(m => m.Groups[1].Value).ToList();
            Assert.NotEmpty(files);
            foreach (var secret in files)
            {
                Assert.Contains(secret, declared.Keys);
                Assert.Contains($"- source: {secret}", block, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Every_secret_file_the_compose_files_name_is_created_in_step_2_of_the_deploy_guide()
    {
        var compose = File.ReadAllText(Path.Combine(Root, "docker-compose.yml")) + File.ReadAllText(Path.Combine(Root, "docker-compose.override.example.yml"));
        var named = System.Text.RegularExpressions.Regex.Matches(compose, @"file: \./secrets/(\w+)").Select(m => m.Groups[1].Value).Distinct().ToList();
        var guide = File.ReadAllText(Path.Combine(Root, "docs", "deploy.md"));
        var start = guide.IndexOf("## 2. Passwords and secrets", StringComparison.Ordinal);
        var step2 = guide[start..guide.IndexOf("## 3.", start, StringComparison.Ordinal)];
        // The broker accounts are created by one loop: `for account in a b c; do … secrets/rabbitmq_${account}_password`.
        var loop = System.Text.RegularExpressions.Regex.Match(step2, @"for account in ([\w ]+); do\s*\n\s*openssl rand -hex \d+ > secrets/rabbitmq_\$\{account\}_password");
        Assert.True(loop.Success, "step 2 has no loop creating the broker accounts' passwords");
        var created = System.Text.RegularExpressions.Regex.Matches(step2, @"> secrets/(\w+)").Select(m => m.Groups[1].Value)
            .Concat(loop.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => $"rabbitmq_{a}_password"))
            .ToHashSet();

        Assert.NotEmpty(named);
        Assert.All(named, secret => Assert.True(created.Contains(secret), $"secrets/{secret} is named by a compose file but not created in docs/deploy.md, step 2"));
    }

    [Fact]
    public async Task Each_service_connects_with_a_broker_account_of_its_own_created_before_it_starts()
    {
        var (exitCode, output) = await ComposeAsync("--env-file", Path.Combine(Root, ".env.example"), "config");
        Assert.True(exitCode == 0, output);

        using var users = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "deploy", "rabbitmq", "users.json")));
        var setup = ServiceBlock(output, "rabbitmq-users");
        foreach (var service in new[] { "sensor-poller", "alarm-evaluator", "vcenter-actuator", "ilo-actuator", "notifier" })
        {
            var block = ServiceBlock(output, service);
            var secret = $"rabbitmq_{service.Replace('-', '_')}_password";
            Assert.Contains($"RabbitMq__Username: {service}", block, StringComparison.Ordinal);
            Assert.Contains($"RabbitMq__Password_FILE: /run/secrets/{secret}", block, StringComparison.Ordinal);
            Assert.Contains("Bus__CommandOrigin: alarm-evaluator", block, StringComparison.Ordinal);
            Assert.Matches(@"rabbitmq-users:\s+condition: service_completed_successfully", block);
            Assert.Contains($"- source: {secret}", setup, StringComparison.Ordinal);
            Assert.True(users.RootElement.GetProperty("users").TryGetProperty(service, out _), $"{service} has no permissions in users.json");
        }
        Assert.Contains("- source: rabbitmq_operator_password", setup, StringComparison.Ordinal);
        Assert.Equal("monitoring", users.RootElement.GetProperty("users").GetProperty("operator").GetProperty("tags").GetString());
    }

    [Fact]
    public async Task Every_service_mounts_its_configuration_folder_read_only()
    {
        var (exitCode, output) = await ComposeAsync("--env-file", Path.Combine(Root, ".env.example"), "config");
        Assert.True(exitCode == 0, output);

        foreach (var service in new[] { "sensor-poller", "alarm-evaluator", "vcenter-actuator", "ilo-actuator", "notifier", "console" })
            Assert.Contains($"- {Path.Combine(Root, "config")}:/app/config:ro", ServiceBlock(output, service), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Broker_and_database_keep_their_data_in_named_volumes_and_are_health_checked()
    {
        var (exitCode, output) = await ComposeAsync("--env-file", Path.Combine(Root, ".env.example"), "config");
        Assert.True(exitCode == 0, output);

        Assert.Matches(@"- rabbitmq-data:/var/lib/rabbitmq", ServiceBlock(output, "rabbitmq"));
        Assert.Matches(@"- postgres-data:/var/lib/postgresql/data", ServiceBlock(output, "postgres"));
        Assert.Matches(@"(?m)^volumes:\n  postgres-data: \{\}\n  rabbitmq-data: \{\}", output);
        foreach (var server in new[] { "rabbitmq", "postgres" })
        {
            Assert.Contains("healthcheck:", ServiceBlock(output, server), StringComparison.Ordinal);
            Assert.Matches(@"mem_limit: \d+m", ServiceBlock(output, server));
        }
        foreach (var service in new[] { "alarm-evaluator", "notifier", "console" })
            Assert.Matches(@"postgres:\s+condition: service_healthy", ServiceBlock(output, service));
    }

    [Fact]
    public void Every_example_configuration_file_names_its_service_and_holds_no_secret()
    {
        var examples = Directory.GetFiles(Path.Combine(Root, "config", "examples"), "*.json");

        Assert.Equal(["alarm-evaluator", "ilo-actuator", "notifier", "sensor-poller", "vcenter-actuator"],
            examples.Select(Path.GetFileNameWithoutExtension).Order());
        foreach (var file in examples)
        {
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file));
            Assert.DoesNotMatch(@"(?i)""(password|apikey|signingsecret|url)""\s*:\s*""(?!https://(ilo|bmc)-)", File.ReadAllText(file));
        }
    }

    static string ServiceBlock(string config, string service)
    {
        var start = config.IndexOf($"\n  {service}:\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"service {service} not in config");
        var end = config.IndexOf("\n  ", start + service.Length + 5, StringComparison.Ordinal);
        while (end >= 0 && end + 3 < config.Length && config[end + 3] == ' ')
            end = config.IndexOf("\n  ", end + 3, StringComparison.Ordinal);
        return end < 0 ? config[start..] : config[start..end];
    }

    static string ServiceDockerfile(string block)
    {
        var line = block.Split('\n').Single(l => l.TrimStart().StartsWith("dockerfile:", StringComparison.Ordinal));
        return line.Split(':', 2)[1].Trim();
    }

    static async Task<(int ExitCode, string Output)> ComposeAsync(params string[] args)
    {
        var info = new ProcessStartInfo("docker-compose")
        {
            WorkingDirectory = Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add("-f");
        info.ArgumentList.Add(Path.Combine(Root, "docker-compose.yml"));
        foreach (var arg in args)
            info.ArgumentList.Add(arg);

        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("docker-compose is not installed: run scripts/install-deps.sh (Debian package docker-compose).", ex);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, await stdout + await stderr);
        }
    }
}
