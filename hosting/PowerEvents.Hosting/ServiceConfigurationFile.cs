using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;

namespace PowerEvents.Hosting;

/// <summary>
/// An optional per-service JSON file, <c>{ConfigDirectory}/{service}.json</c> (default directory <c>config</c> beside the
/// service), read after appsettings and before environment variables: operators mount their settings there
/// (docker-compose: <c>./config:/app/config:ro</c>) and keep secrets in the environment or <c>*_FILE</c>.
/// </summary>
public static class ServiceConfigurationFile
{
    public const string DirectoryKey = "ConfigDirectory";

    public static string PathFor(IConfiguration configuration, string serviceName, string contentRoot) =>
        Path.Combine(configuration[DirectoryKey] is { Length: > 0 } directory ? directory : Path.Combine(contentRoot, "config"), $"{serviceName}.json");

    /// <summary>Inserts the file's source after the last JSON source (appsettings.{Environment}.json).</summary>
    public static void Add(ConfigurationManager configuration, string serviceName, string contentRoot)
    {
        var source = new JsonConfigurationSource
        {
            Path = PathFor(configuration, serviceName, contentRoot),
            Optional = true,
            ReloadOnChange = false,
        };
        source.ResolveFileProvider();

        var sources = configuration.Sources;
        var lastJson = sources.ToList().FindLastIndex(s => s is JsonConfigurationSource);
        sources.Insert(lastJson + 1, source);
    }
}
