using System.Net;
using System.Text.Json;

namespace PowerEvents.IloActuator;

/// <summary>A Redfish request that the BMC answered with an error, with iLO's message ids (<c>error.@Message.ExtendedInfo[].MessageId</c>).</summary>
public sealed class RedfishException(string message, HttpStatusCode? status = null, IReadOnlyList<string>? messageIds = null, Exception? inner = null)
    : Exception(message, inner)
{
    public HttpStatusCode? Status { get; } = status;
    public IReadOnlyList<string> MessageIds { get; } = messageIds ?? [];

    public bool Has(string messageName) => HasMessage(MessageIds, messageName);

    /// <summary>True when a registry message id (<c>iLO.2.16.InvalidOperationForSystemState</c>) is the named message, whatever its registry version.</summary>
    public static bool HasMessage(IEnumerable<string> messageIds, string messageName) =>
        messageIds.Any(id => id.EndsWith("." + messageName, StringComparison.Ordinal));

    /// <summary>
    /// The message ids of a Redfish error body. iLO 5/6 and DMTF use <c>error.@Message.ExtendedInfo[].MessageId</c>;
    /// iLO 4 also sends <c>MessageID</c> and a top-level <c>Messages</c> array.
    /// </summary>
    public static IReadOnlyList<string> ParseMessageIds(string body)
    {
        var ids = new List<string>();
        if (string.IsNullOrWhiteSpace(body))
            return ids;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return ids;
            if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                if (error.TryGetProperty("@Message.ExtendedInfo", out var info))
                    Collect(info, ids);
                if (ids.Count == 0 && error.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String)
                    ids.Add(code.GetString()!);
            }
            if (ids.Count == 0 && root.TryGetProperty("Messages", out var messages))
                Collect(messages, ids);
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page, say): no message ids, the status code still speaks.
        }
        return ids;
    }

    static void Collect(JsonElement array, List<string> ids)
    {
        if (array.ValueKind != JsonValueKind.Array)
            return;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
                continue;
            foreach (var property in item.EnumerateObject())
                if (property.Name.Equals("MessageId", StringComparison.OrdinalIgnoreCase) && property.Value.ValueKind == JsonValueKind.String)
                    ids.Add(property.Value.GetString()!);
        }
    }
}
