package main

import (
	"encoding/json"
	"net/http"
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
func (s *sim) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/state", s.handleState)
	mux.HandleFunc("/hosts/", s.handleHost)
	mux.HandleFunc("/vms/", s.handleVM)
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
	ShutdownDelayMs int64  `json:"shutdownDelayMs"`
}

type state struct {
	VcenterReachable bool        `json:"vcenterReachable"`
	Hosts            []hostState `json:"hosts"`
	Vms              []vmState   `json:"vms"`
	Journal          []entry     `json:"journal"`
}

func (s *sim) snapshot(since int) state {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := state{VcenterReachable: !s.vcenterDown.Load(), Hosts: []hostState{}, Vms: []vmState{}}
	for _, hi := range s.hosts {
		st.Hosts = append(st.Hosts, s.hostState(hi))
	}
	for _, v := range s.vms {
		vs := vmState{Name: v.name, Stuck: v.stuck, Vcenter: v.isVcenter, ShutdownDelayMs: v.delay.Milliseconds()}
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
	})
	return hs
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
	if !ok || (action != "power-on" && action != "power-off") {
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
	if !ok || action != "power-on" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	v := s.vmByName[name]
	if v == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no VM " + name})
		return
	}
	s.mu.Lock()
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

func writeJSON(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
