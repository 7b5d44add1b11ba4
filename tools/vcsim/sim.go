package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Private reference types of the companion objects (see front).
const (
	hostKind = "PeHostSystem"
	vmKind   = "PeVirtualMachine"
)

const (
	vmOn        = types.VirtualMachinePowerStatePoweredOn
	vmOff       = types.VirtualMachinePowerStatePoweredOff
	hostOn      = types.HostSystemPowerStatePoweredOn
	hostOff     = types.HostSystemPowerStatePoweredOff
	hostUnknown = types.HostSystemPowerStateUnknown
	connected   = types.HostSystemConnectionStateConnected
	notResp     = types.HostSystemConnectionStateNotResponding
)

type hostInfo struct {
	h       *simulator.HostSystem
	name    string
	cluster string // empty for a standalone host
	dc, cr  types.ManagedObjectReference
	dcName  string
	crName  string

	num        int          // global host number (esx-NN)
	cl         *clusterInfo // nil for a standalone host
	user, pass string       // the host's own API credentials; guarded by sim.mu
	esx        *esxEndpoint // nil unless -esxi-base-port

	entering bool // EnterMaintenanceMode_Task running; guarded by sim.mu
	hold     bool // control esxi-hold: the host's own API holds its maintenance and shutdown calls; guarded by sim.mu
}

type vmInfo struct {
	vm        *simulator.VirtualMachine
	name      string
	fqdn, ip  string
	tools     bool // VMware Tools running while the VM is on
	stuck     bool // accepts ShutdownGuest, never powers off by itself
	isVcenter bool
	isVcls    bool
	cl        *clusterInfo // the vCLS VM's cluster
	offSince  time.Time    // vCLS: when it went off; guarded by sim.mu
	delay     time.Duration

	timer *time.Timer // pending guest shutdown; guarded by sim.mu
	gen   int         // invalidates a timer that fired after being superseded
}

// sim holds the state the overrides add to vcsim's objects. Every state change
// made here runs under mu; object fields are read and written under vcsim's own
// per-object lock (Map.WithLock), one object at a time, so mu -> object lock is
// the only lock order and vcsim's handlers (object lock only) cannot deadlock with it.
type sim struct {
	cfg *config
	mu  sync.Mutex

	hosts      []*hostInfo
	hostByName map[string]*hostInfo
	hostByRef  map[string]*hostInfo
	vms        []*vmInfo
	vmByName   map[string]*vmInfo
	vmByRef    map[string]*vmInfo

	vcenterHost *hostInfo
	vcenterDown atomic.Bool
	vcenterGen  int // invalidates a pending vCenter boot; guarded by mu

	clusters     []*clusterInfo
	clusterByRef map[string]*clusterInfo
	vim          *vim25.Client // in-process client for runtime inventory changes (vCLS VMs)

	smu      sync.Mutex
	sessions map[string]*hostInfo // session key -> host whose own API created it

	jmu     sync.Mutex
	journal []entry

	evctx  *simulator.Context // for events not caused by a request
	closed bool
}

type entry struct {
	Seq   int       `json:"seq"`
	Time  time.Time `json:"time"`
	Kind  string    `json:"kind"` // "host" or "vm"
	Name  string    `json:"name"`
	Host  string    `json:"host,omitempty"` // the VM's host
	Event string    `json:"event"`          // powerState, connectionState, maintenance, shutdownGuest, shutdownHost
	From  string    `json:"from,omitempty"`
	To    string    `json:"to"`
	Cause string    `json:"cause,omitempty"`
}

func newSim(cfg *config) *sim {
	return &sim{
		cfg:          cfg,
		hostByName:   map[string]*hostInfo{},
		hostByRef:    map[string]*hostInfo{},
		vmByName:     map[string]*vmInfo{},
		vmByRef:      map[string]*vmInfo{},
		clusterByRef: map[string]*clusterInfo{},
		sessions:     map[string]*hostInfo{},
		evctx: &simulator.Context{
			Context: context.Background(),
			Session: &simulator.Session{UserSession: types.UserSession{UserName: "vpxd"}},
			Map:     simulator.Map,
		},
	}
}

func (s *sim) addHost(hi *hostInfo) {
	s.hosts = append(s.hosts, hi)
	s.hostByName[hi.name] = hi
	s.hostByRef[hi.h.Self.Value] = hi
}

func (s *sim) addVM(v *vmInfo) {
	s.vms = append(s.vms, v)
	s.vmByName[v.name] = v
	s.vmByRef[v.vm.Self.Value] = v
}

type hostObj struct {
	*simulator.HostSystem
	s  *sim
	hi *hostInfo
}

func (o *hostObj) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: hostKind, Value: o.Self.Value}
}

type vmObj struct {
	*simulator.VirtualMachine
	s *sim
	v *vmInfo
}

func (o *vmObj) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: vmKind, Value: o.Self.Value}
}

func (s *sim) registerCompanions() {
	for _, hi := range s.hosts {
		// vcsim's ESX template has no capability; clients check shutdownSupported.
		hi.h.Capability = &types.HostCapability{
			ShutdownSupported:        true,
			RebootSupported:          true,
			MaintenanceModeSupported: true,
			VmotionSupported:         true,
		}
		// vcsim adds standalone hosts disconnected.
		hi.h.Runtime.ConnectionState = connected
		simulator.Map.Put(&hostObj{hi.h, s, hi})
	}
	for _, v := range s.vms {
		simulator.Map.Put(&vmObj{v.vm, s, v})
	}
	if s.cfg.clusterFeatures() {
		for _, ci := range s.clusters {
			simulator.Map.Put(&clusterObj{ci.c, s, ci})
		}
		simulator.Map.Put(&optionObj{simulator.Map.OptionManager(), s})
	}
}

func (s *sim) stopTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, v := range s.vms {
		if v.timer != nil {
			v.timer.Stop()
			v.timer = nil
		}
	}
}

// --- reading and changing state (callers hold s.mu for changes) ---

func (s *sim) readHost(hi *hostInfo) (power types.HostSystemPowerState, conn types.HostSystemConnectionState, mm bool) {
	simulator.Map.WithLock(hi.h, func() {
		power, conn, mm = hi.h.Runtime.PowerState, hi.h.Runtime.ConnectionState, hi.h.Runtime.InMaintenanceMode
	})
	return
}

func (s *sim) readVM(v *vmInfo) (power types.VirtualMachinePowerState, host *hostInfo) {
	simulator.Map.WithLock(v.vm, func() {
		power = v.vm.Runtime.PowerState
		if v.vm.Runtime.Host != nil {
			host = s.hostByRef[v.vm.Runtime.Host.Value]
		}
	})
	return
}

func (s *sim) vmsOn(hi *hostInfo) []*vmInfo {
	var out []*vmInfo
	simulator.Map.WithLock(hi.h, func() {
		for _, ref := range hi.h.Vm {
			if v := s.vmByRef[ref.Value]; v != nil {
				out = append(out, v)
			}
		}
	})
	return out
}

// guestChanges is what VMware Tools reports for a VM that is (or is not) running.
func guestChanges(v *vmInfo, on bool) []types.PropertyChange {
	running := on && v.tools
	toolsRunning := string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)
	toolsStatus := types.VirtualMachineToolsStatusToolsNotRunning
	guestState := string(types.VirtualMachineGuestStateNotRunning)
	heartbeat := types.ManagedEntityStatusGray
	hostName, ip := "", ""
	if running {
		toolsRunning = string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
		toolsStatus = types.VirtualMachineToolsStatusToolsOk
		guestState = string(types.VirtualMachineGuestStateRunning)
		heartbeat = types.ManagedEntityStatusGreen
		hostName, ip = v.fqdn, v.ip
	}
	return []types.PropertyChange{
		{Name: "guest.toolsRunningStatus", Val: toolsRunning},
		{Name: "guest.toolsStatus", Val: toolsStatus},
		{Name: "guest.guestState", Val: guestState},
		{Name: "guest.hostName", Val: hostName},
		{Name: "guest.ipAddress", Val: ip},
		{Name: "summary.guest.toolsRunningStatus", Val: toolsRunning},
		{Name: "summary.guest.toolsStatus", Val: toolsStatus},
		{Name: "summary.guest.hostName", Val: hostName},
		{Name: "summary.guest.ipAddress", Val: ip},
		{Name: "summary.quickStats.guestHeartbeatStatus", Val: heartbeat},
	}
}

func (s *sim) setVMPower(v *vmInfo, to types.VirtualMachinePowerState, cause string, ctx *simulator.Context) {
	var from types.VirtualMachinePowerState
	var hi *hostInfo
	simulator.Map.WithLock(v.vm, func() {
		from = v.vm.Runtime.PowerState
		if v.vm.Runtime.Host != nil {
			hi = s.hostByRef[v.vm.Runtime.Host.Value]
		}
		if from == to {
			return
		}
		var boot interface{} // untyped nil clears the field; a typed nil pointer would panic in vcsim
		if to == vmOn {
			boot = time.Now()
		}
		changes := []types.PropertyChange{
			{Name: "runtime.powerState", Val: to},
			{Name: "summary.runtime.powerState", Val: to},
			{Name: "runtime.bootTime", Val: boot},
			{Name: "summary.runtime.bootTime", Val: boot},
		}
		simulator.Map.Update(v.vm, append(changes, guestChanges(v, to == vmOn)...))
	})
	if from == to {
		return
	}
	if v.timer != nil {
		v.timer.Stop()
		v.timer = nil
		v.gen++
	}
	hostName := ""
	if hi != nil {
		hostName = hi.name
	}
	s.record(entry{Kind: "vm", Name: v.name, Host: hostName, Event: "powerState", From: string(from), To: string(to), Cause: cause})
	if v.isVcenter {
		s.vcenterPower(to == vmOn)
	}
	if v.isVcls && to != vmOn {
		v.offSince = time.Now()
	}
	if hi != nil {
		ev := s.vmEvent(v, hi)
		switch to {
		case vmOn:
			s.post(ctx, &types.VmPoweredOnEvent{VmEvent: ev})
		case vmOff:
			s.post(ctx, &types.VmPoweredOffEvent{VmEvent: ev})
		}
	}
}

func (s *sim) setVMConnection(v *vmInfo, to types.VirtualMachineConnectionState) {
	simulator.Map.WithLock(v.vm, func() {
		if v.vm.Runtime.ConnectionState != to {
			simulator.Map.Update(v.vm, []types.PropertyChange{
				{Name: "runtime.connectionState", Val: to},
				{Name: "summary.runtime.connectionState", Val: to},
			})
		}
	})
}

func (s *sim) setHostState(hi *hostInfo, power types.HostSystemPowerState, conn types.HostSystemConnectionState, cause string) {
	var fromP types.HostSystemPowerState
	var fromC types.HostSystemConnectionState
	simulator.Map.WithLock(hi.h, func() {
		fromP, fromC = hi.h.Runtime.PowerState, hi.h.Runtime.ConnectionState
		// summary.runtime points at runtime in vcsim; both names notify watchers.
		simulator.Map.Update(hi.h, []types.PropertyChange{
			{Name: "runtime.powerState", Val: power},
			{Name: "runtime.connectionState", Val: conn},
			{Name: "summary.runtime.powerState", Val: power},
			{Name: "summary.runtime.connectionState", Val: conn},
		})
	})
	if fromP != power {
		s.record(entry{Kind: "host", Name: hi.name, Event: "powerState", From: string(fromP), To: string(power), Cause: cause})
	}
	if fromC != conn {
		s.record(entry{Kind: "host", Name: hi.name, Event: "connectionState", From: string(fromC), To: string(conn), Cause: cause})
	}
	if hi.esx != nil {
		hi.esx.sync(power == hostOn)
	}
}

func (s *sim) setHostMaintenance(hi *hostInfo, mm bool, cause string) {
	simulator.Map.WithLock(hi.h, func() {
		simulator.Map.Update(hi.h, []types.PropertyChange{
			{Name: "runtime.inMaintenanceMode", Val: mm},
			{Name: "summary.runtime.inMaintenanceMode", Val: mm},
		})
	})
	to := "exited"
	if mm {
		to = "entered"
	}
	s.record(entry{Kind: "host", Name: hi.name, Event: "maintenance", To: to, Cause: cause})
}

// hostDown is a host going away: vCenter-initiated shutdown (power poweredOff) or
// an outside power cut (power unknown). Running VMs die with it; vCenter then
// shows the host notResponding and its VMs disconnected.
func (s *sim) hostDown(hi *hostInfo, power types.HostSystemPowerState, cause string) {
	for _, v := range s.vmsOn(hi) {
		if p, _ := s.readVM(v); p == vmOn {
			s.setVMPower(v, vmOff, cause, nil)
		}
		s.setVMConnection(v, types.VirtualMachineConnectionStateDisconnected)
	}
	s.setHostState(hi, power, notResp, cause)
}

// hostUp is a host booting and reconnecting; maintenance mode survives reboots.
func (s *sim) hostUp(hi *hostInfo, cause string) {
	s.setHostState(hi, hostOn, connected, cause)
	for _, v := range s.vmsOn(hi) {
		s.setVMConnection(v, types.VirtualMachineConnectionStateConnected)
	}
}

func (s *sim) record(e entry) {
	s.jmu.Lock()
	defer s.jmu.Unlock()
	e.Seq = len(s.journal) + 1
	e.Time = time.Now().UTC()
	s.journal = append(s.journal, e)
}

// --- events and tasks ---

func (s *sim) hostEvent(hi *hostInfo) types.HostEvent {
	return types.HostEvent{Event: types.Event{
		Datacenter:      &types.DatacenterEventArgument{Datacenter: hi.dc, EntityEventArgument: types.EntityEventArgument{Name: hi.dcName}},
		ComputeResource: &types.ComputeResourceEventArgument{ComputeResource: hi.cr, EntityEventArgument: types.EntityEventArgument{Name: hi.crName}},
		Host:            &types.HostEventArgument{Host: hi.h.Self, EntityEventArgument: types.EntityEventArgument{Name: hi.name}},
	}}
}

func (s *sim) vmEvent(v *vmInfo, hi *hostInfo) types.VmEvent {
	e := s.hostEvent(hi).Event
	e.Vm = &types.VmEventArgument{Vm: v.vm.Self, EntityEventArgument: types.EntityEventArgument{Name: v.name}}
	return types.VmEvent{Event: e}
}

func (s *sim) post(ctx *simulator.Context, ev types.BaseEvent) {
	if ctx == nil || ctx.Session == nil {
		ctx = s.evctx
	}
	em := simulator.Map.EventManager()
	simulator.Map.WithLock(em, func() {
		em.PostEvent(ctx, &types.PostEvent{EventToPost: ev})
	})
}

// newTask creates a running task named as real vCenter names it (vcsim's
// CreateTask would call it e.g. "PowerOn" with descriptionId "VirtualMachine.powerOn").
func (s *sim) newTask(ctx *simulator.Context, entity mo.Reference, entityName, method, desc string) *simulator.Task {
	t := simulator.CreateTask(entity, desc, nil)
	simulator.Map.WithLock(t, func() {
		now := time.Now()
		t.Info.Name = method
		t.Info.DescriptionId = entity.Reference().Type + "." + desc
		t.Info.EntityName = entityName
		if ctx != nil && ctx.Session != nil {
			t.Info.Reason = &types.TaskReasonUser{UserName: ctx.Session.UserName}
		}
		t.Info.StartTime = &now
		t.Info.State = types.TaskInfoStateRunning
	})
	// vCenter (and ESXi) list a task among its entity's recentTask too, not only the TaskManager's: a client that restarted
	// finds the task it started on a host there. Completed tasks stay listed a while (vCenter: 10 minutes); here the last few.
	simulator.Map.WithLock(entity, func() {
		me := entity.(mo.Entity).Entity()
		recent := append(me.RecentTask, t.Self)
		if len(recent) > entityRecentTaskMax {
			recent = recent[len(recent)-entityRecentTaskMax:]
		}
		simulator.Map.Update(entity, []types.PropertyChange{{Name: "recentTask", Val: recent}})
	})
	return t
}

// entityRecentTaskMax bounds an entity's recentTask list (a run asks a host a handful of tasks).
const entityRecentTaskMax = 20

// fault is a method fault with the message vCenter gives for it.
type fault struct {
	f   types.BaseMethodFault
	msg string
}

func (s *sim) finishTask(t *simulator.Task, f *fault) {
	simulator.Map.WithLock(t, func() {
		state := types.TaskInfoStateSuccess
		var lf interface{}
		if f != nil {
			state = types.TaskInfoStateError
			lf = types.LocalizedMethodFault{Fault: f.f, LocalizedMessage: f.msg}
		}
		simulator.Map.Update(t, []types.PropertyChange{
			{Name: "info.completeTime", Val: time.Now()},
			{Name: "info.state", Val: state},
			{Name: "info.error", Val: lf},
		})
	})
}

func notConnected() *fault {
	return &fault{&types.HostNotConnected{}, "Unable to communicate with the remote host, since it is disconnected."}
}

func invalidState() *fault {
	return &fault{&types.InvalidState{}, "The operation is not allowed in the current state."}
}

func invalidPower(required, existing types.VirtualMachinePowerState) *fault {
	return &fault{&types.InvalidPowerState{RequestedState: required, ExistingState: existing},
		"The attempted operation cannot be performed in the current state (" + powerWords[existing] + ")."}
}

var powerWords = map[types.VirtualMachinePowerState]string{vmOn: "Powered on", vmOff: "Powered off", types.VirtualMachinePowerStateSuspended: "Suspended"}

// --- HostSystem overrides ---

// ShutdownHostTask: vCenter refuses a shutdown outside maintenance mode unless
// force is set. The task succeeds once the host accepted the command; vCenter
// then reports the host poweredOff and, with no heartbeats, notResponding.
func (o *hostObj) ShutdownHostTask(ctx *simulator.Context, req *types.ShutdownHost_Task) soap.HasFault {
	s, hi := o.s, o.hi
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.outOfScope(ctx, hi); f != nil {
		return &methods.ShutdownHost_TaskBody{Fault_: f}
	}
	t := s.newTask(ctx, hi.h, hi.name, "ShutdownHost_Task", "shutdown")
	_, conn, mm := s.readHost(hi)
	var f *fault
	switch {
	case conn != connected:
		f = notConnected()
	case !mm && !req.Force:
		f = invalidState()
	}
	if f == nil {
		cause := "shutdownHost"
		if req.Force {
			cause = "shutdownHost(force)"
		}
		s.record(entry{Kind: "host", Name: hi.name, Event: "shutdownHost", To: "requested", Cause: cause})
		s.post(ctx, &types.HostShutdownEvent{HostEvent: s.hostEvent(hi), Reason: "Requested through the API"})
		if d := s.cfg.hostShutdownDelay; d > 0 {
			time.AfterFunc(d, func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				if p, c, _ := s.readHost(hi); !s.closed && p == hostOn && c == connected {
					s.hostDown(hi, hostOff, cause)
				}
			})
		} else {
			s.hostDown(hi, hostOff, cause)
		}
	}
	s.finishTask(t, f)
	return &methods.ShutdownHost_TaskBody{Res: &types.ShutdownHost_TaskResponse{Returnval: t.Self}}
}

// EnterMaintenanceModeTask: in a cluster without DRS (ours) vCenter neither
// migrates nor powers off VMs; the task stays running until no VM on the host
// is powered on (and, with evacuatePoweredOffVms, no VM is registered there at
// all), or fails with Timedout after timeout seconds (<= 0: wait forever).
// While it runs no VM can be powered on there.
func (o *hostObj) EnterMaintenanceModeTask(ctx *simulator.Context, req *types.EnterMaintenanceMode_Task) soap.HasFault {
	s, hi := o.s, o.hi
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.outOfScope(ctx, hi); f != nil {
		return &methods.EnterMaintenanceMode_TaskBody{Fault_: f}
	}
	t := s.newTask(ctx, hi.h, hi.name, "EnterMaintenanceMode_Task", "enterMaintenanceMode")
	body := &methods.EnterMaintenanceMode_TaskBody{Res: &types.EnterMaintenanceMode_TaskResponse{Returnval: t.Self}}
	_, conn, mm := s.readHost(hi)
	switch {
	case conn != connected:
		s.finishTask(t, notConnected())
		return body
	case mm || hi.entering:
		s.finishTask(t, invalidState())
		return body
	}
	op := &maintOp{t: t, evacuate: req.EvacuatePoweredOffVms != nil && *req.EvacuatePoweredOffVms, viaVC: s.sessionHost(ctx) == nil}
	cause := ""
	if s.vsanEnabled(hi.cl) {
		action := vsanAction(req.MaintenanceSpec)
		cause = "vsan:" + action
		if f := s.vsanCheck(hi, action); f != nil {
			s.record(entry{Kind: "host", Name: hi.name, Event: "maintenance", To: "failed", Cause: cause})
			s.finishTask(t, f)
			return body
		}
	}
	hi.entering = true
	s.record(entry{Kind: "host", Name: hi.name, Event: "maintenance", To: "entering", Cause: cause})
	s.post(ctx, &types.EnteringMaintenanceModeEvent{HostEvent: s.hostEvent(hi)})

	if req.Timeout > 0 {
		op.deadline = time.Now().Add(time.Duration(req.Timeout) * time.Second)
	}
	if !s.maintenanceStep(hi, op) {
		go func() {
			for {
				time.Sleep(50 * time.Millisecond)
				s.mu.Lock()
				done := s.closed || s.maintenanceStep(hi, op)
				s.mu.Unlock()
				if done {
					return
				}
			}
		}()
	}
	return body
}

type maintOp struct {
	t        *simulator.Task
	deadline time.Time
	evacuate bool
	viaVC    bool // asked through vCenter (DRS may act), not through the host's own API
}

// maintenanceStep finishes the EnterMaintenanceMode_Task when it can; s.mu held.
func (s *sim) maintenanceStep(hi *hostInfo, op *maintOp) bool {
	t, deadline, evacuate := op.t, op.deadline, op.evacuate
	if _, conn, _ := s.readHost(hi); conn != connected {
		hi.entering = false
		s.record(entry{Kind: "host", Name: hi.name, Event: "maintenance", To: "failed", Cause: "host not connected"})
		s.finishTask(t, notConnected())
		return true
	}
	if op.viaVC && s.drsActive(hi.cl) {
		s.drsEvacuate(hi)
	}
	ready := true
	for _, v := range s.vmsOn(hi) {
		if p, _ := s.readVM(v); p == vmOn || evacuate || s.vclsBlocks(v, hi) {
			ready = false
			break
		}
	}
	if ready {
		hi.entering = false
		s.setHostMaintenance(hi, true, "enterMaintenanceMode")
		s.post(nil, &types.EnteredMaintenanceModeEvent{HostEvent: s.hostEvent(hi)})
		s.finishTask(t, nil)
		return true
	}
	if !deadline.IsZero() && time.Now().After(deadline) {
		hi.entering = false
		s.record(entry{Kind: "host", Name: hi.name, Event: "maintenance", To: "failed", Cause: "timed out"})
		s.finishTask(t, &fault{&types.Timedout{}, "Operation timed out."})
		return true
	}
	return false
}

func (o *hostObj) ExitMaintenanceModeTask(ctx *simulator.Context, req *types.ExitMaintenanceMode_Task) soap.HasFault {
	s, hi := o.s, o.hi
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.outOfScope(ctx, hi); f != nil {
		return &methods.ExitMaintenanceMode_TaskBody{Fault_: f}
	}
	t := s.newTask(ctx, hi.h, hi.name, "ExitMaintenanceMode_Task", "exitMaintenanceMode")
	_, conn, mm := s.readHost(hi)
	switch {
	case conn != connected:
		s.finishTask(t, notConnected())
	case !mm:
		s.finishTask(t, invalidState())
	default:
		s.setHostMaintenance(hi, false, "exitMaintenanceMode")
		s.post(ctx, &types.ExitMaintenanceModeEvent{HostEvent: s.hostEvent(hi)})
		s.finishTask(t, nil)
	}
	return &methods.ExitMaintenanceMode_TaskBody{Res: &types.ExitMaintenanceMode_TaskResponse{Returnval: t.Self}}
}

// --- VirtualMachine overrides ---

func (o *vmObj) PowerOnVMTask(ctx *simulator.Context, req *types.PowerOnVM_Task) soap.HasFault {
	s, v := o.s, o.v
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.vmOutOfScope(ctx, v); f != nil {
		return &methods.PowerOnVM_TaskBody{Fault_: f}
	}
	t := s.newTask(ctx, v.vm, v.name, "PowerOnVM_Task", "powerOn")
	s.finishTask(t, s.powerOn(v, ctx))
	return &methods.PowerOnVM_TaskBody{Res: &types.PowerOnVM_TaskResponse{Returnval: t.Self}}
}

// powerOn: vCenter cannot power on a VM whose host is not connected, nor on a
// host that is in or entering maintenance mode (InvalidHostState, a kind of the
// InvalidState the API reference lists). s.mu held.
func (s *sim) powerOn(v *vmInfo, ctx *simulator.Context) *fault {
	power, hi := s.readVM(v)
	if hi == nil {
		return invalidState()
	}
	_, conn, mm := s.readHost(hi)
	switch {
	case conn != connected:
		return notConnected()
	case power == vmOn:
		return invalidPower(vmOff, power)
	case mm || hi.entering:
		ref := hi.h.Self
		return &fault{&types.InvalidHostState{Host: &ref}, "The operation is not allowed in the current state of the host."}
	case ctx != nil && s.sessionHost(ctx) == nil && s.haRefuses(hi.cl):
		return &fault{&types.InsufficientFailoverResourcesFault{}, "Insufficient resources to satisfy configured failover level for vSphere HA."}
	}
	s.setVMPower(v, vmOn, "powerOn", ctx)
	return nil
}

func (o *vmObj) PowerOffVMTask(ctx *simulator.Context, req *types.PowerOffVM_Task) soap.HasFault {
	s, v := o.s, o.v
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.vmOutOfScope(ctx, v); f != nil {
		return &methods.PowerOffVM_TaskBody{Fault_: f}
	}
	t := s.newTask(ctx, v.vm, v.name, "PowerOffVM_Task", "powerOff")
	power, hi := s.readVM(v)
	switch {
	case hi == nil:
		s.finishTask(t, invalidState())
	case !hostConnected(s, hi):
		s.finishTask(t, notConnected())
	case power == vmOff:
		s.finishTask(t, invalidPower(vmOn, power))
	default:
		s.setVMPower(v, vmOff, "powerOff", ctx)
		s.finishTask(t, nil)
	}
	return &methods.PowerOffVM_TaskBody{Res: &types.PowerOffVM_TaskResponse{Returnval: t.Self}}
}

func hostConnected(s *sim, hi *hostInfo) bool {
	_, conn, _ := s.readHost(hi)
	return conn == connected
}

// ShutdownGuest asks VMware Tools to shut the guest down and returns at once,
// as vSphere does; the VM powers off after its own delay (never, if stuck).
// Faults come back directly, not through a task: InvalidPowerState when the VM
// is not powered on, ToolsUnavailable when Tools are not running.
func (o *vmObj) ShutdownGuest(ctx *simulator.Context, req *types.ShutdownGuest) soap.HasFault {
	s, v := o.s, o.v
	s.mu.Lock()
	defer s.mu.Unlock()
	body := &methods.ShutdownGuestBody{}
	if f := s.vmOutOfScope(ctx, v); f != nil {
		body.Fault_ = f
		return body
	}
	power, hi := s.readVM(v)
	var f *fault
	switch {
	case hi == nil:
		f = invalidState()
	case !hostConnected(s, hi):
		f = notConnected()
	case power != vmOn:
		f = invalidPower(vmOn, power)
	case !v.tools:
		f = &fault{&types.ToolsUnavailable{}, "Cannot complete operation because VMware Tools is not running in this virtual machine."}
	}
	if f != nil {
		body.Fault_ = simulator.Fault(f.msg, f.f)
		return body
	}

	s.record(entry{Kind: "vm", Name: v.name, Host: hi.name, Event: "shutdownGuest", To: "requested"})
	s.post(ctx, &types.VmGuestShutdownEvent{VmEvent: s.vmEvent(v, hi)})
	simulator.Map.WithLock(v.vm, func() {
		simulator.Map.Update(v.vm, []types.PropertyChange{
			{Name: "guest.guestState", Val: string(types.VirtualMachineGuestStateShuttingDown)},
		})
	})
	if !v.stuck && v.timer == nil { // a repeated request does not restart the shutdown
		v.gen++
		gen := v.gen
		v.timer = time.AfterFunc(v.delay, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.closed || v.gen != gen || v.timer == nil {
				return
			}
			v.timer = nil
			if p, _ := s.readVM(v); p == vmOn {
				s.setVMPower(v, vmOff, "guestShutdown", nil)
			}
		})
	}
	body.Res = &types.ShutdownGuestResponse{}
	return body
}
