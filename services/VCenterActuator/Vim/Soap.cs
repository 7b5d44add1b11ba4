using System.Globalization;
using System.Xml.Linq;

namespace PowerEvents.VCenterActuator.Vim;

/// <summary>The XML of vSphere Web Services: the SOAP 1.1 envelope and the <c>urn:vim25</c> elements.</summary>
public static class Soap
{
    public static readonly XNamespace Envelope = "http://schemas.xmlsoap.org/soap/envelope/";
    public static readonly XNamespace Vim = "urn:vim25";
    /// <summary>vCenter's vSAN management service (<c>/vsan</c>).</summary>
    public static readonly XNamespace Vsan = "urn:vsan";
    public static readonly XNamespace Xsi = "http://www.w3.org/2001/XMLSchema-instance";
    public static readonly XNamespace Xsd = "http://www.w3.org/2001/XMLSchema";

    public static XElement El(string name, params object?[] content) => new(Vim + name, content);

    public static XDocument Request(string method, MoRef @this, IEnumerable<XElement> arguments) =>
        new(new XDeclaration("1.0", "utf-8", null),
            new XElement(Envelope + "Envelope",
                new XAttribute(XNamespace.Xmlns + "soapenv", Envelope),
                new XAttribute(XNamespace.Xmlns + "xsi", Xsi),
                new XAttribute(XNamespace.Xmlns + "xsd", Xsd),
                new XElement(Envelope + "Body",
                    new XElement(Vim + method, @this.ToXml("_this"), arguments))));

    /// <summary>The <c>xsi:type</c> of an element without its namespace prefix (<c>vim25:InvalidState</c> → <c>InvalidState</c>).</summary>
    public static string? XsiType(XElement element)
    {
        var type = (string?)element.Attribute(Xsi + "type");
        return type is null ? null : type[(type.IndexOf(':', StringComparison.Ordinal) + 1)..];
    }

    /// <summary>A fault element (SOAP detail or LocalizedMethodFault.fault) as the exception it stands for.</summary>
    public static VCenterException Fault(XElement? fault, string message)
    {
        var name = fault is null ? "SystemError" : XsiType(fault) ?? TrimFaultSuffix(fault.Name.LocalName);
        return new VCenterException(name, string.IsNullOrWhiteSpace(message) ? name : message);
    }

    static string TrimFaultSuffix(string element) =>
        element.EndsWith("Fault", StringComparison.Ordinal) ? element[..^"Fault".Length] : element;

    public static string Text(XElement parent, string child) => (string?)parent.Element(Vim + child) ?? "";

    public static bool Bool(XElement? element) => element is not null && bool.Parse(element.Value);

    public static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
