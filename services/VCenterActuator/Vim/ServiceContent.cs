using System.Xml.Linq;

namespace PowerEvents.VCenterActuator.Vim;

/// <summary>The part of vCenter's ServiceContent this client uses.</summary>
public sealed record ServiceContent(
    MoRef RootFolder,
    MoRef PropertyCollector,
    MoRef ViewManager,
    MoRef SessionManager,
    MoRef Setting,
    string ApiVersion,
    string FullName)
{
    public static ServiceContent Parse(XElement response)
    {
        var content = response.Element(Soap.Vim + "returnval")
            ?? throw new VCenterException("InvalidResponse", "RetrieveServiceContent returned nothing");
        MoRef Ref(string name) => MoRef.FromXml(content.Element(Soap.Vim + name)
            ?? throw new VCenterException("InvalidResponse", $"ServiceContent has no {name}"));
        var about = content.Element(Soap.Vim + "about");
        return new ServiceContent(
            Ref("rootFolder"), Ref("propertyCollector"), Ref("viewManager"), Ref("sessionManager"), Ref("setting"),
            about is null ? "" : Soap.Text(about, "apiVersion"),
            about is null ? "" : Soap.Text(about, "fullName"));
    }
}
