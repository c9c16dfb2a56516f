package forwarder

import (
	"cmp"
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Defaults for a check without an interval or a timeout. The control plane
// always sets both; these only keep a zero from spinning or hanging.
const (
	defaultInterval = 30 * time.Second
	defaultTimeout  = 10 * time.Second
	// maxFirstJitter bounds the wait before a new check's first attempt:
	// soon, but not every check of a table in the same instant.
	maxFirstJitter = 250 * time.Millisecond
)

// CheckerOptions configure a Checker.
type CheckerOptions struct {
	// Logger receives the checker's logs; nil discards them.
	Logger *slog.Logger
	// Report, when set, gets the checks whose Health changed, sorted by
	// key. Changes that happen while a report is pending are coalesced
	// into it (the latest state of each check). It is called from Run's
	// goroutine, never concurrently with itself; it should not block for
	// long, as later reports wait for it.
	Report func([]Health)
}

// Checker runs health checks: each check on its own ticker, from its
// namespace and source address.
type Checker struct {
	log    *slog.Logger
	report func([]Health)
	// probe makes one attempt. It is probeNet; tests of the state
	// machine and the scheduling swap in a fake.
	probe func(ctx context.Context, c Check, m matcher) result
	socks nsSockets

	kick chan struct{} // the set changed: Run starts what is new
	wake chan struct{} // reports are pending

	mu      sync.Mutex
	checks  map[string]*check
	pending map[string]Health
}

// check is the state of one check, kept while Set keeps its Key and its
// parameters.
type check struct {
	cfg   Check
	match matcher
	st    status             // guarded by Checker.mu
	stop  context.CancelFunc // of its goroutine; nil when none runs. Guarded by Checker.mu
}

// NewChecker returns a checker with no checks.
func NewChecker(opts CheckerOptions) *Checker {
	c := &Checker{
		log:     cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)),
		report:  opts.Report,
		kick:    make(chan struct{}, 1),
		wake:    make(chan struct{}, 1),
		checks:  make(map[string]*check),
		pending: make(map[string]Health),
	}
	c.probe = c.probeNet
	return c
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default: // already pending
	}
}

// Set replaces the checks. A check whose Key and parameters are unchanged
// keeps its state, counts and schedule; a new or changed one starts at
// StateInitial (not reported: nothing was concluded) with its first attempt
// soon after; a removed one stops, and its pending report is dropped.
func (c *Checker) Set(checks []Check) {
	c.mu.Lock()
	next := make(map[string]*check, len(checks))
	namespaces := make(map[string]bool)
	for _, cfg := range checks {
		namespaces[cfg.Namespace] = true
		if old := c.checks[cfg.Key]; old != nil && old.cfg == cfg {
			next[cfg.Key] = old
			continue
		}
		m, err := parseMatcher(cfg.Matcher)
		if err != nil {
			// The control plane validates matchers; one that slipped
			// through matches nothing, so the target shows as failing
			// with the code it sent.
			c.log.Warn("bad health check matcher", "check", cfg.Key, "err", err)
		}
		next[cfg.Key] = &check{cfg: cfg, match: m, st: status{state: StateInitial}}
	}
	for key, old := range c.checks {
		if next[key] != old {
			if old.stop != nil {
				old.stop()
			}
			delete(c.pending, key)
		}
	}
	c.checks = next
	c.mu.Unlock()
	c.socks.retain(func(name string) bool { return namespaces[name] })
	notify(c.kick)
}

// Current returns the Health of every check, sorted by key.
func (c *Checker) Current() []Health {
	c.mu.Lock()
	out := make([]Health, 0, len(c.checks))
	for key, ch := range c.checks {
		out = append(out, ch.st.health(key))
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b Health) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// Run checks until ctx is done and calls Report with the changes. It
// returns nil.
func (c *Checker) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer func() {
		c.mu.Lock()
		for _, ch := range c.checks {
			if ch.stop != nil {
				ch.stop()
				ch.stop = nil
			}
		}
		c.mu.Unlock()
		wg.Wait()
		c.socks.closeAll()
	}()
	for {
		c.start(ctx, &wg)
		select {
		case <-ctx.Done():
			return nil
		case <-c.kick:
		case <-c.wake:
			c.flush()
		}
	}
}

// start starts a goroutine for every check that has none.
func (c *Checker) start(ctx context.Context, wg *sync.WaitGroup) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range c.checks {
		if ch.stop == nil {
			cctx, cancel := context.WithCancel(ctx)
			ch.stop = cancel
			wg.Go(func() { c.loop(cctx, ch) })
		}
	}
}

// loop runs one check's attempts, Interval apart from start to start, until
// ctx is done.
func (c *Checker) loop(ctx context.Context, ch *check) {
	interval := cmp.Or(max(ch.cfg.Interval, 0), defaultInterval)
	timeout := cmp.Or(max(ch.cfg.Timeout, 0), defaultTimeout)
	t := time.NewTimer(rand.N(min(interval, maxFirstJitter)))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		actx, cancel := context.WithTimeout(ctx, timeout)
		r := c.probe(actx, ch.cfg, ch.match)
		cancel()
		if ctx.Err() != nil {
			return // cut short by a stop: not the target's fault
		}
		c.observe(ch, r)
		t.Reset(max(interval-time.Since(start), 0))
	}
}

// observe records one attempt's result and queues a report on a change.
func (c *Checker) observe(ch *check, r result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := ch.cfg.Key
	if c.checks[key] != ch {
		return // replaced or removed meanwhile
	}
	if r.reason != FailNone {
		c.log.Debug("health check failed", "check", key, "target", ch.cfg.Addr, "reason", r.reason, "code", r.code, "err", r.err)
	}
	if !ch.st.observe(r, ch.cfg.HealthyThreshold, ch.cfg.UnhealthyThreshold) {
		return
	}
	h := ch.st.health(key)
	c.log.Info("target health changed", "check", key, "target", ch.cfg.Addr, "state", h.State, "reason", h.Reason, "code", h.Code)
	c.pending[key] = h
	notify(c.wake)
}

// flush hands the pending changes to Report.
func (c *Checker) flush() {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return
	}
	out := make([]Health, 0, len(c.pending))
	for _, h := range c.pending {
		out = append(out, h)
	}
	clear(c.pending)
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b Health) int { return cmp.Compare(a.Key, b.Key) })
	if c.report != nil {
		c.report(out)
	}
}
