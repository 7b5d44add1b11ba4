// Command pe-vcsim is a vSphere API simulator for PowerEvents tests: govmomi's
// vcsim (simulator package) with a predictable inventory and the host and guest
// power behaviours the stock 0.24 simulator lacks. See docs/vcsim.md.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"
)

type config struct {
	listen, control        string
	username, password     string
	fingerprintFile        string
	certFile               string
	datacenters, clusters  int
	hosts, standalone, vms int
	domain, vcenterVM      string
	guestMin, guestMax     time.Duration
	hostShutdownDelay      time.Duration
	seed                   int64
	noTools, stuck         *regexp.Regexp
	noToolsExpr, stuckExpr string
	datastoreDir           string
	apiVersion             string
	maxPage                int

	// Opt-in behaviours of real clusters (issue 12); all off by default.
	topology           string
	vcenterHost        int // 1-based global number of the vCenter VM's host
	vcenterBootDelay   time.Duration
	infraVMs           string
	vcls               bool
	vclsRestartDelay   time.Duration
	vclsRetreatDelay   time.Duration
	ha                 bool
	drs                string
	vsan               bool
	esxiBasePort       int
	esxiUser, esxiPass string
	lockdownExpr       string
	lockdown           *regexp.Regexp

	// journalCalls: every SOAP call is journalled (kind "call"), so a test can
	// prove a client only read (PowerEvents' preflight).
	journalCalls bool
}

// presets are the -topology values: flags a preset sets unless given explicitly.
var presets = map[string]map[string]string{
	// The "typical small cluster": vCenter on the cluster it protects, vCLS,
	// HA and DRS fully automated, vSAN, a DNS VM as infrastructure, tenant VMs.
	"typical-small": {
		"datacenters": "1", "clusters": "1", "hosts": "3", "vms": "2",
		"vcenter-vm": "vcsa", "vcenter-host": "2", "vcenter-boot-delay": "3s",
		"infra-vms": "dns@1", "vcls": "true", "ha": "true", "drs": "fullyAutomated", "vsan": "true",
	},
}

func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("pe-vcsim", flag.ContinueOnError)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:35443", "HTTPS listen address (SOAP endpoint is /sdk)")
	fs.StringVar(&c.control, "control", "", "plain-HTTP control endpoint address (empty: disabled)")
	fs.StringVar(&c.username, "username", "user", "the only accepted user name")
	fs.StringVar(&c.password, "password", "pass", "the only accepted password")
	fs.StringVar(&c.fingerprintFile, "fingerprint-file", "", "write the server certificate SHA-256 fingerprint here")
	fs.StringVar(&c.certFile, "cert-file", "", "write the server certificate (PEM) here")
	fs.IntVar(&c.datacenters, "datacenters", 1, "number of datacenters")
	fs.IntVar(&c.clusters, "clusters", 1, "clusters per datacenter")
	fs.IntVar(&c.hosts, "hosts", 3, "hosts per cluster")
	fs.IntVar(&c.standalone, "standalone-hosts", 0, "standalone hosts per datacenter")
	fs.IntVar(&c.vms, "vms", 4, "VMs per host")
	fs.StringVar(&c.domain, "domain", "pe.test", "DNS domain of the host names")
	fs.StringVar(&c.vcenterVM, "vcenter-vm", "", "also create a vCenter appliance VM with this name on the first host (empty: none)")
	fs.DurationVar(&c.guestMin, "guest-shutdown-min", 0, "shortest guest shutdown time")
	fs.DurationVar(&c.guestMax, "guest-shutdown-max", 0, "longest guest shutdown time")
	fs.DurationVar(&c.hostShutdownDelay, "host-shutdown-delay", 0, "time from ShutdownHost_Task success until the host is off")
	fs.Int64Var(&c.seed, "seed", 1, "seed for the per-VM guest shutdown times")
	fs.StringVar(&c.datastoreDir, "datastore-dir", defaultDatastoreDir(), "where the datastore directories (a few empty files per VM) are created")
	fs.StringVar(&c.apiVersion, "api-version", "7.0.3.0", "about.apiVersion to report (govmomi 0.24 speaks the vSphere 7.0 schema)")
	fs.IntVar(&c.maxPage, "max-page", 0, "most objects in one RetrievePropertiesEx/ContinueRetrievePropertiesEx page, whatever the client's maxObjects (0: only the client's limit)")
	fs.StringVar(&c.noToolsExpr, "no-tools", "", "regexp: VMs whose name matches run without VMware Tools")
	fs.StringVar(&c.stuckExpr, "stuck", "", "regexp: VMs whose name matches accept ShutdownGuest but never power off")
	fs.StringVar(&c.topology, "topology", "", "preset inventory: typical-small (explicit flags override it)")
	fs.IntVar(&c.vcenterHost, "vcenter-host", 1, "global number of the host that runs the -vcenter-vm VM")
	fs.DurationVar(&c.vcenterBootDelay, "vcenter-boot-delay", 0, "time from the vCenter VM powering on until /sdk answers again")
	fs.StringVar(&c.infraVMs, "infra-vms", "", "extra VMs NAME@HOST,... (HOST: global host number), e.g. dns@1")
	fs.BoolVar(&c.vcls, "vcls", false, "vSphere Cluster Services: vCLS VMs per cluster and vCenter's agent that keeps them running")
	fs.DurationVar(&c.vclsRestartDelay, "vcls-restart-delay", 2*time.Second, "how soon the vCLS agent powers a vCLS VM back on")
	fs.DurationVar(&c.vclsRetreatDelay, "vcls-retreat-delay", 3*time.Second, "how soon after retreat mode the vCLS VMs are powered off and removed (vCenter: within a minute)")
	fs.BoolVar(&c.ha, "ha", false, "clusters have vSphere HA enabled, with admission control")
	fs.StringVar(&c.drs, "drs", "", "DRS automation level of the clusters: manual, partiallyAutomated, fullyAutomated (empty: vcsim's default)")
	fs.BoolVar(&c.vsan, "vsan", false, "clusters are vSAN clusters (maintenance mode honours vsanMode)")
	fs.IntVar(&c.esxiBasePort, "esxi-base-port", 0, "serve each host's own API (HostAgent) on 127.0.0.1:PORT+N-1 for host number N (0: off; -1: free ports)")
	fs.StringVar(&c.esxiUser, "esxi-username", "root", "user name accepted by every host's own API")
	fs.StringVar(&c.esxiPass, "esxi-password", "esxpass", "password accepted by every host's own API (per host: control endpoint)")
	fs.StringVar(&c.lockdownExpr, "lockdown", "", "regexp: hosts whose name matches start in lockdown mode (lockdownNormal)")
	fs.BoolVar(&c.journalCalls, "journal-calls", false, "journal every SOAP call (kind call, name vcenter or the host, event the method), to assert a client only read")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.topology != "" {
		preset, ok := presets[c.topology]
		if !ok {
			return nil, fmt.Errorf("-topology: unknown preset %q", c.topology)
		}
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		for name, value := range preset {
			if !given[name] {
				if err := fs.Set(name, value); err != nil {
					return nil, err
				}
			}
		}
	}
	var err error
	if c.lockdownExpr != "" {
		if c.lockdown, err = regexp.Compile(c.lockdownExpr); err != nil {
			return nil, fmt.Errorf("-lockdown: %v", err)
		}
	}
	switch c.drs {
	case "", "manual", "partiallyAutomated", "fullyAutomated":
	default:
		return nil, fmt.Errorf("-drs: want manual, partiallyAutomated or fullyAutomated")
	}
	if c.noToolsExpr != "" {
		if c.noTools, err = regexp.Compile(c.noToolsExpr); err != nil {
			return nil, fmt.Errorf("-no-tools: %v", err)
		}
	}
	if c.stuckExpr != "" {
		if c.stuck, err = regexp.Compile(c.stuckExpr); err != nil {
			return nil, fmt.Errorf("-stuck: %v", err)
		}
	}
	switch {
	case c.datacenters < 0 || c.clusters < 0 || c.hosts < 0 || c.standalone < 0 || c.vms < 0:
		return nil, fmt.Errorf("counts must not be negative")
	case c.guestMin < 0 || c.guestMax < c.guestMin:
		return nil, fmt.Errorf("need 0 <= -guest-shutdown-min <= -guest-shutdown-max")
	case c.maxPage < 0:
		return nil, fmt.Errorf("-max-page must not be negative")
	case c.hostShutdownDelay < 0:
		return nil, fmt.Errorf("-host-shutdown-delay must not be negative")
	case c.vcenterVM != "" && c.datacenters*(c.clusters*c.hosts+c.standalone) == 0:
		return nil, fmt.Errorf("-vcenter-vm needs at least one host")
	case c.vcenterHost < 1 || (c.vcenterVM != "" && c.vcenterHost > c.datacenters*(c.clusters*c.hosts+c.standalone)):
		return nil, fmt.Errorf("-vcenter-host: no host number %d", c.vcenterHost)
	case c.vcenterBootDelay < 0 || c.vclsRestartDelay < 0 || c.vclsRetreatDelay < 0:
		return nil, fmt.Errorf("delays must not be negative")
	case c.esxiBasePort < -1 || c.esxiBasePort > 65535:
		return nil, fmt.Errorf("-esxi-base-port: not a port")
	}
	return c, nil
}

// clusterFeatures: one of the opt-in cluster behaviours is on; only then do
// ReconfigureComputeResource_Task (HA, DRS, vSAN settings) and UpdateOptions
// (journalled) go past vcsim's stock handlers.
func (c *config) clusterFeatures() bool {
	return c.topology != "" || c.vcls || c.ha || c.drs != "" || c.vsan || c.esxiBasePort != 0 || c.lockdownExpr != ""
}

// defaultDatastoreDir prefers tmpfs: vcsim writes files for every VM, and on a
// busy disk that dominates the start time of a few thousand VMs.
func defaultDatastoreDir() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() && syscall.Access("/dev/shm", 2) == nil {
		return "/dev/shm"
	}
	return os.TempDir()
}

func main() {
	log.SetPrefix("pe-vcsim: ")
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "pe-vcsim:", err)
		os.Exit(2)
	}

	started := time.Now()
	inst, err := start(cfg)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%d hosts, %d VMs ready in %s", len(inst.sim.hosts), len(inst.sim.vms), time.Since(started).Round(time.Millisecond))
	if inst.controlURL != "" {
		log.Printf("control endpoint %s", inst.controlURL)
	}
	fmt.Printf("VCSIM_READY url=%s\n", inst.url)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	s := <-sig
	log.Printf("%s: stopping", s)
	inst.close()
}
