package dataplane

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// Fake is an in-memory data plane for tests. It keeps a model of the kernel
// (namespaces with their links, veth pairs, addresses, routes, firewall
// tables by digest, and the resolv.conf files under /etc/netns), plans
// with the same planner as Linux, applies the ops to its model and records
// them as text, one line per op (see Ops). Its kernel keeps an owner per
// namespace, so several Set callers with different Config.Owner can share
// one Fake as several daemons share a host. Its methods are safe for
// concurrent use.
type Fake struct {
	mu       sync.Mutex
	kernel   state
	ops      []string
	failNext error
}

// NewFake returns a Fake whose kernel has no namespaces.
func NewFake() *Fake {
	return &Fake{kernel: make(state)}
}

// Set validates cfg and makes the fake kernel match it, recording the ops it
// applies. It fails without changing anything if cfg is invalid or an error
// was injected with FailNext. As Linux does, it leaves namespaces of other
// owners alone and returns an error for each one that cfg wants, after
// applying everything else.
func (f *Fake) Set(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	want, _, err := desiredState(cfg)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failNext; err != nil {
		f.failNext = nil
		return err
	}
	ops, conflicts := plan(cfg.Prefix, cfg.Owner, f.kernel, want)
	for _, o := range ops {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := f.kernel.apply(o); err != nil {
			// The planner produced an op the kernel would reject.
			return fmt.Errorf("%s: %w", o, err)
		}
		f.ops = append(f.ops, o.String())
	}
	return conflictErr(conflicts)
}

// Ops returns the ops applied since NewFake or the last Reset, in order.
func (f *Fake) Ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ops)
}

// Reset forgets the recorded ops; the fake kernel keeps its state.
func (f *Fake) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = nil
}

// FailNext makes the next Set return err without changing anything.
func (f *Fake) FailNext(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = err
}

// Namespaces returns the names of the namespaces in the fake kernel that
// start with prefix, whoever owns them, sorted.
func (f *Fake) Namespaces(ctx context.Context, prefix string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, name := range sortedKeys(f.kernel) {
		if ns := f.kernel[name]; strings.HasPrefix(name, prefix) && !ns.Stale && !ns.Orphan {
			out = append(out, name)
		}
	}
	return out, nil
}

// AddNamespace creates an empty, unowned namespace behind the data plane's
// back, as `ip netns add` would: lo down without an alias, forwarding off,
// no links. Use it for namespaces made by hand and for the leftovers of a
// run that crashed between creating a namespace and stamping it.
func (f *Fake) AddNamespace(name string) {
	f.AddForeignNamespace(name, "")
}

// AddForeignNamespace creates an empty namespace stamped with owner behind
// the data plane's back, as another daemon sharing the host would.
func (f *Fake) AddForeignNamespace(name, owner string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns := &nsState{Owner: owner, Links: make(map[string]linkState)}
	if old := f.kernel[name]; old != nil && old.Orphan {
		ns.Resolv = old.Resolv // /etc/netns/<name> is still there
	}
	f.kernel[name] = ns
}

// Owner returns the owner stamped on the namespace name ("" if it is
// unowned), and whether the namespace exists.
func (f *Fake) Owner(name string) (owner string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns, ok := f.kernel[name]
	if !ok || ns.Stale || ns.Orphan {
		return "", false
	}
	return ns.Owner, true
}

// DeleteNamespace deletes a namespace behind the data plane's back, as
// `ip netns del` would: the other ends of its veths go with it, and its
// /etc/netns/<name> directory stays.
func (f *Fake) DeleteNamespace(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kernel.delNetns(name)
	if ns := f.kernel[name]; ns != nil && ns.Resolv != "" {
		f.kernel[name] = &nsState{Orphan: true, Owner: resolvOwner(ns.Resolv), Resolv: ns.Resolv}
		return
	}
	delete(f.kernel, name)
}

// Resolv returns the content of /etc/netns/<name>/resolv.conf in the fake
// kernel, and whether there is one.
func (f *Fake) Resolv(name string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns := f.kernel[name]
	if ns == nil || ns.Resolv == "" {
		return "", false
	}
	return ns.Resolv, true
}

var (
	errExists   = errors.New("exists")
	errNotFound = errors.New("not found")
)

// delNetns removes the links of the namespace name, with the other ends of
// its veths, and leaves the namespace itself in s.
func (s state) delNetns(name string) {
	ns := s[name]
	if ns == nil {
		return
	}
	for ln := range ns.Links {
		s.delLink(linkRef{name, ln})
	}
}

// delLink removes a link, with the other end if it is a veth, and what
// goes with a link: the routes by it, its ports' master.
func (s state) delLink(ref linkRef) {
	ns := s[ref.NS]
	if ns == nil {
		return
	}
	l, ok := ns.Links[ref.Link]
	if !ok {
		return
	}
	delete(ns.Links, ref.Link)
	ns.Routes = slices.DeleteFunc(slices.Clone(ns.Routes), func(r route) bool { return r.Dev == ref.Link })
	for name, o := range ns.Links {
		if o.Master == ref.Link {
			o.Master = ""
			ns.Links[name] = o
		}
	}
	if !l.Peer.isZero() {
		s.delLink(l.Peer)
	}
}

// apply changes s as the kernel would for o, and fails where the kernel
// would.
func (s state) apply(o op) error {
	if o.Kind == opAddNetns {
		old, ok := s[o.NS]
		if ok && !old.Orphan {
			return errExists
		}
		ns := &nsState{Owner: o.Owner, Links: make(map[string]linkState)}
		if ok {
			ns.Resolv = old.Resolv
		}
		s[o.NS] = ns
		return nil
	}
	ns, ok := s[o.NS]
	if ok && ns.Orphan {
		if o.Kind == opDelResolv {
			delete(s, o.NS)
			return nil
		}
		ok = false
	}
	if !ok {
		return fmt.Errorf("netns %s: %w", o.NS, errNotFound)
	}
	if ns.Stale && o.Kind != opDelNetns {
		return fmt.Errorf("netns %s: not mounted", o.NS)
	}
	switch o.Kind {
	case opDelNetns:
		s.delNetns(o.NS)
		delete(s, o.NS)
		return nil
	case opOwn:
		ns.Owner = o.Owner
		return nil
	case opLoUp:
		ns.LoUp = true
		return nil
	case opForwarding:
		ns.Forwarding = o.On
		return nil
	case opApplyACL:
		ns.ACL = o.Digest
		return nil
	case opApplyFirewall:
		ns.Firewall = o.Digest
		return nil
	case opWriteResolv:
		ns.Resolv = o.Content
		return nil
	case opDelResolv:
		ns.Resolv = ""
		return nil
	case opAddRoute:
		return ns.addRoute(o.Route)
	case opDelRoute:
		i := slices.Index(ns.Routes, o.Route)
		if i < 0 {
			return fmt.Errorf("route %s: %w", o.Route, errNotFound)
		}
		ns.Routes = slices.Delete(slices.Clone(ns.Routes), i, i+1)
		return nil
	case opAddLink:
		return s.addLink(o)
	}
	if o.Link == "lo" && (o.Kind == opAddAddr || o.Kind == opDelAddr) {
		var err error
		ns.LoAddrs, err = editAddrs(ns.LoAddrs, o)
		return err
	}
	l, ok := ns.Links[o.Link]
	if !ok {
		return fmt.Errorf("link %s: %w", o.Link, errNotFound)
	}
	switch o.Kind {
	case opDelLink:
		s.delLink(linkRef{o.NS, o.Link})
		return nil
	case opLinkUp:
		l.Up = true
	case opSetMAC:
		l.MAC = o.MAC
	case opMaster:
		if m, ok := ns.Links[o.Master]; !ok || m.Kind != kindBridge {
			return fmt.Errorf("master %s: not a bridge: %w", o.Master, errNotFound)
		}
		l.Master = o.Master
	case opAddAddr, opDelAddr:
		var err error
		if l.Addrs, err = editAddrs(l.Addrs, o); err != nil {
			return err
		}
		if len(l.Addrs) == 0 {
			// The kernel drops the routes by a link that loses its
			// last address.
			ns.Routes = slices.DeleteFunc(slices.Clone(ns.Routes), func(r route) bool { return r.Dev == o.Link })
		}
	case opAnnounce:
		if !l.Up || !slices.Contains(l.Addrs, o.Addr) {
			return fmt.Errorf("announce %s on %s: link down or without the address", o.Addr, o.Link)
		}
		if r := s[o.Peer.NS]; r == nil || r.Links[o.Peer.Link].Kind != kindBridge {
			return fmt.Errorf("announce %s: bridge %s in %s: %w", o.Addr, o.Peer.Link, o.Peer.NS, errNotFound)
		}
	default:
		return fmt.Errorf("unknown op %d", o.Kind)
	}
	ns.Links[o.Link] = l
	return nil
}

// addLink creates the link of an opAddLink: a veth pair with its other end
// in another namespace, or another kind of link.
func (s state) addLink(o op) error {
	ns := s[o.NS]
	if _, ok := ns.Links[o.Link]; ok {
		return fmt.Errorf("link %s: %w", o.Link, errExists)
	}
	if o.LinkKind != kindVeth {
		ns.Links[o.Link] = linkState{Kind: o.LinkKind, MAC: o.MAC}
		return nil
	}
	peer := s[o.Peer.NS]
	if peer == nil || peer.Stale || peer.Orphan || o.Peer.NS == o.NS {
		return fmt.Errorf("peer netns %s: %w", o.Peer.NS, errNotFound)
	}
	if _, ok := peer.Links[o.Peer.Link]; ok {
		return fmt.Errorf("peer link %s: %w", o.Peer.Link, errExists)
	}
	ns.Links[o.Link] = linkState{Kind: kindVeth, MAC: o.MAC, Peer: o.Peer}
	peer.Links[o.Peer.Link] = linkState{Kind: kindVeth, Peer: linkRef{o.NS, o.Link}}
	return nil
}

// addRoute adds r, replacing a route to the same destination; its gateway
// must be on a prefix of its link.
func (ns *nsState) addRoute(r route) error {
	l, ok := ns.Links[r.Dev]
	if !ok {
		return fmt.Errorf("route %s: link %s: %w", r, r.Dev, errNotFound)
	}
	if r.Gw.IsValid() && !slices.ContainsFunc(l.Addrs, func(p netip.Prefix) bool { return p.Contains(r.Gw) }) {
		return fmt.Errorf("route %s: gateway unreachable", r)
	}
	routes := slices.DeleteFunc(slices.Clone(ns.Routes), func(o route) bool { return o.Dst == r.Dst })
	routes = append(routes, r)
	slices.SortFunc(routes, compareRoutes)
	ns.Routes = routes
	return nil
}

// editAddrs applies an opAddAddr or opDelAddr to addrs.
func editAddrs(addrs []netip.Prefix, o op) ([]netip.Prefix, error) {
	i := slices.Index(addrs, o.Addr)
	if o.Kind == opAddAddr {
		if i >= 0 {
			return addrs, fmt.Errorf("addr %s: %w", o.Addr, errExists)
		}
		out := append(slices.Clone(addrs), o.Addr)
		sortPrefixes(out)
		return out, nil
	}
	if i < 0 {
		return addrs, fmt.Errorf("addr %s: %w", o.Addr, errNotFound)
	}
	return slices.Delete(slices.Clone(addrs), i, i+1), nil
}
