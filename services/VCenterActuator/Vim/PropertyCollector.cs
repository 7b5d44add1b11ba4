using System.Xml.Linq;

namespace PowerEvents.VCenterActuator.Vim;

/// <summary>One object's properties as RetrievePropertiesEx returned them (unset properties are absent).</summary>
public sealed record ObjectContent(MoRef Obj, IReadOnlyDictionary<string, XElement> Properties)
{
    public string Text(string path) => Properties.TryGetValue(path, out var value) ? value.Value : "";

    public bool Bool(string path) => Properties.TryGetValue(path, out var value) && bool.Parse(value.Value);

    public MoRef? Ref(string path) => Properties.TryGetValue(path, out var value) ? MoRef.FromXml(value) : null;
}

/// <summary>What to read: for each managed object type, which property paths.</summary>
public sealed record PropertySpec(string Type, params string[] Paths);

/// <summary>RetrievePropertiesEx / ContinueRetrievePropertiesEx: properties of many objects in few round trips.</summary>
public sealed class PropertyCollector(VimConnection connection)
{
    /// <summary>Every object a container view holds, page by page (one round trip per page).</summary>
    public Task<List<ObjectContent>> RetrieveViewAsync(MoRef view, IReadOnlyList<PropertySpec> properties, int pageSize, CancellationToken ct) =>
        RetrieveAsync(ViewObjectSet(view), properties, pageSize, ct);

    /// <summary>The objects a reference property of <paramref name="obj"/> lists (e.g. a host's <c>vm</c>), in one round trip per page: no view to create and destroy.</summary>
    public Task<List<ObjectContent>> RetrieveReferencedAsync(MoRef obj, string path, IReadOnlyList<PropertySpec> properties, int pageSize, CancellationToken ct) =>
        RetrieveAsync(TraversalObjectSet(obj, path), properties, pageSize, ct);

    /// <summary>The objects a view (<c>ContainerView</c>, <c>ListView</c>) holds, not the view itself.</summary>
    public static XElement ViewObjectSet(MoRef view) => TraversalObjectSet(view, "view");

    /// <summary>The objects the reference property <paramref name="path"/> of <paramref name="obj"/> lists, not the object itself.</summary>
    static XElement TraversalObjectSet(MoRef obj, string path) =>
        Soap.El("objectSet",
            obj.ToXml("obj"),
            Soap.El("skip", "true"),
            Soap.El("selectSet", new XAttribute(Soap.Xsi + "type", "TraversalSpec"),
                Soap.El("name", path),
                Soap.El("type", obj.Type),
                Soap.El("path", path),
                Soap.El("skip", "false")));

    /// <summary>The <c>propSet</c> elements of a PropertyFilterSpec.</summary>
    public static IEnumerable<XElement> PropSets(IEnumerable<PropertySpec> properties) =>
        properties.Select(p => Soap.El("propSet", Soap.El("type", p.Type), Soap.El("all", "false"), p.Paths.Select(path => Soap.El("pathSet", path))));

    /// <summary>Properties of one object; ManagedObjectNotFound if it does not exist.</summary>
    public async Task<ObjectContent> RetrieveOneAsync(MoRef obj, IReadOnlyList<string> paths, CancellationToken ct)
    {
        var objects = await RetrieveAsync(Soap.El("objectSet", obj.ToXml("obj"), Soap.El("skip", "false")),
            [new PropertySpec(obj.Type, [.. paths])], pageSize: 1, ct);
        return objects.SingleOrDefault() ?? throw new VCenterException(VCenterException.ManagedObjectNotFound, $"{obj} does not exist");
    }

    /// <summary>Properties of several objects (of the types <paramref name="properties"/> names) in one round trip per page.</summary>
    public Task<List<ObjectContent>> RetrieveManyAsync(IReadOnlyCollection<MoRef> objects, IReadOnlyList<PropertySpec> properties, CancellationToken ct)
    {
        var types = objects.Select(o => o.Type).ToHashSet(StringComparer.Ordinal);
        return RetrieveAsync(objects.Select(o => Soap.El("objectSet", o.ToXml("obj"), Soap.El("skip", "false"))),
            [.. properties.Where(p => types.Contains(p.Type))], Math.Max(objects.Count, 1), ct);
    }

    Task<List<ObjectContent>> RetrieveAsync(XElement objectSet, IReadOnlyList<PropertySpec> properties, int pageSize, CancellationToken ct) =>
        RetrieveAsync([objectSet], properties, pageSize, ct);

    async Task<List<ObjectContent>> RetrieveAsync(IEnumerable<XElement> objectSets, IReadOnlyList<PropertySpec> properties, int pageSize, CancellationToken ct)
    {
        var content = await connection.ContentAsync(ct);
        var specSet = Soap.El("specSet", PropSets(properties), objectSets);
        var response = await connection.InvokeAsync("RetrievePropertiesEx", content.PropertyCollector,
            [specSet, Soap.El("options", Soap.El("maxObjects", Soap.Invariant(pageSize)))], ct);

        var objects = new List<ObjectContent>();
        var token = Read(response, objects);
        while (token is not null)
        {
            response = await connection.InvokeAsync("ContinueRetrievePropertiesEx", content.PropertyCollector, [Soap.El("token", token)], ct);
            token = Read(response, objects);
        }
        return objects;
    }

    static string? Read(XElement response, List<ObjectContent> into)
    {
        var result = response.Element(Soap.Vim + "returnval");
        if (result is null)
            return null; // nothing matched
        foreach (var item in result.Elements(Soap.Vim + "objects"))
        {
            var properties = new Dictionary<string, XElement>(StringComparer.Ordinal);
            foreach (var property in item.Elements(Soap.Vim + "propSet"))
            {
                var value = property.Element(Soap.Vim + "val");
                if (value is not null)
                    properties[Soap.Text(property, "name")] = value;
            }
            into.Add(new ObjectContent(MoRef.FromXml(item.Element(Soap.Vim + "obj")!), properties));
        }
        return (string?)result.Element(Soap.Vim + "token");
    }
}
