package dataplane

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// This file is the pure half of the data plane: the kernel state as plain
// values, the desired state derived from a Config, and the planner that turns
// the difference into ops. Linux and Fake both execute these ops.

// state is the kernel state of the namespaces under a prefix, by name.
type state map[string]*nsState

// nsState is one namespace.
type nsState struct {
	// Stale reports a name under /run/netns with no namespace mounted on
	// it: the leftover of an interrupted create, or a create under way.
	// If it is wanted, it is deleted and created again; otherwise it is
	// left alone, since nothing proves it ours.
	Stale bool
	// Owner is the owner stamped on the namespace (see OwnerAlias), or ""
	// for an unowned one: made by hand, or by a data plane that crashed
	// between creating and stamping it. Only namespaces with the
	// planner's own owner are changed or deleted; an unowned one that is
	// wanted is adopted (stamped), one that is not is left alone, and
	// another owner's is invisible. For another owner's namespace, the
	// reader may leave every other field empty.
	Owner      string
	LoUp       bool
	Forwarding bool // net.ipv4.ip_forward inside the namespace
	// Links are the links by name, without lo and the fallback tunnels
	// (reservedLinks).
	Links map[string]linkState
}

// Link kinds as netlink reports them (Link.Type()).
const (
	kindBridge = "bridge"
	// Later: kindVeth = "veth", with the peer's namespace and name, and a
	// master bridge for the peer.
)

// linkState is one link.
type linkState struct {
	Kind string
	Up   bool
	// Addrs are the addresses without IPv6 link-local ones, sorted.
	Addrs []netip.Prefix
}

// desired returns the state cfg asks for. cfg must be valid.
func desired(cfg Config) state {
	s := make(state, len(cfg.Routers))
	for _, r := range cfg.Routers {
		ns := &nsState{Owner: cfg.Owner, LoUp: true, Forwarding: true, Links: make(map[string]linkState, len(r.Bridges))}
		for _, b := range r.Bridges {
			ns.Links[b.Name] = linkState{Kind: kindBridge, Up: true, Addrs: []netip.Prefix{b.Address}}
		}
		s[r.Namespace] = ns
	}
	return s
}

// opKind is what an op does.
type opKind int

const (
	opDelNetns opKind = iota
	opAddNetns        // creates the namespace and stamps it with Owner
	opOwn             // stamps an unowned namespace with Owner
	opLoUp
	opForwarding
	opDelLink
	opDelAddr
	opAddLink
	opAddAddr
	opLinkUp
)

// op is one change to the kernel.
type op struct {
	Kind     opKind
	NS       string
	Link     string       // link name, for link and address ops
	LinkKind string       // link kind, for opAddLink and opDelLink
	Addr     netip.Prefix // for address ops
	On       bool         // for opForwarding
	Owner    string       // for opAddNetns and opOwn
}

// String renders o as one line of text, as the Fake records it and Linux
// logs it.
func (o op) String() string {
	switch o.Kind {
	case opDelNetns:
		return "del netns " + o.NS
	case opAddNetns:
		return "add netns " + o.NS
	case opOwn:
		return "own " + o.NS
	case opLoUp:
		return "up lo in " + o.NS
	case opForwarding:
		if o.On {
			return "forwarding on in " + o.NS
		}
		return "forwarding off in " + o.NS
	case opDelLink:
		return fmt.Sprintf("del %s %s in %s", kindWord(o.LinkKind), o.Link, o.NS)
	case opAddLink:
		return fmt.Sprintf("add %s %s in %s", kindWord(o.LinkKind), o.Link, o.NS)
	case opDelAddr:
		return fmt.Sprintf("del addr %s on %s in %s", o.Addr, o.Link, o.NS)
	case opAddAddr:
		return fmt.Sprintf("add addr %s on %s in %s", o.Addr, o.Link, o.NS)
	case opLinkUp:
		return fmt.Sprintf("up %s in %s", o.Link, o.NS)
	}
	return fmt.Sprintf("op(%d) in %s", int(o.Kind), o.NS)
}

func kindWord(kind string) string {
	if kind == "" {
		return "link"
	}
	return kind
}

// conflict is a namespace that the config wants but another owner has.
type conflict struct {
	NS, Owner string
}

func (c conflict) Error() string {
	return fmt.Sprintf("namespace %s belongs to privlink owner %s", c.NS, c.Owner)
}

// plan returns the ops that turn cur into want for owner, and the wanted
// namespaces it cannot have because another owner has them.
//
// Namespaces that do not start with prefix are ignored, and so are those of
// other owners: plan never changes or deletes them. Of the rest, it deletes
// those that owner has and want does not list, and the stale names that
// want lists; it creates the wanted ones that are missing, adopts (stamps)
// the wanted ones that nobody owns, and leaves the unwanted unowned ones
// and stale names alone. Namespaces to delete come first; then, namespace
// by namespace in name order, all the changes to that namespace. Given the
// same input, plan returns the same ops.
func plan(prefix, owner string, cur, want state) ([]op, []conflict) {
	var ops []op
	for _, name := range sortedKeys(cur) {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		c := cur[name]
		_, wanted := want[name]
		if (c.Stale && wanted) || (!c.Stale && c.Owner == owner && !wanted) {
			ops = append(ops, op{Kind: opDelNetns, NS: name})
		}
	}
	var conflicts []conflict
	for _, name := range sortedKeys(want) {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		c := cur[name]
		switch {
		case c == nil || c.Stale:
			ops = append(ops, op{Kind: opAddNetns, NS: name, Owner: owner})
			c = &nsState{Owner: owner}
		case c.Owner == "":
			ops = append(ops, op{Kind: opOwn, NS: name, Owner: owner})
		case c.Owner != owner:
			conflicts = append(conflicts, conflict{NS: name, Owner: c.Owner})
			continue
		}
		ops = append(ops, planNamespace(name, c, want[name])...)
	}
	return ops, conflicts
}

// planNamespace plans one namespace: lo and forwarding first, then every
// deletion (links, then addresses), then link by link the additions, so that
// a name or an address freed by one op can be taken by a later one.
func planNamespace(ns string, cur, want *nsState) []op {
	var ops []op
	if want.LoUp && !cur.LoUp {
		ops = append(ops, op{Kind: opLoUp, NS: ns})
	}
	if want.Forwarding != cur.Forwarding {
		ops = append(ops, op{Kind: opForwarding, NS: ns, On: want.Forwarding})
	}
	// kept are the current links that stay: wanted under the same kind.
	kept := make(map[string]linkState)
	for _, name := range sortedKeys(cur.Links) {
		c := cur.Links[name]
		w, ok := want.Links[name]
		if !ok || w.Kind != c.Kind {
			ops = append(ops, op{Kind: opDelLink, NS: ns, Link: name, LinkKind: c.Kind})
			continue
		}
		kept[name] = c
	}
	for _, name := range sortedKeys(kept) {
		for _, a := range kept[name].Addrs {
			if !slices.Contains(want.Links[name].Addrs, a) {
				ops = append(ops, op{Kind: opDelAddr, NS: ns, Link: name, Addr: a})
			}
		}
	}
	for _, name := range sortedKeys(want.Links) {
		w := want.Links[name]
		c, ok := kept[name]
		if !ok {
			ops = append(ops, op{Kind: opAddLink, NS: ns, Link: name, LinkKind: w.Kind})
		}
		for _, a := range w.Addrs {
			if !slices.Contains(c.Addrs, a) {
				ops = append(ops, op{Kind: opAddAddr, NS: ns, Link: name, Addr: a})
			}
		}
		if w.Up && !c.Up {
			ops = append(ops, op{Kind: opLinkUp, NS: ns, Link: name})
		}
	}
	return ops
}

// conflictErr returns the conflicts as one error, or nil.
func conflictErr(cs []conflict) error {
	errs := make([]error, len(cs))
	for i, c := range cs {
		errs[i] = c
	}
	return errors.Join(errs...)
}

// render returns the ops as text lines; nil if there are none.
func render(ops []op) []string {
	if len(ops) == 0 {
		return nil
	}
	out := make([]string, len(ops))
	for i, o := range ops {
		out[i] = o.String()
	}
	return out
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	return slices.Sorted(maps.Keys(m))
}

// sortPrefixes sorts addresses in a stable, readable order.
func sortPrefixes(ps []netip.Prefix) {
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.Bits(), b.Bits())
	})
}
