package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io/ioutil"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

const datastoreName = "datastore1"

// buildInventory creates datacenters, clusters, hosts and VMs through vcsim's
// in-process client (the same path as simulator.Model.Create, but with our names
// and explicit VM placement). It returns the datastore directories to remove.
func (s *sim) buildInventory(svc *simulator.Service, listenIP string) ([]string, error) {
	ctx := context.Background()
	c, err := vim25.NewClient(ctx, svc)
	if err != nil {
		return nil, err
	}
	cfg := s.cfg
	root := object.NewRootFolder(c)
	total := cfg.datacenters * (cfg.clusters*cfg.hosts + cfg.standalone)
	hw := width(total, 2)
	vw := width(cfg.vms, 3)
	var dirs []string
	nhost, ncluster := 0, 0
	sweepDatastores(cfg.datastoreDir)

	for d := 1; d <= cfg.datacenters; d++ {
		dcName := fmt.Sprintf("dc%d", d)
		dc, err := root.CreateDatacenter(ctx, dcName)
		if err != nil {
			return dirs, err
		}
		folders, err := dc.Folders(ctx)
		if err != nil {
			return dirs, err
		}
		type placed struct {
			host *hostInfo
			pool types.ManagedObjectReference
			num  string
		}
		var hosts []placed

		register := func(cl *clusterInfo, t *object.Task, err error) error {
			if err != nil {
				return err
			}
			ref, err := taskResult(t)
			if err != nil {
				return err
			}
			h := simulator.Map.Get(ref.(types.ManagedObjectReference)).(*simulator.HostSystem)
			cr := simulator.Map.Get(*h.Parent).(mo.Entity)
			hi := &hostInfo{h: h, name: h.Name, dc: dc.Reference(), dcName: dcName,
				cr: cr.Entity().Self, crName: cr.Entity().Name, num: nhost, cl: cl,
				user: cfg.esxiUser, pass: cfg.esxiPass}
			if cl != nil {
				hi.cluster = cl.name
				cl.hosts = append(cl.hosts, hi)
			}
			if h.Config != nil {
				h.Config.LockdownMode = types.HostLockdownModeLockdownDisabled
				if cfg.lockdown != nil && cfg.lockdown.MatchString(hi.name) {
					h.Config.LockdownMode = types.HostLockdownModeLockdownNormal
				}
			}
			pool := poolOf(cr)
			hosts = append(hosts, placed{hi, pool, fmt.Sprintf("%0*d", hw, nhost)})
			return nil
		}

		for k := 0; k < cfg.clusters; k++ {
			ncluster++
			clName := fmt.Sprintf("cluster%d", ncluster)
			cl, err := folders.HostFolder.CreateCluster(ctx, clName, types.ClusterConfigSpecEx{})
			if err != nil {
				return dirs, err
			}
			if cfg.clusterFeatures() {
				cl = object.NewClusterComputeResource(c, vcenterClusterRef(cl.Reference()))
			}
			ci := s.addCluster(clName, cl.Reference(), dc.Reference(), folders.VmFolder.Reference())
			for i := 0; i < cfg.hosts; i++ {
				nhost++
				t, err := cl.AddHost(ctx, types.HostConnectSpec{HostName: hostName(nhost, hw, cfg.domain)}, true, nil, nil)
				if err = register(ci, t, err); err != nil {
					return dirs, err
				}
			}
		}
		for i := 0; i < cfg.standalone; i++ {
			nhost++
			t, err := folders.HostFolder.AddStandaloneHost(ctx, types.HostConnectSpec{HostName: hostName(nhost, hw, cfg.domain)}, true, nil, nil)
			if err = register(nil, t, err); err != nil {
				return dirs, err
			}
		}
		if len(hosts) == 0 {
			continue
		}

		// One datastore per datacenter, mounted on all its hosts (as vcsim's model does).
		dir, err := ioutil.TempDir(cfg.datastoreDir, fmt.Sprintf("pe-vcsim-%d-%s-", os.Getpid(), dcName))
		if err != nil {
			return dirs, err
		}
		dirs = append(dirs, dir)
		for _, p := range hosts {
			dss, err := object.NewHostSystem(c, p.host.h.Self).ConfigManager().DatastoreSystem(ctx)
			if err != nil {
				return dirs, err
			}
			if _, err = dss.CreateLocalDatastore(ctx, datastoreName, dir); err != nil {
				return dirs, err
			}
		}

		for _, p := range hosts {
			hi := p.host
			s.addHost(hi)
			if hi.num == cfg.vcenterHost {
				s.vcenterHost = hi
			}
			for j := 1; j <= cfg.vms; j++ {
				name := fmt.Sprintf("vm-%s-%0*d", p.num, vw, j)
				if _, err := s.createVM(ctx, c, folders.VmFolder, p.pool, hi, name, types.VirtualMachineGuestOsIdentifierOtherLinux64Guest, false); err != nil {
					return dirs, err
				}
			}
		}
	}

	if cfg.vcenterVM != "" {
		hi := s.vcenterHost
		dc := object.NewDatacenter(c, hi.dc)
		folders, err := dc.Folders(ctx)
		if err != nil {
			return dirs, err
		}
		pool := poolOf(simulator.Map.Get(hi.cr))
		if _, err = s.createVM(ctx, c, folders.VmFolder, pool, hi, cfg.vcenterVM, types.VirtualMachineGuestOsIdentifierVmwarePhoton64Guest, false); err != nil {
			return dirs, err
		}
		v := s.vmByName[cfg.vcenterVM]
		v.isVcenter = true
		v.ip = listenIP
		fqdn := cfg.vcenterVM
		if !strings.Contains(fqdn, ".") {
			fqdn += "." + cfg.domain
		}
		v.fqdn = fqdn
		v.vm.Config.Annotation = "VMware vCenter Server Appliance"
		simulator.Map.Update(v.vm, guestChanges(v, true))
		// Real vCenter publishes its own name here; detection code can match it
		// against guest.hostName of the VMs.
		om := simulator.Map.OptionManager()
		om.Setting = append(om.Setting, &types.OptionValue{Key: "VirtualCenter.FQDN", Value: fqdn})
	}

	if err = s.buildExtras(ctx, c); err != nil {
		return dirs, err
	}
	s.vim = c
	s.registerCompanions()
	return dirs, nil
}

// poolOf returns the root resource pool of a cluster or standalone host.
func poolOf(cr mo.Reference) types.ManagedObjectReference {
	switch cr := cr.(type) {
	case *simulator.ClusterComputeResource:
		return *cr.ResourcePool
	case *mo.ComputeResource:
		return *cr.ResourcePool
	}
	panic(fmt.Sprintf("unexpected compute resource %T", cr))
}

// createVM creates a powered-on VM; live: the simulator is serving, so it is
// powered on through the journal and property updates instead of directly.
func (s *sim) createVM(ctx context.Context, c *vim25.Client, folder *object.Folder, pool types.ManagedObjectReference,
	hi *hostInfo, name string, guest types.VirtualMachineGuestOsIdentifier, live bool) (*vmInfo, error) {
	spec := types.VirtualMachineConfigSpec{
		Name:     name,
		GuestId:  string(guest),
		NumCPUs:  2,
		MemoryMB: 4096,
		Files:    &types.VirtualMachineFileInfo{VmPathName: "[" + datastoreName + "]"},
	}
	hostRef := hi.h.Self
	t, err := folder.CreateVM(ctx, spec, object.NewResourcePool(c, pool), object.NewHostSystem(c, hostRef))
	if err != nil {
		return nil, err
	}
	ref, err := taskResult(t)
	if err != nil {
		return nil, fmt.Errorf("create %s: %v", name, err)
	}
	vm := simulator.Map.Get(ref.(types.ManagedObjectReference)).(*simulator.VirtualMachine)
	cfg := s.cfg
	v := &vmInfo{vm: vm, name: name, fqdn: name + "." + cfg.domain,
		tools: cfg.noTools == nil || !cfg.noTools.MatchString(name),
		stuck: cfg.stuck != nil && cfg.stuck.MatchString(name),
		delay: guestDelay(cfg.seed, name, cfg.guestMin, cfg.guestMax),
	}
	s.addVM(v)
	if live {
		vm.Guest.ToolsVersion = "12352"
		vm.Guest.ToolsVersionStatus2 = string(types.VirtualMachineToolsVersionStatusGuestToolsCurrent)
		vm.Guest.GuestId = spec.GuestId
		return v, nil
	}

	// Power on directly: nobody is watching yet, and tasks would only cost time.
	now := time.Now()
	vm.Runtime.PowerState = types.VirtualMachinePowerStatePoweredOn
	vm.Runtime.BootTime = &now
	vm.Summary.Runtime.PowerState = vm.Runtime.PowerState
	vm.Summary.Runtime.BootTime = &now
	vm.Guest.ToolsVersion = "12352"
	vm.Guest.ToolsVersionStatus2 = string(types.VirtualMachineToolsVersionStatusGuestToolsCurrent)
	vm.Guest.GuestId = spec.GuestId
	simulator.Map.Update(vm, guestChanges(v, true))
	return v, nil
}

// taskResult reads a finished vcsim task directly; vcsim runs these tasks
// synchronously, and skipping the property-collector wait makes thousands of
// VMs start noticeably faster.
func taskResult(t *object.Task) (types.AnyType, error) {
	task, ok := simulator.Map.Get(t.Reference()).(*simulator.Task)
	if !ok {
		return nil, fmt.Errorf("task %s not found", t.Reference())
	}
	if task.Info.State != types.TaskInfoStateSuccess {
		if task.Info.Error != nil {
			return nil, fmt.Errorf("%s: %T", task.Info.Name, task.Info.Error.Fault)
		}
		return nil, fmt.Errorf("%s: state %s", task.Info.Name, task.Info.State)
	}
	return task.Info.Result, nil
}

// sweepDatastores removes directories left by instances that were killed
// (SIGKILL skips our cleanup); the pid in the name tells whether the owner lives.
func sweepDatastores(base string) {
	matches, _ := filepath.Glob(filepath.Join(base, "pe-vcsim-*-dc*-*"))
	for _, m := range matches {
		parts := strings.SplitN(filepath.Base(m), "-", 4)
		pid, err := strconv.Atoi(parts[2])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			_ = os.RemoveAll(m)
		}
	}
}

func hostName(n, w int, domain string) string {
	return fmt.Sprintf("esx-%0*d.%s", w, n, domain)
}

func width(n, min int) int {
	if w := len(strconv.Itoa(n)); w > min {
		return w
	}
	return min
}

// guestDelay picks a per-VM guest shutdown time in [min,max] that depends only
// on the seed and the VM name, so runs are reproducible whatever the creation order.
func guestDelay(seed int64, name string, min, max time.Duration) time.Duration {
	if max <= min {
		return min
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d/%s", seed, name)))
	frac := float64(binary.BigEndian.Uint64(sum[:8])>>11) / float64(uint64(1)<<53)
	return min + time.Duration(frac*float64(max-min+1))
}
