using System.Text.RegularExpressions;
using Microsoft.Playwright;
using PowerEvents.Contracts;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.Console.Tests;

/// <summary>
/// The console in a real headless Chromium (Debian's package; Playwright cannot download browsers here), fed by events
/// published on the real bus. Screenshots go to artifacts/console/ at the repository root.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class BrowserTests(ConsoleFixture console) : IAsyncLifetime
{
    static readonly string Artifacts = Path.Combine(TestServers.RepositoryRoot, "artifacts", "console");
    static readonly float Timeout = 30_000;

    IPlaywright _playwright = null!;
    IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Artifacts);
        // Expectations keep Playwright's own 5 s unless told: a publish, the page's poll and a render can take longer on a busy machine.
        Assertions.SetDefaultExpectTimeout(Timeout);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath(),
            Headless = true,
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
    }

    static string ChromiumPath()
    {
        // The Debian package's binary; /usr/bin/chromium is a wrapper script around it.
        foreach (var path in new[] { Environment.GetEnvironmentVariable("PE_CHROMIUM") ?? "", "/usr/lib/chromium/chromium", "/usr/bin/chromium" })
            if (path.Length > 0 && File.Exists(path))
                return path;
        throw new InvalidOperationException("Chromium is not installed: run scripts/install-deps.sh (Debian package 'chromium').");
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }

    async Task<IPage> LogInAsync(string user, string password, string screenshot)
    {
        // A phone-sized viewport: the console is meant to be usable from one.
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = console.BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = 412, Height = 915 } });
        context.SetDefaultTimeout(Timeout);
        var page = await context.NewPageAsync();
        // Not logged in, the console sends the browser to its login page.
        await page.GotoAsync("/");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/login.html$"));
        await page.GetByTestId("login-user").FillAsync(user);
        await page.GetByTestId("login-password").FillAsync(password);
        await Shot(page, screenshot);
        await page.GetByTestId("login-submit").ClickAsync();
        await Assertions.Expect(page.GetByTestId("who")).ToContainTextAsync(user);
        return page;
    }

    static Task Shot(IPage page, string name) => page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Artifacts, name + ".png"), FullPage = true });

    // Waits for the page to finish this many more of its refreshes (one every 1.5 s), not for a time.
    static async Task WaitForRefreshesAsync(IPage page, int more)
    {
        const string ticks = "Number(document.getElementById('live').dataset.ticks || 0)";
        var now = await page.EvaluateAsync<int>("() => " + ticks);
        await page.WaitForFunctionAsync($"() => {ticks} >= {now + more}");
    }

    static ILocator HostStatus(IPage page, string host) => page.GetByTestId("host-" + host).GetByTestId("host-status");

    [Fact]
    public async Task An_operator_watches_an_excursion_follows_the_run_and_powers_the_cluster_on()
    {
        const string cluster = "cluster-b", zone = "room-b";
        var now = DateTimeOffset.UtcNow;
        var run = Guid.NewGuid();
        await console.PublishAsync(new ClusterInventoryCaptured(run, cluster,
            [new HostInventory("host-1", "esx-b1", "connected", "poweredOn", false), new HostInventory("host-2", "esx-b2", "connected", "poweredOn", false)],
            [new VmInventory("vm-1", "db-1", "poweredOn", true, "esx-b1", "dc/vm/tier-1", false), new VmInventory("vm-2", "web-1", "poweredOn", true, "esx-b2", "dc/vm/tier-2", false)],
            now));
        await console.PublishAsync(new TemperatureSampled("meraki", "Q2-B-1", zone, 24.0, now.AddMinutes(-30), now.AddMinutes(-30)));

        var page = await LogInAsync("admin", ConsoleFixture.AdminPassword, "01-login");
        await Assertions.Expect(HostStatus(page, "esx-b1")).ToHaveTextAsync("ON");

        // The room goes hot.
        await console.PublishAsync(new TemperatureSampled("meraki", "Q2-B-1", zone, 36.5, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow));
        await console.PublishAsync(new AlarmRaised(Guid.NewGuid(), zone, DateTimeOffset.UtcNow, 32, [new SensorReading("Q2-B-1", 36.5, DateTimeOffset.UtcNow)]));
        var zoneCard = page.GetByTestId("zone-" + zone);
        await Assertions.Expect(zoneCard.GetByTestId("alarm-badge")).ToContainTextAsync("ALARM");
        await Assertions.Expect(zoneCard.GetByTestId("sensor-temp")).ToHaveTextAsync("36.5");
        await Assertions.Expect(zoneCard.GetByTestId("threshold-high")).ToHaveCountAsync(1);
        await Shot(page, "02-zone-hot");

        // The run, step by step: hosts go BeforeStopping → Stopping → OFF.
        await console.PublishAsync(new PowerRunStarted(run, cluster, zone, ["tier-1", "tier-2"], 2, 2, false, DateTimeOffset.UtcNow));
        await Assertions.Expect(HostStatus(page, "esx-b1")).ToHaveTextAsync("BeforeStopping");
        await Assertions.Expect(page.GetByTestId("host-esx-b1").GetByTestId("host-desired")).ToHaveTextAsync("OFF");
        await console.PublishAsync(new VmShutDown(run, cluster, "vm-1", "db-1", VmShutdownOutcome.Graceful, null, DateTimeOffset.UtcNow));
        await console.PublishAsync(new VmShutDown(run, cluster, "vm-2", "web-1", VmShutdownOutcome.Forced, null, DateTimeOffset.UtcNow));
        await console.PublishAsync(new HostEnteredMaintenance(run, cluster, "esx-b1", StepOutcome.Done, null, DateTimeOffset.UtcNow));
        await console.PublishAsync(new HostEnteredMaintenance(run, cluster, "esx-b2", StepOutcome.Done, null, DateTimeOffset.UtcNow));
        await Assertions.Expect(HostStatus(page, "esx-b1")).ToHaveTextAsync("Stopping");
        await Assertions.Expect(HostStatus(page, "esx-b2")).ToHaveTextAsync("Stopping");
        await Shot(page, "03-hosts-stopping");
        await console.PublishAsync(new HostPoweredOff(run, cluster, "esx-b1", StepOutcome.Done, null, DateTimeOffset.UtcNow));
        await console.PublishAsync(new HostPoweredOff(run, cluster, "esx-b2", StepOutcome.Done, null, DateTimeOffset.UtcNow));
        await console.PublishAsync(new PowerRunCompleted(run, cluster, [], false, now, DateTimeOffset.UtcNow));
        await Assertions.Expect(HostStatus(page, "esx-b1")).ToHaveTextAsync("OFF");
        await Assertions.Expect(HostStatus(page, "esx-b2")).ToHaveTextAsync("OFF");
        var runView = page.GetByTestId("run-" + run);
        await Assertions.Expect(runView.GetByTestId("run-status")).ToHaveTextAsync("shut down");
        await Assertions.Expect(runView.GetByTestId("run-steps").Locator("li")).ToHaveCountAsync(6);
        await Assertions.Expect(runView.GetByTestId("gantt").Locator("rect")).ToHaveCountAsync(3);
        await runView.ScrollIntoViewIfNeededAsync();
        await Shot(page, "04-run-done-hosts-off");

        // Manual power-on: the minimum off time has not passed, so the first try is refused; overridden with a reason it goes.
        await console.PublishAsync(new AlarmCleared(Guid.NewGuid(), zone, DateTimeOffset.UtcNow, 28, []));
        await page.GetByTestId($"action-{cluster}-power-on-now").ClickAsync();
        var dialog = page.GetByTestId("confirm-dialog");
        await dialog.GetByTestId("confirm-name").FillAsync(cluster);
        await dialog.GetByTestId("confirm-reason").FillAsync("room back to normal");
        await dialog.GetByTestId("confirm-go").ClickAsync();
        await Assertions.Expect(dialog.GetByTestId("confirm-error")).ToContainTextAsync("minimum off time");
        await dialog.GetByTestId("confirm-override").CheckAsync();
        await dialog.GetByTestId("confirm-override-reason").FillAsync("checked the room on site");
        await Shot(page, "05-confirm-power-on");
        await dialog.GetByTestId("confirm-go").ClickAsync();
        await Assertions.Expect(page.GetByTestId("toast")).ToContainTextAsync("power-on-now sent");
        // Audited with who and why, and shown with the cluster.
        await Assertions.Expect(page.GetByTestId("cluster-" + cluster).GetByTestId("cluster-audit")).ToContainTextAsync("admin: power-on-now — room back to normal");
        await Eventually.TrueAsync(() => Task.FromResult(console.SagaCommands.OfType<ClusterPowerOnNowRequested>().Any(c => c.Cluster == cluster)),
            "the power-on did not reach the saga's queue");
        var command = console.SagaCommands.OfType<ClusterPowerOnNowRequested>().Single(c => c.Cluster == cluster);
        Assert.Equal(("admin", "room back to normal", true, "checked the room on site"), (command.RequestedBy, command.Reason, command.OverrideMinimumOffTime, command.OverrideReason));

        // Someone switches a host on by hand (no run): ManuallyON, and the desired status becomes ON.
        await console.PublishAsync(new HostPowerStateReported(Guid.Empty, cluster, "esx-b2", true, "On", "", DateTimeOffset.UtcNow));
        await Assertions.Expect(HostStatus(page, "esx-b2")).ToHaveTextAsync("ON (manually)");
        await Assertions.Expect(page.GetByTestId("host-esx-b2").GetByTestId("host-desired")).ToHaveTextAsync("ON");
        await Assertions.Expect(HostStatus(page, "esx-b1")).ToHaveTextAsync("OFF");
        await page.GetByTestId("cluster-" + cluster).ScrollIntoViewIfNeededAsync();
        await Shot(page, "06-manually-on");

        // Log out: the session is gone.
        await page.GetByTestId("logout").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/login.html$"));
        var after = await page.APIRequest.GetAsync("/api/state");
        Assert.Equal(401, after.Status);
        await Shot(page, "07-logged-out");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_readiness_grade_shows_and_drops_to_not_ready_when_a_BMC_check_fails()
    {
        const string cluster = ConsoleFixture.BrowserReadinessCluster;
        var now = DateTimeOffset.UtcNow;
        await console.PublishAsync(new ClusterObserved(cluster, "vc-r",
            [new HostInventory("host-1", "esx-r1", "connected", "poweredOn", false, "lockdownDisabled"), new HostInventory("host-2", "esx-r2", "connected", "poweredOn", false, "lockdownDisabled")],
            [new VmInventory("vm-1", "app-r", "poweredOn", true, "esx-r1", "dc/vm", false)],
            new ClusterSettings("domain-c9", new ClusterHaDrsSettings(true, true, true, "fullyAutomated"), false, true, null), null, null, now));
        await console.PublishAsync(new TemperatureSampled("meraki", "Q2-R-1", ConsoleFixture.BrowserReadinessZone, 23, now, now));
        await console.PublishAsync(new PreflightCheckCompleted("ilo-actuator", "bmc", "esx-r1", true, "PowerState On", now));
        await console.PublishAsync(new PreflightCheckCompleted("ilo-actuator", "bmc", "esx-r2", true, "PowerState On", now));

        var page = await LogInAsync("admin", ConsoleFixture.AdminPassword, "20-readiness-login");
        var block = page.GetByTestId("cluster-" + cluster);
        await Assertions.Expect(block.GetByTestId("readiness-grade")).ToHaveTextAsync("ready");
        await Assertions.Expect(block.GetByTestId("readiness-estimate")).ToContainTextAsync("default model");
        await block.ScrollIntoViewIfNeededAsync();
        await Shot(page, "21-readiness-ready");

        // Someone changes esx-r2's BMC password: the IloActuator's next preflight fails.
        await console.PublishAsync(new PreflightCheckCompleted("ilo-actuator", "bmc", "esx-r2", false, "esx-r2: the BMC rejected the credentials (401)", now.AddSeconds(1)));
        await Assertions.Expect(block.GetByTestId("readiness-grade")).ToHaveTextAsync("not-ready");
        await Assertions.Expect(block.GetByTestId("readiness-findings")).ToContainTextAsync("esx-r2: its BMC check fails");
        await Assertions.Expect(block.GetByTestId("readiness-findings")).ToContainTextAsync("Bmc:Hosts");
        var row = page.GetByTestId("preflight-table").GetByTestId("preflight-bmc-esx-r2");
        await Assertions.Expect(row).ToContainTextAsync("FAILED");
        await Assertions.Expect(row).ToContainTextAsync("rejected the credentials");
        await block.ScrollIntoViewIfNeededAsync();
        await Shot(page, "22-readiness-not-ready");

        // The webhook that told the operators, and a command the saga refused, are on the page too.
        await console.PublishAsync(new WebhookDelivered("ops-chat", Guid.NewGuid(), "ClusterReadinessAssessed", "warning", $"Cluster {cluster} is NOT READY for a protective shutdown", true, 1, 200, null, DateTimeOffset.UtcNow));
        await console.PublishAsync(new OperatorCommandRefused(cluster, "ClusterShutdownNowRequested", "admin", "a power-on of the cluster is under way", DateTimeOffset.UtcNow));
        await Assertions.Expect(page.GetByTestId("delivery-table")).ToContainTextAsync($"Cluster {cluster} is NOT READY");
        await Assertions.Expect(block.GetByTestId("cluster-refusals")).ToContainTextAsync("ClusterShutdownNowRequested from admin: a power-on of the cluster is under way");
        await page.GetByTestId("delivery-table").ScrollIntoViewIfNeededAsync();
        await Shot(page, "23-deliveries-and-preflight");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_plan_preview_shows_the_stages_in_order_with_their_estimates_where_vCenter_runs_and_what_is_changed()
    {
        const string cluster = ConsoleFixture.PlanCluster;
        // A real run of the cluster, measured: tenant VMs by 40 s, esx-p1 in maintenance by 50 s and off by 70 s, vcsa at 90 s, esx-p2 at 100 s.
        var runId = Guid.NewGuid();
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        await console.PublishAsync(new PowerRunStarted(runId, cluster, ConsoleFixture.PlanZone, ["apps", "vcenter"], 3, 2, false, start));
        await console.PublishAsync(new VmShutDown(runId, cluster, "vm-1", "app-p1", VmShutdownOutcome.Graceful, null, start.AddSeconds(30)));
        await console.PublishAsync(new VmShutDown(runId, cluster, "vm-2", "app-p2", VmShutdownOutcome.Graceful, null, start.AddSeconds(40)));
        await console.PublishAsync(new HostEnteredMaintenance(runId, cluster, "esx-p1", StepOutcome.Done, null, start.AddSeconds(50)));
        await console.PublishAsync(new HostPoweredOff(runId, cluster, "esx-p1", StepOutcome.Done, null, start.AddSeconds(70)));
        await console.PublishAsync(new VmShutDown(runId, cluster, "vm-3", "vcsa", VmShutdownOutcome.Graceful, null, start.AddSeconds(90)));
        await console.PublishAsync(new EsxiHostPoweredOff(runId, cluster, "esx-p2", StepOutcome.Done, false, true, null, start.AddSeconds(100)));
        await console.PublishAsync(new PowerRunCompleted(runId, cluster, [], false, start, start.AddSeconds(100)));

        var page = await LogInAsync("admin", ConsoleFixture.AdminPassword, "24-plan-login");
        var block = page.GetByTestId("cluster-" + cluster);
        await Assertions.Expect(block.GetByTestId("readiness-estimate")).ToContainTextAsync("measured");
        await block.GetByTestId("plan-load-" + cluster).ClickAsync();

        var plan = block.GetByTestId("plan-" + cluster);
        await Assertions.Expect(plan.GetByTestId("plan-estimate")).ToContainTextAsync("Estimated shutdown");
        await Assertions.Expect(plan.GetByTestId("plan-estimate")).ToContainTextAsync("measured: median of the last 1 run(s)");
        var shutdown = plan.GetByTestId("plan-stages-shutdown");
        await Assertions.Expect(shutdown.GetByTestId("plan-stage-shutdown-1")).ToContainTextAsync("tier apps");
        await Assertions.Expect(shutdown.GetByTestId("plan-stage-shutdown-1").GetByTestId("plan-stage-estimate")).ToContainTextAsync("1 min");
        await Assertions.Expect(shutdown.GetByTestId("plan-stage-shutdown-1").GetByTestId("plan-stage-estimate")).ToContainTextAsync("measured: median of 1 run(s)");
        await Assertions.Expect(shutdown.GetByTestId("plan-stage-shutdown-2")).ToContainTextAsync("vCLS retreat");
        await Assertions.Expect(shutdown.GetByTestId("plan-stage-shutdown-2").GetByTestId("plan-stage-estimate")).ToContainTextAsync("no estimate");
        await Assertions.Expect(shutdown.GetByTestId("plan-stage-shutdown-5").GetByTestId("plan-stage-estimate")).ToContainTextAsync("counted in stage 1");
        await Assertions.Expect(shutdown.GetByTestId("plan-stage-shutdown-6")).ToContainTextAsync("esx-p2 through its own ESXi API");
        var powerOn = plan.GetByTestId("plan-stages-power-on");
        await Assertions.Expect(powerOn.GetByTestId("plan-stage-power-on-1").GetByTestId("plan-stage-estimate")).ToContainTextAsync("default model");
        await Assertions.Expect(powerOn.GetByTestId("plan-stage-power-on-2")).ToContainTextAsync("vCenter's VM vcsa on esx-p2");
        await Assertions.Expect(plan.GetByTestId("plan-vcenter")).ToContainTextAsync("vCenter's VM vcsa runs on esx-p2");
        await Assertions.Expect(plan.GetByTestId("plan-vcenter")).ToContainTextAsync("not autostart");
        await Assertions.Expect(plan.GetByTestId("plan-changes")).ToContainTextAsync("HA off and DRS manual");
        await Assertions.Expect(plan.GetByTestId("plan-changes")).ToContainTextAsync("HA/DRS back to");
        // The page refreshes every 1.5 s: the plan stays shown.
        await WaitForRefreshesAsync(page, 2);
        await Assertions.Expect(plan.GetByTestId("plan-stage-power-on-5")).ToContainTextAsync("vCLS restore");
        await plan.ScrollIntoViewIfNeededAsync();
        await Shot(page, "24-plan-preview");
        await plan.ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(Artifacts, "25-plan-preview-block.png") });

        // A cluster whose plan cannot be made says why.
        var unknown = page.GetByTestId("cluster-" + ConsoleFixture.UnknownPlanCluster);
        await unknown.GetByTestId("plan-load-" + ConsoleFixture.UnknownPlanCluster).ClickAsync();
        await Assertions.Expect(unknown.GetByTestId("plan-error")).ToContainTextAsync("no protected cluster by that name");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task What_an_operator_opened_and_typed_survives_the_refresh_until_what_it_shows_changes()
    {
        const string cluster = "cluster-w";
        await console.PublishAsync(new ClusterInventoryCaptured(Guid.NewGuid(), cluster, [new HostInventory("host-1", "esx-w1", "connected", "poweredOn", false)], [], DateTimeOffset.UtcNow));
        var page = await LogInAsync("admin", ConsoleFixture.AdminPassword, "26-refresh-login");
        await Assertions.Expect(HostStatus(page, "esx-w1")).ToHaveTextAsync("ON");
        var block = page.GetByTestId("cluster-" + cluster);
        var windows = block.Locator("details.windows", new LocatorLocatorOptions { HasText = "Scheduled power windows" });
        await windows.Locator("summary").ClickAsync();
        await windows.Locator("input[name=reason]").FillAsync("chiller maintenance");

        await WaitForRefreshesAsync(page, 3);
        await Assertions.Expect(windows).ToHaveAttributeAsync("open", "");
        await Assertions.Expect(windows.Locator("input[name=reason]")).ToHaveValueAsync("chiller maintenance");

        // What the block shows changes: the page shows it.
        await console.PublishAsync(new ClusterInventoryCaptured(Guid.NewGuid(), cluster,
            [new HostInventory("host-1", "esx-w1", "connected", "poweredOn", false), new HostInventory("host-2", "esx-w2", "connected", "poweredOn", false)], [], DateTimeOffset.UtcNow));
        await Assertions.Expect(HostStatus(page, "esx-w2")).ToHaveTextAsync("ON");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_viewer_sees_the_cluster_but_has_no_action()
    {
        await console.CreateUserAsync("viewer-ui", "viewer-ui-password", "viewer");
        await console.PublishAsync(new ClusterInventoryCaptured(Guid.NewGuid(), "cluster-v", [new HostInventory("host-1", "esx-v9", "connected", "poweredOn", false)], [], DateTimeOffset.UtcNow));
        var page = await LogInAsync("viewer-ui", "viewer-ui-password", "10-viewer-login");
        await Assertions.Expect(HostStatus(page, "esx-v9")).ToHaveTextAsync("ON");
        await Assertions.Expect(page.Locator("[data-testid^='action-']")).ToHaveCountAsync(0);

        // Not only hidden: the API refuses a viewer even with a valid session and CSRF token.
        var status = await page.EvaluateAsync<int>("""
            async () => {
              const s = await (await fetch('/api/session')).json();
              const r = await fetch('/api/clusters/cluster-v/shutdown-now', { method: 'POST',
                headers: { 'Content-Type': 'application/json', 'X-CSRF-TOKEN': s.csrfToken },
                body: JSON.stringify({ confirm: 'cluster-v', reason: 'viewer tries' }) });
              return r.status;
            }
            """);
        Assert.Equal(403, status);
        Assert.DoesNotContain(console.SagaCommands, c => c is ClusterShutdownNowRequested { Cluster: "cluster-v" });
        await Shot(page, "11-viewer");
        await page.Context.CloseAsync();
    }
}
