using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PowerEvents.Testing;
using PowerEvents.VCenterActuator.Vim;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>Options and clients pointed at a test's own vcsim, with the short timeouts tests want.</summary>
static class Vcenter
{
    public static VCenterOptions Options(VcsimProcess vcsim, Action<VCenterOptions>? configure = null)
    {
        var options = new VCenterOptions
        {
            Url = vcsim.Url,
            Username = VcsimProcess.Username,
            Password = VcsimProcess.Password,
            CertificateFingerprint = vcsim.Fingerprint,
            RequestTimeout = TimeSpan.FromSeconds(30),
            PollInterval = TimeSpan.FromMilliseconds(100),
            GuestShutdownTimeout = TimeSpan.FromSeconds(10),
            MaintenanceTimeout = TimeSpan.FromSeconds(10),
            PowerTaskTimeout = TimeSpan.FromSeconds(10),
            HostShutdownTimeout = TimeSpan.FromSeconds(10),
            Retry = new VCenterRetryOptions { MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromMilliseconds(200) },
        };
        configure?.Invoke(options);
        return options;
    }

    public static VimConnection Connection(VCenterOptions options) =>
        new(Microsoft.Extensions.Options.Options.Create(options), NullLogger<VimConnection>.Instance);

    public static VCenterClient Client(VimConnection connection, VCenterOptions options) =>
        new(connection, Microsoft.Extensions.Options.Options.Create(options));

    public static VCenterSteps Steps(IVCenterClient client, VCenterOptions options) =>
        new(client, Microsoft.Extensions.Options.Options.Create(options), new OutcomeMemory(), NullLogger<VCenterSteps>.Instance);

    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes.</summary>
    public static async Task Eventually(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Not true after {timeout}: {what}");
            await Task.Delay(50);
        }
    }
}
