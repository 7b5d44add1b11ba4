package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

type instance struct {
	sim        *sim
	model      *simulator.Model
	server     *http.Server
	control    *http.Server
	url        string
	controlURL string
	cleanup    []string
}

// start builds the inventory and serves it; the listeners are opened first so a
// busy port fails fast instead of after building thousands of VMs.
func start(cfg *config) (*instance, error) {
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return nil, err
	}
	inst := &instance{}
	var ctlLn net.Listener
	if cfg.control != "" {
		if ctlLn, err = net.Listen("tcp", cfg.control); err != nil {
			ln.Close()
			return nil, err
		}
	}

	model := simulator.VPX()
	// An empty stock model: the inventory is built by buildInventory with our names.
	model.Datacenter, model.Cluster, model.ClusterHost, model.Host = 0, 0, 0, 0
	model.Portgroup, model.Datastore, model.Machine = 0, 0, 0
	model.Autostart = false
	about := &model.ServiceContent.About // a copy of vcsim's template, which says 6.5
	about.ApiVersion = cfg.apiVersion
	if v := strings.Split(cfg.apiVersion, "."); len(v) >= 3 {
		about.Version = strings.Join(v[:3], ".")
	}
	about.FullName = "VMware vCenter Server " + about.Version + " (pe-vcsim)"
	if err = model.Create(); err != nil {
		return nil, err
	}
	inst.model = model

	// The address clients use; a wildcard listen is reached on loopback.
	tcp := *ln.Addr().(*net.TCPAddr)
	if tcp.IP.IsUnspecified() {
		tcp.IP = net.IPv4(127, 0, 0, 1)
	}
	addr := tcp.String()

	s := newSim(cfg)
	inst.sim = s
	dirs, err := s.buildInventory(model.Service, tcp.IP.String())
	inst.cleanup = dirs
	if err != nil {
		inst.close()
		return nil, err
	}

	// The login check compares with Listen.User unless it is simulator.DefaultLogin
	// (then any non-empty pair is accepted), so always pass a fresh Userinfo.
	model.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword(cfg.username, cfg.password)}
	model.Service.TLS = new(tls.Config)
	// NewServer wires the SOAP handlers into Service.ServeMux and starts its own
	// TLS listener on a throwaway port; we keep the mux and its certificate and
	// serve them ourselves behind the request rewriter (see front).
	tmp := model.Service.NewServer()
	cert := tmp.TLS.Certificates[0]
	mux := model.Service.ServeMux
	tmp.Close()

	inst.url = "https://" + addr + "/sdk"
	simulator.Map.SessionManager().ServiceHostName = addr
	for _, o := range simulator.Map.OptionManager().Setting {
		if v := o.GetOptionValue(); v.Key == "vcsim.server.url" {
			v.Value = "https://" + addr + "/sdk"
		}
	}

	if err = writeCertFiles(cfg, cert.Certificate[0]); err != nil {
		inst.close()
		return nil, err
	}
	pg := newPager(cfg.maxPage)
	pg.scope = s.scopeObjects
	fr := &front{sim: s, pager: pg, next: mux}
	if cfg.esxiBasePort != 0 {
		if err = s.startEsxi(fr, cert); err != nil {
			inst.close()
			return nil, err
		}
	}
	for _, ci := range s.clusters {
		if ci.vcls {
			s.runVclsAgent()
			break
		}
	}

	inst.server = &http.Server{
		Handler: fr,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"http/1.1"},
			ClientAuth:   tls.RequestClientCert, // as vcsim: LoginExtensionByCertificate
		},
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}, // no HTTP/2, as vCenter's SOAP
		ErrorLog:     log.New(ioutil.Discard, "", 0),                           // TLS probes from clients that reject the cert are noise
	}
	go func() {
		if err := inst.server.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
			log.Printf("https: %v", err)
		}
	}()

	if ctlLn != nil {
		inst.controlURL = "http://" + ctlLn.Addr().String()
		inst.control = &http.Server{Handler: s.controlHandler()}
		go func() {
			if err := inst.control.Serve(ctlLn); err != nil && err != http.ErrServerClosed {
				log.Printf("control: %v", err)
			}
		}()
	}
	return inst, nil
}

func (inst *instance) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if inst.server != nil {
		_ = inst.server.Shutdown(ctx)
	}
	if inst.control != nil {
		_ = inst.control.Shutdown(ctx)
	}
	if inst.sim != nil {
		inst.sim.stopTimers()
		for _, hi := range inst.sim.hosts {
			if hi.esx != nil {
				hi.esx.close()
			}
		}
	}
	for _, d := range inst.cleanup {
		_ = os.RemoveAll(d)
	}
}

func writeCertFiles(cfg *config, der []byte) error {
	if cfg.fingerprintFile != "" {
		sum := sha256.Sum256(der)
		hex := make([]string, len(sum))
		for i, b := range sum {
			hex[i] = fmt.Sprintf("%02X", b)
		}
		if err := writeFileAtomic(cfg.fingerprintFile, []byte(strings.Join(hex, ":")+"\n")); err != nil {
			return err
		}
	}
	if cfg.certFile != "" {
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		if err := writeFileAtomic(cfg.certFile, pemBytes); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic avoids readers (the start script, tests) seeing a half-written file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := ioutil.TempFile(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// front sits before vcsim's SOAP handler. vcsim dispatches a call to the object
// registered under the request's _this reference, and much of vcsim type-asserts
// HostSystem and VirtualMachine objects to its own types, so our overrides cannot
// replace those objects. Instead each host and VM has a companion object under a
// private reference type (hostKind, vmKind) and front points _this at it for the
// methods we implement; everything else reaches vcsim untouched. The property
// collector's companion (paging.go) pages RetrievePropertiesEx results.
type front struct {
	sim   *sim
	pager *pager
	next  http.Handler
}

var (
	overridden = map[string]string{
		"ShutdownHost_Task":            "HostSystem",
		"EnterMaintenanceMode_Task":    "HostSystem",
		"ExitMaintenanceMode_Task":     "HostSystem",
		"PowerOnVM_Task":               "VirtualMachine",
		"PowerOffVM_Task":              "VirtualMachine",
		"ShutdownGuest":                "VirtualMachine",
		"RetrievePropertiesEx":         "PropertyCollector",
		"ContinueRetrievePropertiesEx": "PropertyCollector",
		"CancelRetrievePropertiesEx":   "PropertyCollector",
		// Registered only when the cluster features are in use; without a companion the call reaches vcsim.
		"ReconfigureComputeResource_Task": "ClusterComputeResource",
		"UpdateOptions":                   "OptionManager",
	}
	companion = map[string]string{"HostSystem": hostKind, "VirtualMachine": vmKind, "PropertyCollector": collectorKind,
		"ClusterComputeResource": clusterKind, "OptionManager": optionKind}
	thisType = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?_this\b[^>]*?\stype\s*=\s*["'](HostSystem|VirtualMachine|PropertyCollector|ClusterComputeResource|OptionManager)["']`)
	typeFunc = types.TypeFunc()
)

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/vsan" && f.sim.cfg.vsan {
		if f.sim.vcenterDown.Load() {
			http.Error(w, "vCenter Server is not running", http.StatusServiceUnavailable)
			return
		}
		if f.sim.cfg.journalCalls && r.Method == http.MethodPost {
			body, err := ioutil.ReadAll(io.LimitReader(r.Body, 64<<20))
			r.Body.Close()
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			f.sim.recordCall("vcenter", body)
			r.Body = ioutil.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		f.sim.keepSessionCookie(r, nil)
		f.sim.serveVsan(w, r)
		return
	}
	if r.URL.Path == "/sdk" || r.URL.Path == "/sdk/vimService" {
		if f.sim.vcenterDown.Load() {
			// vCenter's own VM is off: the API is gone, as for real.
			http.Error(w, "vCenter Server is not running", http.StatusServiceUnavailable)
			return
		}
		f.sim.keepSessionCookie(r, nil)
		if r.Method == http.MethodPost {
			body, err := ioutil.ReadAll(io.LimitReader(r.Body, 64<<20))
			r.Body.Close()
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			f.sim.recordCall("vcenter", body)
			body = f.rewrite(body)
			r.Body = ioutil.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
	}
	f.next.ServeHTTP(w, r)
}

// soapMethod is the name of the body's first element: the method called.
var soapMethod = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?Body\b[^>]*>\s*<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w]*)`)

// recordCall journals one SOAP call on endpoint (vcenter or a host's name) when -journal-calls is set.
func (s *sim) recordCall(endpoint string, body []byte) {
	if !s.cfg.journalCalls {
		return
	}
	method := "unknown"
	if m := soapMethod.FindSubmatch(body); m != nil {
		method = string(m[1])
	}
	s.record(entry{Kind: "call", Name: endpoint, Event: method, To: "called"})
}

func (f *front) rewrite(body []byte) []byte {
	return f.rewriteMethods(body, overridden)
}

// rewriteMethods points _this at the companion for the given methods.
func (f *front) rewriteMethods(body []byte, overridden map[string]string) []byte {
	hit := false
	for name := range overridden {
		if bytes.Contains(body, []byte(name)) {
			hit = true
			break
		}
	}
	if !hit {
		return body
	}
	m, err := simulator.UnmarshalBody(typeFunc, body)
	if err != nil || overridden[m.Name] != m.This.Type {
		return body
	}
	kind := companion[m.This.Type]
	if kind == collectorKind {
		f.pager.companionFor(m.This.Value)
	}
	if simulator.Map.Get(types.ManagedObjectReference{Type: kind, Value: m.This.Value}) == nil {
		return body
	}
	loc := thisType.FindSubmatchIndex(body)
	if loc == nil {
		return body
	}
	out := make([]byte, 0, len(body)+8)
	out = append(out, body[:loc[2]]...)
	out = append(out, kind...)
	return append(out, body[loc[3]:]...)
}
