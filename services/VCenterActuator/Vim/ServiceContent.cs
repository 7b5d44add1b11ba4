using System.Xml.Linq;

namespace PowerEvents.VCenterActuator.Vim;

/// <summary>The part of vCenter's ServiceContent this client uses.</summary>
public sealed record ServiceContent(
    MoRef RootFolder,
    MoRef PropertyCollector,
    MoRef ViewManager,
    MoRef SessionManager,
    MoRef Setting,
    MoRef TaskManager,
    MoRef EventManager,
    string ApiVersion,
    string FullName)
{
    public MoRef ServiceInstance { get; } = new("ServiceInstance", "ServiceInstance");

    public static ServiceContent Parse(XElement response)
    {
        var content = response.Element(Soap.Vim + "returnval")
            ?? throw new VCenterException("InvalidResponse", "RetrieveServiceContent returned nothing");
        MoRef Ref(string name) => MoRef.FromXml(content.Element(Soap.Vim + name)
            ?? throw new VCenterException("InvalidResponse", $"ServiceContent has no {name}"));
        // vCenter always names these; a minimal server may leave them out, and their ids are fixed.
        MoRef Optional(string name, string type) => content.Element(Soap.Vim + name) is { } element ? MoRef.FromXml(element) : new MoRef(type, type);
        var about = content.Element(Soap.Vim + "about");
        return new ServiceContent(
            Ref("rootFolder"), Ref("propertyCollector"), Ref("viewManager"), Ref("sessionManager"), Ref("setting"), Optional("taskManager", "TaskManager"), Optional("eventManager", "EventManager"),
            about is null ? "" : Soap.Text(about, "apiVersion"),
            about is null ? "" : Soap.Text(about, "fullName"));
    }
}
