using System.Globalization;
using System.Text.Json;

namespace PowerEvents.SensorPoller.Http;

/// <summary>Dotted paths into a JSON document: <c>data.sensors</c>, <c>items[0].value</c>, <c>$.status</c>, <c>$</c>.</summary>
public static class JsonPath
{
    public static bool TryGet(JsonElement root, string path, out JsonElement value)
    {
        value = root;
        var trimmed = path.Trim();
        if (trimmed is "$" or "")
            return true;
        if (trimmed.StartsWith("$.", StringComparison.Ordinal))
            trimmed = trimmed[2..];

        foreach (var segment in trimmed.Split('.'))
        {
            var name = segment;
            var indexes = new List<int>();
            while (name.EndsWith(']') && name.LastIndexOf('[') is var open and >= 0)
            {
                if (!int.TryParse(name[(open + 1)..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                    return false;
                indexes.Insert(0, index);
                name = name[..open];
            }
            if (name.Length > 0)
            {
                if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(name, out value))
                    return false;
            }
            foreach (var index in indexes)
            {
                if (value.ValueKind != JsonValueKind.Array || index >= value.GetArrayLength())
                    return false;
                value = value[index];
            }
        }
        return true;
    }

    /// <summary>A scalar as text for comparison with configured values (true/false/numbers/strings).</summary>
    public static string? AsText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };
}
