namespace PowerEvents.RedfishSimulator;

/// <summary>
/// The test's hand on the simulated BMC, beside the Redfish API (no authentication; never on a real BMC):
/// read what clients did, set the power state or boot delay, inject faults.
/// </summary>
public static class ControlEndpoints
{
    public static void MapControl(this WebApplication app, SimulatedBmc bmc)
    {
        var control = app.MapGroup("/control");

        control.MapGet("/state", () => Results.Json(Snapshot(bmc)));

        control.MapPost("/power", (PowerRequest request) =>
        {
            if (request.State is not ("On" or "Off"))
                return Results.BadRequest(new { error = "state must be On or Off" });
            bmc.SetPowerState(request.State);
            return Results.Json(Snapshot(bmc));
        });

        control.MapPost("/boot-delay", (BootDelayRequest request) =>
        {
            bmc.BootDelay = request.BootDelay;
            return Results.Json(Snapshot(bmc));
        });

        control.MapPost("/faults", (FaultsRequest request) =>
        {
            if (request.Hang is { } hang) bmc.Hang = hang;
            if (request.Unavailable is { } unavailable) bmc.Unavailable = unavailable;
            if (request.TooManyRequests is { } tooMany) bmc.TooManyRequests = tooMany;
            if (request.NeverBoots is { } neverBoots) bmc.NeverBoots = neverBoots;
            if (request.FailNextRequests is { } fail) bmc.FailNextRequests = fail;
            if (request.StaleOffReads is { } stale) bmc.StaleOffReads = stale;
            if (request.Password is { } password) bmc.Password = password;
            if (request.RedirectTo is { } redirect) bmc.RedirectTo = redirect.Length == 0 ? null : new Uri(redirect);
            return Results.Json(Snapshot(bmc));
        });

        control.MapPost("/sessions/expire", () =>
        {
            bmc.ExpireAllSessions();
            return Results.Json(Snapshot(bmc));
        });

        control.MapPost("/sessions/occupy", (OccupyRequest request) =>
        {
            for (var i = 0; i < request.Count; i++)
                bmc.OccupySession();
            return Results.Json(Snapshot(bmc));
        });
    }

    public static BmcSnapshot Snapshot(SimulatedBmc bmc) => new(
        bmc.Options.Name, bmc.PowerState, bmc.ActiveSessions, bmc.SessionsCreated, bmc.SessionsDeleted,
        bmc.PeakSessions, bmc.LoginFailures, bmc.ResetRequests, bmc.VcsimNotifications, bmc.LastVcsimError,
        bmc.Hang, bmc.Unavailable, bmc.NeverBoots, bmc.BootDelay, bmc.Profile.Key, bmc.ChunkedRequests, bmc.RedirectTo);

    public sealed record PowerRequest(string State);
    public sealed record BootDelayRequest(TimeSpan BootDelay);
    public sealed record FaultsRequest(bool? Hang, bool? Unavailable, bool? TooManyRequests, bool? NeverBoots, int? FailNextRequests, int? StaleOffReads, string? Password, string? RedirectTo);
    public sealed record OccupyRequest(int Count);
}

public sealed record BmcSnapshot(
    string Name, string PowerState, int ActiveSessions, int SessionsCreated, int SessionsDeleted, int PeakSessions,
    int LoginFailures, IReadOnlyList<string> ResetRequests, int VcsimNotifications, string? LastVcsimError,
    bool Hang, bool Unavailable, bool NeverBoots, TimeSpan BootDelay, string Profile, int ChunkedRequests, Uri? RedirectTo);
