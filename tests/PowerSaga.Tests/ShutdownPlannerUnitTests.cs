using PowerEvents.AlarmEvaluator.Power;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

public sealed class ShutdownPlannerUnitTests
{
    [Fact]
    public void Tiers_run_default_then_configured_then_infrastructure_then_vcenter_alone()
    {
        var plan = ShutdownPlanner.Plan(Inventories.Cluster(), Inventories.Mixed(Guid.NewGuid()), Guid.NewGuid(), "room-a", dryRun: false);

        Assert.Equal(["default", "apps", "databases", "infrastructure", "vcenter"], plan.Tiers.Select(t => t.Name));
        Assert.Equal(["misc"], plan.Tiers[0].Vms.Select(v => v.Name));
        Assert.Equal(["app-1", "app-2"], plan.Tiers[1].Vms.Select(v => v.Name));
        Assert.Equal(["db-1", "reporting"], plan.Tiers[2].Vms.Select(v => v.Name));
        Assert.Equal(["dns-1"], plan.Tiers[3].Vms.Select(v => v.Name));
        Assert.Equal(["vcsa"], plan.Tiers[4].Vms.Select(v => v.Name));
    }

    [Fact]
    public void Vms_already_off_are_not_planned_and_are_remembered_as_off()
    {
        var plan = ShutdownPlanner.Plan(Inventories.Cluster(), Inventories.Mixed(Guid.NewGuid()), Guid.NewGuid(), "room-a", dryRun: false);

        Assert.DoesNotContain(plan.AllVms, v => v.Name == "old");
        Assert.Equal(["old"], plan.AlreadyOff);
    }

    [Fact]
    public void A_named_default_tier_takes_unmatched_vms_and_no_implicit_tier_appears()
    {
        var cluster = Inventories.Cluster(c => c.DefaultTier = "databases");

        var plan = ShutdownPlanner.Plan(cluster, Inventories.Mixed(Guid.NewGuid()), Guid.NewGuid(), "room-a", dryRun: false);

        Assert.Equal(["apps", "databases", "infrastructure", "vcenter"], plan.Tiers.Select(t => t.Name));
        Assert.Contains(plan.Tiers[1].Vms, v => v.Name == "misc");
    }

    [Fact]
    public void Empty_tiers_are_left_out_and_hosts_record_whether_they_were_on()
    {
        var inventory = Inventories.Inventory(Guid.NewGuid(), [Inventories.Vm("app-1")], Inventories.Host("esx-02", on: false), Inventories.Host("esx-01"));

        var plan = ShutdownPlanner.Plan(Inventories.Cluster(), inventory, Guid.NewGuid(), "room-a", dryRun: false);

        Assert.Equal(["apps"], plan.Tiers.Select(t => t.Name));
        Assert.Equal(["esx-01", "esx-02"], plan.Hosts.Select(h => h.Name));
        Assert.Equal([true, false], plan.Hosts.Select(h => h.WasPoweredOn));
    }

    [Theory]
    [InlineData("dc1/vm/databases", "databases", true)]
    [InlineData("dc1/vm/databases/pg", "databases", true)]
    [InlineData("dc1/vm/databases-old", "databases", false)]
    [InlineData("dc1/vm/prod/db", "prod/db", true)]
    [InlineData("dc1/vm", "databases", false)]
    public void A_folder_matches_itself_and_what_lies_below_it(string path, string folder, bool expected) =>
        Assert.Equal(expected, ShutdownPlanner.InFolder(path, folder));

    [Fact]
    public void The_worst_case_counts_batches_under_the_parallel_bound_capped_by_the_tier_deadline()
    {
        var cluster = Inventories.Cluster(c =>
        {
            c.MaxParallelPerTier = 2;
            c.GuestShutdownTimeout = TimeSpan.FromSeconds(10);
            c.TierDeadline = TimeSpan.FromSeconds(25);
        });
        var inventory = Inventories.Inventory(Guid.NewGuid(), [Inventories.Vm("app-1"), Inventories.Vm("app-2"), Inventories.Vm("app-3"), Inventories.Vm("db-1")]);

        var plan = ShutdownPlanner.Plan(cluster, inventory, Guid.NewGuid(), "room-a", dryRun: false);

        // apps: 2 batches = 20 s; databases: 1 batch = 10 s; then maintenance + host deadlines (60 + 60).
        Assert.Equal(TimeSpan.FromSeconds(20 + 10 + 60 + 60), ShutdownPlanner.WorstCaseDuration(plan, cluster));
    }
}
