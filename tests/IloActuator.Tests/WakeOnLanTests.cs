using System.Net;
using System.Net.Sockets;
using PowerEvents.Contracts;
using PowerEvents.IloActuator;
using Xunit;

namespace IloActuator.Tests;

/// <summary>Wake-on-LAN packets as a real UDP listener on 127.0.0.1 receives them.</summary>
public sealed class WakeOnLanTests
{
    [Fact]
    public async Task A_host_without_a_BMC_gets_three_magic_packets_of_six_FF_and_sixteen_times_its_MAC()
    {
        using var listener = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)listener.Client.LocalEndPoint!).Port;
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions(new BmcHostOptions
        {
            Name = "esx-09",
            WakeOnLan = new WakeOnLanOptions { Mac = "00-1b-21-3a-4f-5c", BroadcastAddress = "127.0.0.1", Port = port },
        }));

        var result = await actuator.Service.PowerOnAsync("esx-09", CancellationToken.None);
        var packets = await ReceiveAsync(listener, WakeOnLanSender.Repeats);

        Outcomes.Expect(PowerOnOutcome.WakeOnLanSent, result);
        Assert.Equal("wake-on-lan", result.Method);
        Assert.Contains("00:1B:21:3A:4F:5C", result.Reason, StringComparison.Ordinal);
        byte[] mac = [0x00, 0x1B, 0x21, 0x3A, 0x4F, 0x5C];
        var expected = Enumerable.Repeat((byte)0xFF, 6).Concat(Enumerable.Repeat(mac, 16).SelectMany(b => b)).ToArray();
        Assert.All(packets, packet => Assert.Equal(expected, packet));
        Assert.Equal(102, expected.Length);
    }

    [Fact]
    public async Task A_BMC_failure_falls_back_to_Wake_on_LAN_when_configured_and_keeps_the_BMC_reason()
    {
        await using var server = await Bmcs.StartAsync();
        server.Bmc.Password = "changed";
        using var listener = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)listener.Client.LocalEndPoint!).Port;
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions(Bmcs.Host("esx-03", server, h =>
        {
            h.FallbackToWakeOnLan = true;
            h.WakeOnLan = new WakeOnLanOptions { Mac = "AA:BB:CC:DD:EE:03", BroadcastAddress = "127.0.0.1", Port = port };
        })));

        var result = await actuator.Service.PowerOnAsync("esx-03", CancellationToken.None);
        var packets = await ReceiveAsync(listener, 1);

        Outcomes.Expect(PowerOnOutcome.WakeOnLanSent, result);
        Assert.Contains("rejected the credentials", result.Reason, StringComparison.Ordinal);
        Assert.Contains("fell back to Wake-on-LAN", result.Reason, StringComparison.Ordinal);
        Assert.Equal(0xAA, packets[0][6]);
    }

    [Fact]
    public async Task Without_the_fallback_a_BMC_failure_stays_a_failure_and_no_packet_is_sent()
    {
        await using var server = await Bmcs.StartAsync();
        server.Bmc.Password = "changed";
        using var listener = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)listener.Client.LocalEndPoint!).Port;
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions(Bmcs.Host("esx-03", server, h =>
            h.WakeOnLan = new WakeOnLanOptions { Mac = "AA:BB:CC:DD:EE:03", BroadcastAddress = "127.0.0.1", Port = port })));

        var result = await actuator.Service.PowerOnAsync("esx-03", CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, result);
        Assert.Equal(0, listener.Available);
    }

    [Fact]
    public async Task An_unknown_host_fails_with_a_reason_naming_it()
    {
        using var actuator = new Bmcs.Actuator(Bmcs.FastOptions());

        var result = await actuator.Service.PowerOnAsync("esx-99", CancellationToken.None);

        Outcomes.Expect(PowerOnOutcome.Failed, result);
        Assert.Equal("none", result.Method);
        Assert.Contains("esx-99", result.Reason, StringComparison.Ordinal);
    }

    static async Task<List<byte[]>> ReceiveAsync(UdpClient listener, int count)
    {
        var packets = new List<byte[]>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (packets.Count < count)
            packets.Add((await listener.ReceiveAsync(timeout.Token)).Buffer);
        return packets;
    }
}
