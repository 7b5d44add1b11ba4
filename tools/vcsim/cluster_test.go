package main

// Tests of the opt-in cluster behaviours (issue 12) on the "typical small
// cluster". vcsim's inventory is a package global, so each test runs its own
// pe-vcsim: this test binary started again as the simulator (see TestMain).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

const childArgsEnv = "PE_VCSIM_TEST_CHILD_ARGS"

// typicalSmall: the preset with delays short enough for tests.
var typicalSmall = []string{"-topology", "typical-small", "-vcls-restart-delay", "300ms", "-vcls-retreat-delay", "300ms", "-vcenter-boot-delay", "1s"}

type child struct {
	url     *url.URL // vCenter's /sdk with user and password
	control string
	log     *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	ctl := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	all := append([]string{"-listen", "127.0.0.1:0", "-control", ctl, "-esxi-base-port", "-1"}, args...)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childArgsEnv+"="+strings.Join(all, "\n"))
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err = cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if strings.Contains(logs.String(), "DATA RACE") { // go test -race
			t.Errorf("data race in pe-vcsim")
		}
		if t.Failed() {
			t.Logf("pe-vcsim log:\n%s", logs.String())
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "VCSIM_READY url=") {
				ready <- strings.TrimPrefix(line, "VCSIM_READY url=")
			}
		}
	}()
	select {
	case u := <-ready:
		c := &child{control: "http://" + ctl, log: logs}
		c.url, _ = url.Parse(u)
		c.url.User = url.UserPassword("user", "pass")
		return c
	case <-time.After(60 * time.Second):
		t.Fatalf("pe-vcsim not ready; log:\n%s", logs.String())
	}
	return nil
}

func (c *child) state(t *testing.T) state {
	t.Helper()
	res, err := http.Get(c.control + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st state
	if err = json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func (c *child) post(t *testing.T, path, body string) (int, string) {
	t.Helper()
	res, err := http.Post(c.control+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := ioutil.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (st state) vm(name string) vmState {
	for _, v := range st.Vms {
		if v.Name == name {
			return v
		}
	}
	return vmState{}
}

func (st state) host(name string) hostState {
	for _, h := range st.Hosts {
		if h.Name == name {
			return h
		}
	}
	return hostState{}
}

func (st state) vclsOn(host string) []vmState {
	var out []vmState
	for _, v := range st.Vms {
		if v.Vcls && v.Host == host {
			out = append(out, v)
		}
	}
	return out
}

// index of the first journal entry matching, -1 if none.
func (st state) find(match func(entry) bool) int {
	for i, e := range st.Journal {
		if match(e) {
			return i
		}
	}
	return -1
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *child) vc(t *testing.T) *govmomi.Client {
	t.Helper()
	cl, err := govmomi.NewClient(context.Background(), c.url, true)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// esx logs in to a host's own API.
func (c *child) esx(t *testing.T, host, user, pass string) (*govmomi.Client, error) {
	t.Helper()
	u, err := url.Parse(c.state(t).host(host).EsxiURL)
	if err != nil || u.Host == "" {
		t.Fatalf("no own API for %s", host)
	}
	u.User = url.UserPassword(user, pass)
	return govmomi.NewClient(context.Background(), u, true)
}

// objects lists name -> reference of a type, as the endpoint shows them.
func objects(t *testing.T, c *govmomi.Client, kind string) map[string]types.ManagedObjectReference {
	t.Helper()
	ctx := context.Background()
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{kind}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy(ctx)
	var out []mo.ManagedEntity
	if err = v.Retrieve(ctx, []string{kind}, []string{"name"}, &out); err != nil {
		t.Fatal(err)
	}
	m := map[string]types.ManagedObjectReference{}
	for _, e := range out {
		m[e.Name] = e.Self
	}
	return m
}

func clusterRef(t *testing.T, c *govmomi.Client) *object.ClusterComputeResource {
	t.Helper()
	ref, ok := objects(t, c, "ClusterComputeResource")["cluster1"]
	if !ok {
		t.Fatal("no cluster1")
	}
	return object.NewClusterComputeResource(c.Client, ref)
}

func clusterConfig(t *testing.T, cl *object.ClusterComputeResource) types.ClusterConfigInfoEx {
	t.Helper()
	var o mo.ClusterComputeResource
	if err := cl.Properties(context.Background(), cl.Reference(), []string{"configurationEx"}, &o); err != nil {
		t.Fatal(err)
	}
	return *o.ConfigurationEx.(*types.ClusterConfigInfoEx)
}

func reconfigure(t *testing.T, cl *object.ClusterComputeResource, spec *types.ClusterConfigSpecEx) {
	t.Helper()
	task, err := cl.Reconfigure(context.Background(), spec, true)
	if err == nil {
		err = task.Wait(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
}

func setOption(t *testing.T, c *govmomi.Client, key string, value interface{}) {
	t.Helper()
	om := object.NewOptionManager(c.Client, *c.ServiceContent.Setting)
	if err := om.Update(context.Background(), []types.BaseOptionValue{&types.OptionValue{Key: key, Value: value}}); err != nil {
		t.Fatal(err)
	}
}

func powerOff(t *testing.T, c *govmomi.Client, ref types.ManagedObjectReference) {
	t.Helper()
	task, err := object.NewVirtualMachine(c.Client, ref).PowerOff(context.Background())
	if err == nil {
		err = task.Wait(context.Background())
	}
	if err != nil {
		t.Fatalf("power off %s: %v", ref, err)
	}
}

func enterMaintenance(c *govmomi.Client, ref types.ManagedObjectReference, action string) (*object.Task, error) {
	var spec *types.HostMaintenanceSpec
	if action != "" {
		spec = &types.HostMaintenanceSpec{VsanMode: &types.VsanHostDecommissionMode{ObjectAction: action}}
	}
	return object.NewHostSystem(c.Client, ref).EnterMaintenanceMode(context.Background(), 0, false, spec)
}

// powerOffTenants powers off every VM on the host that is not vCLS (as a run does before maintenance).
func powerOffTenants(t *testing.T, c *govmomi.Client, ch *child, host string) {
	t.Helper()
	vms := objects(t, c, "VirtualMachine")
	for _, v := range ch.state(t).Vms {
		if v.Host == host && !v.Vcls && v.PowerState == string(vmOn) {
			powerOff(t, c, vms[v.Name])
		}
	}
}

func TestTypicalSmallInventory(t *testing.T) {
	ch := startChild(t, typicalSmall...)
	c := ch.vc(t)
	if got := c.ServiceContent.About.ApiType; got != "VirtualCenter" {
		t.Fatalf("vCenter apiType %q", got)
	}
	st := ch.state(t)
	if len(st.Hosts) != 3 {
		t.Fatalf("%d hosts", len(st.Hosts))
	}
	if v := st.vm("vcsa"); !v.Vcenter || v.Host != "esx-02.pe.test" || v.PowerState != string(vmOn) {
		t.Fatalf("vCenter VM %+v", v)
	}
	if v := st.vm("dns"); v.Host != "esx-01.pe.test" || v.PowerState != string(vmOn) {
		t.Fatalf("DNS VM %+v", v)
	}
	vcls := 0
	for _, h := range st.Hosts {
		if n := len(st.vclsOn(h.Name)); n != 1 {
			t.Fatalf("%s has %d vCLS VMs", h.Name, n)
		}
		vcls++
		if h.EsxiURL == "" || h.LockdownMode != string(types.HostLockdownModeLockdownDisabled) {
			t.Fatalf("host %+v", h)
		}
	}
	if len(st.Vms) != 6+1+1+vcls {
		t.Fatalf("%d VMs", len(st.Vms))
	}
	// vCLS VMs: named vCLS-<uuid>, managed by the ESX Agent Manager.
	vms := objects(t, c, "VirtualMachine")
	for _, v := range st.vclsOn("esx-01.pe.test") {
		if !strings.HasPrefix(v.Name, "vCLS-") || len(v.Name) != len("vCLS-")+36 {
			t.Fatalf("vCLS name %q", v.Name)
		}
		var o mo.VirtualMachine
		if err := object.NewVirtualMachine(c.Client, vms[v.Name]).Properties(context.Background(), vms[v.Name], []string{"config.managedBy"}, &o); err != nil {
			t.Fatal(err)
		}
		if o.Config.ManagedBy == nil || o.Config.ManagedBy.ExtensionKey != "com.vmware.vim.eam" {
			t.Fatalf("vCLS managedBy %+v", o.Config.ManagedBy)
		}
	}
	cl := clusterRef(t, c)
	if !strings.HasPrefix(cl.Reference().Value, "domain-c") || st.Clusters[0].Moref != cl.Reference().Value {
		t.Fatalf("cluster reference %v, state %q", cl.Reference(), st.Clusters[0].Moref)
	}
	if name, err := cl.ObjectName(context.Background()); err != nil || name != "cluster1" {
		t.Fatalf("cluster name %q %v", name, err)
	}
	pool, err := cl.ResourcePool(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var po mo.ResourcePool
	if err = pool.Properties(context.Background(), pool.Reference(), []string{"owner", "parent"}, &po); err != nil || po.Owner != cl.Reference() || *po.Parent != cl.Reference() {
		t.Fatalf("pool owner %v parent %v: %v", po.Owner, po.Parent, err)
	}
	cfg := clusterConfig(t, cl)
	switch {
	case cfg.DasConfig.Enabled == nil || !*cfg.DasConfig.Enabled:
		t.Fatal("HA off")
	case cfg.DasConfig.AdmissionControlEnabled == nil || !*cfg.DasConfig.AdmissionControlEnabled:
		t.Fatal("admission control off")
	case cfg.DrsConfig.DefaultVmBehavior != types.DrsBehaviorFullyAutomated:
		t.Fatalf("DRS %q", cfg.DrsConfig.DefaultVmBehavior)
	case cfg.VsanConfigInfo == nil || cfg.VsanConfigInfo.Enabled == nil || !*cfg.VsanConfigInfo.Enabled:
		t.Fatal("vSAN off")
	}
}

func TestHostOwnAPI(t *testing.T) {
	ch := startChild(t, typicalSmall...)
	ctx := context.Background()
	if _, err := ch.esx(t, "esx-02.pe.test", "root", "wrong"); err == nil {
		t.Fatal("wrong password accepted")
	} else {
		wantFault(t, err, "InvalidLogin")
	}
	e, err := ch.esx(t, "esx-02.pe.test", "root", "esxpass")
	if err != nil {
		t.Fatal(err)
	}
	about := e.ServiceContent.About
	if about.ApiType != "HostAgent" || about.ProductLineId != "embeddedEsx" || about.InstanceUuid != "" {
		t.Fatalf("about %+v", about)
	}
	hosts := objects(t, e, "HostSystem")
	if len(hosts) != 1 || hosts["esx-02.pe.test"].Value != "ha-host" {
		t.Fatalf("the host's own API shows hosts %v", hosts)
	}
	vms := objects(t, e, "VirtualMachine")
	st := ch.state(t)
	for _, v := range st.Vms {
		if _, seen := vms[v.Name]; seen != (v.Host == "esx-02.pe.test") {
			t.Fatalf("VM %s on %s: seen %v on esx-02's own API", v.Name, v.Host, seen)
		}
	}
	// Powering off through the host shows through vCenter (one inventory).
	powerOff(t, e, vms["vm-02-001"])
	if p := ch.state(t).vm("vm-02-001").PowerState; p != string(vmOff) {
		t.Fatalf("vm-02-001 %s", p)
	}
	c := ch.vc(t)
	var o mo.VirtualMachine
	ref := objects(t, c, "VirtualMachine")["vm-02-001"]
	if err = object.NewVirtualMachine(c.Client, ref).Properties(ctx, ref, []string{"runtime.powerState"}, &o); err != nil {
		t.Fatal(err)
	}
	if o.Runtime.PowerState != vmOff {
		t.Fatalf("vCenter sees %s", o.Runtime.PowerState)
	}
	// VMs have a host's IDs (numbers); vCenter's IDs mean nothing here.
	inVC := objects(t, c, "VirtualMachine")
	if vms["vm-02-002"].Value != strings.TrimPrefix(inVC["vm-02-002"].Value, "vm-") {
		t.Fatalf("VM IDs: host %v, vCenter %v", vms["vm-02-002"], inVC["vm-02-002"])
	}
	_, err = object.NewVirtualMachine(e.Client, inVC["vm-02-002"]).PowerOff(ctx)
	wantFault(t, err, "ManagedObjectNotFound")
	_, err = object.NewHostSystem(e.Client, objects(t, c, "HostSystem")["esx-02.pe.test"]).EnterMaintenanceMode(ctx, 0, false, nil)
	wantFault(t, err, "ManagedObjectNotFound")
	// Another host's VM, by its number: unknown to this host.
	other := types.ManagedObjectReference{Type: "VirtualMachine", Value: strings.TrimPrefix(inVC["vm-01-001"].Value, "vm-")}
	_, err = object.NewVirtualMachine(e.Client, other).PowerOff(ctx)
	wantFault(t, err, "ManagedObjectNotFound")
	// A host session is no vCenter session, and the other way round.
	c2 := ch.vc(t)
	c2.Client.Client.Jar.SetCookies(c2.URL(), e.Client.Client.Jar.Cookies(e.URL()))
	_, err = methods.CurrentTime(ctx, c2.Client, &types.CurrentTime{This: c2.ServiceContent.RootFolder})
	wantFault(t, err, "NotAuthenticated")
	e2, err := ch.esx(t, "esx-02.pe.test", "root", "esxpass")
	if err != nil {
		t.Fatal(err)
	}
	e2.Client.Client.Jar.SetCookies(e2.URL(), c.Client.Client.Jar.Cookies(c.URL()))
	pc := &types.RetrievePropertiesEx{This: c.ServiceContent.PropertyCollector, SpecSet: []types.PropertyFilterSpec{{
		ObjectSet: []types.ObjectSpec{{Obj: c.ServiceContent.RootFolder}}, PropSet: []types.PropertySpec{{Type: "Folder", PathSet: []string{"name"}}}}}}
	_, err = methods.RetrievePropertiesEx(ctx, e2.Client, pc)
	wantFault(t, err, "NotAuthenticated")

	// Per-host password and lockdown mode.
	if code, body := ch.post(t, "/hosts/esx-03.pe.test/credentials", `{"username":"admin","password":"s3cret"}`); code != 200 {
		t.Fatalf("credentials: %d %s", code, body)
	}
	if _, err = ch.esx(t, "esx-03.pe.test", "root", "esxpass"); err == nil {
		t.Fatal("old password still accepted")
	}
	if _, err = ch.esx(t, "esx-03.pe.test", "admin", "s3cret"); err != nil {
		t.Fatal(err)
	}
	if code, body := ch.post(t, "/hosts/esx-03.pe.test/lockdown", `{"mode":"lockdownNormal"}`); code != 200 {
		t.Fatalf("lockdown: %d %s", code, body)
	}
	_, err = ch.esx(t, "esx-03.pe.test", "admin", "s3cret")
	wantFault(t, err, "InvalidLogin")
	var h mo.HostSystem
	href := objects(t, c, "HostSystem")["esx-03.pe.test"]
	if err = object.NewHostSystem(c.Client, href).Properties(ctx, href, []string{"config.lockdownMode"}, &h); err != nil {
		t.Fatal(err)
	}
	if h.Config.LockdownMode != types.HostLockdownModeLockdownNormal {
		t.Fatalf("vCenter shows lockdown %q", h.Config.LockdownMode)
	}
	st = ch.state(t)
	if st.find(func(e entry) bool {
		return e.Kind == "esxi" && e.Event == "login" && e.To == "refused" && e.Cause == "lockdownNormal"
	}) < 0 {
		t.Fatalf("no refused login in the journal: %+v", st.Journal)
	}
}

// vCenter's VM off: its API gone; on again through its host: back after the boot delay.
// Then its host shut down through its own API, and powered on by the BMC.
func TestVcenterOnItsCluster(t *testing.T) {
	ch := startChild(t, typicalSmall...)
	ctx := context.Background()
	e, err := ch.esx(t, "esx-02.pe.test", "root", "esxpass")
	if err != nil {
		t.Fatal(err)
	}
	vcsa := objects(t, e, "VirtualMachine")["vcsa"]
	powerOff(t, e, vcsa)
	if ch.state(t).VcenterReachable {
		t.Fatal("vCenter reachable with its VM off")
	}
	if _, err = govmomi.NewClient(ctx, ch.url, true); err == nil {
		t.Fatal("vCenter login worked with its VM off")
	}
	// Nobody restarts vCLS VMs while vCenter is down (the agent is part of vCenter).
	vcls := ch.state(t).vclsOn("esx-02.pe.test")[0].Name
	powerOff(t, e, objects(t, e, "VirtualMachine")[vcls])
	time.Sleep(3 * 300 * time.Millisecond) // three restart delays
	if p := ch.state(t).vm(vcls).PowerState; p != string(vmOff) {
		t.Fatalf("vCLS VM %s with vCenter down", p)
	}

	task, err := object.NewVirtualMachine(e.Client, vcsa).PowerOn(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	if ch.state(t).VcenterReachable {
		t.Fatal("vCenter answers at once after its VM powered on; want the boot delay")
	}
	eventually(t, 15*time.Second, "vCenter answers again", func() bool { return ch.state(t).VcenterReachable })
	c := ch.vc(t)
	st := ch.state(t)
	down := st.find(func(x entry) bool { return x.Kind == "vcenter" && x.To == "down" })
	on := st.find(func(x entry) bool { return x.Name == "vcsa" && x.Event == "powerState" && x.To == string(vmOn) })
	up := st.find(func(x entry) bool { return x.Kind == "vcenter" && x.To == "up" })
	vclsOff := st.find(func(x entry) bool { return x.Name == vcls && x.To == string(vmOff) })
	if !(down >= 0 && down < vclsOff && vclsOff < on && on < up) {
		t.Fatalf("journal order down=%d vclsOff=%d on=%d up=%d: %+v", down, vclsOff, on, up, st.Journal)
	}
	eventually(t, 10*time.Second, "vCLS VM back on with vCenter up", func() bool { return ch.state(t).vm(vcls).PowerState == string(vmOn) })
	if _, ok := objects(t, c, "HostSystem")["esx-01.pe.test"]; !ok {
		t.Fatal("vCenter does not see the hosts after its boot")
	}

	// The host shut down through its own API: its API stops answering; the BMC brings it back.
	powerOffTenants(t, e, ch, "esx-02.pe.test")
	if _, err = shutdownHost(e, object.NewHostSystem(e.Client, objects(t, e, "HostSystem")["esx-02.pe.test"]), true); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "esx-02 off", func() bool { return ch.state(t).host("esx-02.pe.test").PowerState == string(hostOff) })
	if _, err = ch.esx(t, "esx-02.pe.test", "root", "esxpass"); err == nil {
		t.Fatal("the host's own API answers while it is off")
	}
	if code, body := ch.post(t, "/hosts/esx-02.pe.test/power-on", ""); code != 200 {
		t.Fatalf("power-on: %d %s", code, body)
	}
	if _, err = ch.esx(t, "esx-02.pe.test", "root", "esxpass"); err != nil {
		t.Fatalf("own API after power-on: %v", err)
	}
}

func TestVclsAgentAndRetreatMode(t *testing.T) {
	ch := startChild(t, typicalSmall...)
	ctx := context.Background()
	c := ch.vc(t)
	cl := clusterRef(t, c)
	vms := objects(t, c, "VirtualMachine")
	hosts := objects(t, c, "HostSystem")

	// Powered off, a vCLS VM comes back.
	vcls := ch.state(t).vclsOn("esx-01.pe.test")[0].Name
	powerOff(t, c, vms[vcls])
	eventually(t, 10*time.Second, "vCLS VM powered back on", func() bool { return ch.state(t).vm(vcls).PowerState == string(vmOn) })

	// DRS manual: nothing moves; the vCLS VM keeps the host from entering maintenance mode.
	reconfigure(t, cl, &types.ClusterConfigSpecEx{DrsConfig: &types.ClusterDrsConfigInfo{DefaultVmBehavior: types.DrsBehaviorManual}})
	powerOffTenants(t, c, ch, "esx-01.pe.test")
	task, err := enterMaintenance(c, hosts["esx-01.pe.test"], "noAction")
	if err != nil {
		t.Fatal(err)
	}
	powerOff(t, c, vms[vcls]) // as a run that does not know vCLS would
	eventually(t, 10*time.Second, "vCLS VM on again", func() bool { return ch.state(t).vm(vcls).PowerState == string(vmOn) })
	if h := ch.state(t).host("esx-01.pe.test"); h.InMaintenance || !h.EnteringMaintenance {
		t.Fatalf("esx-01 %+v; want still entering maintenance", h)
	}

	// Retreat mode: the vCLS VMs go, maintenance mode completes.
	key := "config.vcls.clusters." + cl.Reference().Value + ".enabled"
	if _, err = object.NewOptionManager(c.Client, *c.ServiceContent.Setting).Query(ctx, key); err == nil {
		t.Fatal("the retreat-mode key exists before it is set")
	} else {
		wantFault(t, err, "InvalidName")
	}
	setOption(t, c, key, "false")
	if err = task.Wait(ctx); err != nil {
		t.Fatalf("maintenance: %v", err)
	}
	eventually(t, 10*time.Second, "vCLS VMs removed", func() bool {
		st := ch.state(t)
		return len(st.Clusters) == 1 && len(st.Clusters[0].VclsVms) == 0 && !st.Clusters[0].VclsEnabled
	})
	if _, ok := objects(t, c, "VirtualMachine")[vcls]; ok {
		t.Fatal("vCLS VM still in the inventory")
	}
	st := ch.state(t)
	opt := st.find(func(x entry) bool { return x.Kind == "option" && x.Name == key && x.To == "false" })
	off := st.find(func(x entry) bool { return x.Name == vcls && x.To == string(vmOff) && x.Cause == "vcls:retreat" })
	gone := st.find(func(x entry) bool { return x.Name == vcls && x.Event == "removed" })
	mm := st.find(func(x entry) bool { return x.Name == "esx-01.pe.test" && x.Event == "maintenance" && x.To == "entered" })
	if !(opt >= 0 && opt < off && off < gone && off < mm) {
		t.Fatalf("journal order option=%d off=%d removed=%d entered=%d: %+v", opt, off, gone, mm, st.Journal)
	}

	// Back out of retreat mode: vCLS VMs on the usable hosts, not the one in maintenance.
	setOption(t, c, key, "true")
	eventually(t, 10*time.Second, "vCLS VMs redeployed", func() bool {
		st := ch.state(t)
		return len(st.vclsOn("esx-02.pe.test")) == 1 && len(st.vclsOn("esx-03.pe.test")) == 1 && st.Clusters[0].VclsEnabled
	})
	if n := len(ch.state(t).vclsOn("esx-01.pe.test")); n != 0 {
		t.Fatalf("%d vCLS VMs on the host in maintenance mode", n)
	}
}

func TestHaDrs(t *testing.T) {
	ch := startChild(t, typicalSmall...)
	ctx := context.Background()
	c := ch.vc(t)
	cl := clusterRef(t, c)
	reconfigure(t, cl, &types.ClusterConfigSpecEx{
		DasConfig: &types.ClusterDasConfigInfo{Enabled: types.NewBool(false)},
		DrsConfig: &types.ClusterDrsConfigInfo{DefaultVmBehavior: types.DrsBehaviorManual},
	})
	cfg := clusterConfig(t, cl)
	if *cfg.DasConfig.Enabled || !*cfg.DasConfig.AdmissionControlEnabled || cfg.DrsConfig.DefaultVmBehavior != types.DrsBehaviorManual || !*cfg.DrsConfig.Enabled {
		t.Fatalf("after reconfigure: das %+v drs %+v", cfg.DasConfig, cfg.DrsConfig)
	}
	reconfigure(t, cl, &types.ClusterConfigSpecEx{
		DasConfig: &types.ClusterDasConfigInfo{Enabled: types.NewBool(true)},
		DrsConfig: &types.ClusterDrsConfigInfo{DefaultVmBehavior: types.DrsBehaviorFullyAutomated},
	})
	st := ch.state(t)
	haOff := st.find(func(x entry) bool { return x.Kind == "cluster" && x.Event == "ha" && x.To == "disabled" })
	manual := st.find(func(x entry) bool { return x.Event == "drsBehavior" && x.To == "manual" })
	haOn := st.find(func(x entry) bool { return x.Kind == "cluster" && x.Event == "ha" && x.To == "enabled" })
	if !(haOff >= 0 && manual >= 0 && haOff < haOn) {
		t.Fatalf("journal: %+v", st.Journal)
	}

	// Fully automated DRS moves the powered-on VMs (vCLS too) off a host entering maintenance mode.
	before := ch.state(t)
	var moving []string
	for _, v := range before.Vms {
		if v.Host == "esx-03.pe.test" && v.PowerState == string(vmOn) {
			moving = append(moving, v.Name)
		}
	}
	task, err := enterMaintenance(c, objects(t, c, "HostSystem")["esx-03.pe.test"], "")
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatalf("maintenance with DRS: %v", err)
	}
	after := ch.state(t)
	mm := after.find(func(x entry) bool { return x.Name == "esx-03.pe.test" && x.Event == "maintenance" && x.To == "entered" })
	for _, name := range moving {
		v := after.vm(name)
		if v.Host == "esx-03.pe.test" || v.PowerState != string(vmOn) {
			t.Fatalf("%s: %+v", name, v)
		}
		if i := after.find(func(x entry) bool { return x.Name == name && x.Event == "host" && x.Cause == "drs" }); i < 0 || i > mm {
			t.Fatalf("%s: migration %d, maintenance %d", name, i, mm)
		}
	}
	if len(moving) < 3 {
		t.Fatalf("only %v were on esx-03", moving)
	}
}

func TestVsanDecommissionModes(t *testing.T) {
	ch := startChild(t, typicalSmall...)
	ctx := context.Background()
	c := ch.vc(t)
	cl := clusterRef(t, c)
	hosts := objects(t, c, "HostSystem")
	reconfigure(t, cl, &types.ClusterConfigSpecEx{DrsConfig: &types.ClusterDrsConfigInfo{DefaultVmBehavior: types.DrsBehaviorManual}})
	setOption(t, c, "config.vcls.clusters."+cl.Reference().Value+".enabled", "false")
	eventually(t, 10*time.Second, "vCLS VMs removed", func() bool { return len(ch.state(t).Clusters[0].VclsVms) == 0 })
	for _, h := range []string{"esx-01.pe.test", "esx-03.pe.test"} {
		powerOffTenants(t, c, ch, h)
	}
	wait := func(task *object.Task, err error) error {
		if err != nil {
			return err
		}
		return task.Wait(ctx)
	}
	// Two other hosts serve vSAN: the default (ensureObjectAccessibility) works.
	if err := wait(enterMaintenance(c, hosts["esx-01.pe.test"], "")); err != nil {
		t.Fatalf("first host, default mode: %v", err)
	}
	// One other host left: objects would lose their majority.
	wantFault(t, wait(enterMaintenance(c, hosts["esx-03.pe.test"], "")), "VsanFault")
	wantFault(t, wait(enterMaintenance(c, hosts["esx-03.pe.test"], "ensureObjectAccessibility")), "VsanFault")
	wantFault(t, wait(enterMaintenance(c, hosts["esx-03.pe.test"], "evacuateAllData")), "VsanFault")
	if err := wait(enterMaintenance(c, hosts["esx-03.pe.test"], "noAction")); err != nil {
		t.Fatalf("noAction: %v", err)
	}
	st := ch.state(t)
	if st.find(func(x entry) bool {
		return x.Name == "esx-03.pe.test" && x.To == "failed" && x.Cause == "vsan:ensureObjectAccessibility"
	}) < 0 || st.find(func(x entry) bool {
		return x.Name == "esx-03.pe.test" && x.To == "entering" && x.Cause == "vsan:noAction"
	}) < 0 {
		t.Fatalf("journal: %+v", st.Journal)
	}
	if !st.host("esx-03.pe.test").InMaintenance || st.host("esx-02.pe.test").InMaintenance {
		t.Fatalf("hosts %+v", st.Hosts)
	}

	// HA admission control: one usable host left cannot hold the failover capacity.
	vm := object.NewVirtualMachine(c.Client, objects(t, c, "VirtualMachine")["vm-01-001"])
	relocated := objects(t, c, "VirtualMachine")["vm-02-001"]
	powerOff(t, c, relocated)
	wantFault(t, wait(object.NewVirtualMachine(c.Client, relocated).PowerOn(ctx)), "InsufficientFailoverResourcesFault")
	reconfigure(t, cl, &types.ClusterConfigSpecEx{DasConfig: &types.ClusterDasConfigInfo{Enabled: types.NewBool(false)}})
	if err := wait(object.NewVirtualMachine(c.Client, relocated).PowerOn(ctx)); err != nil {
		t.Fatalf("power-on with HA off: %v", err)
	}
	// A VM on a host in maintenance mode cannot start, whatever HA says.
	wantFault(t, wait(vm.PowerOn(ctx)), "InvalidHostState")

	// Resync state, set by the test and read by a client.
	if code, body := ch.post(t, "/clusters/cluster1/vsan-resync", `{"bytesToSync": 1073741824, "objects": 12, "etaSeconds": 90}`); code != 200 {
		t.Fatalf("resync: %d %s", code, body)
	}
	res, err := http.Get(ch.control + "/clusters/cluster1/vsan-resync")
	if err != nil {
		t.Fatal(err)
	}
	var r resyncState
	err = json.NewDecoder(res.Body).Decode(&r)
	res.Body.Close()
	if err != nil || r.BytesToSync != 1<<30 || r.Objects != 12 || ch.state(t).Clusters[0].Resync.EtaSeconds != 90 {
		t.Fatalf("resync %+v %v", r, err)
	}
	// ... and through the vSAN API, as a client reads it from vCenter.
	code, body := vsanCall(t, c, `<QuerySyncingVsanObjectsSummary xmlns="urn:vsan"><_this type="VsanObjectSystem">vsan-cluster-object-system</_this><cluster type="ClusterComputeResource">`+
		cl.Reference().Value+`</cluster></QuerySyncingVsanObjectsSummary>`)
	if code != 200 || !strings.Contains(body, "<totalObjectsToSync>12</totalObjectsToSync><totalBytesToSync>1073741824</totalBytesToSync><totalRecoveryETA>90</totalRecoveryETA>") {
		t.Fatalf("QuerySyncingVsanObjectsSummary: %d %s", code, body)
	}
}

// The preset's flags change nothing unless asked: the default inventory has none of it.
func TestDefaultsUnchanged(t *testing.T) {
	st := func() state { return testInst.sim.snapshot(0) }()
	if len(st.Clusters) != 0 {
		t.Fatalf("clusters in the default state: %+v", st.Clusters)
	}
	for _, v := range st.Vms {
		if v.Vcls {
			t.Fatalf("vCLS VM %s by default", v.Name)
		}
	}
	for _, h := range st.Hosts {
		if h.EsxiURL != "" || h.LockdownMode != "" {
			t.Fatalf("host %+v", h)
		}
	}
	if testInst.sim.cfg.clusterFeatures() {
		t.Fatal("cluster features on by default")
	}
}

// vsanPower calls VsanClusterPowerSystem.PerformClusterPowerAction on vCenter's /vsan.
func vsanPower(t *testing.T, c *govmomi.Client, cluster types.ManagedObjectReference, target string, infra ...types.ManagedObjectReference) (int, string) {
	t.Helper()
	var vms strings.Builder
	for _, ref := range infra {
		fmt.Fprintf(&vms, `<infraVMs type="VirtualMachine">%s</infraVMs>`, ref.Value)
	}
	return vsanCall(t, c, fmt.Sprintf(`<PerformClusterPowerAction xmlns="urn:vsan"><_this type="VsanClusterPowerSystem">vsan-cluster-power-system</_this><cluster type="ClusterComputeResource">%s</cluster><spec><targetPowerStatus>%s</targetPowerStatus><powerOffReason>cooling failure</powerOffReason>%s</spec></PerformClusterPowerAction>`,
		cluster.Value, target, vms.String()))
}

func vsanCall(t *testing.T, c *govmomi.Client, call string) (int, string) {
	t.Helper()
	body := `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>` +
		call + `</soapenv:Body></soapenv:Envelope>`
	u := *c.URL()
	u.Path = "/vsan"
	req, _ := http.NewRequest(http.MethodPost, u.String(), strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml")
	for _, ck := range c.Client.Client.Jar.Cookies(c.URL()) {
		req.AddCookie(ck)
	}
	hc := &http.Client{Transport: c.Client.Client.Client.Transport}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := ioutil.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestVsanClusterPowerAPI(t *testing.T) {
	ch := startChild(t, typicalSmall...)
	ctx := context.Background()
	c := ch.vc(t)
	cl := clusterRef(t, c)
	vms := objects(t, c, "VirtualMachine")

	// User VMs still on: refused before anything happens.
	if code, body := vsanPower(t, c, cl.Reference(), "clusterPoweredOff", vms["dns"]); code != 500 || !strings.Contains(body, "VsanFault") || !strings.Contains(body, "vm-01-001") {
		t.Fatalf("with user VMs on: %d %s", code, body)
	}
	for _, v := range ch.state(t).Vms {
		if !v.Vcls && !v.Vcenter && v.Name != "dns" {
			powerOff(t, c, vms[v.Name])
		}
	}
	code, body := vsanPower(t, c, cl.Reference(), "clusterPoweredOff", vms["dns"])
	if code != 200 || !strings.Contains(body, `<returnval type="Task">task-`) {
		t.Fatalf("power off: %d %s", code, body)
	}
	eventually(t, 15*time.Second, "cluster powered off", func() bool {
		st := ch.state(t)
		return st.find(func(x entry) bool { return x.Kind == "vsanPower" && x.Event == "step" && x.To == "clusterPoweredOff" }) >= 0
	})
	st := ch.state(t)
	if st.VcenterReachable {
		t.Fatalf("vCenter still up: %+v", st.Journal)
	}
	for _, h := range st.Hosts {
		if h.PowerState != string(hostOff) || !h.InMaintenance {
			t.Fatalf("host %+v", h)
		}
	}
	order := []string{"haDisabled", "supportedVMsPoweredOff", "hostsInfraVMsPoweredoff", "vcVMPoweredOff",
		"vsanMemberShipUpdateDisabled", "vsanDOMPauseAllCCPsSet", "hostsInMM", "hostsPoweredOff", "clusterPoweredOff"}
	last := -1
	for _, step := range order {
		i := st.find(func(x entry) bool { return x.Kind == "vsanPower" && x.Event == "step" && x.To == step })
		if i <= last {
			t.Fatalf("step %s at %d, after %d: %+v", step, i, last, st.Journal)
		}
		last = i
	}
	if i := st.find(func(x entry) bool { return x.Name == "dns" && x.To == string(vmOff) && x.Cause == "vsanPower" }); i < 0 {
		t.Fatal("dns not powered off by the workflow")
	}

	// Back: hosts on (BMC), vCenter's host out of maintenance mode and vCenter on through its own API, then the API.
	for _, h := range st.Hosts {
		if code, body := ch.post(t, "/hosts/"+h.Name+"/power-on", ""); code != 200 {
			t.Fatalf("power-on %s: %d %s", h.Name, code, body)
		}
	}
	e, err := ch.esx(t, "esx-02.pe.test", "root", "esxpass")
	if err != nil {
		t.Fatal(err)
	}
	task, err := object.NewHostSystem(e.Client, objects(t, e, "HostSystem")["esx-02.pe.test"]).ExitMaintenanceMode(ctx, 0)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err == nil {
		task, err = object.NewVirtualMachine(e.Client, objects(t, e, "VirtualMachine")["vcsa"]).PowerOn(ctx)
	}
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "vCenter back", func() bool { return ch.state(t).VcenterReachable })
	c = ch.vc(t)
	if code, body := vsanPower(t, c, cl.Reference(), "clusterPoweredOn"); code != 200 {
		t.Fatalf("power on: %d %s", code, body)
	}
	eventually(t, 15*time.Second, "cluster powered on, vCLS and dns running", func() bool {
		st := ch.state(t)
		if st.find(func(x entry) bool { return x.Kind == "vsanPower" && x.Event == "step" && x.To == "clusterPoweredOn" }) < 0 || st.vm("dns").PowerState != string(vmOn) {
			return false
		}
		for _, h := range st.Hosts {
			if h.InMaintenance || len(st.vclsOn(h.Name)) != 1 || st.vclsOn(h.Name)[0].PowerState != string(vmOn) {
				return false
			}
		}
		return st.Clusters[0].HaEnabled
	})
}

// -journal-calls journals every SOAP call by endpoint and method, so a client can
// be shown to have only read; without it no call is journalled.
func TestJournalCalls(t *testing.T) {
	ch := startChild(t, "-hosts", "1", "-vms", "1", "-journal-calls")
	from := len(ch.state(t).Journal)
	c := ch.vc(t)
	_ = objects(t, c, "VirtualMachine")
	e, err := ch.esx(t, "esx-01.pe.test", "root", "esxpass")
	if err != nil {
		t.Fatal(err)
	}
	powerOff(t, e, objects(t, e, "VirtualMachine")["vm-01-001"])

	called := map[string]bool{}
	for _, j := range ch.state(t).Journal[from:] {
		if j.Kind == "call" {
			called[j.Name+" "+j.Event] = true
		}
	}
	for _, want := range []string{"vcenter Login", "vcenter CreateContainerView", "vcenter RetrieveProperties",
		"esx-01.pe.test Login", "esx-01.pe.test PowerOffVM_Task"} {
		if !called[want] {
			t.Fatalf("no journalled call %q in %v", want, called)
		}
	}
	if called["vcenter PowerOffVM_Task"] {
		t.Fatalf("a call on a host's own API journalled as vCenter's")
	}

	quiet := startChild(t, "-hosts", "1", "-vms", "1")
	_ = objects(t, quiet.vc(t), "VirtualMachine")
	if i := quiet.state(t).find(func(j entry) bool { return j.Kind == "call" }); i >= 0 {
		t.Fatalf("call journalled without -journal-calls: %+v", quiet.state(t).Journal[i])
	}
}

// A host's own API names its local user in the events of what was done through
// it, as ESXi does (vcsim itself would name vCenter's user).
func TestHostEventsNameTheHostUser(t *testing.T) {
	ch := startChild(t, "-hosts", "1", "-vms", "1")
	e, err := ch.esx(t, "esx-01.pe.test", "root", "esxpass")
	if err != nil {
		t.Fatal(err)
	}
	ref := objects(t, e, "VirtualMachine")["vm-01-001"]
	powerOff(t, e, ref)
	events, err := event.NewManager(e.Client).QueryEvents(context.Background(), types.EventFilterSpec{
		Entity:      &types.EventFilterSpecByEntity{Entity: ref, Recursion: types.EventFilterSpecRecursionOptionSelf},
		EventTypeId: []string{"VmPoweredOffEvent"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 || events[0].GetEvent().UserName != "root" {
		t.Fatalf("events on the host's own API: %+v", events)
	}
}

// The control endpoint moves a VM as a vMotion would: the host's own API then lists it on the new host.
func TestMigrateControl(t *testing.T) {
	ch := startChild(t, typicalSmall...)
	if code, body := ch.post(t, "/vms/vcsa/migrate", `{"host":"esx-03.pe.test"}`); code != http.StatusOK {
		t.Fatalf("migrate: %d %s", code, body)
	}
	st := ch.state(t)
	if v := st.vm("vcsa"); v.Host != "esx-03.pe.test" || v.PowerState != string(vmOn) {
		t.Fatalf("vCenter VM after migrate %+v", v)
	}
	if st.find(func(e entry) bool {
		return e.Kind == "vm" && e.Name == "vcsa" && e.Event == "host" && e.To == "esx-03.pe.test" && e.Cause == "control"
	}) < 0 {
		t.Fatal("no journal entry for the move")
	}
	if code, _ := ch.post(t, "/vms/vcsa/migrate", `{"host":"nowhere"}`); code != http.StatusNotFound {
		t.Fatalf("migrate to an unknown host: %d", code)
	}
	if code, _ := ch.post(t, "/vms/nothing/migrate", `{"host":"esx-01.pe.test"}`); code != http.StatusNotFound {
		t.Fatalf("migrate of an unknown VM: %d", code)
	}
}

// VsanClusterPowerSystem is "Since vSAN API vSAN 7.0U3": an older vCenter refuses the call and changes nothing.
func TestVsanClusterPowerNeedsVCenter703(t *testing.T) {
	for v, want := range map[string]bool{"7.0.3.0": true, "7.0.3": true, "8.0.2.0": true, "7.1": true, "7.0.2.0": false, "6.7.3": false, "": false, "x.y": false} {
		if got := offersClusterPower(v); got != want {
			t.Errorf("offersClusterPower(%q) = %v, want %v", v, got, want)
		}
	}
	ch := startChild(t, append(append([]string{}, typicalSmall...), "-api-version", "7.0.2.0")...)
	c := ch.vc(t)
	cl := clusterRef(t, c)
	for _, v := range ch.state(t).Vms {
		if !v.Vcls && !v.Vcenter {
			powerOff(t, c, objects(t, c, "VirtualMachine")[v.Name])
		}
	}
	if code, body := vsanPower(t, c, cl.Reference(), "clusterPoweredOff"); code != 500 || !strings.Contains(body, "MethodNotFound") {
		t.Fatalf("vCenter 7.0.2: %d %s", code, body)
	}
	st := ch.state(t)
	if st.find(func(x entry) bool { return x.Kind == "vsanPower" }) >= 0 || !st.VcenterReachable {
		t.Fatalf("the refused call changed something: %+v", st.Journal)
	}
}

// vSAN runs one cluster power workflow at a time: a second request while the first runs is
// refused and changes nothing; the control hold keeps the workflow before a step until released.
func TestVsanClusterPowerRefusesASecondRequestWhileRunning(t *testing.T) {
	ch := startChild(t, typicalSmall...)
	c := ch.vc(t)
	cl := clusterRef(t, c)
	vms := objects(t, c, "VirtualMachine")
	for _, v := range ch.state(t).Vms {
		if !v.Vcls && !v.Vcenter {
			powerOff(t, c, vms[v.Name])
		}
	}
	hold := func(before string) {
		res, err := http.Post(ch.control+"/clusters/"+ch.state(t).Hosts[0].Cluster+"/vsan-power-hold", "application/json", strings.NewReader(`{"before":"`+before+`"}`))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("hold %q: %v %v", before, err, res)
		}
		res.Body.Close()
	}
	hold("vcVMPoweredOff")
	if code, body := vsanPower(t, c, cl.Reference(), "clusterPoweredOff"); code != 200 {
		t.Fatalf("power off: %d %s", code, body)
	}
	eventually(t, 15*time.Second, "held before vcVMPoweredOff", func() bool {
		return ch.state(t).find(func(x entry) bool { return x.Kind == "vsanPower" && x.Event == "held" && x.To == "vcVMPoweredOff" }) >= 0
	})
	if code, body := vsanPower(t, c, cl.Reference(), "clusterPoweredOff"); code != 500 || !strings.Contains(body, "VsanFault") || !strings.Contains(body, "already in progress") {
		t.Fatalf("second request while running: %d %s", code, body)
	}
	var cluster mo.ClusterComputeResource
	if err := cl.Properties(context.Background(), cl.Reference(), []string{"recentTask"}, &cluster); err != nil || len(cluster.RecentTask) == 0 {
		t.Fatalf("the cluster's recent tasks do not list the workflow: %v %v", err, cluster.RecentTask)
	}
	st := ch.state(t)
	n := 0
	for _, x := range st.Journal {
		if x.Kind == "vsanPower" && x.Event == "requested" {
			n++
		}
	}
	if n != 1 || !st.VcenterReachable {
		t.Fatalf("the refused request changed something (%d requested): %+v", n, st.Journal)
	}
	hold("")
	eventually(t, 15*time.Second, "cluster powered off", func() bool {
		return ch.state(t).find(func(x entry) bool { return x.Kind == "vsanPower" && x.Event == "step" && x.To == "clusterPoweredOff" }) >= 0
	})
}
