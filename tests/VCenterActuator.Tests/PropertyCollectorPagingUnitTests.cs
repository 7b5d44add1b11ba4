using System.Net;
using System.Text;
using System.Xml.Linq;
using Microsoft.Extensions.Logging.Abstractions;
using PowerEvents.VCenterActuator.Vim;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>
/// Unit test of the paging logic with a scripted in-memory SOAP responder (the exact calls, maxObjects and the session
/// cookie on every page). Paging against a real peer: InventoryTests, with pe-vcsim's paging.
/// </summary>
public sealed class PropertyCollectorPagingUnitTests
{
    [Fact]
    public async Task Pages_are_followed_with_ContinueRetrievePropertiesEx_until_no_token_comes_back()
    {
        var responder = new PagingResponder(objects: 7, pageSize: 3);
        var options = new VCenterOptions { Url = new Uri("https://vcenter.test/sdk"), Username = "u", Password = "p" };
        await using var connection = new VimConnection(options, NullLogger<VimConnection>.Instance, responder);

        var objects = await new PropertyCollector(connection).RetrieveViewAsync(
            new MoRef("ContainerView", "session[1]view-1"), [new PropertySpec("VirtualMachine", "name")], pageSize: 3, CancellationToken.None);

        Assert.Equal(Enumerable.Range(1, 7).Select(i => $"vm-{i}"), objects.Select(o => o.Text("name")));
        Assert.Equal(["RetrieveServiceContent", "Login", "RetrievePropertiesEx", "ContinueRetrievePropertiesEx", "ContinueRetrievePropertiesEx"], responder.Methods);
        Assert.Equal("3", responder.MaxObjectsAsked);
        // The session cookie goes back exactly as vCenter set it, quotes included.
        Assert.All(responder.Cookies, c => Assert.Equal("vmware_soap_session=\"session-1\"", c));
    }

    sealed class PagingResponder(int objects, int pageSize) : HttpMessageHandler
    {
        static readonly XNamespace Vim = "urn:vim25";
        int _next = 1;

        public List<string> Methods { get; } = [];
        public List<string> Cookies { get; } = [];
        public string? MaxObjectsAsked { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var body = XDocument.Parse(await request.Content!.ReadAsStringAsync(ct)).Descendants().First(e => e.Name.Namespace == Vim);
            var method = body.Name.LocalName;
            Methods.Add(method);
            if (method == "RetrievePropertiesEx")
                MaxObjectsAsked = body.Descendants(Vim + "maxObjects").Single().Value;
            if (method is "RetrievePropertiesEx" or "ContinueRetrievePropertiesEx")
                Cookies.Add(request.Headers.TryGetValues("Cookie", out var cookie) ? string.Join(';', cookie) : "");
            XElement result = method switch
            {
                "RetrieveServiceContent" => new XElement(Vim + "returnval",
                    Ref("rootFolder", "Folder", "group-d1"), Ref("propertyCollector", "PropertyCollector", "propertyCollector"),
                    Ref("viewManager", "ViewManager", "ViewManager"), Ref("sessionManager", "SessionManager", "SessionManager"),
                    Ref("setting", "OptionManager", "VpxSettings")),
                "Login" => new XElement(Vim + "returnval", new XElement(Vim + "key", "session-1")),
                "RetrievePropertiesEx" or "ContinueRetrievePropertiesEx" => Page(),
                "Logout" => new XElement(Vim + "returnval"),
                _ => throw new InvalidOperationException(method),
            };
            var envelope = new XElement(XName.Get("Envelope", "http://schemas.xmlsoap.org/soap/envelope/"),
                new XElement(XName.Get("Body", "http://schemas.xmlsoap.org/soap/envelope/"), new XElement(Vim + $"{method}Response", result)));
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(envelope.ToString(), Encoding.UTF8, "text/xml") };
            if (method == "Login")
                response.Headers.Add("Set-Cookie", "vmware_soap_session=\"session-1\"; Path=/; HttpOnly");
            return response;
        }

        XElement Page()
        {
            var page = new XElement(Vim + "returnval");
            var last = Math.Min(_next + pageSize - 1, objects);
            if (last < objects)
                page.Add(new XElement(Vim + "token", $"t{last}"));
            for (; _next <= last; _next++)
            {
                page.Add(new XElement(Vim + "objects",
                    Ref("obj", "VirtualMachine", $"vm-{_next}"),
                    new XElement(Vim + "propSet", new XElement(Vim + "name", "name"), new XElement(Vim + "val", $"vm-{_next}"))));
            }
            return page;
        }

        static XElement Ref(string name, string type, string value) => new(Vim + name, new XAttribute("type", type), value);
    }
}
