package main

// Each host's own API (https://<host>/sdk on a standalone ESXi, answering as a
// HostAgent), over the same inventory as vCenter's endpoint: what a run needs
// once vCenter's own VM is down. Opt-in with -esxi-base-port.
//
// A login here is checked against the host's own user and password and refused
// while the host is in lockdown mode; the session it creates is only good on this
// endpoint (and vCenter's sessions are not good here). Calls through such a
// session see only this host, its compute resource and datacenter, and its VMs.

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"html"
	"io"
	"io/ioutil"
	"log"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type esxEndpoint struct {
	s     *sim
	hi    *hostInfo
	front *front
	cert  tls.Certificate

	mu   sync.Mutex
	addr string // 127.0.0.1:port, fixed once known
	ln   net.Listener
	srv  *http.Server
}

// startEsxi opens one endpoint per host; the hosts are all up at this point.
func (s *sim) startEsxi(f *front, cert tls.Certificate) error {
	for _, hi := range s.hosts {
		port := 0
		if s.cfg.esxiBasePort > 0 {
			port = s.cfg.esxiBasePort + hi.num - 1
		}
		e := &esxEndpoint{s: s, hi: hi, front: f, cert: cert, addr: fmt.Sprintf("127.0.0.1:%d", port)}
		if err := e.open(); err != nil {
			return fmt.Errorf("%s: %v", hi.name, err)
		}
		hi.esx = e
	}
	return nil
}

func (e *esxEndpoint) url() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return "https://" + e.addr + "/sdk"
}

func (e *esxEndpoint) open() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", e.addr)
	if err != nil {
		return err
	}
	e.addr = ln.Addr().String()
	e.ln = ln
	e.srv = &http.Server{
		Handler: e,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{e.cert},
			NextProtos:   []string{"http/1.1"},
		},
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     log.New(ioutil.Discard, "", 0),
	}
	go func(srv *http.Server) { _ = srv.ServeTLS(ln, "", "") }(e.srv)
	return nil
}

// close: the host went down. New connections are refused at once; a request in
// flight (the ShutdownHost_Task that took the host down) still gets its answer.
func (e *esxEndpoint) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ln == nil {
		return
	}
	e.ln.Close()
	srv := e.srv
	e.ln, e.srv = nil, nil
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
}

// sync follows the host's power: its API answers while it is powered on.
func (e *esxEndpoint) sync(up bool) {
	if !up {
		e.close()
		return
	}
	if err := e.open(); err != nil {
		log.Printf("%s: own API: %v", e.hi.name, err)
	}
}

// --- sessions ---

// sessionHost is the host whose own API created the request's session; nil for vCenter's.
func (s *sim) sessionHost(ctx *simulator.Context) *hostInfo {
	if ctx == nil || ctx.Session == nil {
		return nil
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	return s.sessions[ctx.Session.Key]
}

func (s *sim) cookieHost(key string) (*hostInfo, bool) {
	s.smu.Lock()
	defer s.smu.Unlock()
	hi, ok := s.sessions[key]
	return hi, ok
}

// keepSessionCookie drops the session cookie unless the session belongs to
// this endpoint (hi nil: vCenter's), so vcsim answers NotAuthenticated as a
// host answers a vCenter session key and the other way round.
func (s *sim) keepSessionCookie(r *http.Request, hi *hostInfo) {
	cookies := r.Cookies()
	keep := cookies[:0]
	changed := false
	for _, c := range cookies {
		if c.Name == soap.SessionCookieName {
			if owner, _ := s.cookieHost(c.Value); owner != hi {
				changed = true
				continue
			}
		}
		keep = append(keep, c)
	}
	if !changed {
		return
	}
	r.Header.Del("Cookie")
	for _, c := range keep {
		r.AddCookie(c)
	}
}

func notFound(ref types.ManagedObjectReference) *soap.Fault {
	return simulator.Fault("The object has already been deleted or has not been completely created", &types.ManagedObjectNotFound{Obj: ref})
}

// outOfScope: a host's own API knows no other host; s.mu held.
func (s *sim) outOfScope(ctx *simulator.Context, hi *hostInfo) *soap.Fault {
	if sh := s.sessionHost(ctx); sh != nil && sh != hi {
		return notFound(hi.h.Self)
	}
	return nil
}

// vmOutOfScope: nor VMs registered on other hosts; s.mu held.
func (s *sim) vmOutOfScope(ctx *simulator.Context, v *vmInfo) *soap.Fault {
	if sh := s.sessionHost(ctx); sh != nil {
		if _, hi := s.readVM(v); hi != sh {
			return notFound(v.vm.Self)
		}
	}
	return nil
}

// scopeObjects drops from a RetrievePropertiesEx result what a host's own API
// does not have; the paging companion calls it.
func (s *sim) scopeObjects(ctx *simulator.Context, objs []types.ObjectContent) []types.ObjectContent {
	hi := s.sessionHost(ctx)
	if hi == nil {
		return objs
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := objs[:0:0]
	for _, oc := range objs {
		switch oc.Obj.Type {
		case "HostSystem":
			if oc.Obj.Value != hi.h.Self.Value {
				continue
			}
		case "VirtualMachine":
			v := s.vmByRef[oc.Obj.Value]
			if v == nil {
				continue
			}
			if _, vh := s.readVM(v); vh != hi {
				continue
			}
		case "ClusterComputeResource", "ComputeResource":
			if oc.Obj.Value != hi.cr.Value {
				continue
			}
		case "Datacenter":
			if oc.Obj.Value != hi.dc.Value {
				continue
			}
		}
		out = append(out, oc)
	}
	return out
}

// --- the endpoint's HTTP front ---

// overriddenEsxi: on a host's own API the deprecated RetrieveProperties (which
// govmomi's property.Collector uses) is trimmed to the host as well.
var overriddenEsxi = func() map[string]string {
	m := map[string]string{"RetrieveProperties": "PropertyCollector"}
	for k, v := range overridden {
		m[k] = v
	}
	return m
}()

var (
	userNameEl = regexp.MustCompile(`(<(?:[A-Za-z_][\w.-]*:)?userName\b[^>]*>)([^<]*)(</)`)
	passwordEl = regexp.MustCompile(`(<(?:[A-Za-z_][\w.-]*:)?password\b[^>]*>)([^<]*)(</)`)
)

func (e *esxEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if (r.URL.Path != "/sdk" && r.URL.Path != "/sdk/vimService") || r.Method != http.MethodPost {
		e.front.next.ServeHTTP(w, r)
		return
	}
	body, err := ioutil.ReadAll(io.LimitReader(r.Body, 64<<20))
	r.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e.s.keepSessionCookie(r, e.hi)
	e.s.recordCall(e.hi.name, body)
	body = e.fromHost(body)
	rec := &recorder{header: http.Header{}, code: http.StatusOK}
	name := ""
	if m, err := simulator.UnmarshalBody(typeFunc, body); err == nil {
		name = m.Name
		if _, err := r.Cookie(soap.SessionCookieName); err != nil && m.Name != "Login" && m.Name != "RetrieveServiceContent" {
			// vcsim lets property retrieval through without a session; a host does not.
			notAuthenticated(w)
			return
		}
		if req, ok := m.Body.(*types.Login); ok && m.Name == "Login" {
			body = e.login(req, body)
		}
	}
	// A slow host (control esxi-hold): its maintenance and shutdown calls wait until released or the client gives up.
	for (name == "EnterMaintenanceMode_Task" || name == "ShutdownHost_Task") && e.s.held(e.hi) {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	body = e.front.rewriteMethods(body, overriddenEsxi)
	r.Body = ioutil.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	e.front.next.ServeHTTP(rec, r)

	out := rec.buf.Bytes()
	switch name {
	case "Login":
		e.s.captureSession(rec.header, e.hi) // before the client can use it
	case "RetrieveServiceContent":
		out = asHostAgent(out)
	case "QueryEvents":
		out = e.eventUsers(out)
	}
	out = e.toHost(out)
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.code)
	_, _ = w.Write(out)
}

// esxRef matches the value of a HostSystem or VirtualMachine reference in SOAP.
var esxRef = regexp.MustCompile(`(\btype\s*=\s*["'](HostSystem|VirtualMachine)["'][^>]*>)([^<]*)(<)`)

const haHost = "ha-host"

// toHost gives references the IDs an ESXi host uses: "ha-host" for itself and
// a number for each VM (vCenter's vm-57 is 57 here).
func (e *esxEndpoint) toHost(body []byte) []byte {
	self := e.hi.h.Self.Value
	return esxRef.ReplaceAllFunc(body, func(m []byte) []byte {
		g := esxRef.FindSubmatch(m)
		v := string(g[3])
		switch {
		case string(g[2]) == "HostSystem" && v == self:
			v = haHost
		case string(g[2]) == "VirtualMachine" && strings.HasPrefix(v, "vm-"):
			v = v[3:]
		default:
			return m
		}
		return append(append(append([]byte{}, g[1]...), v...), g[4]...)
	})
}

// fromHost maps them back; vCenter's IDs are unknown here, as on a real host.
func (e *esxEndpoint) fromHost(body []byte) []byte {
	self := e.hi.h.Self.Value
	return esxRef.ReplaceAllFunc(body, func(m []byte) []byte {
		g := esxRef.FindSubmatch(m)
		v := string(g[3])
		switch {
		case string(g[2]) == "HostSystem" && v == haHost:
			v = self
		case string(g[2]) == "VirtualMachine" && v != "" && strings.Trim(v, "0123456789") == "":
			v = "vm-" + v
		default:
			v = "unknown-on-host:" + v
		}
		return append(append(append([]byte{}, g[1]...), v...), g[4]...)
	})
}

// login checks the host's own credentials and lockdown mode, then passes vcsim
// the pair it accepts (or one it refuses, for its InvalidLogin fault). A host in
// lockdown mode grants no direct logins (no exception users here).
func (e *esxEndpoint) login(req *types.Login, body []byte) []byte {
	s, hi := e.s, e.hi
	s.mu.Lock()
	lockdown := types.HostLockdownModeLockdownDisabled
	simulator.Map.WithLock(hi.h, func() {
		if hi.h.Config != nil && hi.h.Config.LockdownMode != "" {
			lockdown = hi.h.Config.LockdownMode
		}
	})
	user, pass, cause := s.cfg.username, s.cfg.password, ""
	switch {
	case lockdown != types.HostLockdownModeLockdownDisabled:
		cause = string(lockdown)
	case req.UserName != hi.user || req.Password != hi.pass:
		cause = "wrong user name or password"
	}
	if cause != "" {
		user, pass = "", ""
		s.record(entry{Kind: "esxi", Name: hi.name, Event: "login", To: "refused", Cause: cause})
	} else {
		s.record(entry{Kind: "esxi", Name: hi.name, Event: "login", To: "accepted", Cause: req.UserName})
	}
	s.mu.Unlock()
	body = userNameEl.ReplaceAll(body, []byte("${1}"+html.EscapeString(user)+"${3}"))
	return passwordEl.ReplaceAll(body, []byte("${1}"+html.EscapeString(pass)+"${3}"))
}

// eventUsers: a host's own API logs its local user, not vCenter's, as the one who
// acted (vcsim ran the call in a session of vCenter's user, see login).
func (e *esxEndpoint) eventUsers(body []byte) []byte {
	e.s.mu.Lock()
	user, vcUser := e.hi.user, e.s.cfg.username
	e.s.mu.Unlock()
	return bytes.ReplaceAll(body, []byte("<userName>"+html.EscapeString(vcUser)+"</userName>"), []byte("<userName>"+html.EscapeString(user)+"</userName>"))
}

// captureSession remembers the session a login on a host's own API created.
func (s *sim) captureSession(h http.Header, hi *hostInfo) {
	resp := http.Response{Header: h}
	for _, ck := range resp.Cookies() {
		if ck.Name == soap.SessionCookieName {
			s.smu.Lock()
			s.sessions[ck.Value] = hi
			s.smu.Unlock()
		}
	}
}

// recorder holds a response for the changes a host's own API makes to it.
type recorder struct {
	header http.Header
	code   int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(code int)        { r.code = code }
func (r *recorder) Write(b []byte) (int, error) { return r.buf.Write(b) }

var (
	instanceUUIDEl = regexp.MustCompile(`<instanceUuid>[^<]*</instanceUuid>`)
	hostAgentAbout = strings.NewReplacer(
		"<name>VMware vCenter Server</name>", "<name>VMware ESXi</name>",
		"VMware vCenter Server ", "VMware ESXi ",
		"<productLineId>vpx</productLineId>", "<productLineId>embeddedEsx</productLineId>",
		"<apiType>VirtualCenter</apiType>", "<apiType>HostAgent</apiType>",
		"<licenseProductName>VMware VirtualCenter Server</licenseProductName>", "<licenseProductName>VMware ESX Server</licenseProductName>",
	)
)

// asHostAgent: about as an ESXi host reports it (apiType HostAgent,
// productLineId embeddedEsx, no instanceUuid).
func asHostAgent(body []byte) []byte {
	return instanceUUIDEl.ReplaceAll([]byte(hostAgentAbout.Replace(string(body))), nil)
}

// notAuthenticated answers as vSphere does to a call without a valid session.
func notAuthenticated(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>The session is not authenticated.</faultstring><detail><NotAuthenticatedFault xmlns="urn:vim25" xsi:type="NotAuthenticated"><object type="ServiceInstance">ServiceInstance</object><privilegeId>System.View</privilegeId></NotAuthenticatedFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
}

func (s *sim) held(hi *hostInfo) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return hi.hold
}
