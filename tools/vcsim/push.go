package main

import (
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// WaitForUpdatesEx as vCenter computes it: per filter, the difference between
// what the client was last sent and what the filter selects now. vcsim 0.24
// re-collects every filter once per queued update (and per object enter/modify),
// so a filter over a thousand VMs during a mass shutdown costs it seconds per
// answer; here a change anywhere costs one collection per filter, coalesced.
// The answer carries a new version each time, as vCenter's does.

func init() {
	overridden["WaitForUpdatesEx"] = "PropertyCollector"
}

// pushCoalesce lets a burst of changes go out as one update set.
const pushCoalesce = 20 * time.Millisecond

// changes counts every object change in vcsim and wakes the long polls.
type changes struct {
	mu   sync.Mutex
	seq  uint64
	wake chan struct{}
}

var (
	allChanges   = &changes{wake: make(chan struct{})}
	watchChanges sync.Once
	pushMu       sync.Mutex
	pushStates   = map[string]*pushState{} // by session and collector
)

func (c *changes) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "PeChanges", Value: "changes"}
}

func (c *changes) bump() {
	c.mu.Lock()
	c.seq++
	close(c.wake)
	c.wake = make(chan struct{})
	c.mu.Unlock()
}

func (c *changes) PutObject(mo.Reference)                            { c.bump() }
func (c *changes) UpdateObject(mo.Reference, []types.PropertyChange) { c.bump() }
func (c *changes) RemoveObject(types.ManagedObjectReference)         { c.bump() }

func (c *changes) next() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wake
}

// pushState is what one collector has sent: per filter, per object, each property's value.
type pushState struct {
	version int
	sent    map[types.ManagedObjectReference]map[types.ManagedObjectReference]map[string]interface{}
}

func (o *collectorObj) WaitForUpdatesEx(ctx *simulator.Context, req *types.WaitForUpdatesEx) soap.HasFault {
	watchChanges.Do(func() { simulator.Map.AddHandler(allChanges) })
	ref, pc := o.real(ctx)
	if pc == nil {
		return &methods.WaitForUpdatesExBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: ref})}
	}
	ctx.Caller = &ref

	key := sessionKey(ctx) + "/" + o.value
	pushMu.Lock()
	st := pushStates[key]
	if st == nil || req.Version == "" {
		st = &pushState{sent: map[types.ManagedObjectReference]map[types.ManagedObjectReference]map[string]interface{}{}}
		pushStates[key] = st
	}
	pushMu.Unlock()

	var deadline <-chan time.Time
	oneShot := false
	if req.Options != nil && req.Options.MaxWaitSeconds != nil {
		if *req.Options.MaxWaitSeconds <= 0 {
			oneShot = true
		} else {
			timer := time.NewTimer(time.Duration(*req.Options.MaxWaitSeconds) * time.Second)
			defer timer.Stop()
			deadline = timer.C
		}
	}

	body := &methods.WaitForUpdatesExBody{Res: &types.WaitForUpdatesExResponse{}}
	for {
		wake := allChanges.next() // before collecting: a change during the collection wakes the next round
		set, fault := st.diff(ctx, pc)
		if fault != nil {
			return &methods.WaitForUpdatesExBody{Fault_: fault}
		}
		if len(set.FilterSet) > 0 {
			st.version++
			set.Version = itoa(st.version)
			body.Res.Returnval = set
			return body
		}
		if oneShot {
			return body // no changes: no update set
		}
		select {
		case <-wake:
			time.Sleep(pushCoalesce)
		case <-deadline:
			return body // maxWaitSeconds passed without a change: no update set
		case <-ctx.Done():
			return &methods.WaitForUpdatesExBody{Fault_: simulator.Fault("", &types.RequestCanceled{})}
		}
	}
}

// diff collects every filter of the collector and returns what changed since the last answer.
func (st *pushState) diff(ctx *simulator.Context, pc *simulator.PropertyCollector) (*types.UpdateSet, *soap.Fault) {
	set := &types.UpdateSet{}
	var filters []types.ManagedObjectReference
	ctx.Map.WithLock(pc, func() { filters = append(filters, pc.Filter...) })
	live := map[types.ManagedObjectReference]bool{}
	for _, fref := range filters {
		live[fref] = true
		f, ok := ctx.Session.Get(fref).(*simulator.PropertyFilter)
		if !ok {
			continue
		}
		var res soap.HasFault
		req := &types.RetrievePropertiesEx{This: pc.Self, SpecSet: []types.PropertyFilterSpec{f.Spec}}
		ctx.Map.WithLock(pc, func() { res = pc.RetrievePropertiesEx(ctx, req) })
		if res.Fault() != nil {
			return nil, res.Fault()
		}
		var objects []types.ObjectContent
		if r := res.(*methods.RetrievePropertiesExBody).Res; r != nil && r.Returnval != nil {
			objects = r.Returnval.Objects
		}

		sent := st.sent[fref]
		if sent == nil {
			sent = map[types.ManagedObjectReference]map[string]interface{}{}
			st.sent[fref] = sent
		}
		update := types.PropertyFilterUpdate{Filter: fref}
		seen := map[types.ManagedObjectReference]bool{}
		for _, oc := range objects {
			seen[oc.Obj] = true
			before, known := sent[oc.Obj]
			now := map[string]interface{}{}
			ou := types.ObjectUpdate{Obj: oc.Obj, Kind: types.ObjectUpdateKindModify}
			if !known {
				ou.Kind = types.ObjectUpdateKindEnter
			}
			for _, p := range oc.PropSet {
				now[p.Name] = p.Val
				if old, had := before[p.Name]; !known || !had || !reflect.DeepEqual(old, p.Val) {
					ou.ChangeSet = append(ou.ChangeSet, types.PropertyChange{Name: p.Name, Op: types.PropertyChangeOpAssign, Val: p.Val})
				}
			}
			for name := range before {
				if _, still := now[name]; !still {
					ou.ChangeSet = append(ou.ChangeSet, types.PropertyChange{Name: name, Op: types.PropertyChangeOpRemove})
				}
			}
			sent[oc.Obj] = now
			if !known || len(ou.ChangeSet) > 0 {
				update.ObjectSet = append(update.ObjectSet, ou)
			}
		}
		for obj := range sent {
			if !seen[obj] {
				delete(sent, obj)
				update.ObjectSet = append(update.ObjectSet, types.ObjectUpdate{Obj: obj, Kind: types.ObjectUpdateKindLeave})
			}
		}
		if len(update.ObjectSet) > 0 {
			set.FilterSet = append(set.FilterSet, update)
		}
	}
	for fref := range st.sent {
		if !live[fref] {
			delete(st.sent, fref) // filter destroyed
		}
	}
	return set, nil
}

func itoa(n int) string {
	return strconv.Itoa(n)
}
