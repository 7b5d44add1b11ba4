namespace PowerEvents.Hosting;

/// <summary>
/// <c>dotnet PowerEvents.X.dll probe</c>: asks the running service's <c>/health/ready</c> and exits 0 or 1.
/// Used by the container health check, because the runtime image has no curl or wget.
/// </summary>
public static class HealthProbe
{
    public const string Argument = "probe";
    public const string UrlVariable = "PE_PROBE_URL";

    public static bool IsRequested(string[] args) => args is [Argument];

    public static async Task<int> RunAsync()
    {
        var url = Environment.GetEnvironmentVariable(UrlVariable) is { Length: > 0 } configured
            ? configured
            : "http://127.0.0.1:8080/health/ready";
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await http.GetAsync(new Uri(url));
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return 1;
        }
    }
}
