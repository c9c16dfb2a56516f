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

	// mu guards the flow registry and the drain state. Flows take it
	// only to register and deregister.
	mu    sync.Mutex
	flows map[*flow]struct{}
	// removed: the backend left its listener; its flows were reset and
	// it takes no more.
	removed bool
	// Drain state, set by apply. expired: DrainUntil has passed and the
	// flows were reset; a flow that chose the backend from an older
	// route must not register after that.
	draining   bool
	expired    bool
	drainUntil time.Time
	drainGen   uint64 // invalidates a timer that fires after a change
	timer      *time.Timer
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

// apply takes the backend's new configuration: it starts, moves or
// cancels the drain, and resets the flows at once if DrainUntil is past.
// It returns the number of flows reset.
func (b *backend) apply(c Backend, now time.Time) int {
	b.mu.Lock()
	if c.State != Draining {
		if b.draining {
			b.stopDrain()
		}
		b.mu.Unlock()
		return 0
	}
	if b.draining && b.drainUntil.Equal(c.DrainUntil) {
		b.mu.Unlock()
		return 0 // unchanged: the common case of an equal table
	}
	b.stopDrain()
	b.draining, b.drainUntil = true, c.DrainUntil
	if d := c.DrainUntil.Sub(now); d > 0 {
		// One timer per draining backend, none per flow.
		gen := b.drainGen
		b.timer = time.AfterFunc(d, func() { b.expire(gen) })
		b.mu.Unlock()
		return 0
	}
	b.expired = true
	fs := b.takeFlows()
	b.mu.Unlock()
	return abortAll(fs)
}

// stopDrain cancels the drain state; b.mu must be held.
func (b *backend) stopDrain() {
	b.draining, b.expired = false, false
	b.drainGen++
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
}

// expire is the drain timer: it resets the flows, unless the drain
// changed since the timer was set.
func (b *backend) expire(gen uint64) {
	b.mu.Lock()
	if gen != b.drainGen || b.removed {
		b.mu.Unlock()
		return
	}
	b.expired = true
	fs := b.takeFlows()
	b.mu.Unlock()
	abortAll(fs)
}

// remove resets b's flows for good and returns how many.
func (b *backend) remove() int {
	b.mu.Lock()
	b.removed = true
	b.stopDrain()
	fs := b.takeFlows()
	b.mu.Unlock()
	return abortAll(fs)
}

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
	// Keepalive and TCP_NODELAY are on both sockets: outbound ones get
	// them from the factory (the keepalive timing from their namespace's
	// sysctls), accepted ones inherit them from the listening socket.
	// Keepalive finds dead peers without an idle timeout; there is none.
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
