using System.Net;
using System.Text;
using System.Xml.Linq;
using Microsoft.Extensions.Logging.Abstractions;
using PowerEvents.VCenterActuator.Vim;
using Xunit;

namespace PowerEvents.VCenterActuator.Tests;

/// <summary>
/// The update stream's protocol against a scripted SOAP responder: versions handed back, an answer with no update
/// set (maxWaitSeconds passed), InvalidCollectorVersion (start over from ""), truncated answers followed at once.
/// The stream against a real peer: PushTests.
/// </summary>
public sealed class PropertyWatcherUnitTests
{
    static readonly XNamespace Vim = "urn:vim25";
    static readonly XNamespace Soap = "http://schemas.xmlsoap.org/soap/envelope/";

    [Fact]
    public async Task Versions_empty_answers_a_lost_version_and_truncated_answers_are_handled_until_the_change_arrives()
    {
        var responder = new StreamResponder(
            Answer(version: "1"),
            null, // maxWaitSeconds passed, nothing changed
            Fault("InvalidCollectorVersionFault"),
            Answer(version: "a", truncated: true, ("guest.guestState", "shuttingDown")),
            Answer(version: "b", truncated: false, ("runtime.powerState", "poweredOff")));
        var options = new VCenterOptions { Url = new Uri("https://vcenter.test/sdk"), Username = "u", Password = "p", RequestTimeout = TimeSpan.FromSeconds(30) };
        await using var connection = new VimConnection(options, NullLogger<VimConnection>.Instance, responder);
        var watcher = new PropertyWatcher(connection, options, NullLogger.Instance);

        var (met, vm) = await watcher.WaitAsync(new MoRef("VirtualMachine", "vm-1"), o => o.Text("runtime.powerState") == "poweredOff",
            TimeSpan.FromSeconds(20), CancellationToken.None);

        Assert.True(met);
        Assert.Equal(("poweredOff", "shuttingDown"), (vm!.Text("runtime.powerState"), vm.Text("guest.guestState")));
        Assert.Equal(["", "1", "1", "", "a"], responder.Versions.Take(5));
        Assert.All(responder.MaxWaitSeconds, s => Assert.Equal("20", s)); // two thirds of RequestTimeout
        Assert.Equal(1, responder.Count("CreateFilter"));
    }

    static XElement Answer(string version, bool truncated = false, params (string Name, string Value)[] changes) =>
        new(Vim + "returnval",
            new XElement(Vim + "version", version),
            changes.Length == 0 ? null : new XElement(Vim + "filterSet",
                new XElement(Vim + "filter", new XAttribute("type", "PropertyFilter"), "session[1]filter"),
                new XElement(Vim + "objectSet",
                    new XElement(Vim + "kind", "modify"),
                    new XElement(Vim + "obj", new XAttribute("type", "VirtualMachine"), "vm-1"),
                    changes.Select(c => new XElement(Vim + "changeSet",
                        new XElement(Vim + "name", c.Name), new XElement(Vim + "op", "assign"), new XElement(Vim + "val", c.Value))))),
            new XElement(Vim + "truncated", truncated ? "true" : "false"));

    static XElement Fault(string detail) => new(Soap + "Fault",
        new XElement("faultcode", "ServerFaultCode"), new XElement("faultstring", "The collector version is not valid"),
        new XElement("detail", new XElement(Vim + detail)));

    /// <summary>
    /// Answers the session and view calls, reads vm-1 as on, and plays the scripted WaitForUpdatesEx answers in turn — only
    /// once vm-1 is in the view, as vCenter reports an object's changes only then (answered at once, a busy machine could
    /// otherwise run the whole script before the watcher even knew vm-1, and its changes would be dropped as unknown).
    /// </summary>
    sealed class StreamResponder(params XElement?[] waits) : HttpMessageHandler
    {
        readonly TaskCompletionSource _inView = new(TaskCreationOptions.RunContinuationsAsynchronously);
        readonly object _gate = new();
        readonly List<string> _methods = [];
        int _next;

        public List<string> Versions { get; } = [];
        public List<string> MaxWaitSeconds { get; } = [];

        public int Count(string method)
        {
            lock (_gate)
                return _methods.Count(m => m == method);
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var body = XDocument.Parse(await request.Content!.ReadAsStringAsync(ct)).Descendants().First(e => e.Name.Namespace == Vim);
            var method = body.Name.LocalName;
            XElement? result;
            lock (_gate)
            {
                _methods.Add(method);
                result = method switch
                {
                    "RetrieveServiceContent" => new XElement(Vim + "returnval",
                        Ref("rootFolder", "Folder", "group-d1"), Ref("propertyCollector", "PropertyCollector", "propertyCollector"),
                        Ref("viewManager", "ViewManager", "ViewManager"), Ref("sessionManager", "SessionManager", "SessionManager"),
                        Ref("setting", "OptionManager", "VpxSettings")),
                    "Login" => new XElement(Vim + "returnval", new XElement(Vim + "key", "session-1")),
                    "CreatePropertyCollector" => Ref("returnval", "PropertyCollector", "session[1]pc"),
                    "CreateListView" => Ref("returnval", "ListView", "session[1]view"),
                    "CreateFilter" => Ref("returnval", "PropertyFilter", "session[1]filter"),
                    "ModifyListView" or "Logout" => null,
                    "RetrievePropertiesEx" => new XElement(Vim + "returnval", new XElement(Vim + "objects", Ref("obj", "VirtualMachine", "vm-1"),
                        new XElement(Vim + "propSet", new XElement(Vim + "name", "runtime.powerState"), new XElement(Vim + "val", "poweredOn")))),
                    "WaitForUpdatesEx" => null,
                    _ => throw new InvalidOperationException(method),
                };
            }
            if (method == "ModifyListView" && body.Elements(Vim + "add").Any())
                _inView.TrySetResult();
            if (method == "WaitForUpdatesEx")
            {
                await _inView.Task.WaitAsync(ct);
                int turn;
                lock (_gate)
                {
                    Versions.Add(body.Element(Vim + "version")!.Value);
                    MaxWaitSeconds.Add(body.Descendants(Vim + "maxWaitSeconds").Single().Value);
                    turn = _next++;
                }
                if (turn >= waits.Length)
                    await Task.Delay(Timeout.Infinite, ct); // nothing more changes: held open until the connection ends
                result = waits[turn];
                if (result?.Name == Soap + "Fault")
                    return Respond(new XElement(Soap + "Envelope", new XElement(Soap + "Body", result)), HttpStatusCode.InternalServerError);
            }
            var response = Respond(new XElement(Soap + "Envelope", new XElement(Soap + "Body", new XElement(Vim + $"{method}Response", result))), HttpStatusCode.OK);
            if (method == "Login")
                response.Headers.Add("Set-Cookie", "vmware_soap_session=\"session-1\"; Path=/; HttpOnly");
            return response;
        }

        static HttpResponseMessage Respond(XElement envelope, HttpStatusCode status) =>
            new(status) { Content = new StringContent(envelope.ToString(), Encoding.UTF8, "text/xml") };

        static XElement Ref(string name, string type, string value) => new(Vim + name, new XAttribute("type", type), value);
    }
}
