using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace PowerEvents.IloActuator;

/// <summary>Wake-on-LAN: the magic packet is 6 bytes of 0xFF followed by the MAC address 16 times, sent over UDP.</summary>
public sealed class WakeOnLanSender(ILogger<WakeOnLanSender> logger)
{
    /// <summary>Packets sent per wake-up: UDP may drop one, and a NIC ignores repeats once awake.</summary>
    public const int Repeats = 3;

    public static byte[] MagicPacket(PhysicalAddress mac)
    {
        var address = mac.GetAddressBytes();
        if (address.Length != 6)
            throw new ArgumentException("A MAC address has 6 bytes.", nameof(mac));
        var packet = new byte[6 + 16 * 6];
        packet.AsSpan(0, 6).Fill(0xFF);
        for (var i = 0; i < 16; i++)
            address.CopyTo(packet, 6 + i * 6);
        return packet;
    }

    public async Task<string> SendAsync(string host, WakeOnLanOptions options, CancellationToken cancellationToken)
    {
        var mac = WakeOnLanOptions.ParseMac(options.Mac)
            ?? throw new InvalidOperationException($"host {host}: WakeOnLan:Mac '{options.Mac}' is not a MAC address");
        var target = new IPEndPoint(IPAddress.Parse(options.BroadcastAddress), options.Port);
        var packet = MagicPacket(mac);

        using var udp = new UdpClient(target.AddressFamily) { EnableBroadcast = true };
        for (var i = 0; i < Repeats; i++)
            await udp.SendAsync(packet, target, cancellationToken);

        var macText = string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
        logger.LogInformation("Wake-on-LAN: sent {Repeats} magic packets for {Host} (MAC {Mac}) to {Target}", Repeats, host, macText, target);
        return $"Wake-on-LAN magic packet sent to MAC {macText} via {target}";
    }
}
