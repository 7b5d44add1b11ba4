using Microsoft.Extensions.Configuration;

namespace PowerEvents.Hosting;

/// <summary>
/// Docker-secrets convention: an environment variable naming a section key, <c>Some__Key_FILE=/run/secrets/x</c> sets the
/// configuration key <c>Some:Key</c> to the file's content (trailing newline trimmed). Added after the
/// environment variables, so a file wins over a plain variable of the same key.
/// </summary>
public sealed class SecretFileConfigurationSource : IConfigurationSource
{
    public const string Suffix = "_FILE";

    public IConfigurationProvider Build(IConfigurationBuilder builder) => new SecretFileConfigurationProvider();
}

public sealed class SecretFileConfigurationProvider : ConfigurationProvider
{
    public override void Load()
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            var variable = (string)entry.Key;
            // Only section keys (Section__Key_FILE): other tools' *_FILE variables are not ours to read.
            if (!variable.EndsWith(SecretFileConfigurationSource.Suffix, StringComparison.Ordinal)
                || !variable.Contains("__", StringComparison.Ordinal))
                continue;

            var key = variable[..^SecretFileConfigurationSource.Suffix.Length].Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal);
            var path = (string?)entry.Value;
            if (string.IsNullOrWhiteSpace(path))
                continue;

            try
            {
                data[key] = File.ReadAllText(path).TrimEnd('\r', '\n');
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Name the key, never the content; the service must not start on a secret it cannot read.
                throw new InvalidOperationException(
                    $"{key}: cannot read the secret file named by {variable} ('{path}'): {ex.Message}", ex);
            }
        }

        Data = data;
    }
}
