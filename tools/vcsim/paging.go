package main

import (
	"fmt"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// collectorKind is the private reference type of a PropertyCollector's companion
// (see front): vcsim 0.24 ignores RetrieveOptions.maxObjects and has no
// ContinueRetrievePropertiesEx, so the companion runs vcsim's own retrieval and
// hands the result out in pages, as vCenter does.
const collectorKind = "PePropertyCollector"

// pager keeps the objects not yet handed out, under their token.
type pager struct {
	mu      sync.Mutex
	maxPage int // server-side cap on a page; 0: only the client's maxObjects
	seq     int
	pending map[string]*rest
	// scope trims a result to what the session's endpoint shows (a host's own API: that host).
	scope func(*simulator.Context, []types.ObjectContent) []types.ObjectContent
}

type rest struct {
	session   string // a token is only valid in the session that got it
	collector string
	page      int
	objects   []types.ObjectContent
}

func newPager(maxPage int) *pager {
	return &pager{maxPage: maxPage, pending: map[string]*rest{}}
}

type collectorObj struct {
	value string
	p     *pager
}

func (o *collectorObj) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: collectorKind, Value: o.value}
}

// companionFor registers a collector's companion on first use: besides the
// service's own "propertyCollector", clients may make their own with
// CreatePropertyCollector.
func (p *pager) companionFor(value string) {
	ref := types.ManagedObjectReference{Type: collectorKind, Value: value}
	if simulator.Map.Get(ref) == nil {
		simulator.Map.Put(&collectorObj{value, p})
	}
}

func sessionKey(ctx *simulator.Context) string {
	if ctx.Session == nil {
		return ""
	}
	return ctx.Session.Key
}

// real is vcsim's collector behind the companion; the service's collector is per session in vcsim.
func (o *collectorObj) real(ctx *simulator.Context) (types.ManagedObjectReference, *simulator.PropertyCollector) {
	ref := types.ManagedObjectReference{Type: "PropertyCollector", Value: o.value}
	var h mo.Reference
	if ctx.Session != nil {
		h = ctx.Session.Get(ref)
	}
	if h == nil {
		h = ctx.Map.Get(ref)
	}
	pc, _ := h.(*simulator.PropertyCollector)
	return ref, pc
}

func (o *collectorObj) RetrievePropertiesEx(ctx *simulator.Context, req *types.RetrievePropertiesEx) soap.HasFault {
	ref, pc := o.real(ctx)
	if pc == nil {
		return &methods.RetrievePropertiesExBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: ref})}
	}
	req.This, ctx.Caller = ref, &ref // as if vcsim had dispatched to its collector
	var res soap.HasFault
	ctx.Map.WithLock(pc, func() { res = pc.RetrievePropertiesEx(ctx, req) })
	body, ok := res.(*methods.RetrievePropertiesExBody)
	if !ok || body.Res == nil || body.Res.Returnval == nil {
		return res
	}
	// vSphere: maxObjects is positive; unset (0 here) means no limit. A server may return fewer.
	page := 0
	if req.Options.MaxObjects > 0 {
		page = int(req.Options.MaxObjects)
	}
	o.p.mu.Lock()
	defer o.p.mu.Unlock()
	if o.p.maxPage > 0 && (page == 0 || page > o.p.maxPage) {
		page = o.p.maxPage
	}
	r := body.Res.Returnval
	if o.p.scope != nil {
		r.Objects = o.p.scope(ctx, r.Objects)
	}
	if page == 0 || len(r.Objects) <= page {
		return body
	}
	o.p.seq++
	token := fmt.Sprintf("%d", o.p.seq)
	o.p.pending[token] = &rest{session: sessionKey(ctx), collector: o.value, page: page, objects: r.Objects[page:]}
	r.Objects, r.Token = r.Objects[:page:page], token
	return body
}

// take hands out the next page of a token; the token stays valid while objects remain.
func (o *collectorObj) take(ctx *simulator.Context, token string, cancel bool) (*types.RetrieveResult, types.BaseMethodFault) {
	o.p.mu.Lock()
	defer o.p.mu.Unlock()
	r := o.p.pending[token]
	if r == nil || r.session != sessionKey(ctx) || r.collector != o.value {
		return nil, &types.InvalidArgument{InvalidProperty: "token"}
	}
	if cancel {
		delete(o.p.pending, token)
		return nil, nil
	}
	res := &types.RetrieveResult{}
	if len(r.objects) > r.page {
		res.Objects, res.Token = r.objects[:r.page:r.page], token
		r.objects = r.objects[r.page:]
	} else {
		res.Objects = r.objects
		delete(o.p.pending, token)
	}
	return res, nil
}

func (o *collectorObj) ContinueRetrievePropertiesEx(ctx *simulator.Context, req *types.ContinueRetrievePropertiesEx) soap.HasFault {
	res, f := o.take(ctx, req.Token, false)
	if f != nil {
		return &methods.ContinueRetrievePropertiesExBody{Fault_: simulator.Fault("unknown or expired token", f)}
	}
	return &methods.ContinueRetrievePropertiesExBody{Res: &types.ContinueRetrievePropertiesExResponse{Returnval: *res}}
}

func (o *collectorObj) CancelRetrievePropertiesEx(ctx *simulator.Context, req *types.CancelRetrievePropertiesEx) soap.HasFault {
	if _, f := o.take(ctx, req.Token, true); f != nil {
		return &methods.CancelRetrievePropertiesExBody{Fault_: simulator.Fault("unknown or expired token", f)}
	}
	return &methods.CancelRetrievePropertiesExBody{Res: &types.CancelRetrievePropertiesExResponse{}}
}

// RetrieveProperties (deprecated, never paged) reaches the companion only from a
// host's own API, to be trimmed to that host.
func (o *collectorObj) RetrieveProperties(ctx *simulator.Context, req *types.RetrieveProperties) soap.HasFault {
	ref, pc := o.real(ctx)
	if pc == nil {
		return &methods.RetrievePropertiesBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: ref})}
	}
	req.This, ctx.Caller = ref, &ref
	var res soap.HasFault
	ctx.Map.WithLock(pc, func() { res = pc.RetrieveProperties(ctx, req) })
	if body, ok := res.(*methods.RetrievePropertiesBody); ok && body.Res != nil && o.p.scope != nil {
		body.Res.Returnval = o.p.scope(ctx, body.Res.Returnval)
	}
	return res
}
