package dataplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/privlink/privlink/internal/dataplane/netns"
)

// Linux is the data plane on the host's kernel. It works through netlink
// handles opened in each namespace, and switches threads into a namespace
// only to create it, to touch its /proc/sys/net or to open a socket in it.
// Its methods are safe for concurrent use; Set calls are serialised.
//
// Reading a namespace back from the kernel costs a dozen netlink round
// trips and a thread switch, which adds up over thousands of namespaces.
// So Linux remembers, per namespace, the identity of the namespace (see
// netns.ID), the part of the Config that decides it and the state it left
// it in, and between full resyncs (see FullResyncEvery) trusts that state
// for every namespace whose config and identity did not change.
type Linux struct {
	logger          *slog.Logger
	fullResyncEvery time.Duration

	// opens counts the namespaces opened with a netlink handle (reads
	// and changes), reads the namespaces read back. Tests use them to
	// prove the cheap path cheap.
	opens, reads atomic.Int64
	// now is the clock of the full resyncs; tests replace it.
	now func() time.Time

	mu sync.Mutex
	// The fields below are guarded by mu.
	cache     *cache
	lastFull  time.Time
	forceFull bool
}

// NewLinux returns the Linux data plane. It logs every change it applies to
// logger at level Info; a nil logger discards them.
func NewLinux(logger *slog.Logger, opts ...LinuxOption) *Linux {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o := linuxOptions{fullResyncEvery: DefaultFullResyncEvery}
	for _, opt := range opts {
		opt(&o)
	}
	return &Linux{logger: logger, fullResyncEvery: o.fullResyncEvery, now: time.Now}
}

// Set makes the kernel match cfg. It reads the namespaces whose names
// start with cfg.Prefix, with the owner stamped on them (the alias of their
// lo, see OwnerAlias), plans the difference and applies it: it creates
// missing namespaces (stamped with cfg.Owner, lo up, IPv4 forwarding on in
// routers and off in hosts), bridges, veth pairs, addresses, routes,
// nftables tables and resolv.conf files, fixes wrong ones, and deletes what
// cfg does not want in the namespaces of cfg.Owner, and those namespaces of
// cfg.Owner that cfg does not want. Correct state is left as it is. A
// wanted namespace that nobody owns is adopted: stamped and configured.
// Namespaces of other owners are never changed or deleted, and unowned ones
// that cfg does not want are left alone.
//
// Between full resyncs, Set reads only the namespaces whose part of cfg
// changed or which were deleted or replaced (and those linked to them);
// see FullResyncEvery and Resync.
//
// When an op fails, Set skips the remaining ops of that namespace (for a
// host, including those on its router's end of its veths), carries on with
// the other namespaces and returns all the errors; the next Set reads the
// namespaces concerned again and retries. A wanted namespace that another
// owner has is an error of its own ("namespace X belongs to privlink owner
// Y"), and the others are still configured. An invalid cfg changes
// nothing.
func (l *Linux) Set(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.cache == nil || l.cache.prefix != cfg.Prefix || l.cache.owner != cfg.Owner {
		l.cache = newCache(cfg.Prefix, cfg.Owner)
		l.forceFull = true
	}
	full := l.forceFull || l.fullResyncEvery <= 0 || now.Sub(l.lastFull) >= l.fullResyncEvery
	in := inputsOf(cfg)
	snap, err := l.snapshot(ctx, cfg, in, l.cache, full)
	if err != nil {
		return err
	}
	ops, conflicts := plan(cfg.Prefix, cfg.Owner, snap.cur, snap.want)
	res := l.apply(ctx, ops, snap.rules)
	l.cache.update(snap, in, ops, res, conflicts)
	if full {
		l.lastFull, l.forceFull = now, false
	}
	return errors.Join(res.err, conflictErr(conflicts))
}

// Resync makes the next Set a full resync: it reads every namespace back
// from the kernel, whatever it last applied.
func (l *Linux) Resync() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forceFull = true
}

// Plan returns the ops, one line each, that a full resync of Set(ctx, cfg)
// would apply now, without applying them. An empty plan means the kernel
// matches cfg. If cfg wants namespaces that other owners have, Plan
// returns the ops for the rest together with an error naming them, as Set
// would.
func (l *Linux) Plan(ctx context.Context, cfg Config) ([]string, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	snap, err := l.snapshot(ctx, cfg, inputsOf(cfg), newCache(cfg.Prefix, cfg.Owner), true)
	if err != nil {
		return nil, err
	}
	ops, conflicts := plan(cfg.Prefix, cfg.Owner, snap.cur, snap.want)
	return render(ops), conflictErr(conflicts)
}

// Namespaces returns the names of the mounted network namespaces whose names
// start with prefix, whoever owns them, sorted.
func (l *Linux) Namespaces(ctx context.Context, prefix string) ([]string, error) {
	entries, err := netns.List(prefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Mounted {
			out = append(out, e.Name)
		}
	}
	return out, nil
}

// applied is the outcome of applying a plan.
type applied struct {
	err error
	// incomplete are the groups and namespaces with an op that failed or
	// was not attempted: their state is unknown.
	incomplete map[string]bool
	// created are the namespaces created, with their identity.
	created map[string]netns.ID
}

func (l *Linux) apply(ctx context.Context, ops []op, rules map[string]tables) applied {
	ex := executor{ctx: ctx, conns: make(map[string]*nsConn), rules: rules, opens: &l.opens}
	defer ex.close()
	res := applied{incomplete: make(map[string]bool), created: make(map[string]netns.ID)}
	var errs []error
	for i, o := range ops {
		if res.incomplete[o.group()] {
			res.incomplete[o.NS] = true
			continue
		}
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			for _, rest := range ops[i:] {
				res.incomplete[rest.group()] = true
				res.incomplete[rest.NS] = true
			}
			break
		}
		err := ex.do(o)
		if err != nil && o.Kind == opAnnounce {
			// Best effort: without it, the address is reachable all
			// the same once the neighbours' entries expire.
			l.logger.Warn("dataplane announce failed", "op", o.String(), "err", err)
			continue
		}
		if err != nil {
			res.incomplete[o.group()] = true
			res.incomplete[o.NS] = true
			errs = append(errs, fmt.Errorf("%s: %w", o, err))
			continue
		}
		if o.Kind == opAddNetns {
			if id, ok, err := netns.IDOf(o.NS); err == nil && ok {
				res.created[o.NS] = id
			}
		}
		l.logger.Info("dataplane change", "op", o.String())
	}
	res.err = errors.Join(errs...)
	return res
}

// readResolv returns the content of the resolv.conf of the namespace name,
// "" if there is none.
func readResolv(name string) (string, error) {
	b, err := os.ReadFile(ResolvConfPath(name))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read resolv.conf: %w", err)
	}
	return string(b), nil
}
