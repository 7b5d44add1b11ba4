package main

// Cluster behaviours of vSphere 7/8 that a whole-cluster shutdown meets (issue 12),
// all opt-in: HA and DRS settings changed through ReconfigureComputeResource_Task,
// DRS fully automated evacuating a host entering maintenance mode, vSAN's
// decommission modes, and vCenter's vSphere Cluster Services agent (vCLS VMs,
// retreat mode through the advanced setting config.vcls.clusters.<moref>.enabled).
// See docs/vcsim.md for the rules and their sources.

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	clusterKind = "PeClusterComputeResource"
	optionKind  = "PeOptionManager"
)

// resyncState is what the vSAN health service reports about resynchronising objects;
// set through the control endpoint.
type resyncState struct {
	BytesToSync int64 `json:"bytesToSync"`
	Objects     int   `json:"objects"`
	EtaSeconds  int   `json:"etaSeconds"`
}

type clusterInfo struct {
	name       string
	ref, dc    types.ManagedObjectReference
	vmFolder   types.ManagedObjectReference
	vclsFolder types.ManagedObjectReference
	c          *simulator.ClusterComputeResource
	hosts      []*hostInfo

	vcls        bool      // the cluster runs vCLS VMs (vSphere 7.0 U1 – 8.0 U2)
	retreatSeen time.Time // when the agent saw retreat mode; zero: not in retreat. Guarded by sim.mu
	vclsSeq     int       // names of redeployed vCLS VMs
	resync      resyncState

	// vSAN cluster power API (vsanpower.go); guarded by sim.mu
	powerAction bool     // powered off through it: the vCLS agent leaves the cluster alone
	powerHA     bool     // HA was on before the power-off
	powerInfra  []string // infraVMs of the power-off, powered on again at power-on
	powerBusy   string   // the power action whose workflow runs (vSAN refuses another meanwhile)
	powerHold   string   // control: the workflow waits before this step (ClusterPowerStatus) until released
}

// vcenterClusterRef gives a new, still empty cluster the kind of ID vCenter
// gives clusters, domain-cN (vcsim says clustercomputeresource-N): clients build
// the retreat-mode key config.vcls.clusters.domain-cN.enabled from it.
func vcenterClusterRef(old types.ManagedObjectReference) types.ManagedObjectReference {
	c := simulator.Map.Get(old).(*simulator.ClusterComputeResource)
	ref := types.ManagedObjectReference{Type: old.Type, Value: "domain-c" + strings.TrimPrefix(old.Value, "clustercomputeresource-")}
	simulator.Map.Remove(old)
	c.Self = ref
	simulator.Map.Put(c)
	swap := func(refs []types.ManagedObjectReference) {
		for i := range refs {
			if refs[i] == old {
				refs[i] = ref
			}
		}
	}
	if f, ok := simulator.Map.Get(*c.Parent).(*simulator.Folder); ok {
		swap(f.ChildEntity)
	}
	if p, ok := simulator.Map.Get(*c.ResourcePool).(*simulator.ResourcePool); ok {
		p.Owner = ref
		if p.Parent != nil && *p.Parent == old {
			p.Parent = &ref
		}
	}
	return ref
}

func (s *sim) addCluster(name string, ref, dc, vmFolder types.ManagedObjectReference) *clusterInfo {
	c := simulator.Map.Get(ref).(*simulator.ClusterComputeResource)
	ci := &clusterInfo{name: name, ref: ref, dc: dc, vmFolder: vmFolder, c: c, vcls: s.cfg.vcls}
	cfg := c.ConfigurationEx.(*types.ClusterConfigInfoEx)
	if s.cfg.ha {
		// vSphere's defaults for a new HA cluster: host monitoring on, admission control
		// reserving capacity for one host failure (cluster resource percentage).
		cfg.DasConfig = types.ClusterDasConfigInfo{
			Enabled:                 types.NewBool(true),
			VmMonitoring:            string(types.ClusterDasConfigInfoVmMonitoringStateVmMonitoringDisabled),
			HostMonitoring:          string(types.ClusterDasConfigInfoServiceStateEnabled),
			FailoverLevel:           1,
			AdmissionControlEnabled: types.NewBool(true),
			AdmissionControlPolicy: &types.ClusterFailoverResourcesAdmissionControlPolicy{
				CpuFailoverResourcesPercent: 33, MemoryFailoverResourcesPercent: 33,
				FailoverLevel: 1, AutoComputePercentages: types.NewBool(true),
			},
		}
	}
	if s.cfg.drs != "" {
		cfg.DrsConfig.Enabled = types.NewBool(true)
		cfg.DrsConfig.DefaultVmBehavior = types.DrsBehavior(s.cfg.drs)
		cfg.DrsConfig.VmotionRate = 3
	}
	if s.cfg.vsan {
		cfg.VsanConfigInfo = &types.VsanClusterConfigInfo{Enabled: types.NewBool(true),
			DefaultConfig: &types.VsanClusterConfigInfoHostDefaultInfo{AutoClaimStorage: types.NewBool(false)}}
	}
	s.clusters = append(s.clusters, ci)
	s.clusterByRef[ref.Value] = ci
	return ci
}

// buildExtras adds the infrastructure VMs and the vCLS VMs once the hosts exist.
func (s *sim) buildExtras(ctx context.Context, c *vim25.Client) error {
	if s.cfg.infraVMs != "" {
		for _, item := range strings.Split(s.cfg.infraVMs, ",") {
			parts := strings.SplitN(strings.TrimSpace(item), "@", 2)
			n := 1
			if len(parts) == 2 {
				var err error
				if n, err = strconv.Atoi(parts[1]); err != nil {
					return fmt.Errorf("-infra-vms: %q: %v", item, err)
				}
			}
			hi := s.hostByNum(n)
			if hi == nil || parts[0] == "" {
				return fmt.Errorf("-infra-vms: %q: no such host", item)
			}
			if _, err := s.createVM(ctx, c, object.NewFolder(c, s.vmFolderOf(hi)), poolOf(simulator.Map.Get(hi.cr)), hi,
				parts[0], types.VirtualMachineGuestOsIdentifierOtherLinux64Guest, false); err != nil {
				return err
			}
		}
	}
	for _, ci := range s.clusters {
		if !ci.vcls {
			continue
		}
		f, err := object.NewFolder(c, ci.vmFolder).CreateFolder(ctx, "vCLS")
		if err != nil {
			return err
		}
		ci.vclsFolder = f.Reference()
		if err := s.deployVcls(ctx, c, ci, false); err != nil {
			return err
		}
	}
	return nil
}

func (s *sim) hostByNum(n int) *hostInfo {
	for _, hi := range s.hosts {
		if hi.num == n {
			return hi
		}
	}
	return nil
}

func (s *sim) vmFolderOf(hi *hostInfo) types.ManagedObjectReference {
	dc := simulator.Map.Get(hi.dc).(*simulator.Datacenter)
	return dc.VmFolder
}

// --- vCLS ---

// vclsName is a vCLS VM's name as vSphere 7.0 U3+ gives it: "vCLS-" and a UUID.
func (s *sim) vclsName(ci *clusterInfo) string {
	ci.vclsSeq++
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d/%s/%d", s.cfg.seed, ci.ref.Value, ci.vclsSeq)))
	h := fmt.Sprintf("%x", sum[:16])
	return "vCLS-" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (s *sim) vclsVMs(ci *clusterInfo) []*vmInfo {
	var out []*vmInfo
	for _, v := range s.vms {
		if v.isVcls && v.cl == ci {
			out = append(out, v)
		}
	}
	return out
}

// deployVcls gives the cluster its vCLS VMs: one per host, at most three, on
// hosts that are up and not in (or entering) maintenance mode. s.mu held when live.
func (s *sim) deployVcls(ctx context.Context, c *vim25.Client, ci *clusterInfo, live bool) error {
	existing := s.vclsVMs(ci)
	want := len(ci.hosts)
	if want > 3 {
		want = 3
	}
	has := map[*hostInfo]bool{}
	for _, v := range existing {
		if _, hi := s.readVM(v); hi != nil {
			has[hi] = true
		}
	}
	for _, hi := range ci.hosts {
		if len(existing) >= want {
			break
		}
		if has[hi] || !s.usable(hi) {
			continue
		}
		v, err := s.createVM(ctx, c, object.NewFolder(c, ci.vclsFolder), *ci.c.ResourcePool, hi, s.vclsName(ci),
			types.VirtualMachineGuestOsIdentifierVmwarePhoton64Guest, live)
		if err != nil {
			return err
		}
		v.isVcls, v.cl, v.tools, v.delay = true, ci, true, 0
		simulator.Map.WithLock(v.vm, func() {
			// How clients tell vCLS VMs apart: managed by the ESX Agent Manager.
			managed := &types.ManagedByInfo{ExtensionKey: "com.vmware.vim.eam", Type: "cluster-agent"}
			v.vm.Config.ManagedBy = managed
			v.vm.Config.Annotation = "vSphere Cluster Service VM is deployed from an OVA with a minimal installed profile of PhotonOS."
			v.vm.Summary.Config.ManagedBy = managed
		})
		existing = append(existing, v)
		if live {
			simulator.Map.Put(&vmObj{v.vm, s, v})
			s.record(entry{Kind: "vm", Name: v.name, Host: hi.name, Event: "deployed", To: "registered", Cause: "vcls"})
			s.setVMPower(v, vmOn, "vcls", nil)
		}
	}
	return nil
}

// usable: connected, powered on, not in or entering maintenance mode.
func (s *sim) usable(hi *hostInfo) bool {
	p, c, mm := s.readHost(hi)
	return p == hostOn && c == connected && !mm && !hi.entering
}

// vclsEnabled reads the retreat-mode setting; a missing key means enabled.
func (s *sim) vclsEnabled(ci *clusterInfo) bool {
	om := simulator.Map.OptionManager()
	key := "config.vcls.clusters." + ci.ref.Value + ".enabled"
	enabled := true
	simulator.Map.WithLock(om, func() {
		for _, o := range om.Setting {
			if v := o.GetOptionValue(); v.Key == key {
				switch x := v.Value.(type) {
				case bool:
					enabled = x
				case string:
					enabled = !strings.EqualFold(strings.TrimSpace(x), "false")
				}
			}
		}
	})
	return enabled
}

// lastHost: the host is entering maintenance mode and no other host of its
// cluster is left to run vCLS; vCenter then stops the vCLS VMs by itself
// (Broadcom KB 403400), as long as vCenter is running.
func (s *sim) lastHost(ci *clusterInfo, hi *hostInfo) bool {
	if ci == nil || hi == nil || !hi.entering {
		return false
	}
	for _, o := range ci.hosts {
		if o != hi && s.usable(o) {
			return false
		}
	}
	return true
}

// vclsBlocks: vCenter's agent would power this vCLS VM back on, so it keeps its
// host from finishing maintenance mode.
func (s *sim) vclsBlocks(v *vmInfo, hi *hostInfo) bool {
	return v.isVcls && !v.cl.powerAction && !s.vcenterDown.Load() && s.vclsEnabled(v.cl) && !s.lastHost(v.cl, hi)
}

// vclsTick is one round of vCenter's vCLS agent (EAM); s.mu held. The agent is
// part of vCenter: while vCenter's VM is off nothing happens.
func (s *sim) vclsTick() {
	if s.vcenterDown.Load() {
		return
	}
	now := time.Now()
	for _, ci := range s.clusters {
		if !ci.vcls || ci.powerAction {
			continue
		}
		if !s.vclsEnabled(ci) {
			if ci.retreatSeen.IsZero() {
				ci.retreatSeen = now
				s.record(entry{Kind: "cluster", Name: ci.name, Event: "vcls", From: "enabled", To: "retreat", Cause: "option"})
			}
			if now.Sub(ci.retreatSeen) < s.cfg.vclsRetreatDelay {
				continue
			}
			for _, v := range s.vclsVMs(ci) {
				if p, hi := s.readVM(v); p == vmOn && hi != nil && hostConnected(s, hi) {
					s.setVMPower(v, vmOff, "vcls:retreat", nil)
				}
				s.removeVM(v, "vcls:retreat")
			}
			continue
		}
		if !ci.retreatSeen.IsZero() {
			ci.retreatSeen = time.Time{}
			s.record(entry{Kind: "cluster", Name: ci.name, Event: "vcls", From: "retreat", To: "enabled", Cause: "option"})
		}
		if err := s.deployVcls(context.Background(), s.vim, ci, true); err != nil {
			s.record(entry{Kind: "cluster", Name: ci.name, Event: "vcls", To: "deployFailed", Cause: err.Error()})
		}
		for _, v := range s.vclsVMs(ci) {
			p, hi := s.readVM(v)
			if hi == nil {
				continue
			}
			if s.lastHost(ci, hi) {
				if p == vmOn {
					s.setVMPower(v, vmOff, "vcls:last-host", nil)
				}
				continue
			}
			hp, hc, mm := s.readHost(hi)
			if p != vmOn && hp == hostOn && hc == connected && !mm && now.Sub(v.offSince) >= s.cfg.vclsRestartDelay {
				s.setVMPower(v, vmOn, "vcls", nil)
			}
		}
	}
}

func (s *sim) runVclsAgent() {
	go func() {
		for {
			time.Sleep(100 * time.Millisecond)
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				return
			}
			s.vclsTick()
			s.mu.Unlock()
		}
	}()
}

// removeVM unregisters and deletes a (powered-off) VM; s.mu held.
func (s *sim) removeVM(v *vmInfo, cause string) {
	_, hi := s.readVM(v)
	t, err := object.NewVirtualMachine(s.vim, v.vm.Self).Destroy(context.Background())
	if err == nil {
		_, err = taskResult(t)
	}
	if err != nil {
		s.record(entry{Kind: "vm", Name: v.name, Event: "removed", To: "failed", Cause: err.Error()})
		return
	}
	simulator.Map.Remove(types.ManagedObjectReference{Type: vmKind, Value: v.vm.Self.Value})
	delete(s.vmByName, v.name)
	delete(s.vmByRef, v.vm.Self.Value)
	for i, o := range s.vms {
		if o == v {
			s.vms = append(s.vms[:i:i], s.vms[i+1:]...)
			break
		}
	}
	hostName := ""
	if hi != nil {
		hostName = hi.name
	}
	s.record(entry{Kind: "vm", Name: v.name, Host: hostName, Event: "removed", To: "unregistered", Cause: cause})
}

// --- DRS ---

func (s *sim) clusterConfig(ci *clusterInfo) (cfg types.ClusterConfigInfoEx) {
	simulator.Map.WithLock(ci.c, func() { cfg = *ci.c.ConfigurationEx.(*types.ClusterConfigInfoEx) })
	return
}

// drsActive: vCenter's DRS, fully automated, is running for the cluster. DRS
// is not functional while the cluster is in vCLS retreat mode (vSphere docs).
func (s *sim) drsActive(ci *clusterInfo) bool {
	if ci == nil || s.vcenterDown.Load() {
		return false
	}
	drs := s.clusterConfig(ci).DrsConfig
	if drs.Enabled == nil || !*drs.Enabled || drs.DefaultVmBehavior != types.DrsBehaviorFullyAutomated {
		return false
	}
	return !ci.vcls || s.vclsEnabled(ci)
}

// drsEvacuate vMotions the powered-on VMs of a host entering maintenance mode to
// the usable host of the cluster with the fewest powered-on VMs; s.mu held.
func (s *sim) drsEvacuate(hi *hostInfo) {
	for _, v := range s.vmsOn(hi) {
		if p, _ := s.readVM(v); p != vmOn {
			continue
		}
		var best *hostInfo
		bestLoad := 0
		for _, o := range hi.cl.hosts {
			if o == hi || !s.usable(o) {
				continue
			}
			load := 0
			for _, w := range s.vmsOn(o) {
				if p, _ := s.readVM(w); p == vmOn {
					load++
				}
			}
			if best == nil || load < bestLoad {
				best, bestLoad = o, load
			}
		}
		if best == nil {
			return
		}
		s.migrate(v, hi, best, "drs")
	}
}

func (s *sim) migrate(v *vmInfo, from, to *hostInfo, cause string) {
	without := func(refs []types.ManagedObjectReference, r types.ManagedObjectReference) []types.ManagedObjectReference {
		out := make([]types.ManagedObjectReference, 0, len(refs))
		for _, x := range refs {
			if x != r {
				out = append(out, x)
			}
		}
		return out
	}
	ref := v.vm.Self
	simulator.Map.WithLock(from.h, func() {
		simulator.Map.Update(from.h, []types.PropertyChange{{Name: "vm", Val: without(from.h.Vm, ref)}})
	})
	simulator.Map.WithLock(to.h, func() {
		simulator.Map.Update(to.h, []types.PropertyChange{{Name: "vm", Val: append(without(to.h.Vm, ref), ref)}})
	})
	host := to.h.Self
	simulator.Map.WithLock(v.vm, func() {
		simulator.Map.Update(v.vm, []types.PropertyChange{
			{Name: "runtime.host", Val: host},
			{Name: "summary.runtime.host", Val: host},
		})
	})
	s.record(entry{Kind: "vm", Name: v.name, Host: to.name, Event: "host", From: from.name, To: to.name, Cause: cause})
	s.post(nil, &types.DrsVmMigratedEvent{VmMigratedEvent: types.VmMigratedEvent{VmEvent: s.vmEvent(v, to),
		SourceHost: types.HostEventArgument{Host: from.h.Self, EntityEventArgument: types.EntityEventArgument{Name: from.name}}}})
}

// --- HA ---

// haRefuses is vSphere HA admission control refusing a power-on through
// vCenter: with the cluster's failover capacity reserved (one host, or the
// equivalent percentage), a cluster down to failoverLevel usable hosts has no
// capacity left. A power-on through the host's own API is not checked, as on ESXi.
func (s *sim) haRefuses(ci *clusterInfo) bool {
	if ci == nil || !s.cfg.clusterFeatures() {
		return false
	}
	das := s.clusterConfig(ci).DasConfig
	if das.Enabled == nil || !*das.Enabled || das.AdmissionControlEnabled == nil || !*das.AdmissionControlEnabled {
		return false
	}
	level := int(das.FailoverLevel)
	if level < 1 {
		level = 1
	}
	usable := 0
	for _, hi := range ci.hosts {
		if s.usable(hi) {
			usable++
		}
	}
	return usable <= level
}

// --- vSAN ---

func (s *sim) vsanEnabled(ci *clusterInfo) bool {
	if ci == nil {
		return false
	}
	v := s.clusterConfig(ci).VsanConfigInfo
	return v != nil && v.Enabled != nil && *v.Enabled
}

// vsanHostsNeeded is how many other hosts of the cluster must still serve vSAN
// for a host to enter maintenance mode with the given decommission mode, for
// objects with the default policy (FTT=1, RAID-1: two replicas and a witness on
// three hosts). ensureObjectAccessibility keeps every object accessible, which
// needs a majority of its three components: two other hosts. evacuateAllData
// rebuilds the host's components elsewhere with FTT=1 intact: three other hosts.
// noAction moves nothing.
func vsanHostsNeeded(action string) int {
	switch action {
	case string(types.VsanHostDecommissionModeObjectActionNoAction):
		return 0
	case string(types.VsanHostDecommissionModeObjectActionEvacuateAllData):
		return 3
	}
	return 2
}

// vsanCheck is vCenter's data-migration pre-check; s.mu held.
func (s *sim) vsanCheck(hi *hostInfo, action string) *fault {
	others := 0
	for _, o := range hi.cl.hosts {
		if o != hi && s.usable(o) {
			others++
		}
	}
	if others >= vsanHostsNeeded(action) {
		return nil
	}
	return &fault{&types.VsanFault{}, "Failed to enter maintenance mode in the current vSAN data migration mode (" + action +
		") due to insufficient nodes or disks in the cluster. Retry operation in another mode or after adding more resources to the cluster."}
}

func vsanAction(spec *types.HostMaintenanceSpec) string {
	if spec != nil && spec.VsanMode != nil && spec.VsanMode.ObjectAction != "" {
		return spec.VsanMode.ObjectAction
	}
	return string(types.VsanHostDecommissionModeObjectActionEnsureObjectAccessibility) // the documented default
}

// --- ReconfigureComputeResource_Task (vcsim 0.24 ignores dasConfig, drsConfig and vsanConfig) ---

type clusterObj struct {
	*simulator.ClusterComputeResource
	s  *sim
	ci *clusterInfo
}

func (o *clusterObj) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: clusterKind, Value: o.Self.Value}
}

func boolWord(b *bool, yes, no string) string {
	if b != nil && *b {
		return yes
	}
	return no
}

func (o *clusterObj) ReconfigureComputeResourceTask(ctx *simulator.Context, req *types.ReconfigureComputeResource_Task) soap.HasFault {
	s, ci := o.s, o.ci
	s.mu.Lock()
	defer s.mu.Unlock()
	spec, ok := req.Spec.(*types.ClusterConfigSpecEx)
	if !ok {
		return &methods.ReconfigureComputeResource_TaskBody{Fault_: simulator.Fault("", &types.InvalidArgument{InvalidProperty: "spec"})}
	}
	before := s.clusterConfig(ci)
	simulator.Map.WithLock(ci.c, func() {
		cfg := ci.c.ConfigurationEx.(*types.ClusterConfigInfoEx)
		mergeDas(&cfg.DasConfig, spec.DasConfig)
		mergeDrs(&cfg.DrsConfig, spec.DrsConfig)
		if spec.VsanConfig != nil && spec.VsanConfig.Enabled != nil {
			if cfg.VsanConfigInfo == nil {
				cfg.VsanConfigInfo = &types.VsanClusterConfigInfo{}
			}
			cfg.VsanConfigInfo.Enabled = types.NewBool(*spec.VsanConfig.Enabled)
		}
		simulator.Map.Update(ci.c, []types.PropertyChange{{Name: "configurationEx", Val: cfg}})
	})
	after := s.clusterConfig(ci)
	change := func(event, from, to string) {
		if from != to {
			s.record(entry{Kind: "cluster", Name: ci.name, Event: event, From: from, To: to, Cause: "reconfigure"})
		}
	}
	change("ha", boolWord(before.DasConfig.Enabled, "enabled", "disabled"), boolWord(after.DasConfig.Enabled, "enabled", "disabled"))
	change("admissionControl", boolWord(before.DasConfig.AdmissionControlEnabled, "enabled", "disabled"),
		boolWord(after.DasConfig.AdmissionControlEnabled, "enabled", "disabled"))
	change("drs", boolWord(before.DrsConfig.Enabled, "enabled", "disabled"), boolWord(after.DrsConfig.Enabled, "enabled", "disabled"))
	change("drsBehavior", string(before.DrsConfig.DefaultVmBehavior), string(after.DrsConfig.DefaultVmBehavior))
	// Rules, groups and overrides: vcsim's own handling.
	var res soap.HasFault
	simulator.Map.WithLock(ci.c, func() { res = o.ClusterComputeResource.ReconfigureComputeResourceTask(req) })
	if body, ok := res.(*methods.ReconfigureComputeResource_TaskBody); ok && body.Res != nil {
		if t, ok := simulator.Map.Get(body.Res.Returnval).(*simulator.Task); ok {
			simulator.Map.WithLock(t, func() {
				t.Info.Name = "ReconfigureComputeResource_Task"
				t.Info.DescriptionId = "ClusterComputeResource.reconfigureEx"
				t.Info.EntityName = ci.name
			})
		}
	}
	return res
}

func mergeDas(cfg *types.ClusterDasConfigInfo, spec *types.ClusterDasConfigInfo) {
	if spec == nil {
		return
	}
	if spec.Enabled != nil {
		cfg.Enabled = types.NewBool(*spec.Enabled)
	}
	if spec.AdmissionControlEnabled != nil {
		cfg.AdmissionControlEnabled = types.NewBool(*spec.AdmissionControlEnabled)
	}
	if spec.AdmissionControlPolicy != nil {
		cfg.AdmissionControlPolicy = spec.AdmissionControlPolicy
	}
	if spec.HostMonitoring != "" {
		cfg.HostMonitoring = spec.HostMonitoring
	}
	if spec.VmMonitoring != "" {
		cfg.VmMonitoring = spec.VmMonitoring
	}
	if spec.FailoverLevel != 0 {
		cfg.FailoverLevel = spec.FailoverLevel
	}
	if spec.DefaultVmSettings != nil {
		cfg.DefaultVmSettings = spec.DefaultVmSettings
	}
}

func mergeDrs(cfg *types.ClusterDrsConfigInfo, spec *types.ClusterDrsConfigInfo) {
	if spec == nil {
		return
	}
	if spec.Enabled != nil {
		cfg.Enabled = types.NewBool(*spec.Enabled)
	}
	if spec.EnableVmBehaviorOverrides != nil {
		cfg.EnableVmBehaviorOverrides = types.NewBool(*spec.EnableVmBehaviorOverrides)
	}
	if spec.DefaultVmBehavior != "" {
		cfg.DefaultVmBehavior = spec.DefaultVmBehavior
	}
	if spec.VmotionRate != 0 {
		cfg.VmotionRate = spec.VmotionRate
	}
}

// --- OptionManager.UpdateOptions: journalled (retreat mode is a vCenter advanced setting) ---

type optionObj struct {
	*simulator.OptionManager
	s *sim
}

func (o *optionObj) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: optionKind, Value: o.Self.Value}
}

func (o *optionObj) UpdateOptions(ctx *simulator.Context, req *types.UpdateOptions) soap.HasFault {
	s := o.s
	s.mu.Lock()
	defer s.mu.Unlock()
	old := map[string]string{}
	simulator.Map.WithLock(o.OptionManager, func() {
		for _, opt := range o.Setting {
			v := opt.GetOptionValue()
			old[v.Key] = fmt.Sprint(v.Value)
		}
	})
	var res soap.HasFault
	simulator.Map.WithLock(o.OptionManager, func() { res = o.OptionManager.UpdateOptions(req) })
	if res.Fault() == nil {
		for _, ch := range req.ChangedValue {
			v := ch.GetOptionValue()
			s.record(entry{Kind: "option", Name: v.Key, Event: "value", From: old[v.Key], To: fmt.Sprint(v.Value), Cause: "updateOptions"})
		}
	}
	return res
}

// --- vCenter's own VM ---

// vcenterPower: vCenter's API goes away with its VM and comes back
// -vcenter-boot-delay after the VM is powered on (services starting); s.mu held.
func (s *sim) vcenterPower(on bool) {
	s.vcenterGen++
	if !on {
		if !s.vcenterDown.Swap(true) {
			s.record(entry{Kind: "vcenter", Name: s.cfg.vcenterVM, Event: "api", From: "up", To: "down"})
		}
		return
	}
	up := func() {
		if s.vcenterDown.Swap(false) {
			s.record(entry{Kind: "vcenter", Name: s.cfg.vcenterVM, Event: "api", From: "down", To: "up"})
		}
	}
	d := s.cfg.vcenterBootDelay
	if d <= 0 {
		up()
		return
	}
	gen := s.vcenterGen
	time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.closed && s.vcenterGen == gen {
			up()
		}
	})
}
