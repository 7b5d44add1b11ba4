using Microsoft.Extensions.Options;
using PowerEvents.Hosting;

namespace PowerEvents.IloActuator;

/// <summary>
/// Preflight of every BMC: the service root, a login (a session, deleted again, or Basic, as <c>AuthMode</c> decides)
/// and a <c>PowerState</c> read — the same path a power-on takes, without the reset. A host in the middle of a power-on is
/// skipped until the next interval. A Wake-on-LAN-only host has nothing to log in to; it still gets a result (kind
/// <c>wake-on-lan</c>) so that a readiness grade can tell "can only be woken, unconfirmed" from "nothing configured".
/// </summary>
public sealed class BmcPreflight(IOptions<BmcOptions> options, IBmcClient bmc) : IPreflightCheck
{
    public const string Kind = "bmc";
    public const string WakeOnLanKind = "wake-on-lan";

    public IEnumerable<PreflightProbe> Probes() => options.Value.Hosts
        .Where(h => h.HasBmc)
        .Select(h => new PreflightProbe(Kind, h.Name, async cancellationToken =>
        {
            // During a power-on the BMC is busy with the real thing: a wait for it would end as a false "no answer".
            if (bmc.IsBusy(h.Name))
                return null;
            var state = await bmc.ReadPowerStateAsync(h.Name, cancellationToken);
            return state.Reachable
                ? PreflightOutcome.Passed($"logged in to the BMC at {h.Url!.GetLeftPart(UriPartial.Authority)}; PowerState {state.PowerState}")
                : PreflightOutcome.Failed(state.Reason);
        }))
        .Concat(options.Value.Hosts
            .Where(h => !h.HasBmc && h.HasWakeOnLan)
            .Select(h => new PreflightProbe(WakeOnLanKind, h.Name, _ => Task.FromResult<PreflightOutcome?>(
                // Sending a packet would wake the host: nothing can be checked without acting, so this only says what is configured.
                PreflightOutcome.Passed("no BMC: Wake-on-LAN only, a power-on is sent but cannot be confirmed")))));
}
