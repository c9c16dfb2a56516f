package forwarder

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/privlink/privlink/internal/metrics"
)

// connectTimeout bounds the connect to a backend, as an NLB's is bounded
// (about 10 s); the client's connection is then reset.
const connectTimeout = 10 * time.Second

// errConnectTimeout is the error of a connect that did not complete in
// time. It wraps os.ErrDeadlineExceeded, a timeout net.Error.
var errConnectTimeout = fmt.Errorf("connect timed out: %w", os.ErrDeadlineExceeded)

// exportInterval is how often Run copies the counters into the metrics
// registry. Counting goes to atomics on the flow's path; the registry's
// series take a lock, so they are updated off it.
const exportInterval = 5 * time.Second

// Idle sweeps: Run looks for flows idle longer than their listener's
// IdleTimeout every eighth of the shortest timeout in the table, but at
// least every sweepMax and at most every sweepMin. A flow is reset between
// its timeout and its timeout plus two sweep intervals (see flow.expired).
const (
	sweepMax = 5 * time.Second
	sweepMin = 50 * time.Millisecond
)

// sweepInterval returns the sweep interval for the shortest idle timeout
// shortest, or 0 (no sweep) when no listener has one.
func sweepInterval(shortest time.Duration) time.Duration {
	if shortest <= 0 {
		return 0
	}
	return min(max(shortest/8, sweepMin), sweepMax)
}

// aLongTimeAgo is a deadline in the past, to wake a pending operation.
var aLongTimeAgo = time.Unix(1, 0)

var errEngineClosed = errors.New("forwarding engine stopped")

// Options configure an Engine. Both fields are optional.
type Options struct {
	// Logger receives the engine's logs; nil discards them.
	Logger *slog.Logger
	// Metrics, when set, gets the engine's counters as the
	// privlink_forwarder_* families. An engine registers them once, so a
	// registry serves one engine.
	Metrics *metrics.Registry
	// ConnectTimeout bounds a flow's connect to its backend; 0 means
	// connectTimeout.
	ConnectTimeout time.Duration
}

// Engine is the TCP forwarding engine: it serves the listeners of the last
// Table given to Set until Run's context ends.
type Engine struct {
	log   *slog.Logger
	exp   *exporter // nil without a registry
	socks nsSockets
	pipes pipePools // for the flows' splices
	// connectTimeout bounds a flow's connect to its backend.
	connectTimeout time.Duration
	// wg counts accept loops and flows, for Run's shutdown.
	wg sync.WaitGroup
	// sweepEvery is the idle sweep's interval for the last table (see
	// sweepInterval); Set wakes Run through sweepWake when it shortens.
	sweepEvery atomic.Int64
	sweepWake  chan struct{}

	// mu serialises Set, Stats, metric exports, idle sweeps and
	// shutdown. No flow takes it.
	mu        sync.Mutex
	listeners map[string]*listener
	closed    bool
}

// New returns an engine with no listeners.
func New(opts Options) *Engine {
	e := &Engine{
		log:            cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)),
		socks:          nsSockets{prefetch: true},
		listeners:      make(map[string]*listener),
		connectTimeout: cmp.Or(opts.ConnectTimeout, connectTimeout),
		sweepWake:      make(chan struct{}, 1),
	}
	if opts.Metrics != nil {
		e.exp = newExporter(opts.Metrics)
	}
	return e
}

// counters are one listener's or backend's counts, updated with atomics
// on the flow's path.
type counters struct {
	newConns atomic.Uint64
	resets   atomic.Uint64
	bytesIn  atomic.Uint64 // client to backend
	bytesOut atomic.Uint64 // backend to client
	active   atomic.Int64
}

// listener is the engine's state of one listener key: it outlives tables
// that keep the key.
type listener struct {
	key   string
	route atomic.Pointer[route]
	ctr   counters
	// unassigned counts the connections that got no backend (there was
	// none eligible), for the metrics' backend="" series.
	unassigned counters

	// Only Set, the idle sweep and shutdown touch these, under
	// Engine.mu. released holds the backends gone from the listener
	// whose flows outlived their drain (Backend.KeepFlows),
	// until those flows end: the idle timeout and the listener's
	// removal still reach them.
	backends map[string]*backend
	released map[*backend]struct{}
	sock     *boundSocket
	// retired: a table retired the listener (Table.Retire). It has no
	// socket and no backends, only released ones, and goes once their
	// flows have ended; Set, Stats and the metrics pass it by.
	retired bool
}

// boundSocket is a listener's listening socket and where it is bound.
type boundSocket struct {
	ln   *listenSock
	fac  *nsFactory // identifies the namespace it was created in
	addr netip.AddrPort
}

// route is a listener's immutable snapshot for new flows, swapped by Set.
type route struct {
	lis      Listener
	backends []routeBackend // as lis.Backends
	eligible []int          // indexes into backends; see eligible()
}

type routeBackend struct {
	cfg Backend
	st  *backend
	fac *nsFactory // nil when its namespace is missing: dials then fail
}

// choose returns the backend for a new flow from client, or nil if no
// backend takes new flows.
func (r *route) choose(client netip.AddrPort) *routeBackend {
	if len(r.eligible) == 0 {
		return nil
	}
	h := flowHash(client, r.lis.Addr, r.lis.StickySource)
	return &r.backends[r.eligible[pick(h, len(r.eligible))]]
}

// Set makes t the engine's configuration. New flows follow t as soon as
// Set returns; flows of backends and listeners that t drops are reset
// before it returns. Set applies everything it can and returns the
// failures per listener, such as a namespace that does not exist yet;
// the caller retries by calling Set again. With a table equal to the last
// one, Set makes no system call but one stat per namespace, to notice a
// namespace deleted and created again, whose listeners it then rebinds.
func (e *Engine) Set(ctx context.Context, t Table) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errEngineClosed
	}
	type nsResult struct {
		f   *nsFactory
		err error
	}
	factories := make(map[string]nsResult)
	factory := func(name string) (*nsFactory, error) {
		r, ok := factories[name]
		if !ok {
			r.f, r.err = e.socks.get(name)
			factories[name] = r
		}
		return r.f, r.err
	}

	var errs []error
	seen := make(map[string]bool, len(t.Listeners))
	for i := range t.Listeners {
		lc := &t.Listeners[i]
		if seen[lc.Key] {
			errs = append(errs, fmt.Errorf("listener %s: duplicate key", lc.Key))
			continue
		}
		seen[lc.Key] = true
		l := e.listeners[lc.Key]
		if l != nil && l.retired {
			// The key is back: a new listener, not the retired one.
			e.removeListener(l)
			l = nil
		}
		if l == nil {
			l = &listener{key: lc.Key, backends: make(map[string]*backend), released: make(map[*backend]struct{})}
			e.listeners[lc.Key] = l
		}
		if err := e.apply(ctx, l, lc, factory); err != nil {
			errs = append(errs, fmt.Errorf("listener %s: %w", lc.Key, err))
		}
	}
	retire := make(map[string]bool, len(t.Retire))
	for _, key := range t.Retire {
		retire[key] = true
	}
	for key, l := range e.listeners {
		switch {
		case seen[key]:
		case l.retired:
			e.dropIfEnded(l)
		case retire[key]:
			e.retire(l)
			e.dropIfEnded(l)
		default:
			e.removeListener(l)
			delete(e.listeners, key)
		}
	}
	e.socks.retain(func(name string) bool { _, ok := factories[name]; return ok })
	e.setSweep()
	return errors.Join(errs...)
}

// Prune removes the listeners in the namespaces keep refuses, resetting
// their flows, and leaves the others as they are. A reset needs the
// namespace's interface to reach the peer, so whoever deletes namespaces
// prunes their listeners first; the next Set would remove them too, but
// by then the resets would go nowhere and the peers would hang on.
func (e *Engine) Prune(keep func(namespace string) bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	for key, l := range e.listeners {
		if r := l.route.Load(); r != nil && !keep(r.lis.Namespace) {
			e.removeListener(l)
			delete(e.listeners, key)
		}
	}
}

// setSweep sets the idle sweep's interval for the listeners (retired ones
// included), and wakes Run if that is sooner than before. e.mu is held.
func (e *Engine) setSweep() {
	var shortest time.Duration
	for _, l := range e.listeners {
		r := l.route.Load()
		if r == nil {
			continue
		}
		if d := r.lis.IdleTimeout; d > 0 && (shortest == 0 || d < shortest) {
			shortest = d
		}
	}
	d := int64(sweepInterval(shortest))
	if old := e.sweepEvery.Swap(d); d != 0 && (old == 0 || d < old) {
		select {
		case e.sweepWake <- struct{}{}:
		default:
		}
	}
}

// apply brings listener l to lc: backends first, so that the new route
// refers to their states, then the socket.
func (e *Engine) apply(ctx context.Context, l *listener, lc *Listener, factory func(string) (*nsFactory, error)) error {
	var errs []error
	now := time.Now()
	// The listener fails open when none of its backends is healthy: new
	// flows then go to unhealthy backends, whose flows stay.
	failOpen := !slices.ContainsFunc(lc.Backends, func(b Backend) bool { return b.State == Healthy })
	rbs := make([]routeBackend, len(lc.Backends))
	keep := make(map[string]*backend, len(lc.Backends))
	for i, bc := range lc.Backends {
		b := keep[bc.Key]
		if b == nil {
			b = l.backends[bc.Key]
			if b == nil {
				b = &backend{key: bc.Key, flows: make(map[*flow]struct{})}
			}
			keep[bc.Key] = b
			if n := b.apply(bc, failOpen, now); n > 0 {
				why := "drain over"
				if bc.State == Unhealthy {
					why = "unhealthy"
				}
				e.log.Info("flows reset", "listener", l.key, "backend", b.key, "why", why, "flows", n)
			}
		}
		f, err := factory(bc.Namespace)
		if err != nil {
			errs = append(errs, fmt.Errorf("backend %s: %w", bc.Key, err))
		}
		rbs[i] = routeBackend{cfg: bc, st: b, fac: f}
	}
	for key, b := range l.backends {
		if keep[key] != b {
			e.removeBackend(l, b)
		}
	}
	l.backends = keep
	l.forgetEnded()
	l.route.Store(&route{lis: *lc, backends: rbs, eligible: eligible(lc.Backends)})

	f, err := factory(lc.Namespace)
	if err != nil {
		// Nothing can listen where the table says: an old socket would
		// serve an address or a namespace no longer wanted.
		e.closeSocket(l)
		return errors.Join(append(errs, err)...)
	}
	if s := l.sock; s != nil && s.fac == f && s.addr == lc.Addr {
		return errors.Join(errs...)
	}
	if l.sock != nil {
		e.log.Info("rebinding listener", "listener", l.key, "from", l.sock.addr, "to", lc.Addr, "netns", lc.Namespace)
	}
	// Close before binding anew: the same address in the same namespace
	// cannot have two listening sockets. Flows of the old socket go on.
	e.closeSocket(l)
	ln, err := listenIn(ctx, f, lc.Addr)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	l.sock = &boundSocket{ln: ln, fac: f, addr: lc.Addr}
	e.wg.Add(1)
	// Flows outlive this Set call; they end by reset, never by the
	// cancellation of its context.
	go e.accept(context.WithoutCancel(ctx), l, ln)
	return errors.Join(errs...)
}

func (e *Engine) closeSocket(l *listener) {
	if l.sock != nil {
		l.sock.ln.Close()
		l.sock = nil
	}
}

// retire closes l's socket and keeps its flows, whatever their backends'
// settings, until they end: l takes no new flow. Its backends become
// released ones, which the idle sweep and Prune still reach.
func (e *Engine) retire(l *listener) {
	e.closeSocket(l)
	for _, b := range l.backends {
		b.release()
		l.released[b] = struct{}{}
		e.forgetBackend(l, b)
	}
	l.backends = map[string]*backend{}
	l.retired = true
	e.forgetListener(l)
	e.log.Info("listener retired: its flows go on", "listener", l.key)
}

// dropIfEnded forgets a retired listener once its flows have ended.
func (e *Engine) dropIfEnded(l *listener) {
	if l.forgetEnded() {
		delete(e.listeners, l.key)
	}
}

// forgetEnded drops the released backends whose flows have all ended, and
// reports whether none is left.
func (l *listener) forgetEnded() bool {
	for b := range l.released {
		if b.empty() {
			delete(l.released, b)
		}
	}
	return len(l.released) == 0
}

// forgetListener drops the metric series of l's own (the connections that
// got no backend), once l takes no more connections.
func (e *Engine) forgetListener(l *listener) {
	if e.exp != nil {
		e.exp.sync(l.key, "", &l.unassigned)
		e.exp.forget(l.key, "")
	}
}

// removeListener closes l's socket and resets its flows, those that
// outlived a drain included.
func (e *Engine) removeListener(l *listener) {
	e.closeSocket(l)
	for _, b := range l.backends {
		if n := b.resetAll(); n > 0 {
			e.log.Info("listener removed: flows reset", "listener", l.key, "backend", b.key, "flows", n)
		}
		e.forgetBackend(l, b)
	}
	for b := range l.released {
		b.resetAll()
	}
	l.backends, l.released = nil, nil
	e.forgetListener(l)
}

// removeBackend takes b out of l: it resets b's flows, or keeps them among
// l's released ones if they outlive its removal; b takes no more.
func (e *Engine) removeBackend(l *listener, b *backend) {
	n, released := b.remove()
	if n > 0 {
		e.log.Info("backend removed: flows reset", "listener", l.key, "backend", b.key, "flows", n)
	}
	if released {
		l.released[b] = struct{}{}
	}
	e.forgetBackend(l, b)
}

// forgetBackend drops the metric series of b, a backend l no longer has.
func (e *Engine) forgetBackend(l *listener, b *backend) {
	if e.exp != nil {
		e.exp.sync(l.key, b.key, &b.ctr)
		e.exp.forget(l.key, b.key)
	}
}

// accept serves one listening socket until it is closed.
func (e *Engine) accept(ctx context.Context, l *listener, ln *listenSock) {
	defer e.wg.Done()
	var delay time.Duration
	for {
		c, from, err := ln.accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off as
			// net/http does, rather than spin.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			e.log.Warn("accept", "listener", l.key, "err", err, "retry_in", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		e.wg.Add(1)
		go e.serve(ctx, l, c, from)
	}
}

// Run serves until ctx is done, then closes every listener, resets every
// flow and waits for them to end. Meanwhile it resets the flows that
// stay idle longer than their listener's IdleTimeout. It returns nil.
func (e *Engine) Run(ctx context.Context) error {
	var tick <-chan time.Time
	if e.exp != nil {
		t := time.NewTicker(exportInterval)
		defer t.Stop()
		tick = t.C
	}
	sweep := time.NewTimer(sweepMax)
	defer sweep.Stop()
	arm := func() {
		if d := time.Duration(e.sweepEvery.Load()); d > 0 {
			sweep.Reset(d)
		} else {
			sweep.Stop()
		}
	}
	arm()
	for {
		select {
		case <-ctx.Done():
			e.shutdown()
			return nil
		case <-tick:
			e.export()
		case <-e.sweepWake:
			arm()
		case <-sweep.C:
			e.sweepIdle(monoNow())
			arm()
		}
	}
}

// sweepIdle resets the flows idle for longer than their listener's idle
// timeout at now (monoNow), bytes and segments without bytes (a peer's
// keepalive probes) counting as activity. It walks each backend's
// registry under the backend's mutex, which a flow takes only to
// register and deregister, for the flows without a byte for half their
// timeout; it looks at their segments (flow.expired) after, and resets
// the expired ones. A flow's sockets are read through their RawConn,
// which fails once the flow has closed them, so a flow that ended
// meanwhile is safe to look at.
func (e *Engine) sweepIdle(now int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var quiet, idle []*flow
	for _, l := range e.listeners {
		r := l.route.Load()
		if r == nil || r.lis.IdleTimeout <= 0 {
			continue
		}
		timeout := r.lis.IdleTimeout
		quiet = quiet[:0]
		for _, b := range l.backends {
			quiet = b.appendIdle(quiet, now, timeout/2)
		}
		for b := range l.released {
			quiet = b.appendIdle(quiet, now, timeout/2)
		}
		idle = idle[:0]
		for _, f := range quiet {
			if f.expired(now, timeout, (*flow).segsIn) {
				idle = append(idle, f)
			}
		}
		if n := abortAll(idle); n > 0 {
			e.log.Debug("idle timeout: flows reset", "listener", l.key, "idle_timeout", timeout, "flows", n)
		}
	}
	for _, l := range e.listeners {
		if l.retired {
			e.dropIfEnded(l)
		}
	}
}

func (e *Engine) shutdown() {
	e.mu.Lock()
	e.closed = true
	for key, l := range e.listeners {
		e.removeListener(l)
		delete(e.listeners, key)
	}
	e.mu.Unlock()
	e.wg.Wait()
	e.socks.closeAll()
	e.pipes.close()
}

// ListenerStats are a listener's counters. The listener's NewConns count
// every accepted connection, its backends' those assigned to them.
type ListenerStats struct {
	Key                           string
	Backends                      []BackendStats
	NewConns, ActiveConns, Resets uint64
	// BytesIn went from clients to backends, BytesOut back.
	BytesIn, BytesOut uint64
}

// BackendStats are a backend's counters within its listener.
type BackendStats struct {
	Key                           string
	NewConns, ActiveConns, Resets uint64
	BytesIn, BytesOut             uint64
}

// Stats returns the counters of the current listeners and backends,
// sorted by key. Bytes are counted as they pass, in chunks of at most
// countChunk per direction and flow.
func (e *Engine) Stats() []ListenerStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]ListenerStats, 0, len(e.listeners))
	for _, l := range e.listeners {
		if l.retired {
			continue
		}
		s := ListenerStats{
			Key:         l.key,
			NewConns:    l.ctr.newConns.Load(),
			ActiveConns: uint64(max(l.ctr.active.Load(), 0)),
			Resets:      l.ctr.resets.Load(),
			BytesIn:     l.ctr.bytesIn.Load(),
			BytesOut:    l.ctr.bytesOut.Load(),
		}
		for _, b := range l.backends {
			s.Backends = append(s.Backends, BackendStats{
				Key:         b.key,
				NewConns:    b.ctr.newConns.Load(),
				ActiveConns: uint64(max(b.ctr.active.Load(), 0)),
				Resets:      b.ctr.resets.Load(),
				BytesIn:     b.ctr.bytesIn.Load(),
				BytesOut:    b.ctr.bytesOut.Load(),
			})
		}
		slices.SortFunc(s.Backends, func(a, b BackendStats) int { return cmp.Compare(a.Key, b.Key) })
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b ListenerStats) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

func (e *Engine) export() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range e.listeners {
		if l.retired {
			continue
		}
		e.exp.sync(l.key, "", &l.unassigned)
		for _, b := range l.backends {
			e.exp.sync(l.key, b.key, &b.ctr)
		}
	}
}
