package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// The control endpoint plays the world outside vCenter: a BMC powering a host
// on or off, and a look at the whole state plus the journal for assertions.
//
//	GET  /state[?since=SEQ]        hosts, VMs, journal entries after SEQ
//	POST /hosts/{name}/power-on    host boots and reconnects (maintenance mode kept)
//	POST /hosts/{name}/power-off   power cut: VMs die, host notResponding, power unknown
//	POST /vms/{name}/power-on      power a VM on (e.g. the vCenter VM when /sdk is down)
//	POST /vms/{name}/tools         {"running": false} VMware Tools stops in the guest (true: starts again)
//	POST /vms/{name}/migrate       {"host": name} vMotion to another host of its cluster
//	POST /hosts/{name}/lockdown    {"mode": "lockdownNormal"} (HostAccessManager.ChangeLockdownMode)
//	POST /hosts/{name}/credentials {"username": ..., "password": ...} for the host's own API
//	POST /hosts/{name}/esxi-hold   {"hold": true} the host's own API holds maintenance and shutdown calls until released
//	GET  /clusters/{name}          HA, DRS, vSAN and vCLS state of a cluster
//	GET|POST /clusters/{name}/vsan-resync   vSAN objects resynchronising (what the vSAN health service reports)
//	GET|POST /clusters/{name}/vsan-power-hold {"before": "hostsInMM"} vSAN's power workflow waits before that step ("" releases)
//	GET  /debug/pprof/profile?seconds=N   the simulator's CPU profile (go tool pprof), to tell its cost from the product's in benchmarks
func (s *sim) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/state", s.handleState)
	mux.HandleFunc("/hosts/", s.handleHost)
	mux.HandleFunc("/vms/", s.handleVM)
	mux.HandleFunc("/clusters/", s.handleCluster)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	return mux
}

type hostState struct {
	Name                string `json:"name"`
	Datacenter          string `json:"datacenter"`
	Cluster             string `json:"cluster,omitempty"`
	PowerState          string `json:"powerState"`
	ConnectionState     string `json:"connectionState"`
	InMaintenance       bool   `json:"inMaintenance"`
	EnteringMaintenance bool   `json:"enteringMaintenance"`
	LockdownMode        string `json:"lockdownMode,omitempty"`
	EsxiURL             string `json:"esxiUrl,omitempty"` // the host's own API, with -esxi-base-port
}

type clusterState struct {
	Name             string       `json:"name"`
	Moref            string       `json:"moref"`
	HaEnabled        bool         `json:"haEnabled"`
	AdmissionControl bool         `json:"admissionControl"`
	DrsEnabled       bool         `json:"drsEnabled"`
	DrsBehavior      string       `json:"drsBehavior,omitempty"`
	Vsan             bool         `json:"vsan"`
	Vcls             bool         `json:"vcls"`
	VclsEnabled      bool         `json:"vclsEnabled"` // false: retreat mode
	VclsVms          []string     `json:"vclsVms"`
	Resync           *resyncState `json:"resync,omitempty"`
}

type vmState struct {
	Name            string `json:"name"`
	Host            string `json:"host"`
	PowerState      string `json:"powerState"`
	ConnectionState string `json:"connectionState"`
	GuestState      string `json:"guestState"`
	ToolsRunning    bool   `json:"toolsRunning"`
	Stuck           bool   `json:"stuck,omitempty"`
	Vcenter         bool   `json:"vcenter,omitempty"`
	Vcls            bool   `json:"vcls,omitempty"`
	ShutdownDelayMs int64  `json:"shutdownDelayMs"`
}

type state struct {
	VcenterReachable bool           `json:"vcenterReachable"`
	Hosts            []hostState    `json:"hosts"`
	Vms              []vmState      `json:"vms"`
	Clusters         []clusterState `json:"clusters,omitempty"`
	Journal          []entry        `json:"journal"`
}

func (s *sim) snapshot(since int) state {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := state{VcenterReachable: !s.vcenterDown.Load(), Hosts: []hostState{}, Vms: []vmState{}}
	for _, hi := range s.hosts {
		st.Hosts = append(st.Hosts, s.hostState(hi))
	}
	for _, v := range s.vms {
		vs := vmState{Name: v.name, Stuck: v.stuck, Vcenter: v.isVcenter, Vcls: v.isVcls, ShutdownDelayMs: v.delay.Milliseconds()}
		simulator.Map.WithLock(v.vm, func() {
			vs.PowerState = string(v.vm.Runtime.PowerState)
			vs.ConnectionState = string(v.vm.Runtime.ConnectionState)
			vs.GuestState = v.vm.Guest.GuestState
			vs.ToolsRunning = v.vm.Guest.ToolsRunningStatus == string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
			if v.vm.Runtime.Host != nil {
				if hi := s.hostByRef[v.vm.Runtime.Host.Value]; hi != nil {
					vs.Host = hi.name
				}
			}
		})
		st.Vms = append(st.Vms, vs)
	}
	if s.cfg.clusterFeatures() {
		for _, ci := range s.clusters {
			st.Clusters = append(st.Clusters, s.clusterState(ci))
		}
	}
	s.jmu.Lock()
	if since < 0 {
		since = 0
	}
	if since > len(s.journal) {
		since = len(s.journal)
	}
	st.Journal = append([]entry{}, s.journal[since:]...)
	s.jmu.Unlock()
	return st
}

// hostState needs s.mu held.
func (s *sim) hostState(hi *hostInfo) hostState {
	hs := hostState{Name: hi.name, Datacenter: hi.dcName, Cluster: hi.cluster, EnteringMaintenance: hi.entering}
	simulator.Map.WithLock(hi.h, func() {
		hs.PowerState = string(hi.h.Runtime.PowerState)
		hs.ConnectionState = string(hi.h.Runtime.ConnectionState)
		hs.InMaintenance = hi.h.Runtime.InMaintenanceMode
		if s.cfg.clusterFeatures() && hi.h.Config != nil {
			hs.LockdownMode = string(hi.h.Config.LockdownMode)
		}
	})
	if hi.esx != nil {
		hs.EsxiURL = hi.esx.url()
	}
	return hs
}

// clusterState needs s.mu held.
func (s *sim) clusterState(ci *clusterInfo) clusterState {
	cfg := s.clusterConfig(ci)
	cs := clusterState{Name: ci.name, Moref: ci.ref.Value, Vcls: ci.vcls, VclsEnabled: s.vclsEnabled(ci), VclsVms: []string{},
		HaEnabled:        cfg.DasConfig.Enabled != nil && *cfg.DasConfig.Enabled,
		AdmissionControl: cfg.DasConfig.AdmissionControlEnabled != nil && *cfg.DasConfig.AdmissionControlEnabled,
		DrsEnabled:       cfg.DrsConfig.Enabled != nil && *cfg.DrsConfig.Enabled,
		DrsBehavior:      string(cfg.DrsConfig.DefaultVmBehavior),
		Vsan:             s.vsanEnabled(ci),
	}
	for _, v := range s.vclsVMs(ci) {
		cs.VclsVms = append(cs.VclsVms, v.name)
	}
	if cs.Vsan {
		r := ci.resync
		cs.Resync = &r
	}
	return cs
}

func (s *sim) handleState(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	since, _ := strconv.Atoi(r.URL.Query().Get("since"))
	writeJSON(w, http.StatusOK, s.snapshot(since))
}

// splitAction parses "/hosts/{name}/{action}".
func splitAction(path, prefix string) (name, action string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(path, prefix), "/")
	if len(parts) != 2 || parts[0] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

func (s *sim) handleHost(w http.ResponseWriter, r *http.Request) {
	name, action, ok := splitAction(r.URL.Path, "/hosts/")
	if !ok || (action != "power-on" && action != "power-off" && action != "lockdown" && action != "credentials" && action != "esxi-hold") {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	hi := s.hostByName[name]
	if hi == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no host " + name})
		return
	}
	if action == "lockdown" || action == "credentials" {
		s.hostSetting(w, r, hi, action)
		return
	}
	if action == "esxi-hold" {
		var req struct {
			Hold *bool `json:"hold"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || req.Hold == nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be {"hold": true|false}`})
			return
		}
		s.mu.Lock()
		hi.hold = *req.Hold
		s.mu.Unlock()
		s.record(entry{Kind: "esxi", Name: hi.name, Event: "hold", To: strconv.FormatBool(*req.Hold), Cause: "control"})
		writeJSON(w, http.StatusOK, map[string]interface{}{"name": hi.name, "hold": *req.Hold})
		return
	}
	s.mu.Lock()
	power, conn, _ := s.readHost(hi)
	if action == "power-on" {
		if power != hostOn || conn != connected {
			s.hostUp(hi, "control:power-on")
		}
	} else if power == hostOn || conn == connected {
		s.hostDown(hi, hostUnknown, "control:power-off")
	}
	hs := s.hostState(hi)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, hs)
}

func (s *sim) handleVM(w http.ResponseWriter, r *http.Request) {
	name, action, ok := splitAction(r.URL.Path, "/vms/")
	if !ok || (action != "power-on" && action != "tools" && action != "migrate") {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if action == "migrate" {
		s.migrateVM(w, r, name)
		return
	}
	s.mu.Lock()
	v := s.vmByName[name]
	if v == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no VM " + name})
		return
	}
	if action == "tools" {
		defer s.mu.Unlock()
		s.setTools(w, r, v)
		return
	}
	var f *fault
	if p, _ := s.readVM(v); p != vmOn {
		f = s.powerOn(v, nil)
	}
	s.mu.Unlock()
	if f != nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": f.msg})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": v.name, "powerState": string(vmOn)})
}

// setTools starts or stops VMware Tools in a VM ({"running": false}), as a guest whose Tools service stopped or was
// never installed: guest shutdown is then refused (ToolsUnavailable) and a readiness check must notice it.
func (s *sim) setTools(w http.ResponseWriter, r *http.Request, v *vmInfo) {
	var req struct {
		Running *bool `json:"running"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || req.Running == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be {"running": true|false}`})
		return
	}
	if v.isVcls {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "vCLS VMs always run their Tools"})
		return
	}
	v.tools = *req.Running
	power, _ := s.readVM(v)
	simulator.Map.WithLock(v.vm, func() { simulator.Map.Update(v.vm, guestChanges(v, power == vmOn)) })
	s.record(entry{Kind: "vm", Name: v.name, Event: "tools", To: map[bool]string{true: "running", false: "notRunning"}[v.tools], Cause: "control"})
	writeJSON(w, http.StatusOK, map[string]interface{}{"name": v.name, "toolsRunning": v.tools && power == vmOn})
}

func writeJSON(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// hostSetting changes what is set on the host itself: lockdown mode (as
// HostAccessManager.ChangeLockdownMode through vCenter would) or the user and
// password of its own API.
func (s *sim) hostSetting(w http.ResponseWriter, r *http.Request, hi *hostInfo, action string) {
	var req struct {
		Mode     string `json:"mode"`
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if action == "credentials" {
		if req.Username == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "username is empty"})
			return
		}
		hi.user, hi.pass = req.Username, req.Password
		s.record(entry{Kind: "esxi", Name: hi.name, Event: "credentials", To: "changed", Cause: "control"})
		writeJSON(w, http.StatusOK, s.hostState(hi))
		return
	}
	mode := types.HostLockdownMode(req.Mode)
	switch mode {
	case types.HostLockdownModeLockdownDisabled, types.HostLockdownModeLockdownNormal, types.HostLockdownModeLockdownStrict:
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "mode: lockdownDisabled, lockdownNormal or lockdownStrict"})
		return
	}
	var from types.HostLockdownMode
	simulator.Map.WithLock(hi.h, func() {
		if hi.h.Config == nil {
			return
		}
		from = hi.h.Config.LockdownMode
		hi.h.Config.LockdownMode = mode
		simulator.Map.Update(hi.h, []types.PropertyChange{{Name: "config.lockdownMode", Val: mode}})
	})
	if from != mode {
		s.record(entry{Kind: "host", Name: hi.name, Event: "lockdown", From: string(from), To: string(mode), Cause: "control"})
	}
	writeJSON(w, http.StatusOK, s.hostState(hi))
}

func (s *sim) handleCluster(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/clusters/")
	name, action := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		name, action = rest[:i], rest[i+1:]
	}
	var ci *clusterInfo
	for _, c := range s.clusters {
		if c.name == name {
			ci = c
		}
	}
	if ci == nil || (action != "" && action != "vsan-resync" && action != "vsan-power-hold") {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no cluster " + name})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case action == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.clusterState(ci))
	case action == "vsan-resync" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, ci.resync)
	case action == "vsan-resync" && r.Method == http.MethodPost:
		var req resyncState
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || req.BytesToSync < 0 || req.Objects < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want {bytesToSync, objects, etaSeconds}, none negative"})
			return
		}
		from := ci.resync
		ci.resync = req
		s.record(entry{Kind: "cluster", Name: ci.name, Event: "vsanResync",
			From: strconv.FormatInt(from.BytesToSync, 10), To: strconv.FormatInt(req.BytesToSync, 10), Cause: "control"})
		writeJSON(w, http.StatusOK, ci.resync)
	case action == "vsan-power-hold" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]string{"before": ci.powerHold, "running": ci.powerBusy})
	case action == "vsan-power-hold" && r.Method == http.MethodPost:
		var req struct {
			Before *string `json:"before"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || req.Before == nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be {"before": "<ClusterPowerStatus step>"} ("" releases)`})
			return
		}
		from := ci.powerHold
		ci.powerHold = *req.Before
		s.record(entry{Kind: "vsanPower", Name: ci.name, Event: "hold", From: from, To: ci.powerHold, Cause: "control"})
		writeJSON(w, http.StatusOK, map[string]string{"before": ci.powerHold, "running": ci.powerBusy})
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// migrateVM moves a VM to another host of its cluster, as a vMotion by DRS or an
// operator would (tests: vCenter's VM moved since the plan). Body: {"host": name}.
func (s *sim) migrateVM(w http.ResponseWriter, r *http.Request, name string) {
	var req struct {
		Host string `json:"host"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, to := s.vmByName[name], s.hostByName[req.Host]
	if v == nil || to == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no VM " + name + " or no host " + req.Host})
		return
	}
	_, from := s.readVM(v)
	if from == nil || from.cl != to.cl || !s.usable(to) {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "host " + req.Host + " is not a usable host of the VM's cluster"})
		return
	}
	if from != to {
		s.migrate(v, from, to, "control")
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": v.name, "host": to.name})
}
