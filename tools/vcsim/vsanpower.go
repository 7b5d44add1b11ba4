package main

// vCenter's vSAN management endpoint, /vsan: the cluster power API (vSAN 7.0
// U3+, VsanClusterPowerSystem "vsan-cluster-power-system") and the resync
// summary (VsanObjectSystem "vsan-cluster-object-system"). govmomi 0.24 has no
// vSAN types, so the two methods are read and answered as XML here. Opt-in with -vsan.

import (
	"fmt"
	"html"
	"io"
	"io/ioutil"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// vsanPowerStep is the time between two steps of the workflow.
const vsanPowerStep = 100 * time.Millisecond

var (
	vsanMethodEl  = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?(PerformClusterPowerAction|QuerySyncingVsanObjectsSummary)\b`)
	vsanThisEl    = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?_this\b[^>]*>([^<]*)<`)
	vsanClusterEl = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?cluster\b[^>]*>([^<]*)<`)
	vsanTargetEl  = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?targetPowerStatus\b[^>]*>([^<]*)<`)
	vsanReasonEl  = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?powerOffReason\b[^>]*>([^<]*)<`)
	vsanInfraEl   = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?infraVMs\b[^>]*>([^<]*)<`)
)

func (s *sim) serveVsan(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if c, err := r.Cookie(soap.SessionCookieName); err != nil || c.Value == "" {
		notAuthenticated(w)
		return
	}
	body, err := ioutil.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	first := func(re *regexp.Regexp) string { // the first match's text
		if m := re.FindSubmatch(body); m != nil {
			return html.UnescapeString(strings.TrimSpace(string(m[1])))
		}
		return ""
	}
	method := first(vsanMethodEl)
	switch {
	case method == "QuerySyncingVsanObjectsSummary" && first(vsanThisEl) == "vsan-cluster-object-system":
		s.serveResyncSummary(w, first(vsanClusterEl))
		return
	case method != "PerformClusterPowerAction" || first(vsanThisEl) != "vsan-cluster-power-system":
		vsanFault(w, "InvalidRequest", "Only PerformClusterPowerAction on vsan-cluster-power-system and QuerySyncingVsanObjectsSummary on vsan-cluster-object-system are simulated.")
		return
	case !offersClusterPower(s.cfg.apiVersion):
		// VsanClusterPowerSystem is "Since vSAN API vSAN 7.0U3" (vSAN Management API reference): an older vCenter does not know it.
		vsanFault(w, "MethodNotFound", "Method PerformClusterPowerAction is not available: vCenter "+s.cfg.apiVersion+" predates vSAN 7.0 U3's cluster power API.")
		return
	}
	var infra []string
	for _, m := range vsanInfraEl.FindAllSubmatch(body, -1) {
		infra = append(infra, strings.TrimSpace(string(m[1])))
	}
	task, kind, msg := s.performClusterPowerAction(first(vsanClusterEl), first(vsanTargetEl), first(vsanReasonEl), infra)
	if task == nil {
		vsanFault(w, kind, msg)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><PerformClusterPowerActionResponse xmlns="urn:vsan"><returnval type="Task">%s</returnval></PerformClusterPowerActionResponse></soapenv:Body></soapenv:Envelope>`, task.Self.Value)
}

// offersClusterPower: about.apiVersion is 7.0.3 or later (vSAN 7.0 U3 shipped with vCenter 7.0 U3, API 7.0.3.0).
func offersClusterPower(apiVersion string) bool {
	min := []int{7, 0, 3}
	parts := strings.Split(apiVersion, ".")
	for i, want := range min {
		got := 0
		if i < len(parts) {
			n, err := strconv.Atoi(parts[i])
			if err != nil {
				return false
			}
			got = n
		}
		if got != want {
			return got > want
		}
	}
	return true
}

func vsanFault(w http.ResponseWriter, kind, msg string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>%s</faultstring><detail><%sFault xmlns="urn:vim25" xsi:type="%s"></%sFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
		html.EscapeString(msg), kind, kind, kind)
}

// performClusterPowerAction checks the request as vSAN does before it starts
// (KB 326690: user VMs must be off) and runs the workflow's steps in order.
func (s *sim) performClusterPowerAction(cluster, target, reason string, infra []string) (*simulator.Task, string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ci := s.clusterByRef[cluster]
	switch {
	case ci == nil:
		return nil, "ManagedObjectNotFound", "The object " + cluster + " has already been deleted or has not been completely created"
	case !s.vsanEnabled(ci):
		return nil, "VsanFault", "vSAN is not enabled on cluster " + ci.name + "."
	case target != "clusterPoweredOff" && target != "clusterPoweredOn":
		return nil, "InvalidArgument", "targetPowerStatus must be clusterPoweredOff or clusterPoweredOn on vCenter."
	case len(reason) >= 512:
		return nil, "InvalidArgument", "powerOffReason must be less than 512 characters."
	}
	if ci.powerBusy != "" {
		// vSAN runs one cluster power workflow at a time; a second request is refused while the first runs.
		return nil, "VsanFault", "Cannot perform " + target + " on cluster " + ci.name + ": a cluster power action (" + ci.powerBusy + ") is already in progress."
	}
	infraSet := map[string]bool{}
	for _, ref := range infra {
		infraSet[ref] = true
	}
	if target == "clusterPoweredOff" {
		var on []string
		for _, v := range s.vms {
			if p, hi := s.readVM(v); p == vmOn && hi != nil && hi.cl == ci && !v.isVcls && !v.isVcenter && !infraSet[v.vm.Self.Value] {
				on = append(on, v.name)
			}
		}
		if len(on) > 0 {
			return nil, "VsanFault", "Cannot power off the cluster: powered-on user VMs: " + strings.Join(on, ", ") + "."
		}
		if ci.resync.BytesToSync > 0 || ci.resync.Objects > 0 {
			return nil, "VsanFault", "Cannot power off the cluster while vSAN objects are resyncing."
		}
		ci.powerInfra = infra
	} else {
		for _, hi := range ci.hosts {
			if !hostConnected(s, hi) {
				return nil, "VsanFault", "Cannot power on the cluster: host " + hi.name + " is not connected."
			}
		}
	}
	t := s.newTask(nil, ci.c, ci.name, "PerformClusterPowerAction", "performClusterPowerAction")
	s.record(entry{Kind: "vsanPower", Name: ci.name, Event: "requested", To: target, Cause: reason})
	// Listed among the cluster's recent tasks by newTask (a client that restarted finds it there).
	ci.powerBusy = target
	steps := s.powerOffSteps(ci, t)
	if target == "clusterPoweredOn" {
		steps = s.powerOnSteps(ci, t)
	}
	go func() {
		defer func() {
			s.mu.Lock()
			ci.powerBusy = ""
			s.mu.Unlock()
		}()
		for _, step := range steps {
			time.Sleep(vsanPowerStep)
			s.mu.Lock()
			for held := false; ci.powerHold == step.status && !s.closed; held = true {
				if !held {
					s.record(entry{Kind: "vsanPower", Name: ci.name, Event: "held", To: step.status, Cause: "control"})
				}
				s.mu.Unlock()
				time.Sleep(20 * time.Millisecond)
				s.mu.Lock()
			}
			if s.closed {
				s.mu.Unlock()
				return
			}
			step.do()
			s.record(entry{Kind: "vsanPower", Name: ci.name, Event: "step", To: step.status})
			s.mu.Unlock()
		}
	}()
	return t, "", ""
}

type powerStep struct {
	status string // vim.cluster.ClusterPowerStatus
	do     func()
}

func (s *sim) setHA(ci *clusterInfo, on bool, cause string) {
	simulator.Map.WithLock(ci.c, func() {
		cfg := ci.c.ConfigurationEx.(*types.ClusterConfigInfoEx)
		cfg.DasConfig.Enabled = types.NewBool(on)
		simulator.Map.Update(ci.c, []types.PropertyChange{{Name: "configurationEx", Val: cfg}})
	})
	from, to := "enabled", "disabled"
	if on {
		from, to = to, from
	}
	s.record(entry{Kind: "cluster", Name: ci.name, Event: "ha", From: from, To: to, Cause: cause})
}

// powerOffSteps: vSAN's order (ClusterPowerStatus). The task ends when vCenter's
// VM is about to go off, or at the end; after that vCenter is gone.
func (s *sim) powerOffSteps(ci *clusterInfo, t *simulator.Task) []powerStep {
	done := false
	finish := func() {
		if !done {
			done = true
			s.finishTask(t, nil)
		}
	}
	nop := func() {}
	return []powerStep{
		{"haDisabled", func() {
			cfg := s.clusterConfig(ci)
			ci.powerHA = cfg.DasConfig.Enabled != nil && *cfg.DasConfig.Enabled
			if ci.powerHA {
				s.setHA(ci, false, "vsanPower")
			}
		}},
		{"supportedVMsPoweredOff", func() {
			ci.powerAction = true // vCenter's agent leaves the vCLS VMs alone until power-on
			for _, v := range s.vclsVMs(ci) {
				if p, hi := s.readVM(v); p == vmOn && hi != nil && hostConnected(s, hi) {
					s.setVMPower(v, vmOff, "vsanPower", nil)
				}
			}
		}},
		{"hostsInfraVMsPoweredoff", func() {
			for _, ref := range ci.powerInfra {
				if v := s.vmByRef[ref]; v != nil {
					if p, hi := s.readVM(v); p == vmOn && hi != nil && hostConnected(s, hi) {
						s.setVMPower(v, vmOff, "vsanPower", nil)
					}
				}
			}
		}},
		{"vcVMPoweredOff", func() {
			for _, v := range s.vms {
				if p, hi := s.readVM(v); v.isVcenter && p == vmOn && hi != nil && hi.cl == ci {
					finish()
					s.setVMPower(v, vmOff, "vsanPower", nil)
				}
			}
		}},
		{"vsanMemberShipUpdateDisabled", nop},
		{"vsanDOMPauseAllCCPsSet", nop},
		{"hostsInMM", func() {
			for _, hi := range ci.hosts {
				if _, c, mm := s.readHost(hi); c == connected && !mm {
					s.setHostMaintenance(hi, true, "vsanPower")
				}
			}
		}},
		{"hostsPoweredOff", func() {
			for _, hi := range ci.hosts {
				if hostConnected(s, hi) {
					s.hostDown(hi, hostOff, "vsanPower")
				}
			}
		}},
		{"clusterPoweredOff", finish},
	}
}

func (s *sim) powerOnSteps(ci *clusterInfo, t *simulator.Task) []powerStep {
	nop := func() {}
	return []powerStep{
		{"hostsOutOfMM", func() {
			for _, hi := range ci.hosts {
				if _, c, mm := s.readHost(hi); c == connected && mm {
					s.setHostMaintenance(hi, false, "vsanPower")
				}
			}
		}},
		{"vsanMemberShipUpdateEnabled", nop},
		{"vsanDOMPauseAllCCPsUnset", nop},
		{"vcVMPoweredOn", nop}, // vCenter answered this call: its VM is on
		{"supportedVMsPoweredOn", func() { ci.powerAction = false }},
		{"haEnabled", func() {
			if ci.powerHA {
				ci.powerHA = false
				s.setHA(ci, true, "vsanPower")
			}
		}},
		{"hostsInfraVMsPoweredon", func() {
			for _, ref := range ci.powerInfra {
				if v := s.vmByRef[ref]; v != nil {
					if p, _ := s.readVM(v); p != vmOn {
						_ = s.powerOn(v, nil)
					}
				}
			}
			ci.powerInfra = nil
		}},
		{"clusterPoweredOn", func() { s.finishTask(t, nil) }},
	}
}

// serveResyncSummary answers QuerySyncingVsanObjectsSummary with the resync
// state set on the control endpoint (a VsanHostVsanObjectSyncQueryResult, summary only).
func (s *sim) serveResyncSummary(w http.ResponseWriter, cluster string) {
	s.mu.Lock()
	ci := s.clusterByRef[cluster]
	var r resyncState
	vsan := ci != nil && s.vsanEnabled(ci)
	if vsan {
		r = ci.resync
	}
	s.mu.Unlock()
	if !vsan {
		vsanFault(w, "VsanFault", "vSAN is not enabled on "+cluster+".")
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><QuerySyncingVsanObjectsSummaryResponse xmlns="urn:vsan"><returnval xsi:type="VsanHostVsanObjectSyncQueryResult"><totalObjectsToSync>%d</totalObjectsToSync><totalBytesToSync>%d</totalBytesToSync><totalRecoveryETA>%d</totalRecoveryETA></returnval></QuerySyncingVsanObjectsSummaryResponse></soapenv:Body></soapenv:Envelope>`,
		r.Objects, r.BytesToSync, r.EtaSeconds)
}
