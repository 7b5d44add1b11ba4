using System.Text.Json;

namespace PowerEvents.Testing;

/// <summary>The management API's queue list (<c>GET /api/queues/{vhost}?columns=…</c>), as both test brokers report it.</summary>
static class ManagementQueues
{
    public static IReadOnlyList<(string Name, int Consumers, int Ready, int Unacked)> Parse(string json)
    {
        using var queues = JsonDocument.Parse(json);
        static int Count(JsonElement q, string name) => q.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : 0;
        return queues.RootElement.EnumerateArray()
            .Select(q => (q.GetProperty("name").GetString()!, Count(q, "consumers"), Count(q, "messages_ready"), Count(q, "messages_unacknowledged")))
            .ToList();
    }
}
