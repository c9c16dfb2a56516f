package forwarder

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// countChunk is how many bytes one direction of a flow moves before it
// adds them to the counters: long flows show in Stats as they go, and a
// flow of small messages makes no shared atomic add per message.
const countChunk = 1 << 20

// backend is the engine's state of one backend key of one listener: its
// counters and its flows. It outlives tables that keep the key.
type backend struct {
	key string
	ctr counters

	// mu guards the flow registry and the reset state. Flows take it
	// only to register and deregister; the idle sweep, to look at them.
	mu    sync.Mutex
	flows map[*flow]struct{}
	// removed: the backend left its listener; its flows were reset, or
	// released (keepFlows), and it takes no more.
	removed bool
	// Reset state, set by apply: resetting when the configuration wants
	// the flows reset at resetAt (the end of a drain, or a deadline for
	// an unhealthy backend). expired: resetAt has passed and the flows
	// were reset; a flow that chose the backend from an older route must
	// not register after that.
	resetting bool
	expired   bool
	resetAt   time.Time
	resetGen  uint64 // invalidates a timer that fires after a change
	timer     *time.Timer
	// keepFlows: the backend's flows outlive its drain and its removal
	// (Backend.KeepFlows); removed, it releases them rather
	// than reset them.
	keepFlows bool
}

// register adds f to b's flows, unless b no longer takes flows.
func (b *backend) register(f *flow, l *listener) bool {
	b.mu.Lock()
	ok := !b.removed && !b.expired
	if ok {
		b.flows[f] = struct{}{}
	}
	b.mu.Unlock()
	if ok {
		l.ctr.active.Add(1)
		b.ctr.active.Add(1)
	}
	return ok
}

func (b *backend) deregister(f *flow, l *listener) {
	b.mu.Lock()
	delete(b.flows, f)
	b.mu.Unlock()
	l.ctr.active.Add(-1)
	b.ctr.active.Add(-1)
}

// takeFlows returns b's flows; b.mu must be held. The flows deregister
// themselves when they end.
func (b *backend) takeFlows() []*flow {
	out := make([]*flow, 0, len(b.flows))
	for f := range b.flows {
		out = append(out, f)
	}
	return out
}

func abortAll(fs []*flow) int {
	for _, f := range fs {
		f.abort()
	}
	return len(fs)
}

// resetTime returns when the flows of a backend configured as c are to be
// reset, and false if they are not to be: a drain's end unless the flows
// outlive it, an unhealthy backend's deadline unless its listener fails
// open.
func (c *Backend) resetTime(failOpen bool) (time.Time, bool) {
	switch c.State {
	case Draining:
		return c.DrainUntil, !c.KeepFlows
	case Unhealthy:
		return c.UnhealthyResetAt, !c.UnhealthyResetAt.IsZero() && !failOpen
	}
	return time.Time{}, false
}

// apply takes the backend's new configuration, in a listener that fails
// open or not: it schedules, moves or cancels the reset of its flows, and
// resets them at once if their time is past. It returns the number of
// flows reset.
func (b *backend) apply(c Backend, failOpen bool, now time.Time) int {
	at, reset := c.resetTime(failOpen)
	b.mu.Lock()
	b.keepFlows = c.KeepFlows
	if !reset {
		if b.resetting {
			b.stopReset()
		}
		b.mu.Unlock()
		return 0
	}
	if b.resetting && b.resetAt.Equal(at) {
		b.mu.Unlock()
		return 0 // unchanged: the common case of an equal table
	}
	b.stopReset()
	b.resetting, b.resetAt = true, at
	if d := at.Sub(now); d > 0 {
		// One timer per backend with a deadline, none per flow.
		gen := b.resetGen
		b.timer = time.AfterFunc(d, func() { b.expire(gen) })
		b.mu.Unlock()
		return 0
	}
	b.expired = true
	fs := b.takeFlows()
	b.mu.Unlock()
	return abortAll(fs)
}

// stopReset cancels the reset state; b.mu must be held.
func (b *backend) stopReset() {
	b.resetting, b.expired = false, false
	b.resetGen++
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
}

// expire is the reset timer: it resets the flows, unless the
// configuration changed since the timer was set.
func (b *backend) expire(gen uint64) {
	b.mu.Lock()
	if gen != b.resetGen || b.removed {
		b.mu.Unlock()
		return
	}
	b.expired = true
	fs := b.takeFlows()
	b.mu.Unlock()
	abortAll(fs)
}

// remove takes b out of its listener: it resets b's flows and returns how
// many, or, when b's flows outlive its removal, leaves them be and reports
// whether any are left (the listener keeps such a backend among its
// released ones).
func (b *backend) remove() (reset int, released bool) {
	b.mu.Lock()
	b.removed = true
	b.stopReset()
	if b.keepFlows {
		released = len(b.flows) > 0
		b.mu.Unlock()
		return 0, released
	}
	fs := b.takeFlows()
	b.mu.Unlock()
	return abortAll(fs), false
}

// release takes b out of its listener and leaves its flows to end on
// their own: no reset is due any more, and b takes no new flow.
func (b *backend) release() {
	b.mu.Lock()
	b.removed = true
	b.stopReset()
	b.mu.Unlock()
}

// resetAll resets b's flows for good, released ones included, and
// returns how many.
func (b *backend) resetAll() int {
	b.mu.Lock()
	b.removed = true
	b.stopReset()
	fs := b.takeFlows()
	b.mu.Unlock()
	return abortAll(fs)
}

// empty reports whether b has no flow left.
func (b *backend) empty() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.flows) == 0
}

// appendIdle appends to out the flows of b idle (no byte either way) for
// longer than d at now (monoNow).
func (b *backend) appendIdle(out []*flow, now int64, d time.Duration) []*flow {
	b.mu.Lock()
	for f := range b.flows {
		if f.idleFor(now) > d {
			out = append(out, f)
		}
	}
	b.mu.Unlock()
	return out
}

// monoEpoch is the origin of monoNow.
var monoEpoch = time.Now()

// monoNow is the monotonic clock in nanoseconds since monoEpoch: what a
// flow records of its last activity, cheaply and immune to changes of the
// wall clock.
func monoNow() int64 { return int64(time.Since(monoEpoch)) }

// flow is one client connection and its connection to a backend.
type flow struct {
	l      *listener
	b      *backend
	pipes  *pipePool
	client *sock
	// server is set once the outbound socket exists, before it
	// connects, so that an abort also cancels the connect.
	server atomic.Pointer[sock]
	// eofs counts the directions that reached their source's EOF.
	eofs atomic.Int32
	// ended is set by whichever comes first, an abort (which resets both
	// sides) or the normal end (which closes them): exactly one of them
	// closes the connections and counts.
	ended atomic.Bool
	// Activity, for the idle timeout: last is when bytes last moved
	// (monoNow), set once per splice batch; busy counts the directions
	// holding bytes they are still writing, so that a flow whose
	// receiver is slow is not idle.
	last atomic.Int64
	busy atomic.Int32
	// watch is the idle sweep's own state of the flow (see expired):
	// only the sweep, which runs under Engine.mu, touches it.
	watch segWatch
}

// segWatch is a baseline of a flow's segment counters (flow.segsIn), read
// by the idle sweep once the flow has moved no byte for half its timeout.
type segWatch struct {
	set  bool
	at   int64     // when segs were read (monoNow)
	last int64     // the flow's last activity then: segs hold while it does
	segs [2]uint32 // client's and backend's sockets
}

// touch records activity now.
func (f *flow) touch() { f.last.Store(monoNow()) }

// idleFor returns how long f has been idle at now (monoNow).
func (f *flow) idleFor(now int64) time.Duration {
	if f.busy.Load() > 0 {
		return 0
	}
	return time.Duration(now - f.last.Load())
}

// expired is the idle sweep's verdict on f at now (monoNow), under an idle
// timeout: whether f is to be reset. segsIn reads f's segment counters
// (flow.segsIn in the engine). Only the sweep calls it, for flows idle
// longer than half their timeout (backend.appendIdle).
//
// On AWS, clients or targets can use TCP keepalive packets to reset the
// idle timeout. Probes carry no byte, and the kernel answers them without
// waking the flow, so they show only in the sockets' counts of received
// segments, one getsockopt each. The sweep reads those of a flow idle
// for half its timeout as a baseline; once the flow is idle past its
// timeout and the baseline is half a timeout old, it reads them again: a
// change means that the peers still talk TCP, which counts as activity
// at now, and the new counts become the next baseline; no change resets
// the flow. Bytes moved since the baseline make it stale, and it is read
// anew. A flow that moves bytes at least every half timeout costs no
// system call, any other at most two reads of its counters (a getsockopt
// per socket) per half timeout.
//
// Granularity: the sweep sees that segments came within a window, not
// when. Probes less than half a timeout apart keep a flow up for ever.
// After the last bytes, the first window spans only the second half of
// the timeout, so probes between half the timeout and the timeout apart
// (AWS only asks for keepalive intervals shorter than the timeout) may
// all miss it and the flow is reset; once one is seen, each window spans
// a whole timeout. A reset comes at most two sweep intervals after the
// timeout.
func (f *flow) expired(now int64, timeout time.Duration, segsIn func(*flow) ([2]uint32, bool)) bool {
	if f.ended.Load() || f.busy.Load() > 0 {
		return false
	}
	last := f.last.Load()
	half := int64(timeout / 2)
	if now-last <= half {
		return false
	}
	w := &f.watch
	if !w.set || w.last != last {
		// No baseline yet, or bytes moved since. A flow already idle
		// past its timeout (its listener's timeout was shortened, or
		// the sweep was held up) gets half a timeout to show a
		// segment, as any other.
		segs, _ := segsIn(f)
		*w = segWatch{set: true, at: now, last: last, segs: segs}
		return false
	}
	if now-last <= int64(timeout) || now-w.at < half {
		return false
	}
	segs, ok := segsIn(f)
	if !ok || segs == w.segs {
		return true
	}
	if !f.last.CompareAndSwap(last, now) {
		// Bytes moved meanwhile: that is activity too, and makes the
		// baseline stale.
		w.set = false
		return false
	}
	*w = segWatch{set: true, at: now, last: now, segs: segs}
	return false
}

// segsIn reads how many segments each of f's sockets has received, the
// client's and the backend's (0 before it exists). ok is false if a socket
// could not be read, that is once it is closed: the flow is ending.
func (f *flow) segsIn() (segs [2]uint32, ok bool) {
	if segs[0], ok = f.client.segsIn(); !ok {
		return segs, false
	}
	if s := f.server.Load(); s != nil {
		segs[1], ok = s.segsIn()
	}
	return segs, ok
}

// abort resets both connections (RST, not FIN) and counts a reset, unless
// the flow already ended.
func (f *flow) abort() {
	if !f.ended.CompareAndSwap(false, true) {
		return
	}
	f.l.ctr.resets.Add(1)
	f.b.ctr.resets.Add(1)
	f.client.reset()
	if s := f.server.Load(); s != nil {
		s.reset()
	}
}

// setServer records the outbound connection and reports whether the flow
// goes on. The store comes before the check of ended, and abort sets ended
// before it loads server, so one of the two always sees the other.
func (f *flow) setServer(s *sock) bool {
	f.server.Store(s)
	if f.ended.Load() {
		s.reset()
		return false
	}
	return true
}

// finish closes both connections normally, unless an abort came first.
func (f *flow) finish() {
	if f.ended.CompareAndSwap(false, true) {
		f.client.Close()
		f.server.Load().Close()
	}
}

// serve forwards one accepted connection, from client address from.
func (e *Engine) serve(ctx context.Context, l *listener, client *sock, from netip.AddrPort) {
	defer e.wg.Done()
	l.ctr.newConns.Add(1)
	r := l.route.Load()
	rb := r.choose(from)
	if rb == nil {
		l.unassigned.newConns.Add(1)
		l.unassigned.resets.Add(1)
		l.ctr.resets.Add(1)
		client.reset()
		return
	}
	b := rb.st
	b.ctr.newConns.Add(1)
	f := &flow{l: l, b: b, pipes: e.pipes.pick(from.Port()), client: client}
	f.touch() // a flow that never moves a byte is idle from its start
	// Registered before dialling, so that a removal or the end of a
	// drain also resets a flow still connecting.
	if !b.register(f, l) {
		f.abort()
		return
	}
	defer b.deregister(f, l)

	server, err := newOutboundSock(ctx, rb.fac, rb.cfg.Source, family(rb.cfg.Addr.Addr()))
	if err == nil {
		if !f.setServer(server) {
			return
		}
		err = startConnect(server, rb.cfg.Addr)
	}
	if err != nil {
		if !f.ended.Load() {
			e.log.Debug("dial backend", "listener", l.key, "backend", b.key, "client", from, "err", err)
		}
		f.abort()
		return
	}
	// The flow does not wait for the handshake: the client's bytes wait
	// for the socket to become writable, which it does once connected,
	// and a failed handshake comes back as the error of the next splice
	// in either direction, which resets the flow. That saves a wait and
	// a second connect per flow. Only the timeout needs a timer of its
	// own, which looks at the socket's state when it fires.
	timeout := time.AfterFunc(e.connectTimeout, func() {
		if connecting(server) {
			e.log.Debug("dial backend", "listener", l.key, "backend", b.key, "client", from, "err", errConnectTimeout)
			f.abort()
		}
	})
	defer timeout.Stop()
	// TCP_NODELAY is on both sockets: outbound ones get it from the
	// factory, accepted ones inherit it from the listening socket. They
	// have no keepalive: as on an NLB, the idle timeout ends a flow whose
	// peer died silently, and the peers' own keepalives keep a flow up
	// (see expired).
	// The PPv2 header, like the client's first bytes, waits for the
	// handshake in Write.
	if r.lis.ProxyProtocol {
		hdr := appendProxyV2(make([]byte, 0, 64), from, r.lis.Addr, r.lis.EndpointID)
		if _, err := server.Write(hdr); err != nil {
			f.abort()
			return
		}
	}
	f.run(server)
}

// run copies both directions with splice until both have ended. A clean
// end of one direction (EOF) is passed on as a half-close; an error in
// either resets the flow.
func (f *flow) run(server *sock) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f.pipe(f.client, server, false); err != nil {
			f.abort()
		}
	}()
	if err := f.pipe(server, f.client, true); err != nil {
		f.abort()
	}
	<-done
	f.finish()
}

// count adds n bytes of one direction to the counters.
func (f *flow) count(in bool, n uint64) {
	if n == 0 {
		return
	}
	if in {
		f.l.ctr.bytesIn.Add(n)
		f.b.ctr.bytesIn.Add(n)
	} else {
		f.l.ctr.bytesOut.Add(n)
		f.b.ctr.bytesOut.Add(n)
	}
}
