using System.Security.Cryptography;
using System.Text;

namespace PowerEvents.Console.Commands;

/// <summary>
/// The saga's id for a cluster: the same name-based UUID as the AlarmEvaluator's <c>PowerIds.ForCluster</c> (which the
/// Console may not reference), so a command finds the one saga instance. A test pins the two together.
/// </summary>
public static class ClusterIds
{
    public static Guid For(string cluster)
    {
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes("powerevents/cluster/" + cluster.ToUpperInvariant()));
        var id = bytes.AsSpan(0, 16).ToArray();
        id[7] = (byte)((id[7] & 0x0F) | 0x50);
        id[8] = (byte)((id[8] & 0x3F) | 0x80);
        return new Guid(id);
    }
}
