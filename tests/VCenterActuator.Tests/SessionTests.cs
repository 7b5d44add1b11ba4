using PowerEvents.Testing;
using PowerEvents.VCenterActuator.Vim;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

public sealed class SessionTests : IAsyncLifetime
{
    VcsimProcess _vcsim = null!;

    public async Task InitializeAsync() => _vcsim = await VcsimProcess.StartAsync(["-hosts", "2", "-vms", "2"]);

    public async Task DisposeAsync() => await _vcsim.DisposeAsync();

    [Fact]
    public async Task One_login_serves_every_later_call()
    {
        var options = Vcenter.Options(_vcsim);
        await using var connection = Vcenter.Connection(options);
        var client = Vcenter.Client(connection, options);

        for (var i = 0; i < 3; i++)
            await client.GetClusterInventoryAsync("cluster1", CancellationToken.None);
        var vm = (await client.GetClusterInventoryAsync("cluster1", CancellationToken.None)).Vms[0];
        await client.GetVmAsync(vm.Id, CancellationToken.None);

        Assert.Equal(1, connection.Logins);
    }

    [Fact]
    public async Task A_session_terminated_by_vcenter_is_replaced_by_a_new_login_without_failing_the_call()
    {
        var options = Vcenter.Options(_vcsim);
        await using var connection = Vcenter.Connection(options);
        var client = Vcenter.Client(connection, options);
        var before = await client.GetClusterInventoryAsync("cluster1", CancellationToken.None);
        var expired = connection.SessionKey!;

        await TerminateAsync(options, expired);
        var after = await client.GetClusterInventoryAsync("cluster1", CancellationToken.None);

        Assert.Equal(before.Vms.Count, after.Vms.Count);
        Assert.Equal(2, connection.Logins);
        Assert.NotEqual(expired, connection.SessionKey);
    }

    [Fact]
    public async Task A_session_lost_while_a_task_is_followed_is_replaced_too()
    {
        var options = Vcenter.Options(_vcsim);
        await using var connection = Vcenter.Connection(options);
        var client = Vcenter.Client(connection, options);
        var vm = (await client.GetClusterInventoryAsync("cluster1", CancellationToken.None)).Vms[0];
        await TerminateAsync(options, connection.SessionKey!);

        // A task's info is read through the property collector, which vcsim answers without a session by
        // marking every property NotAuthenticated: that, too, must lead to a new login.
        await client.PowerOffVmAsync(vm.Id, TimeSpan.FromSeconds(10), CancellationToken.None);

        Assert.True((await client.GetVmAsync(vm.Id, CancellationToken.None)).IsOff);
        Assert.Equal(2, connection.Logins);
    }

    [Fact]
    public async Task A_wrong_password_is_reported_as_InvalidLogin_without_the_password()
    {
        var options = Vcenter.Options(_vcsim, o => o.Password = "not-the-password-42");
        await using var connection = Vcenter.Connection(options);

        var error = await Assert.ThrowsAsync<VCenterException>(() =>
            Vcenter.Client(connection, options).GetClusterInventoryAsync("cluster1", CancellationToken.None));

        Assert.Equal(VCenterException.InvalidLogin, error.FaultName);
        Assert.False(error.IsTransient);
        Assert.DoesNotContain("not-the-password-42", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, connection.Logins);
    }

    [Fact]
    public async Task Disposing_the_connection_logs_the_session_out()
    {
        var options = Vcenter.Options(_vcsim);
        var connection = Vcenter.Connection(options);
        await Vcenter.Client(connection, options).GetClusterInventoryAsync("cluster1", CancellationToken.None);
        var key = connection.SessionKey!;
        Assert.True(await IsActiveAsync(options, key));

        await connection.DisposeAsync();

        Assert.False(await IsActiveAsync(options, key));
    }

    /// <summary>SessionManager.TerminateSession from a second session, as an administrator would.</summary>
    static async Task TerminateAsync(VCenterOptions options, string sessionKey)
    {
        await using var admin = Vcenter.Connection(options);
        var content = await admin.ContentAsync(CancellationToken.None);
        await admin.InvokeAsync("TerminateSession", content.SessionManager, [Soap.El("sessionId", sessionKey)], CancellationToken.None);
    }

    static async Task<bool> IsActiveAsync(VCenterOptions options, string sessionKey)
    {
        await using var other = Vcenter.Connection(options);
        var content = await other.ContentAsync(CancellationToken.None);
        var response = await other.InvokeAsync("SessionIsActive", content.SessionManager,
            [Soap.El("sessionID", sessionKey), Soap.El("userName", VcsimProcess.Username)], CancellationToken.None);
        return bool.Parse(Soap.Text(response, "returnval"));
    }
}
