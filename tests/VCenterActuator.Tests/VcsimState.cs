using System.Net.Http.Json;
using PowerEvents.Testing;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>The harness's control endpoint: what the simulated vCenter did, to check a step did no more than it said.</summary>
static class VcsimState
{
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public static async Task<State> ReadAsync(VcsimProcess vcsim)
    {
        var url = vcsim.ControlUrl ?? throw new InvalidOperationException("Start vcsim with -control 127.0.0.1:0 to read its state");
        return await Http.GetFromJsonAsync<State>(new Uri(url, "/state")) ?? throw new InvalidOperationException("empty /state");
    }

    /// <summary>Journal entries about one VM or host (e.g. shutdownGuest requests, power state changes).</summary>
    public static async Task<IReadOnlyList<Entry>> JournalAsync(VcsimProcess vcsim, string name, string eventName) =>
        (await ReadAsync(vcsim)).Journal.Where(e => e.Name == name && e.Event == eventName).ToList();

    public sealed record State(bool VcenterReachable, List<HostState> Hosts, List<VmState> Vms, List<Entry> Journal);

    public sealed record HostState(string Name, string PowerState, string ConnectionState, bool InMaintenance, string? EsxiUrl = null, string? LockdownMode = null);

    public sealed record VmState(string Name, string Host, string PowerState, string GuestState, bool ToolsRunning);

    public sealed record Entry(int Seq, string Kind, string Name, string Event, string? From, string To, string? Cause);
}
