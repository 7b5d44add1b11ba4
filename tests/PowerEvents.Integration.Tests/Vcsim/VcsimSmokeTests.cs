using System.Net;
using System.Text;
using System.Xml.Linq;
using PowerEvents.Testing;
using Xunit;

namespace PowerEvents.Integration.Tests.Vcsim;

/// <summary>
/// Proves the scripted vcsim answers the vSphere Web Services API as a client will use it: raw SOAP,
/// a pinned certificate, a session cookie, and the inventory read through a ContainerView.
/// </summary>
public sealed class VcsimSmokeTests
{
    static readonly XNamespace Soap = "http://schemas.xmlsoap.org/soap/envelope/";
    static readonly XNamespace Vim = "urn:vim25";
    static readonly XNamespace Xsi = "http://www.w3.org/2001/XMLSchema-instance";

    [Fact]
    public async Task Logs_in_over_SOAP_and_lists_hosts_and_VMs()
    {
        using var http = new HttpClient(VcsimServer.PinnedHandler(VcsimServer.Fingerprint)) { Timeout = TimeSpan.FromSeconds(30) };

        var content = await CallAsync(http, "RetrieveServiceContent", Ref("ServiceInstance", "ServiceInstance"));
        var rootFolder = content.Descendants(Vim + "rootFolder").Single().Value;
        var viewManager = content.Descendants(Vim + "viewManager").Single().Value;
        Assert.Equal("VirtualCenter", content.Descendants(Vim + "apiType").Single().Value);

        var login = await CallAsync(http, "Login", Ref("SessionManager", "SessionManager"),
            new XElement(Vim + "userName", VcsimServer.Username), new XElement(Vim + "password", VcsimServer.Password));
        Assert.Equal(VcsimServer.Username, login.Descendants(Vim + "userName").Single().Value);

        var hosts = await ListNamesAsync(http, viewManager, rootFolder, "HostSystem");
        var vms = await ListNamesAsync(http, viewManager, rootFolder, "VirtualMachine");

        Assert.NotEmpty(hosts);
        Assert.True(vms.Count >= hosts.Count, $"{vms.Count} VMs on {hosts.Count} hosts");
        Assert.All(hosts, name => Assert.False(string.IsNullOrWhiteSpace(name)));

        await CallAsync(http, "Logout", Ref("SessionManager", "SessionManager"));
    }

    [Fact]
    public async Task A_wrong_password_is_refused_with_InvalidLogin()
    {
        using var http = new HttpClient(VcsimServer.PinnedHandler(VcsimServer.Fingerprint)) { Timeout = TimeSpan.FromSeconds(30) };

        var fault = await Assert.ThrowsAsync<SoapFaultException>(() => CallAsync(http, "Login", Ref("SessionManager", "SessionManager"),
            new XElement(Vim + "userName", VcsimServer.Username), new XElement(Vim + "password", "not-the-password")));

        Assert.Equal("InvalidLogin", fault.FaultType);
    }

    [Fact]
    public async Task A_certificate_that_is_not_the_pinned_one_is_refused()
    {
        using var http = new HttpClient(VcsimServer.PinnedHandler(new string('A', 64))) { Timeout = TimeSpan.FromSeconds(30) };

        await Assert.ThrowsAsync<HttpRequestException>(() => CallAsync(http, "RetrieveServiceContent", Ref("ServiceInstance", "ServiceInstance")));
    }

    static async Task<IReadOnlyList<string>> ListNamesAsync(HttpClient http, string viewManager, string rootFolder, string type)
    {
        var view = (await CallAsync(http, "CreateContainerView", Ref("ViewManager", viewManager),
            new XElement(Vim + "container", new XAttribute("type", "Folder"), rootFolder),
            new XElement(Vim + "type", type),
            new XElement(Vim + "recursive", "true"))).Descendants(Vim + "returnval").Single().Value;

        var names = new List<string>();
        var result = await CallAsync(http, "RetrievePropertiesEx", Ref("PropertyCollector", "propertyCollector"),
            new XElement(Vim + "specSet",
                new XElement(Vim + "propSet", new XElement(Vim + "type", type), new XElement(Vim + "pathSet", "name")),
                new XElement(Vim + "objectSet",
                    new XElement(Vim + "obj", new XAttribute("type", "ContainerView"), view),
                    new XElement(Vim + "skip", "true"),
                    new XElement(Vim + "selectSet", new XAttribute(Xsi + "type", "TraversalSpec"),
                        new XElement(Vim + "name", "view"),
                        new XElement(Vim + "type", "ContainerView"),
                        new XElement(Vim + "path", "view"),
                        new XElement(Vim + "skip", "false")))),
            new XElement(Vim + "options", new XElement(Vim + "maxObjects", "1000")));

        while (true)
        {
            names.AddRange(result.Descendants(Vim + "propSet").Select(p => p.Element(Vim + "val")!.Value));
            var token = result.Descendants(Vim + "token").SingleOrDefault()?.Value;
            if (token is null)
                break;
            result = await CallAsync(http, "ContinueRetrievePropertiesEx", Ref("PropertyCollector", "propertyCollector"), new XElement(Vim + "token", token));
        }

        await CallAsync(http, "DestroyView", Ref("ContainerView", view));
        return names;
    }

    static XElement Ref(string type, string value) => new(Vim + "_this", new XAttribute("type", type), value);

    static async Task<XElement> CallAsync(HttpClient http, string method, params object[] body)
    {
        var envelope = new XDocument(new XElement(Soap + "Envelope",
            new XAttribute(XNamespace.Xmlns + "soapenv", Soap), new XAttribute(XNamespace.Xmlns + "xsi", Xsi),
            new XElement(Soap + "Body", new XElement(Vim + method, body))));
        using var request = new HttpRequestMessage(HttpMethod.Post, VcsimServer.SdkUrl)
        {
            Content = new StringContent(envelope.ToString(SaveOptions.DisableFormatting), Encoding.UTF8, "text/xml"),
        };
        request.Headers.Add("SOAPAction", "urn:vim25/7.0");

        using var response = await http.SendAsync(request);
        var document = XDocument.Parse(await response.Content.ReadAsStringAsync());
        var fault = document.Descendants(Soap + "Fault").SingleOrDefault();
        if (fault is not null || response.StatusCode != HttpStatusCode.OK)
        {
            var detail = fault?.Element("detail")?.Elements().FirstOrDefault();
            var type = detail?.Attribute(Xsi + "type")?.Value ?? detail?.Name.LocalName.Replace("Fault", "", StringComparison.Ordinal) ?? "unknown";
            throw new SoapFaultException(type, fault?.Element("faultstring")?.Value ?? response.StatusCode.ToString());
        }

        return document.Descendants(Soap + "Body").Single().Elements().Single();
    }

    sealed class SoapFaultException(string faultType, string message) : Exception($"{faultType}: {message}")
    {
        public string FaultType { get; } = faultType;
    }
}
