using System.Xml.Linq;

namespace PowerEvents.VCenterActuator.Vim;

/// <summary>A vSphere managed object reference: its type and its id (<c>VirtualMachine</c>, <c>vm-42</c>).</summary>
public readonly record struct MoRef(string Type, string Value)
{
    public XElement ToXml(string elementName) =>
        new(Soap.Vim + elementName, new XAttribute("type", Type), Value);

    public static MoRef FromXml(XElement element) =>
        new((string?)element.Attribute("type") ?? throw new VCenterException("InvalidResponse", $"{element.Name.LocalName} has no type attribute"), element.Value);

    public override string ToString() => $"{Type}:{Value}";
}
