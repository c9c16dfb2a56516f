package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/privlink/privlink/internal/dataplane/netns"
)

// cache is what the Linux data plane knows of the namespaces under one
// prefix, for one owner, from its last Set.
type cache struct {
	prefix, owner string
	entries       map[string]*cacheEntry
}

func newCache(prefix, owner string) *cache {
	return &cache{prefix: prefix, owner: owner, entries: make(map[string]*cacheEntry)}
}

// cacheEntry is one namespace as the last Set left it.
type cacheEntry struct {
	id netns.ID
	// input is a deep copy of the namespace's part of the Config; the
	// zero nsInput for a namespace that was not wanted.
	input nsInput
	// want and rules are what input asks for; nil for a namespace that
	// was not wanted.
	want  *nsState
	rules tables
	// state is the kernel's: want once applied, or what was read of a
	// namespace that Set does not touch.
	state *nsState
}

// links returns the namespaces that name is linked to by veth pairs,
// according to the new inputs and to the cached ones: a host's routers, or
// a router's hosts.
func (c *cache) links(in map[string]nsInput, name string, hosts bool) []string {
	var out []string
	for _, i := range []nsInput{in[name], c.input(name)} {
		if hosts {
			out = append(out, i.hosts()...)
		} else {
			out = append(out, i.routers()...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (c *cache) input(name string) nsInput {
	if e := c.entries[name]; e != nil {
		return e.input
	}
	return nsInput{}
}

// snapshot is the current and desired state of one Set.
type snapshot struct {
	entries map[string]netns.Entry // under /run/netns
	cur     state
	want    state
	rules   map[string]tables
	// read are the namespaces read from the kernel; the others' current
	// state comes from the cache.
	read map[string]bool
	// sameInput are the wanted namespaces whose input is the cached one.
	sameInput map[string]bool
}

// snapshot reads the current state and builds the desired one. With full,
// it reads every namespace under the prefix. Otherwise it reads only those
// that the cache c cannot vouch for: the namespaces it does not know or
// whose identity changed (and, since a veth pair dies with either end's
// namespace, the namespaces linked to them), the namespaces whose input
// changed (and a changed host's routers), and the hosts whose router no
// longer has their veth's other end.
func (l *Linux) snapshot(ctx context.Context, cfg Config, in map[string]nsInput, c *cache, full bool) (*snapshot, error) {
	list, err := netns.List(cfg.Prefix)
	if err != nil {
		return nil, err
	}
	s := &snapshot{
		entries:   make(map[string]netns.Entry, len(list)),
		cur:       make(state, len(list)),
		want:      make(state, len(in)),
		rules:     make(map[string]tables, len(in)),
		read:      make(map[string]bool),
		sameInput: make(map[string]bool, len(in)),
	}
	for _, e := range list {
		s.entries[e.Name] = e
	}
	for name, i := range in {
		if e := c.entries[name]; e != nil && e.want != nil && i.equal(e.input) {
			s.want[name], s.rules[name], s.sameInput[name] = e.want, e.rules, true
			continue
		}
		ns, t, err := i.desired(cfg.Owner)
		if err != nil {
			return nil, err
		}
		s.want[name], s.rules[name] = ns, t
	}

	toRead := make(map[string]bool)
	var mark func(name string, replaced bool)
	mark = func(name string, replaced bool) {
		toRead[name] = true
		for _, r := range c.links(in, name, false) {
			toRead[r] = true
		}
		if replaced {
			for _, h := range c.links(in, name, true) {
				if !toRead[h] {
					mark(h, false)
				}
			}
		}
	}
	var vanished []string
	if full {
		for name := range s.entries {
			toRead[name] = true
		}
	} else {
		for name, ce := range c.entries {
			if e, ok := s.entries[name]; !ok || !e.Mounted || e.ID != ce.id {
				mark(name, true)
				if !ok {
					vanished = append(vanished, name)
				}
			}
		}
		for name, e := range s.entries {
			switch {
			case !e.Mounted:
			case c.entries[name] == nil:
				mark(name, true)
			case in[name].wanted() && !s.sameInput[name]:
				mark(name, false)
			}
		}
	}

	raws := make(map[string]map[string]*rawVeth)
	for more := true; more; {
		var batch []string
		for name := range toRead {
			if !s.read[name] {
				batch = append(batch, name)
			}
		}
		slices.Sort(batch)
		for _, name := range batch {
			s.read[name] = true
			if e, ok := s.entries[name]; !ok || !e.Mounted {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			l.reads.Add(1)
			ns, raw, err := readNamespace(ctx, name, cfg.Owner, hints(in[name]), &l.opens)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				delete(s.entries, name) // deleted meanwhile
				delete(s.cur, name)
				continue
			case errors.Is(err, netns.ErrNotMounted):
				// Unmounted meanwhile: being deleted by its owner.
				e := s.entries[name]
				e.Mounted, e.ID = false, netns.ID{}
				s.entries[name] = e
				continue
			case err != nil:
				return nil, fmt.Errorf("read netns %s: %w", name, err)
			}
			s.cur[name], raws[name] = ns, raw
		}
		if err := pairVeths(s.cur, raws, &l.opens); err != nil {
			return nil, err
		}
		// Trust the cache for the rest, as long as the routers read
		// still have the other ends of the cached hosts' veths.
		more = false
		for name, e := range s.entries {
			if e.Mounted && !s.read[name] {
				s.cur[name] = c.entries[name].state
			}
		}
		if len(raws) == 0 {
			break // no router read: nothing to check the cached hosts against
		}
		for name, ns := range s.cur {
			if s.read[name] {
				continue
			}
			for ln, l := range ns.Links {
				if l.Kind != kindVeth || l.Peer.isZero() || !s.read[l.Peer.NS] || s.cur[l.Peer.NS] == nil {
					continue
				}
				self := linkRef{name, ln}
				peerNS := s.cur[l.Peer.NS]
				p, ok := peerNS.Links[l.Peer.Link]
				if !ok || p.Kind != kindVeth || (!p.Peer.isZero() && p.Peer != self) {
					mark(name, false)
					more = true
					break
				}
				p.Peer = self
				peerNS.Links[l.Peer.Link] = p
			}
		}
	}
	for name, e := range s.entries {
		if !e.Mounted {
			s.cur[name] = &nsState{Stale: true}
		}
	}

	// The resolv.conf files of namespaces deleted behind Set's back.
	if full {
		orphans, err := readOrphans(cfg.Prefix, s.entries)
		if err != nil {
			return nil, err
		}
		for name, ns := range orphans {
			s.cur[name] = ns
		}
	} else {
		for _, name := range vanished {
			ns, err := readOrphan(name)
			if err != nil {
				return nil, err
			}
			if ns != nil {
				s.cur[name] = ns
			}
		}
	}
	return s, nil
}

// hints returns, for a host, the namespace that each interface's other end
// should be in.
func hints(in nsInput) map[string]string {
	if in.Host == nil {
		return nil
	}
	out := make(map[string]string, len(in.Host.Interfaces))
	for _, ifc := range in.Host.Interfaces {
		out[ifc.Name] = ifc.Router
	}
	return out
}

// update records what Set left in the kernel: for every namespace whose
// ops all went through, its identity, input and state. Namespaces with an
// op that failed or was skipped, and those linked to them, are forgotten,
// so the next Set reads them again; so are hosts plugged into a router of
// another owner, which the plan leaves without their interfaces.
func (c *cache) update(s *snapshot, in map[string]nsInput, ops []op, res applied, conflicts []conflict) {
	forget := make(map[string]bool)
	for name := range res.incomplete {
		forget[name] = true
		for _, hosts := range []bool{false, true} {
			for _, o := range c.links(in, name, hosts) {
				forget[o] = true
			}
		}
	}
	blocked := make(map[string]bool)
	for _, cf := range conflicts {
		blocked[cf.NS] = true
	}
	for name, i := range in {
		for _, r := range i.routers() {
			if blocked[r] {
				forget[name] = true
			}
		}
	}
	deleted := make(map[string]bool)
	for _, o := range ops {
		if o.Kind == opDelNetns {
			deleted[o.NS] = true
		}
	}

	entries := make(map[string]*cacheEntry, len(s.entries)+len(res.created))
	for name, e := range s.entries {
		if forget[name] || !e.Mounted || deleted[name] {
			continue
		}
		cur := s.cur[name]
		if cur == nil || cur.Stale || cur.Orphan {
			continue
		}
		entries[name] = c.entry(name, e.ID, in, s, cur)
	}
	for name, id := range res.created {
		if !forget[name] {
			entries[name] = c.entry(name, id, in, s, nil)
		}
	}
	c.entries = entries
}

// entry returns the cache entry of the namespace name with identity id:
// for a wanted namespace that is ours, its input and desired state; for
// another, cur.
func (c *cache) entry(name string, id netns.ID, in map[string]nsInput, s *snapshot, cur *nsState) *cacheEntry {
	i, wanted := in[name]
	if !wanted || (cur != nil && cur.Owner != c.owner && cur.Owner != "") {
		e := &cacheEntry{id: id, state: cur}
		if wanted {
			// Another owner's: remember the input too, so the next
			// Set neither reads it nor builds its state again.
			e.input, e.want, e.rules = c.keep(name, i, s), s.want[name], s.rules[name]
		}
		return e
	}
	return &cacheEntry{id: id, input: c.keep(name, i, s), want: s.want[name], rules: s.rules[name], state: s.want[name]}
}

// keep returns a deep copy of the input i of name: the cached one if it is
// the same.
func (c *cache) keep(name string, i nsInput, s *snapshot) nsInput {
	if s.sameInput[name] {
		return c.entries[name].input
	}
	return i.clone()
}
