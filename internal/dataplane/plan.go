package dataplane

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/privlink/privlink/internal/dataplane/nft"
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
	// Orphan reports a name with no namespace under /run/netns at all,
	// only a directory /etc/netns/<name> holding a resolv.conf that Set
	// wrote: the leftover of a namespace deleted behind Set's back. Owner
	// and Resolv are set, from the file. An orphan of the planner's owner
	// that is not wanted is removed; a wanted one is the new namespace's
	// file.
	Orphan bool
	// Owner is the owner stamped on the namespace (see OwnerAlias), or ""
	// for an unowned one: made by hand, or by a data plane that crashed
	// between creating and stamping it. Only namespaces with the
	// planner's own owner are changed or deleted; an unowned one that is
	// wanted is adopted (stamped), one that is not is left alone, and
	// another owner's is invisible. For another owner's namespace, the
	// reader may leave every other field empty.
	Owner string
	LoUp  bool
	// LoAddrs are the addresses of lo other than the loopback ones
	// (127.0.0.1/8, ::1/128), sorted.
	LoAddrs    []netip.Prefix
	Forwarding bool // net.ipv4.ip_forward inside the namespace
	// Links are the links by name, without lo and the fallback tunnels
	// (reservedLinks).
	Links map[string]linkState
	// Routes are the routes of the main table that the kernel did not
	// make itself (connected and local routes are the kernel's), sorted.
	Routes []route
	// Resolv is the content of /etc/netns/<name>/resolv.conf, "" if
	// there is none.
	Resolv string
	// Firewall and ACL are the digests of the nftables tables
	// nft.TableFirewall and nft.TableACL (nft.UnknownDigest for a table
	// without one), "" for an absent table.
	Firewall, ACL string
}

// Link kinds as netlink reports them (Link.Type()).
const (
	kindBridge = "bridge"
	kindVeth   = "veth"
)

// linkState is one link.
type linkState struct {
	Kind string
	Up   bool
	// Addrs are the addresses without IPv6 link-local ones, sorted.
	Addrs []netip.Prefix
	// MAC is the hardware address, as net.HardwareAddr prints it. In a
	// desired state, "" means any: a router's bridge port takes what the
	// kernel gives it.
	MAC string
	// Master is the bridge that the link is a port of, "" if none.
	Master string
	// Peer is, for a veth, the other end of the pair, if the reader could
	// tell where it is; the zero linkRef otherwise. A pair's two ends name
	// each other. In a desired state, a veth that is a bridge port (has a
	// Master) is a router's end, and the other is the host's end: the end
	// that the planner creates the pair from.
	Peer linkRef
}

// linkRef names a link in a namespace.
type linkRef struct {
	NS, Link string
}

func (r linkRef) isZero() bool { return r == linkRef{} }

// route is a route of a namespace's main table.
type route struct {
	Dst netip.Prefix
	Gw  netip.Addr // invalid for a route without a gateway
	Dev string     // the link the route leaves by
}

// String renders r as ip-route does: "default via 10.0.1.1 dev eth0".
func (r route) String() string {
	s := r.Dst.String()
	if r.Dst.Bits() == 0 {
		s = "default"
	}
	if r.Gw.IsValid() {
		s += " via " + r.Gw.String()
	}
	if r.Dev != "" {
		s += " dev " + r.Dev
	}
	return s
}

func compareRoutes(a, b route) int {
	if c := a.Dst.Addr().Compare(b.Dst.Addr()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Dst.Bits(), b.Dst.Bits()); c != 0 {
		return c
	}
	if c := a.Gw.Compare(b.Gw); c != 0 {
		return c
	}
	return strings.Compare(a.Dev, b.Dev)
}

// tables are the compiled rulesets whose digests a desired nsState holds;
// nil for a table the namespace never has.
type tables struct {
	Firewall, ACL *nft.Ruleset
}

// desiredState returns the state cfg asks for, and the compiled rulesets
// by namespace. cfg must be valid.
func desiredState(cfg Config) (state, map[string]tables, error) {
	s := make(state, len(cfg.Routers)+len(cfg.Hosts))
	rules := make(map[string]tables, len(cfg.Routers)+len(cfg.Hosts))
	ports := portsByRouter(cfg.Hosts)
	for _, r := range cfg.Routers {
		ns, t, err := desiredRouter(cfg.Owner, r, ports[r.Namespace])
		if err != nil {
			return nil, nil, err
		}
		s[r.Namespace], rules[r.Namespace] = ns, t
	}
	for _, h := range cfg.Hosts {
		ns, t, err := desiredHost(cfg.Owner, h)
		if err != nil {
			return nil, nil, err
		}
		s[h.Namespace], rules[h.Namespace] = ns, t
	}
	return s, rules, nil
}

// port is a router's end of a host's interface.
type port struct {
	Name, Bridge string
	Host         linkRef // the host's end
}

// portsByRouter returns the bridge ports that the hosts' interfaces need,
// by router namespace.
func portsByRouter(hosts []Host) map[string][]port {
	out := make(map[string][]port)
	for _, h := range hosts {
		for _, ifc := range h.Interfaces {
			out[ifc.Router] = append(out[ifc.Router], port{
				Name: ifc.BridgePort, Bridge: ifc.Bridge, Host: linkRef{h.Namespace, ifc.Name},
			})
		}
	}
	return out
}

// desiredRouter returns the state of the router r with the bridge ports
// ports.
func desiredRouter(owner string, r Router, ports []port) (*nsState, tables, error) {
	ns := &nsState{Owner: owner, LoUp: true, Forwarding: true, Links: make(map[string]linkState, len(r.Bridges)+len(ports))}
	for _, b := range r.Bridges {
		ns.Links[b.Name] = linkState{Kind: kindBridge, Up: true, Addrs: []netip.Prefix{b.Address}, MAC: BridgeMAC(b.Name).String()}
	}
	for _, p := range ports {
		ns.Links[p.Name] = linkState{Kind: kindVeth, Up: true, Master: p.Bridge, Peer: p.Host}
	}
	if a := r.ResolverAddr; a.IsValid() {
		ns.LoAddrs = []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}
	}
	acl, err := nft.CompileACLs(r.ACLs)
	if err != nil {
		return nil, tables{}, fmt.Errorf("router %s: acls: %w", r.Namespace, err)
	}
	ns.ACL = acl.Digest()
	return ns, tables{ACL: acl}, nil
}

// desiredHost returns the state of the host h.
func desiredHost(owner string, h Host) (*nsState, tables, error) {
	ns := &nsState{Owner: owner, LoUp: true, Links: make(map[string]linkState, len(h.Interfaces))}
	for _, ifc := range h.Interfaces {
		ns.Links[ifc.Name] = linkState{
			Kind:  kindVeth,
			Up:    true,
			Addrs: []netip.Prefix{ifc.Address},
			MAC:   ifc.MAC.String(),
			Peer:  linkRef{ifc.Router, ifc.BridgePort},
		}
		if ifc.DefaultRoute {
			ns.Routes = append(ns.Routes, route{Dst: netip.PrefixFrom(netip.IPv4Unspecified(), 0), Gw: ifc.Gateway, Dev: ifc.Name})
		}
	}
	slices.SortFunc(ns.Routes, compareRoutes)
	ns.Resolv = resolvConf(owner, h.DNS)
	fw, err := nft.CompileFirewall(h.Firewall)
	if err != nil {
		return nil, tables{}, fmt.Errorf("host %s: firewall: %w", h.Namespace, err)
	}
	ns.Firewall = fw.Digest()
	return ns, tables{Firewall: fw}, nil
}

// resolvOptions is the options line of the resolv.conf files: the
// resolver is local, so a query that gets no answer (the VPC's resolver is
// off) fails fast.
const resolvOptions = "options timeout:1 attempts:2"

// resolvConf returns the resolv.conf of a host of owner with the name
// servers dns; "" for none. Its first line, a comment, names the owner, so
// that the file of a namespace deleted behind Set's back can be told
// apart.
func resolvConf(owner string, dns []netip.Addr) string {
	if len(dns) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("# " + OwnerAlias(owner) + "\n")
	for _, d := range dns {
		b.WriteString("nameserver " + d.String() + "\n")
	}
	b.WriteString(resolvOptions + "\n")
	return b.String()
}

// resolvOwner returns the owner that a resolv.conf written by Set names,
// or "".
func resolvOwner(content string) string {
	first, _, _ := strings.Cut(content, "\n")
	alias, ok := strings.CutPrefix(first, "# ")
	if !ok {
		return ""
	}
	return ownerOfAlias(alias)
}

// opKind is what an op does.
type opKind int

const (
	opDelNetns opKind = iota // also removes /etc/netns/<NS>
	opAddNetns               // creates the namespace and stamps it with Owner
	opOwn                    // stamps an unowned namespace with Owner
	opLoUp
	opApplyACL
	opApplyFirewall
	opForwarding
	opDelLink
	opDelRoute
	opDelAddr
	opAddLink
	opSetMAC
	opMaster
	opAddAddr
	opLinkUp
	opAnnounce
	opAddRoute // replaces a route to the same destination
	opWriteResolv
	opDelResolv // also removes /etc/netns/<NS> if it is left empty, or if NS is an orphan
)

// op is one change to the kernel.
type op struct {
	Kind     opKind
	NS       string
	Link     string       // link name, for link and address ops
	LinkKind string       // link kind, for opAddLink and opDelLink
	Addr     netip.Prefix // for address ops and opAnnounce
	// On is the value for opForwarding; for opMaster, it asks to wait
	// for the link's carrier first, so that the bridge forwards on the
	// port as soon as it is enslaved.
	On    bool
	Owner string // for opAddNetns and opOwn
	MAC   string // for opAddLink, opSetMAC and opAnnounce
	// Peer is, for opAddLink of a veth, where its other end goes; for
	// opAnnounce, the bridge behind the link, whose router's neighbour
	// entry for Addr is updated.
	Peer    linkRef
	Master  string // for opMaster
	Route   route  // for route ops
	Content string // for opWriteResolv
	Digest  string // for opApplyFirewall and opApplyACL
	// Group is the namespace whose changes the op is part of, if not NS:
	// a host's, for the ops on its router's end of its veth pair. When
	// an op fails, the rest of its group is skipped.
	Group string
}

func (o op) group() string {
	if o.Group != "" {
		return o.Group
	}
	return o.NS
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
	case opApplyACL:
		return "apply acl in " + o.NS
	case opApplyFirewall:
		return "apply sg in " + o.NS
	case opForwarding:
		if o.On {
			return "forwarding on in " + o.NS
		}
		return "forwarding off in " + o.NS
	case opDelLink:
		return fmt.Sprintf("del %s %s in %s", kindWord(o.LinkKind), o.Link, o.NS)
	case opAddLink:
		if !o.Peer.isZero() {
			return fmt.Sprintf("add %s %s in %s peer %s in %s", kindWord(o.LinkKind), o.Link, o.NS, o.Peer.Link, o.Peer.NS)
		}
		return fmt.Sprintf("add %s %s in %s", kindWord(o.LinkKind), o.Link, o.NS)
	case opSetMAC:
		return fmt.Sprintf("set mac %s on %s in %s", o.MAC, o.Link, o.NS)
	case opMaster:
		return fmt.Sprintf("master %s %s in %s", o.Link, o.Master, o.NS)
	case opDelAddr:
		return fmt.Sprintf("del addr %s on %s in %s", o.Addr, o.Link, o.NS)
	case opAddAddr:
		return fmt.Sprintf("add addr %s on %s in %s", o.Addr, o.Link, o.NS)
	case opLinkUp:
		return fmt.Sprintf("up %s in %s", o.Link, o.NS)
	case opAnnounce:
		return fmt.Sprintf("announce %s on %s in %s", o.Addr.Addr(), o.Link, o.NS)
	case opDelRoute:
		return fmt.Sprintf("del route %s in %s", o.Route, o.NS)
	case opAddRoute:
		return fmt.Sprintf("add route %s in %s", o.Route, o.NS)
	case opWriteResolv:
		return "write resolv.conf for " + o.NS
	case opDelResolv:
		return "del resolv.conf for " + o.NS
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
// those that owner has and want does not list (their veths first, so that
// the other ends go at once), and the stale names that want lists; it
// removes the orphaned resolv.conf files of owner that want does not list;
// it creates the wanted namespaces that are missing, adopts (stamps) the
// wanted ones that nobody owns, and leaves the unwanted unowned ones and
// stale names alone.
//
// Namespaces to delete come first; then, namespace by namespace in name
// order, all the changes to that namespace: first the routers (namespaces
// without host ends of veths), then the hosts, since a host's veth pair is
// created from the host into its router. A host's ops on its router's end
// of the pair belong to the host's group. Given the same input, plan
// returns the same ops.
func plan(prefix, owner string, cur, want state) ([]op, []conflict) {
	p := &planner{owner: owner, cur: cur, want: want, gone: make(map[linkRef]bool), blocked: make(map[string]bool)}
	p.deletions(prefix)
	var conflicts []conflict
	var routers, hosts []string
	for _, name := range sortedKeys(want) {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		if c := cur[name]; c != nil && !c.Stale && !c.Orphan && c.Owner != "" && c.Owner != owner {
			conflicts = append(conflicts, conflict{NS: name, Owner: c.Owner})
			p.blocked[name] = true
			continue
		}
		if isHost(want[name]) {
			hosts = append(hosts, name)
		} else {
			routers = append(routers, name)
		}
	}
	for _, name := range append(routers, hosts...) {
		p.namespace(name)
	}
	return p.ops, conflicts
}

// isHost reports whether ns has the host end of a veth pair.
func isHost(ns *nsState) bool {
	for _, l := range ns.Links {
		if l.Kind == kindVeth && l.Master == "" && !l.Peer.isZero() {
			return true
		}
	}
	return false
}

type planner struct {
	owner     string
	cur, want state
	// gone are the current links that the ops so far delete: deleting
	// one end of a veth pair deletes the other.
	gone map[linkRef]bool
	// blocked are the wanted namespaces of other owners.
	blocked map[string]bool
	ops     []op
}

func (p *planner) emit(o op) { p.ops = append(p.ops, o) }

// curLink returns the current link ref, unless the ops so far delete it.
func (p *planner) curLink(ref linkRef) (linkState, bool) {
	if p.gone[ref] {
		return linkState{}, false
	}
	ns := p.cur[ref.NS]
	if ns == nil || ns.Stale || ns.Orphan {
		return linkState{}, false
	}
	l, ok := ns.Links[ref.Link]
	return l, ok
}

// drop records that the ops delete the current link ref, and with it the
// other end if it is a veth.
func (p *planner) drop(ref linkRef) {
	if l, ok := p.curLink(ref); ok && !l.Peer.isZero() {
		p.gone[l.Peer] = true
	}
	p.gone[ref] = true
}

func (p *planner) deletions(prefix string) {
	for _, name := range sortedKeys(p.cur) {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		c := p.cur[name]
		_, wanted := p.want[name]
		switch {
		case c.Orphan:
			if !wanted && c.Owner == p.owner {
				p.emit(op{Kind: opDelResolv, NS: name})
			}
		case c.Stale:
			if wanted {
				p.emit(op{Kind: opDelNetns, NS: name})
			}
		case c.Owner == p.owner && !wanted:
			// Deleting a namespace frees its links only once nothing
			// holds it any more, and then asynchronously; deleting
			// the veths frees their other ends at once.
			for _, ln := range sortedKeys(c.Links) {
				ref := linkRef{name, ln}
				if l, ok := p.curLink(ref); ok && l.Kind == kindVeth {
					p.emit(op{Kind: opDelLink, NS: name, Link: ln, LinkKind: kindVeth})
					p.drop(ref)
				}
			}
			p.emit(op{Kind: opDelNetns, NS: name})
			for ln := range c.Links {
				p.drop(linkRef{name, ln})
			}
		}
	}
}

// namespace plans the wanted namespace name, which no other owner has.
func (p *planner) namespace(name string) {
	c, fresh := p.cur[name], false
	if c != nil && c == p.want[name] && !p.touched(name, c) {
		// The Linux data plane's cache vouches for the namespace: its
		// state is its desired state, the very same value. Skip the
		// comparison, which would find nothing.
		return
	}
	switch {
	case c == nil || c.Stale || c.Orphan:
		p.emit(op{Kind: opAddNetns, NS: name, Owner: p.owner})
		resolv := ""
		if c != nil && c.Orphan {
			resolv = c.Resolv
		}
		c, fresh = &nsState{Owner: p.owner, Links: map[string]linkState{}, Resolv: resolv}, true
	case c.Owner == "":
		p.emit(op{Kind: opOwn, NS: name, Owner: p.owner})
	}
	p.planNamespace(name, c, p.want[name], fresh)
}

// touched reports whether the ops so far delete a link of the namespace
// name, whose state is ns.
func (p *planner) touched(name string, ns *nsState) bool {
	if len(p.gone) == 0 {
		return false
	}
	for ln := range ns.Links {
		if p.gone[linkRef{name, ln}] {
			return true
		}
	}
	return false
}

// planNamespace plans one namespace: lo, the firewall tables (before any
// link comes up, so that the namespace never runs unfiltered) and
// forwarding first, then every deletion (links, routes, then addresses),
// then link by link the additions (bridges before veths), then routes and
// resolv.conf, so that a name or an address freed by one op can be taken by
// a later one. A fresh namespace (created by the ops) gets its forwarding
// set whatever the kernel's default.
func (p *planner) planNamespace(ns string, cur, want *nsState, fresh bool) {
	if want.LoUp && !cur.LoUp {
		p.emit(op{Kind: opLoUp, NS: ns})
	}
	if want.ACL != cur.ACL {
		p.emit(op{Kind: opApplyACL, NS: ns, Digest: want.ACL})
	}
	if want.Firewall != cur.Firewall {
		p.emit(op{Kind: opApplyFirewall, NS: ns, Digest: want.Firewall})
	}
	if fresh || want.Forwarding != cur.Forwarding {
		p.emit(op{Kind: opForwarding, NS: ns, On: want.Forwarding})
	}
	for _, a := range cur.LoAddrs {
		if !slices.Contains(want.LoAddrs, a) {
			p.emit(op{Kind: opDelAddr, NS: ns, Link: "lo", Addr: a})
		}
	}
	for _, a := range want.LoAddrs {
		if !slices.Contains(cur.LoAddrs, a) {
			p.emit(op{Kind: opAddAddr, NS: ns, Link: "lo", Addr: a})
		}
	}

	// kept are the current links that stay.
	kept := make(map[string]linkState)
	for _, name := range sortedKeys(cur.Links) {
		ref := linkRef{ns, name}
		c, ok := p.curLink(ref)
		if !ok {
			continue
		}
		if w, ok := want.Links[name]; ok && p.keep(ref, c, w) {
			kept[name] = c
			continue
		}
		p.emit(op{Kind: opDelLink, NS: ns, Link: name, LinkKind: c.Kind})
		p.drop(ref)
	}
	// Routes by a link that goes went with it.
	for _, r := range cur.Routes {
		if _, ok := kept[r.Dev]; (ok || r.Dev == "") && !slices.Contains(want.Routes, r) {
			p.emit(op{Kind: opDelRoute, NS: ns, Route: r})
		}
	}
	// invalid are the links whose routes the kernel may have dropped:
	// new ones, and those that lose an address.
	invalid := make(map[string]bool)
	for _, name := range sortedKeys(kept) {
		for _, a := range kept[name].Addrs {
			if !slices.Contains(want.Links[name].Addrs, a) {
				p.emit(op{Kind: opDelAddr, NS: ns, Link: name, Addr: a})
				invalid[name] = true
			}
		}
	}
	present := make(map[string]bool)
	for _, name := range linkOrder(want.Links) {
		w := want.Links[name]
		c, ok := kept[name]
		if !ok {
			if !p.addLink(ns, name, w) {
				continue
			}
			invalid[name] = true
		} else {
			if w.MAC != "" && w.Kind != kindVeth && c.MAC != w.MAC {
				p.emit(op{Kind: opSetMAC, NS: ns, Link: name, MAC: w.MAC})
			}
			if w.Master != c.Master {
				p.emit(op{Kind: opMaster, NS: ns, Link: name, Master: w.Master})
			}
		}
		present[name] = true
		var added []netip.Prefix
		for _, a := range w.Addrs {
			if !slices.Contains(c.Addrs, a) {
				p.emit(op{Kind: opAddAddr, NS: ns, Link: name, Addr: a})
				added = append(added, a)
			}
		}
		if w.Up && !c.Up {
			p.emit(op{Kind: opLinkUp, NS: ns, Link: name})
		}
		if w.Kind != kindVeth || w.Master != "" {
			continue
		}
		// A host's end: plug a new pair's other end into its bridge,
		// then announce the addresses that come up.
		port := p.want[w.Peer.NS].Links[w.Peer.Link]
		if !ok {
			p.emit(op{Kind: opLinkUp, NS: w.Peer.NS, Link: w.Peer.Link, Group: ns})
			p.emit(op{Kind: opMaster, NS: w.Peer.NS, Link: w.Peer.Link, Master: port.Master, On: true, Group: ns})
		}
		for _, a := range added {
			if a.Addr().Is4() {
				p.emit(op{Kind: opAnnounce, NS: ns, Link: name, Addr: a, MAC: w.MAC, Peer: linkRef{w.Peer.NS, port.Master}})
			}
		}
	}
	for _, r := range want.Routes {
		if present[r.Dev] && (!slices.Contains(cur.Routes, r) || invalid[r.Dev]) {
			p.emit(op{Kind: opAddRoute, NS: ns, Route: r})
		}
	}
	if want.Resolv != cur.Resolv {
		if want.Resolv == "" {
			p.emit(op{Kind: opDelResolv, NS: ns})
		} else {
			p.emit(op{Kind: opWriteResolv, NS: ns, Content: want.Resolv})
		}
	}
}

// addLink plans the creation of the wanted link w, named name, in ns. It
// reports false if the link is not created here: a router's end of a veth
// pair, which its host creates, or a host's end whose router is not there
// to plug into.
func (p *planner) addLink(ns, name string, w linkState) bool {
	if w.Kind != kindVeth {
		p.emit(op{Kind: opAddLink, NS: ns, Link: name, LinkKind: w.Kind, MAC: w.MAC})
		return true
	}
	if w.Master != "" || w.Peer.isZero() {
		return false
	}
	router := p.want[w.Peer.NS]
	if router == nil || p.blocked[w.Peer.NS] {
		return false
	}
	if _, ok := router.Links[w.Peer.Link]; !ok {
		return false
	}
	p.emit(op{Kind: opAddLink, NS: ns, Link: name, LinkKind: kindVeth, MAC: w.MAC, Peer: w.Peer})
	return true
}

// keep reports whether the current link c at ref can stay as the wanted
// link w. A veth pair stays only whole and in place: both ends where the
// config wants them, and the host's end with its MAC.
func (p *planner) keep(ref linkRef, c, w linkState) bool {
	if c.Kind != w.Kind {
		return false
	}
	if w.Kind != kindVeth {
		return true
	}
	if c.Peer != w.Peer {
		return false
	}
	if w.Master == "" { // the host's end
		if c.MAC != w.MAC || p.blocked[w.Peer.NS] {
			return false
		}
		_, ok := p.curLink(w.Peer)
		return ok
	}
	// A router's end: its host's end must stay too.
	hc, ok := p.curLink(w.Peer)
	if !ok || p.blocked[w.Peer.NS] {
		return false
	}
	hw, ok := p.want[w.Peer.NS].Links[w.Peer.Link]
	return ok && hc.Kind == kindVeth && hc.Peer == ref && hw.Peer == ref && hc.MAC == hw.MAC
}

// linkOrder returns the names of links, those that are not veths first, so
// that bridges exist before ports are plugged into them; each part sorted.
func linkOrder(links map[string]linkState) []string {
	names := sortedKeys(links)
	slices.SortStableFunc(names, func(a, b string) int {
		return cmp.Compare(boolInt(links[a].Kind == kindVeth), boolInt(links[b].Kind == kindVeth))
	})
	return names
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
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
