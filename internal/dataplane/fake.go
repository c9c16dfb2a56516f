package dataplane

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Fake is an in-memory data plane for tests. It keeps a model of the kernel,
// plans with the same planner as Linux, applies the ops to its model and
// records them as text, one line per op (see Ops). Its kernel keeps an owner
// per namespace, so several Set callers with different Config.Owner can
// share one Fake as several daemons share a host. Its methods are safe for
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
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failNext; err != nil {
		f.failNext = nil
		return err
	}
	ops, conflicts := plan(cfg.Prefix, cfg.Owner, f.kernel, desired(cfg))
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
		if strings.HasPrefix(name, prefix) && !f.kernel[name].Stale {
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
	f.kernel[name] = &nsState{Owner: owner, Links: make(map[string]linkState)}
}

// Owner returns the owner stamped on the namespace name ("" if it is
// unowned), and whether the namespace exists.
func (f *Fake) Owner(name string) (owner string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns, ok := f.kernel[name]
	if !ok || ns.Stale {
		return "", false
	}
	return ns.Owner, true
}

// DeleteNamespace deletes a namespace behind the data plane's back, as
// `ip netns del` would.
func (f *Fake) DeleteNamespace(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.kernel, name)
}

var (
	errExists   = errors.New("exists")
	errNotFound = errors.New("not found")
)

// apply changes s as the kernel would for o, and fails where the kernel
// would.
func (s state) apply(o op) error {
	if o.Kind == opAddNetns {
		if _, ok := s[o.NS]; ok {
			return errExists
		}
		s[o.NS] = &nsState{Owner: o.Owner, Links: make(map[string]linkState)}
		return nil
	}
	ns, ok := s[o.NS]
	if !ok {
		return fmt.Errorf("netns %s: %w", o.NS, errNotFound)
	}
	if ns.Stale && o.Kind != opDelNetns {
		return fmt.Errorf("netns %s: not mounted", o.NS)
	}
	l, haveLink := ns.Links[o.Link]
	switch o.Kind {
	case opDelNetns:
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
	case opAddLink:
		if haveLink {
			return fmt.Errorf("link %s: %w", o.Link, errExists)
		}
		ns.Links[o.Link] = linkState{Kind: o.LinkKind}
		return nil
	}
	if !haveLink {
		return fmt.Errorf("link %s: %w", o.Link, errNotFound)
	}
	switch o.Kind {
	case opDelLink:
		delete(ns.Links, o.Link)
	case opLinkUp:
		l.Up = true
	case opAddAddr:
		if slices.Contains(l.Addrs, o.Addr) {
			return fmt.Errorf("addr %s: %w", o.Addr, errExists)
		}
		l.Addrs = append(slices.Clone(l.Addrs), o.Addr)
		sortPrefixes(l.Addrs)
	case opDelAddr:
		i := slices.Index(l.Addrs, o.Addr)
		if i < 0 {
			return fmt.Errorf("addr %s: %w", o.Addr, errNotFound)
		}
		l.Addrs = slices.Delete(slices.Clone(l.Addrs), i, i+1)
	default:
		return fmt.Errorf("unknown op %d", o.Kind)
	}
	if o.Kind != opDelLink {
		ns.Links[o.Link] = l
	}
	return nil
}
