package main

// End-to-end checks of the added behaviours through govmomi's SOAP client over
// HTTPS. vcsim keeps its inventory in a package global, so all tests share one
// instance and each uses its own hosts and VMs; the vCenter test runs last.
//
//	GO111MODULE=off GOFLAGS= GOPATH=/usr/share/gocode:/tmp/powerevents-servers/gopath GOCACHE=/tmp/powerevents-servers/gocache go test ./tools/vcsim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

var (
	testInst *instance
	testURL  *url.URL
)

func TestMain(m *testing.M) {
	// The test binary doubles as pe-vcsim for tests that need their own
	// inventory (vcsim's is a package global): see startChild.
	if args := os.Getenv(childArgsEnv); args != "" {
		os.Args = append([]string{"pe-vcsim"}, strings.Split(args, "\n")...)
		main()
		os.Exit(0)
	}
	cfg, err := parseFlags([]string{
		"-listen", "127.0.0.1:0", "-control", "127.0.0.1:0",
		"-hosts", "4", "-vms", "3", "-vcenter-vm", "vcenter",
		"-guest-shutdown-min", "200ms", "-guest-shutdown-max", "400ms",
		"-no-tools", "^vm-01-002$", "-stuck", "^vm-01-003$",
	})
	if err != nil {
		panic(err)
	}
	if testInst, err = start(cfg); err != nil {
		panic(err)
	}
	testURL, _ = url.Parse(testInst.url)
	testURL.User = url.UserPassword("user", "pass")
	code := m.Run()
	testInst.close()
	os.Exit(code)
}

func connect(t *testing.T) (*govmomi.Client, *find.Finder) {
	t.Helper()
	c, err := govmomi.NewClient(context.Background(), testURL, true)
	if err != nil {
		t.Fatal(err)
	}
	f := find.NewFinder(c.Client, true)
	dc, err := f.Datacenter(context.Background(), "dc1")
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	return c, f
}

// faultOf returns the vim fault in a SOAP fault (decoded as a value) or task error.
func faultOf(err error) interface{} {
	if soap.IsSoapFault(err) {
		return soap.ToSoapFault(err).VimFault()
	}
	if soap.IsVimFault(err) {
		return soap.ToVimFault(err)
	}
	if te, ok := err.(interface{ Fault() types.BaseMethodFault }); ok {
		return te.Fault()
	}
	return nil
}

func wantFault(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got success", want)
	}
	f := faultOf(err)
	if got := strings.TrimPrefix(fmt.Sprintf("%T", f), "*"); got != "types."+want {
		t.Fatalf("want %s, got %s (%v)", want, got, err)
	}
}

func vmProps(t *testing.T, c *govmomi.Client, vm *object.VirtualMachine) mo.VirtualMachine {
	t.Helper()
	var o mo.VirtualMachine
	if err := vm.Properties(context.Background(), vm.Reference(), []string{"runtime", "guest", "summary"}, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func hostProps(t *testing.T, h *object.HostSystem) mo.HostSystem {
	t.Helper()
	var o mo.HostSystem
	if err := h.Properties(context.Background(), h.Reference(), []string{"runtime", "capability", "vm"}, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func waitPower(t *testing.T, c *govmomi.Client, vm *object.VirtualMachine, want types.VirtualMachinePowerState, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := vm.WaitForPowerState(ctx, want); err != nil {
		t.Fatalf("%s not %s within %s: %v", vm.Name(), want, within, err)
	}
}

func control(t *testing.T, method, path string) (int, map[string]interface{}) {
	t.Helper()
	req, _ := http.NewRequest(method, testInst.controlURL+path, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]interface{}
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// govmomi 0.24's object.HostSystem has no Shutdown.
func shutdownHost(c *govmomi.Client, h *object.HostSystem, force bool) (*object.Task, error) {
	res, err := methods.ShutdownHost_Task(context.Background(), c.Client, &types.ShutdownHost_Task{This: h.Reference(), Force: force})
	if err != nil {
		return nil, err
	}
	return object.NewTask(c.Client, res.Returnval), nil
}

func TestLogin(t *testing.T) {
	ctx := context.Background()
	for _, u := range []*url.Userinfo{url.UserPassword("user", "wrong"), url.UserPassword("admin", "pass")} {
		bad := *testURL
		bad.User = u
		_, err := govmomi.NewClient(ctx, &bad, true)
		wantFault(t, err, "InvalidLogin")
	}
	c, _ := connect(t)
	_ = c.Logout(ctx)
}

func TestInventory(t *testing.T) {
	ctx := context.Background()
	c, f := connect(t)
	hosts, err := f.HostSystemList(ctx, "*/*")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range hosts {
		names = append(names, h.Name())
	}
	if got := strings.Join(names, ","); got != "esx-01.pe.test,esx-02.pe.test,esx-03.pe.test,esx-04.pe.test" {
		t.Fatalf("hosts %s", got)
	}
	vms, _ := f.VirtualMachineList(ctx, "*")
	if len(vms) != 13 {
		t.Fatalf("%d VMs", len(vms))
	}
	if !hostProps(t, hosts[0]).Capability.ShutdownSupported {
		t.Fatal("shutdownSupported not set")
	}
	for name, want := range map[string]string{"vm-01-001": "guestToolsRunning", "vm-01-002": "guestToolsNotRunning"} {
		vm, _ := f.VirtualMachine(ctx, name)
		p := vmProps(t, c, vm)
		if p.Guest.ToolsRunningStatus != want || p.Runtime.PowerState != "poweredOn" || *p.Runtime.Host != hosts[0].Reference() {
			t.Fatalf("%s: %s %s %v", name, p.Guest.ToolsRunningStatus, p.Runtime.PowerState, p.Runtime.Host)
		}
	}
	vc, _ := f.VirtualMachine(ctx, "vcenter")
	if p := vmProps(t, c, vc); p.Guest.HostName != "vcenter.pe.test" || p.Guest.IpAddress != "127.0.0.1" {
		t.Fatalf("vcenter guest %s %s", p.Guest.HostName, p.Guest.IpAddress)
	}
}

func TestGuestShutdown(t *testing.T) {
	ctx := context.Background()
	c, f := connect(t)
	vm, _ := f.VirtualMachine(ctx, "vm-02-001")
	if err := vm.ShutdownGuest(ctx); err != nil {
		t.Fatal(err)
	}
	// Returns before the guest is down, like vSphere.
	if p := vmProps(t, c, vm); p.Runtime.PowerState != "poweredOn" || p.Guest.GuestState != "shuttingDown" {
		t.Fatalf("right after ShutdownGuest: %s %s", p.Runtime.PowerState, p.Guest.GuestState)
	}
	waitPower(t, c, vm, types.VirtualMachinePowerStatePoweredOff, 2*time.Second)
	if p := vmProps(t, c, vm); p.Guest.ToolsRunningStatus != "guestToolsNotRunning" {
		t.Fatalf("tools after off: %s", p.Guest.ToolsRunningStatus)
	}
	wantFault(t, vm.ShutdownGuest(ctx), "InvalidPowerState")
	task, _ := vm.PowerOff(ctx)
	wantFault(t, task.Wait(ctx), "InvalidPowerState")
	task, _ = vm.PowerOn(ctx)
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if p := vmProps(t, c, vm); p.Guest.ToolsRunningStatus != "guestToolsRunning" {
		t.Fatalf("tools after on: %s", p.Guest.ToolsRunningStatus)
	}
}

func TestNoToolsAndStuck(t *testing.T) {
	ctx := context.Background()
	c, f := connect(t)
	noTools, _ := f.VirtualMachine(ctx, "vm-01-002")
	wantFault(t, noTools.ShutdownGuest(ctx), "ToolsUnavailable")

	stuck, _ := f.VirtualMachine(ctx, "vm-01-003")
	if err := stuck.ShutdownGuest(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	if p := vmProps(t, c, stuck); p.Runtime.PowerState != "poweredOn" {
		t.Fatal("stuck VM powered off by itself")
	}
	task, _ := stuck.PowerOff(ctx)
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	task, _ = stuck.PowerOn(ctx)
	_ = task.Wait(ctx)
}

func TestMaintenanceAndShutdown(t *testing.T) {
	ctx := context.Background()
	c, f := connect(t)
	host, _ := f.HostSystem(ctx, "esx-03.pe.test")

	task, _ := shutdownHost(c, host, false)
	wantFault(t, task.Wait(ctx), "InvalidState")

	// Powered-on VMs keep the host from entering maintenance mode.
	task, _ = host.EnterMaintenanceMode(ctx, 1, false, nil)
	wantFault(t, task.Wait(ctx), "Timedout")

	task, _ = host.EnterMaintenanceMode(ctx, 0, false, nil)
	var vms []*object.VirtualMachine
	for i := 1; i <= 3; i++ {
		vm, _ := f.VirtualMachine(ctx, fmt.Sprintf("vm-03-%03d", i))
		vms = append(vms, vm)
	}
	// Entering: no power-on on this host.
	off, _ := vms[0].PowerOff(ctx)
	_ = off.Wait(ctx)
	on, _ := vms[0].PowerOn(ctx)
	wantFault(t, on.Wait(ctx), "InvalidHostState")
	for _, vm := range vms[1:] {
		if err := vm.ShutdownGuest(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := task.Wait(wctx); err != nil {
		t.Fatal(err)
	}
	if !hostProps(t, host).Runtime.InMaintenanceMode {
		t.Fatal("not in maintenance mode")
	}
	task, _ = host.EnterMaintenanceMode(ctx, 0, false, nil)
	wantFault(t, task.Wait(ctx), "InvalidState")

	task, _ = shutdownHost(c, host, false)
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	p := hostProps(t, host)
	if p.Runtime.PowerState != "poweredOff" || p.Runtime.ConnectionState != "notResponding" {
		t.Fatalf("after shutdown: %s %s", p.Runtime.PowerState, p.Runtime.ConnectionState)
	}
	if v := vmProps(t, c, vms[0]); v.Runtime.ConnectionState != "disconnected" {
		t.Fatalf("VM connection %s", v.Runtime.ConnectionState)
	}
	task, _ = host.ExitMaintenanceMode(ctx, 0)
	wantFault(t, task.Wait(ctx), "HostNotConnected")

	// A BMC powers the host back on: it reconnects still in maintenance mode.
	if code, st := control(t, "POST", "/hosts/esx-03.pe.test/power-on"); code != 200 || st["inMaintenance"] != true || st["connectionState"] != "connected" {
		t.Fatalf("power-on: %d %v", code, st)
	}
	task, _ = host.ExitMaintenanceMode(ctx, 0)
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	task, _ = vms[0].PowerOn(ctx)
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	_, st := control(t, "GET", "/state")
	var seen []string
	for _, e := range st["journal"].([]interface{}) {
		e := e.(map[string]interface{})
		if e["name"] == "esx-03.pe.test" {
			seen = append(seen, fmt.Sprint(e["event"], "=", e["to"]))
		}
	}
	want := "maintenance=entering,maintenance=failed,maintenance=entering,maintenance=entered,shutdownHost=requested," +
		"powerState=poweredOff,connectionState=notResponding,powerState=poweredOn,connectionState=connected,maintenance=exited"
	if got := strings.Join(seen, ","); got != want {
		t.Fatalf("journal\n got %s\nwant %s", got, want)
	}
}

func TestRewriteVariants(t *testing.T) {
	fr := &front{sim: testInst.sim}
	ref := testInst.sim.vmByName["vm-04-001"].vm.Self.Value
	body := `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		`<s:Body><v:ShutdownGuest xmlns:v="urn:vim25"><v:_this xsi:type="ManagedObjectReference" type='VirtualMachine'>` + ref +
		`</v:_this></v:ShutdownGuest></s:Body></s:Envelope>`
	out := string(fr.rewrite([]byte(body)))
	if !strings.Contains(out, `type='`+vmKind+`'>`+ref) {
		t.Fatalf("not rewritten: %s", out)
	}
	other := strings.Replace(body, "ShutdownGuest", "RebootGuest", -1)
	if string(fr.rewrite([]byte(other))) != other {
		t.Fatal("rewrote a method we do not override")
	}
}

// retrieveAll reads name of every host and VM through a ContainerView with
// RetrievePropertiesEx(maxObjects) and returns the first page's result.
func retrieveAll(t *testing.T, c *govmomi.Client, maxObjects int32) *types.RetrieveResult {
	t.Helper()
	ctx := context.Background()
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"HostSystem", "VirtualMachine"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy(ctx)
	res, err := methods.RetrievePropertiesEx(ctx, c.Client, &types.RetrievePropertiesEx{
		This: c.ServiceContent.PropertyCollector,
		SpecSet: []types.PropertyFilterSpec{{
			PropSet: []types.PropertySpec{{Type: "HostSystem", PathSet: []string{"name"}}, {Type: "VirtualMachine", PathSet: []string{"name"}}},
			ObjectSet: []types.ObjectSpec{{Obj: v.Reference(), Skip: types.NewBool(true), SelectSet: []types.BaseSelectionSpec{
				&types.TraversalSpec{Type: "ContainerView", Path: "view"},
			}}},
		}},
		Options: types.RetrieveOptions{MaxObjects: maxObjects},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.Returnval
}

func continueRetrieve(c *govmomi.Client, token string) (*types.RetrieveResult, error) {
	res, err := methods.ContinueRetrievePropertiesEx(context.Background(), c.Client,
		&types.ContinueRetrievePropertiesEx{This: c.ServiceContent.PropertyCollector, Token: token})
	if err != nil {
		return nil, err
	}
	return &res.Returnval, nil
}

func cancelRetrieve(c *govmomi.Client, token string) error {
	_, err := methods.CancelRetrievePropertiesEx(context.Background(), c.Client,
		&types.CancelRetrievePropertiesEx{This: c.ServiceContent.PropertyCollector, Token: token})
	return err
}

func TestPaging(t *testing.T) {
	c, _ := connect(t)
	all := len(testInst.sim.hosts) + len(testInst.sim.vms) // 4 + 13
	pager := testInst.server.Handler.(*front).pager

	if r := retrieveAll(t, c, 0); len(r.Objects) != all || r.Token != "" {
		t.Fatalf("no maxObjects: %d objects, token %q; want all %d, no token", len(r.Objects), r.Token, all)
	}

	// maxObjects 5: pages of 5, 5, 5, 2; a token while objects remain.
	seen := map[string]bool{}
	var sizes []int
	r := retrieveAll(t, c, 5)
	token := r.Token
	for {
		sizes = append(sizes, len(r.Objects))
		for _, o := range r.Objects {
			seen[o.Obj.Value] = true
		}
		if r.Token == "" {
			break
		}
		var err error
		if r, err = continueRetrieve(c, r.Token); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(sizes) != "[5 5 5 2]" || len(seen) != all {
		t.Fatalf("pages %v, %d distinct objects; want [5 5 5 2], %d", sizes, len(seen), all)
	}
	_, err := continueRetrieve(c, token)
	wantFault(t, err, "InvalidArgument") // used up
	_, err = continueRetrieve(c, "no-such-token")
	wantFault(t, err, "InvalidArgument")

	// Cancel discards the rest; the token is then unknown.
	r = retrieveAll(t, c, 10)
	if err = cancelRetrieve(c, r.Token); err != nil {
		t.Fatal(err)
	}
	_, err = continueRetrieve(c, r.Token)
	wantFault(t, err, "InvalidArgument")
	wantFault(t, cancelRetrieve(c, r.Token), "InvalidArgument")

	// A token belongs to its session.
	r = retrieveAll(t, c, 10)
	other, _ := connect(t)
	_, err = continueRetrieve(other, r.Token)
	wantFault(t, err, "InvalidArgument")
	if rest, err := continueRetrieve(c, r.Token); err != nil || len(rest.Objects) != all-10 || rest.Token != "" {
		t.Fatalf("rest after another session's try: %v %v", rest, err)
	}

	// A collector of the client's own (CreatePropertyCollector) pages too.
	own, err := methods.CreatePropertyCollector(context.Background(), c.Client,
		&types.CreatePropertyCollector{This: c.ServiceContent.PropertyCollector})
	if err != nil {
		t.Fatal(err)
	}
	shared := c.ServiceContent.PropertyCollector
	c.ServiceContent.PropertyCollector = own.Returnval
	r = retrieveAll(t, c, 10)
	if len(r.Objects) != 10 || r.Token == "" {
		t.Fatalf("own collector: %d objects, token %q", len(r.Objects), r.Token)
	}
	c.ServiceContent.PropertyCollector = shared
	_, err = continueRetrieve(c, r.Token) // another collector's token
	wantFault(t, err, "InvalidArgument")
	c.ServiceContent.PropertyCollector = own.Returnval
	if rest, err := continueRetrieve(c, r.Token); err != nil || len(rest.Objects) != all-10 {
		t.Fatalf("own collector, rest: %v %v", rest, err)
	}
	c.ServiceContent.PropertyCollector = shared

	// -max-page caps pages whatever the client asks, and pages a request without maxObjects.
	pager.mu.Lock()
	pager.maxPage = 7
	pager.mu.Unlock()
	defer func() {
		pager.mu.Lock()
		pager.maxPage = 0
		pager.mu.Unlock()
	}()
	for _, ask := range []int32{0, 100} {
		r = retrieveAll(t, c, ask)
		if len(r.Objects) != 7 || r.Token == "" {
			t.Fatalf("max-page 7, maxObjects %d: %d objects, token %q", ask, len(r.Objects), r.Token)
		}
		if err = cancelRetrieve(c, r.Token); err != nil {
			t.Fatal(err)
		}
	}
	if r = retrieveAll(t, c, 3); len(r.Objects) != 3 {
		t.Fatalf("max-page 7, maxObjects 3: %d objects", len(r.Objects))
	}
}

// Last: shutting down the vCenter VM's host takes the API away.
func TestForceShutdownWithVcenter(t *testing.T) {
	ctx := context.Background()
	c, f := connect(t)
	host, _ := f.HostSystem(ctx, "esx-01.pe.test")
	if _, err := shutdownHost(c, host, true); err != nil {
		t.Fatal(err)
	}
	// The call returned its task, but vCenter went down with its host.
	_, err := f.VirtualMachine(ctx, "vm-01-001")
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("want 503 with vCenter off, got %v", err)
	}
	_, st := control(t, "GET", "/state")
	if st["vcenterReachable"] != false {
		t.Fatal("vcenterReachable")
	}
	killed := 0
	for _, e := range st["journal"].([]interface{}) {
		e := e.(map[string]interface{})
		if e["host"] == "esx-01.pe.test" && e["to"] == "poweredOff" && e["cause"] == "shutdownHost(force)" {
			killed++
		}
	}
	if killed != 4 { // vm-01-001..003 and vcenter
		t.Fatalf("%d VMs died with the host", killed)
	}
	if code, _ := control(t, "POST", "/vms/vcenter/power-on"); code != http.StatusConflict {
		t.Fatalf("vcenter power-on on a dead host: %d", code)
	}
	control(t, "POST", "/hosts/esx-01.pe.test/power-on")
	if code, _ := control(t, "POST", "/vms/vcenter/power-on"); code != 200 {
		t.Fatalf("vcenter power-on: %d", code)
	}
	c, f = connect(t)
	if _, err := f.VirtualMachine(ctx, "vm-01-001"); err != nil {
		t.Fatal(err)
	}
	_ = c.Logout(ctx)
}

// Tools stopping in a running guest (control /vms/{name}/tools): the guest reports it, guest shutdown is refused;
// started again, the guest shuts down normally.
func TestToolsStopAndStart(t *testing.T) {
	ctx := context.Background()
	c, f := connect(t)
	vm, _ := f.VirtualMachine(ctx, "vm-02-001")
	post := func(body string) int {
		t.Helper()
		res, err := http.Post(testInst.controlURL+"/vms/vm-02-001/tools", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post(`{}`); code != http.StatusBadRequest {
		t.Fatalf("body without running: %d", code)
	}
	if code := post(`{"running": false}`); code != http.StatusOK {
		t.Fatalf("stop tools: %d", code)
	}
	if p := vmProps(t, c, vm); p.Guest.ToolsRunningStatus != string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning) {
		t.Fatalf("tools still reported running: %s", p.Guest.ToolsRunningStatus)
	}
	wantFault(t, vm.ShutdownGuest(ctx), "ToolsUnavailable")
	if code := post(`{"running": true}`); code != http.StatusOK {
		t.Fatalf("start tools: %d", code)
	}
	if p := vmProps(t, c, vm); p.Guest.ToolsRunningStatus != string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
		t.Fatalf("tools not reported running again: %s", p.Guest.ToolsRunningStatus)
	}
}
