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
// answer; here a change anywhere costs one round per collector, coalesced, and a
// round of a filter over a list view (the actuator's) reads the view's members
// and the properties of only those that entered or changed since the last
// answer (found in a log of changed objects); other filters, and every filter
// once a second, are collected whole. The answer carries a new version each
// time, as vCenter's does.

func init() {
	overridden["WaitForUpdatesEx"] = "PropertyCollector"
}

// pushCoalesce lets a burst of changes go out as one update set.
const pushCoalesce = 20 * time.Millisecond

// changes counts every object change in vcsim, keeps the last ones, and wakes the long polls.
type changes struct {
	mu   sync.Mutex
	seq  uint64                         // changes ever
	log  []types.ManagedObjectReference // the last len(log) changes, oldest first
	wake chan struct{}
}

// changeLogKeep is how many changed objects a round can look back on; a collector further behind is collected whole.
const changeLogKeep = 1 << 16

// fullEvery collects every filter whole now and then: a change made without Map.Update is still sent, late.
const fullEvery = time.Second

var (
	allChanges   = &changes{wake: make(chan struct{})}
	watchChanges sync.Once
	pushMu       sync.Mutex
	pushStates   = map[string]*pushState{} // by session and collector
)

func (c *changes) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "PeChanges", Value: "changes"}
}

func (c *changes) bump(ref types.ManagedObjectReference) {
	c.mu.Lock()
	c.seq++
	c.log = append(c.log, ref)
	if len(c.log) >= 2*changeLogKeep {
		c.log = append([]types.ManagedObjectReference(nil), c.log[len(c.log)-changeLogKeep:]...)
	}
	close(c.wake)
	c.wake = make(chan struct{})
	c.mu.Unlock()
}

func (c *changes) PutObject(o mo.Reference)                              { c.bump(o.Reference()) }
func (c *changes) UpdateObject(o mo.Reference, _ []types.PropertyChange) { c.bump(o.Reference()) }
func (c *changes) RemoveObject(ref types.ManagedObjectReference)         { c.bump(ref) }

func (c *changes) next() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wake
}

// since returns the objects changed after change number from and the number of the last change; ok is false when the
// log no longer reaches back that far.
func (c *changes) since(from uint64) (changed map[types.ManagedObjectReference]bool, last uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	first := c.seq - uint64(len(c.log)) // log[0] is change first+1
	if from < first {
		return nil, c.seq, false
	}
	changed = map[types.ManagedObjectReference]bool{}
	for _, ref := range c.log[from-first:] {
		changed[ref] = true
	}
	return changed, c.seq, true
}

// pushState is what one collector has sent: per filter, per object, each property's value.
type pushState struct {
	version  int
	sent     map[types.ManagedObjectReference]map[types.ManagedObjectReference]map[string]interface{}
	seen     uint64                                                                 // the last change the previous round knew of
	fullAt   time.Time                                                              // when every filter was last collected whole
	unwanted map[types.ManagedObjectReference]map[types.ManagedObjectReference]bool // per filter: members no property spec selects
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
		st = &pushState{sent: map[types.ManagedObjectReference]map[types.ManagedObjectReference]map[string]interface{}{},
			unwanted: map[types.ManagedObjectReference]map[types.ManagedObjectReference]bool{}}
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

// diff collects the collector's filters and returns what changed since the last answer.
func (st *pushState) diff(ctx *simulator.Context, pc *simulator.PropertyCollector) (*types.UpdateSet, *soap.Fault) {
	set := &types.UpdateSet{}
	var filters []types.ManagedObjectReference
	ctx.Map.WithLock(pc, func() { filters = append(filters, pc.Filter...) })
	changed, last, logged := allChanges.since(st.seen)
	st.seen = last
	whole := !logged || time.Since(st.fullAt) >= fullEvery
	if whole {
		st.fullAt = time.Now()
	}
	live := map[types.ManagedObjectReference]bool{}
	for _, fref := range filters {
		live[fref] = true
		f, ok := ctx.Session.Get(fref).(*simulator.PropertyFilter)
		if !ok {
			continue
		}
		sent := st.sent[fref]
		if sent == nil {
			sent = map[types.ManagedObjectReference]map[string]interface{}{}
			st.sent[fref] = sent
		}
		unwanted := st.unwanted[fref]
		if unwanted == nil || whole {
			unwanted = map[types.ManagedObjectReference]bool{}
			st.unwanted[fref] = unwanted
		}

		spec := f.Spec
		members, listed := listViewMembers(ctx, f.Spec)
		if listed && !whole {
			// Only the members that entered or changed are read; the others are as last sent.
			spec = types.PropertyFilterSpec{PropSet: f.Spec.PropSet}
			for _, m := range members {
				if _, known := sent[m]; (!known && !unwanted[m]) || changed[m] {
					spec.ObjectSet = append(spec.ObjectSet, types.ObjectSpec{Obj: m})
				}
			}
		}
		var objects []types.ObjectContent
		if len(spec.ObjectSet) > 0 {
			var res soap.HasFault
			req := &types.RetrievePropertiesEx{This: pc.Self, SpecSet: []types.PropertyFilterSpec{spec}}
			ctx.Map.WithLock(pc, func() { res = pc.RetrievePropertiesEx(ctx, req) })
			if res.Fault() != nil {
				if !listed || whole {
					return nil, res.Fault()
				}
				continue // a member went away while read: the next round sees it gone
			}
			if r := res.(*methods.RetrievePropertiesExBody).Res; r != nil && r.Returnval != nil {
				objects = r.Returnval.Objects
			}
		}

		update := types.PropertyFilterUpdate{Filter: fref}
		seen := map[types.ManagedObjectReference]bool{}
		for _, oc := range objects {
			seen[oc.Obj] = true
			if ou, news := objectUpdate(sent, oc); news {
				update.ObjectSet = append(update.ObjectSet, ou)
			}
		}
		if listed && !whole {
			for _, m := range members {
				if _, known := sent[m]; known {
					seen[m] = true
				}
			}
			for _, o := range spec.ObjectSet {
				if !seen[o.Obj] {
					unwanted[o.Obj] = true // no property spec selects it (or it is gone): not read again until it changes
				}
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
			delete(st.unwanted, fref)
		}
	}
	return set, nil
}

// objectUpdate records what is now sent of one object and returns its update, if it entered or a property changed.
func objectUpdate(sent map[types.ManagedObjectReference]map[string]interface{}, oc types.ObjectContent) (types.ObjectUpdate, bool) {
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
	return ou, !known || len(ou.ChangeSet) > 0
}

// listViewMembers returns the members of a filter's list view when the filter selects exactly them (one list view,
// skipped, traversed by its "view" once, as the actuator's filter does); false for any other shape.
func listViewMembers(ctx *simulator.Context, spec types.PropertyFilterSpec) ([]types.ManagedObjectReference, bool) {
	if len(spec.ObjectSet) != 1 {
		return nil, false
	}
	os := spec.ObjectSet[0]
	if os.Obj.Type != "ListView" || !isTrueP(os.Skip) || len(os.SelectSet) != 1 {
		return nil, false
	}
	ts, ok := os.SelectSet[0].(*types.TraversalSpec)
	if !ok || ts.Type != "ListView" || ts.Path != "view" || isTrueP(ts.Skip) || len(ts.SelectSet) != 0 {
		return nil, false
	}
	lv, ok := ctx.Session.Get(os.Obj).(*simulator.ListView)
	if !ok {
		return nil, false
	}
	var members []types.ManagedObjectReference
	ctx.WithLock(lv, func() { members = append(members, lv.View...) })
	return members, true
}

func isTrueP(b *bool) bool { return b != nil && *b }

func itoa(n int) string {
	return strconv.Itoa(n)
}
