package vpcdns

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// udpWorkers goroutines read each resolver's UDP socket.
	udpWorkers = 2
	// maxUDPQuery is the largest UDP query read whole; the rest of a
	// larger datagram is cut off and the query answered FORMERR.
	maxUDPQuery = 4096
	// maxTCPConns is the most TCP connections a resolver holds open;
	// it closes further ones at once.
	maxTCPConns = 256
	// tcpIdleTimeout closes a TCP connection that sends no query for
	// this long (RFC 7766 recommends seconds).
	tcpIdleTimeout = 10 * time.Second
	// tcpWriteTimeout closes a TCP connection whose client does not
	// read its replies.
	tcpWriteTimeout = 10 * time.Second
)

// listeners are a resolver's sockets and the identity of the namespace in
// which they were opened.
type listeners struct {
	nsID string
	udp  net.PacketConn
	tcp  net.Listener
}

func (l listeners) close() {
	l.udp.Close()
	l.tcp.Close()
}

// resolver serves one table on one pair of sockets.
type resolver struct {
	ns      string
	addr    netip.Addr
	nsID    string
	log     *slog.Logger
	queries QueryCounter
	table   atomic.Pointer[table]
	l       listeners
	wg      sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// newResolver starts serving t on l.
func newResolver(log *slog.Logger, queries QueryCounter, ns string, addr netip.Addr, l listeners, t *table) *resolver {
	r := &resolver{
		ns:      ns,
		addr:    addr,
		nsID:    l.nsID,
		log:     log.With("namespace", ns, "addr", addr),
		queries: queries,
		l:       l,
		conns:   make(map[net.Conn]struct{}),
	}
	if t == nil {
		t = emptyTable
	}
	r.table.Store(t)
	for range udpWorkers {
		r.wg.Go(r.serveUDP)
	}
	r.wg.Go(r.serveTCP)
	return r
}

// stop closes r's sockets and connections and waits for its goroutines.
func (r *resolver) stop() {
	r.l.close()
	r.mu.Lock()
	r.closed = true
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// handle answers one query with the current table. A panic (a bug: handle
// is fuzzed not to) costs the query, not the process that serves every VPC.
func (r *resolver) handle(query []byte, tcp bool) (reply []byte) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("vpcdns: panic answering a query", "panic", p, "query", hex.EncodeToString(query))
			reply = nil
		}
	}()
	reply, rcode := r.table.Load().handle(query, tcp)
	if rcode != noReply && r.queries != nil {
		r.queries.Inc(rcodeName(rcode))
	}
	return reply
}

func (r *resolver) serveUDP() {
	buf := make([]byte, maxUDPQuery)
	for {
		n, from, err := r.l.udp.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			r.log.Warn("vpcdns: read UDP", "err", err)
			continue
		}
		if reply := r.handle(buf[:n], false); reply != nil {
			if _, err := r.l.udp.WriteTo(reply, from); err != nil && !errors.Is(err, net.ErrClosed) {
				r.log.Debug("vpcdns: write UDP reply", "to", from, "err", err)
			}
		}
	}
}

func (r *resolver) serveTCP() {
	var delay time.Duration
	for {
		c, err := r.l.tcp.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Such as running out of file descriptors: back off
			// as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			r.log.Warn("vpcdns: accept TCP", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if !r.track(c) {
			c.Close()
			continue
		}
		r.wg.Go(func() {
			defer r.untrack(c)
			r.serveConn(c)
		})
	}
}

// track records c so that stop closes it; it reports false if r is
// stopping or holds too many connections.
func (r *resolver) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || len(r.conns) >= maxTCPConns {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *resolver) untrack(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	c.Close()
}

// serveConn answers length-prefixed queries on c in order (RFC 1035
// 4.2.2) until the client closes it, sends nothing for tcpIdleTimeout, or
// the resolver stops.
func (r *resolver) serveConn(c net.Conn) {
	var prefix [2]byte
	for {
		c.SetReadDeadline(time.Now().Add(tcpIdleTimeout))
		if _, err := io.ReadFull(c, prefix[:]); err != nil {
			return
		}
		query := make([]byte, binary.BigEndian.Uint16(prefix[:]))
		if _, err := io.ReadFull(c, query); err != nil {
			return
		}
		reply := r.handle(query, true)
		if reply == nil {
			continue
		}
		// One write for prefix and message: two would cost a delayed
		// ACK when Nagle holds the second.
		out := make([]byte, 2+len(reply))
		binary.BigEndian.PutUint16(out, uint16(len(reply)))
		copy(out[2:], reply)
		c.SetWriteDeadline(time.Now().Add(tcpWriteTimeout))
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}
