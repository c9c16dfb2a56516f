package forwarder

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/privlink/privlink/internal/dataplane/netns"
	"golang.org/x/sys/unix"
)

// A socket belongs to the network namespace of the thread that created it,
// for life: bind, listen, connect and accept work on it from any thread.
// So the only namespace-bound step is socket(2) itself. A factory keeps
// its namespace open and makes sockets on a thread that enters it just for
// that (netns.Do): no thread stays in a namespace, so a thousand
// namespaces that only listen cost a thousand descriptors, not a thousand
// threads.
//
// Entering a namespace costs more than the socket itself: a factory that
// prefetches keeps a stock of IPv4 sockets that flows take under a mutex,
// refilled in one batch, one switch, when it runs low. A flow then costs
// no namespace switch and no thread switch.

// Stock levels of a prefetching factory: a take that leaves fewer than
// stockLow sockets starts a refill to stockFill. The stock is made on the
// first demand, so a namespace that only listens holds none.
const (
	stockLow  = 8
	stockFill = 32
)

// errPause is how long a factory waits after socket(2) failed (say with
// EMFILE) before it refills again, so that a lasting failure does not
// spin; sockets asked for meanwhile are still tried, one each.
const errPause = 100 * time.Millisecond

// listenBacklog is the accept queue asked for; the kernel caps it at the
// namespace's net.core.somaxconn.
const listenBacklog = 4096

var (
	errNoNamespace   = errors.New("network namespace does not exist")
	errFactoryClosed = errors.New("socket factory closed")
)

type sockResult struct {
	fd  int
	err error
}

// nsFactory makes TCP sockets in one network namespace.
type nsFactory struct {
	name     string
	id       netns.ID // of the namespace h holds
	prefetch bool     // keeps a stock of IPv4 sockets

	// tuneOnce readies the namespace for dialling (tuneForProxy) on its
	// first outbound socket. A namespace that only listens is never
	// tuned.
	tuneOnce sync.Once

	// hmu guards h's life: every entry into the namespace holds it for
	// reading, and close for writing, so the descriptor is never used
	// after close (its number could name another file by then).
	hmu sync.RWMutex
	h   netns.Handle

	mu        sync.Mutex
	closed    bool
	stock     []int     // IPv4 sockets made ahead, taken from the end
	refilling bool      // a refill runs
	failedAt  time.Time // of the last refill that failed
	refills   sync.WaitGroup
}

// openFactory opens a factory for the namespace now mounted at name.
func openFactory(name string, prefetch bool) (*nsFactory, error) {
	h, err := netns.Open(name)
	if err != nil {
		return nil, err
	}
	// The identity of what was opened, not of what IDOf saw before: the
	// name may have been re-created in between.
	var st unix.Stat_t
	if err := unix.Fstat(int(h), &st); err != nil {
		h.Close()
		return nil, fmt.Errorf("stat netns %s: %w", name, err)
	}
	return &nsFactory{
		name:     name,
		id:       netns.ID{Ino: st.Ino, Ctime: st.Ctim.Nano()},
		prefetch: prefetch,
		h:        h,
	}, nil
}

// outboundSockets makes up to n sockets of family for connections out of
// the namespace, in one namespace switch, and returns those made and the
// error that stopped it early.
func (f *nsFactory) outboundSockets(family, n int) ([]int, error) {
	fds := make([]int, 0, n)
	var failed error
	err := f.in(func() error {
		f.tuneOnce.Do(tuneForProxy)
		for range n {
			r := newSocket(family, sockOpts[:])
			if r.err != nil {
				failed = r.err
				break
			}
			fds = append(fds, r.fd)
		}
		return nil
	})
	return fds, cmp.Or(err, failed)
}

// in runs fn inside the factory's namespace.
func (f *nsFactory) in(fn func() error) error {
	f.hmu.RLock()
	defer f.hmu.RUnlock()
	if f.h < 0 {
		return fmt.Errorf("netns %s: %w", f.name, errFactoryClosed)
	}
	return netns.Do(f.h, fn)
}

// proxySysctls are the namespace settings a proxy that dials from it needs.
// The side that closes first keeps the connection in TIME_WAIT for 60 s,
// and towards a backend that is usually the forwarder: with one source
// address and one backend, the ~28,000 default ephemeral ports would cap
// new flows at a few hundred a second. Reusing TIME_WAIT ports (safe with
// TCP timestamps, on by default) and the wider range lift that, as load
// balancers do.
var proxySysctls = [...]struct{ path, value string }{
	{"/proc/sys/net/ipv4/tcp_tw_reuse", "1"},
	{"/proc/sys/net/ipv4/ip_local_port_range", "1024 65535"},
}

// tuneForProxy applies proxySysctls to the namespace of the calling
// thread (/proc/sys/net shows the namespace of the thread that opens it).
// It is best effort: without them the forwarder works, with fewer new
// flows per second to one backend.
func tuneForProxy() {
	for _, s := range proxySysctls {
		_ = os.WriteFile(s.path, []byte(s.value), 0o644)
	}
}

// refill tops the stock up to stockFill, in one namespace switch.
func (f *nsFactory) refill() {
	defer f.refills.Done()
	f.mu.Lock()
	need := stockFill - len(f.stock)
	f.mu.Unlock()
	fds, err := f.outboundSockets(unix.AF_INET, max(need, 0))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refilling = false
	if err != nil {
		f.failedAt = time.Now()
	}
	if f.closed {
		// Closed meanwhile: nobody takes these.
		for _, fd := range fds {
			unix.Close(fd)
		}
		return
	}
	f.stock = append(f.stock, fds...)
}

// sockOpt is a socket option with an int value.
type sockOpt struct{ level, opt, value int }

// sockOpts are set on every socket the forwarder makes. A listening
// socket's accepted sockets inherit them (Linux copies them on accept), so
// the client's side of a flow needs no setsockopt on its path; outbound
// sockets get them as they are made, ahead and in batches. TCP_NODELAY:
// the forwarder passes on segments as they come, and Nagle would hold a
// small one back until the last is acknowledged.
//
// No keepalive, as an NLB sends none: the listener's idle timeout ends
// the flows whose peer died silently. The peers' own keepalive probes
// reach the forwarder's sockets and count as activity for that timeout
// (see flow.expired); probes of the forwarder's own would draw answers
// that looked like the peers' activity.
var sockOpts = [...]sockOpt{
	{unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
}

// newSocket makes a non-blocking TCP socket with opts.
func newSocket(family int, opts []sockOpt) sockResult {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return sockResult{fd: -1, err: fmt.Errorf("socket: %w", err)}
	}
	for _, o := range opts {
		if err := rawSetsockoptInt(fd, o.level, o.opt, o.value); err != nil {
			unix.Close(fd)
			return sockResult{fd: -1, err: fmt.Errorf("setsockopt: %w", err)}
		}
	}
	return sockResult{fd: fd}
}

// socket returns a new TCP socket of family in the factory's namespace:
// from the stock if there is one, else made on request.
func (f *nsFactory) socket(ctx context.Context, family int) (int, error) {
	if f == nil {
		return -1, errNoNamespace
	}
	if family != unix.AF_INET || !f.prefetch {
		return f.request(ctx, family)
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return -1, fmt.Errorf("netns %s: %w", f.name, errFactoryClosed)
	}
	fd := -1
	if n := len(f.stock); n > 0 {
		fd = f.stock[n-1]
		f.stock = f.stock[:n-1]
	}
	if len(f.stock) < stockLow && !f.refilling && time.Since(f.failedAt) >= errPause {
		f.refilling = true
		f.refills.Add(1)
		go f.refill()
	}
	f.mu.Unlock()
	if fd >= 0 {
		return fd, nil
	}
	return f.request(ctx, family)
}

// request makes a socket for a connection out of the namespace now.
// Entering the namespace does not block, so ctx is not consulted.
func (f *nsFactory) request(_ context.Context, family int) (int, error) {
	if f == nil {
		return -1, errNoNamespace
	}
	fds, err := f.outboundSockets(family, 1)
	if len(fds) == 0 {
		return -1, err
	}
	return fds[0], nil
}

// listenSocket makes a socket to listen on, with sockOpts: the
// connections it accepts inherit them.
func (f *nsFactory) listenSocket(family int) (int, error) {
	if f == nil {
		return -1, errNoNamespace
	}
	r := sockResult{fd: -1}
	if err := f.in(func() error {
		r = newSocket(family, sockOpts[:])
		return nil
	}); err != nil {
		return -1, err
	}
	return r.fd, r.err
}

// close closes the factory's stock and namespace; sockets asked for later
// fail with errFactoryClosed.
func (f *nsFactory) close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	stock := f.stock
	f.stock = nil
	f.mu.Unlock()
	for _, fd := range stock {
		unix.Close(fd)
	}
	f.refills.Wait()
	f.hmu.Lock()
	f.h.Close()
	f.h = -1
	f.hmu.Unlock()
}

// nsSockets keeps one factory per namespace name, and replaces a factory
// when its name now holds another namespace (deleted and created again).
// The zero value is ready (without prefetch); it is not on a flow's path.
type nsSockets struct {
	// prefetch: the factories keep a stock of IPv4 sockets, for flows.
	// Without it every socket is made on request, which suits a few
	// health checks a second and holds no descriptors.
	prefetch bool

	mu     sync.Mutex
	byName map[string]*nsFactory
}

// get returns the factory of the namespace now mounted at name, opening
// one if needed. It costs one stat when the factory is current. It fails
// with errNoNamespace when nothing is mounted at name.
func (p *nsSockets) get(name string) (*nsFactory, error) {
	id, ok, err := netns.IDOf(name)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.byName[name]
	if ok && old != nil && old.id == id {
		return old, nil
	}
	if old != nil {
		// The name is gone or holds a new namespace: the old
		// factory's descriptor and stock would only keep it alive.
		old.close()
		delete(p.byName, name)
	}
	if !ok {
		return nil, fmt.Errorf("netns %s: %w", name, errNoNamespace)
	}
	f, err := openFactory(name, p.prefetch)
	if err != nil {
		return nil, err
	}
	if p.byName == nil {
		p.byName = make(map[string]*nsFactory)
	}
	p.byName[name] = f
	return f, nil
}

// retain closes the factories of the names keep rejects.
func (p *nsSockets) retain(keep func(name string) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, f := range p.byName {
		if !keep(name) {
			f.close()
			delete(p.byName, name)
		}
	}
}

// closeAll closes every factory.
func (p *nsSockets) closeAll() { p.retain(func(string) bool { return false }) }

func family(a netip.Addr) int {
	if a.Unmap().Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	a := ap.Addr().Unmap()
	if a.Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
}

// listenIn opens a listening TCP socket at addr in f's namespace. It sets
// SO_REUSEADDR, so a restart rebinds over connections in TIME_WAIT, and
// IP_FREEBIND, so the socket can bind before the address is configured
// (an ENI's address may appear a little after its listener).
func listenIn(ctx context.Context, f *nsFactory, addr netip.AddrPort) (*listenSock, error) {
	fam := family(addr.Addr())
	fd, err := f.listenSocket(fam)
	if err != nil {
		return nil, err
	}
	err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err == nil {
		if fam == unix.AF_INET {
			err = unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_FREEBIND, 1)
		} else {
			err = unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("setsockopt: %w", err)
	}
	if err := unix.Bind(fd, sockaddr(addr)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind %s: %w", addr, err)
	}
	if err := unix.Listen(fd, listenBacklog); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	s, err := newSock(fd, "listener "+addr.String())
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return &listenSock{sock: *s}, nil
}

// outbound returns an unconnected TCP socket for a connection to a peer of
// family fam from f's namespace, bound to src (port 0) when src is valid.
// IP_BIND_ADDRESS_NO_PORT defers the choice of the port to connect, which
// then picks it for the 4-tuple: a source address can carry more than the
// ephemeral range of flows, one range per destination.
func outbound(ctx context.Context, f *nsFactory, src netip.Addr, fam int) (int, error) {
	fd, err := f.socket(ctx, fam)
	if err != nil {
		return -1, err
	}
	if src.IsValid() {
		// On an IPv6 socket the option is best effort.
		if err := rawSetsockoptInt(fd, unix.SOL_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil && fam == unix.AF_INET {
			unix.Close(fd)
			return -1, fmt.Errorf("setsockopt IP_BIND_ADDRESS_NO_PORT: %w", err)
		}
		sa := makeRawSockaddr(netip.AddrPortFrom(src, 0))
		if err := rawBind(fd, &sa); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("bind %s: %w", src, err)
		}
	}
	return fd, nil
}

// newOutbound is outbound as a net.TCPConn, for the health checks' HTTP
// and TLS. It is wrapped before connect so that connect can wait on the
// runtime poller and so that closing it aborts the connect.
func newOutbound(ctx context.Context, f *nsFactory, src netip.Addr, fam int) (*net.TCPConn, error) {
	fd, err := outbound(ctx, f, src, fam)
	if err != nil {
		return nil, err
	}
	file := os.NewFile(uintptr(fd), "outbound")
	c, err := net.FileConn(file) // a duplicate, on the poller
	file.Close()
	if err != nil {
		return nil, fmt.Errorf("wrap socket: %w", err)
	}
	return c.(*net.TCPConn), nil
}

// sock is one of a flow's sockets: non-blocking, on the runtime poller
// through an os.File, which costs an fcntl and an epoll_ctl. That gives a
// flow all it needs: readiness waits through RawConn, Write, a write
// deadline and Close. Wrapping the socket with net.FileConn took twelve
// more calls (a dup and the close of the original, two fcntls, three
// lookups, five setsockopts for options the socket already has), and
// net's accept five more than accept4 and this.
type sock struct {
	file *os.File
	raw  syscall.RawConn
}

func newSock(fd int, name string) (*sock, error) {
	file := os.NewFile(uintptr(fd), name)
	raw, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("wrap socket: %w", err)
	}
	return &sock{file: file, raw: raw}, nil
}

// newOutboundSock is outbound as a flow's sock.
func newOutboundSock(ctx context.Context, f *nsFactory, src netip.Addr, fam int) (*sock, error) {
	fd, err := outbound(ctx, f, src, fam)
	if err != nil {
		return nil, err
	}
	return newSock(fd, "outbound")
}

// listenSock is a listening socket on the runtime poller, like a sock.
type listenSock struct {
	sock
	closed atomic.Bool // set before the file is closed
}

// Close closes the socket; a pending accept returns net.ErrClosed.
func (ln *listenSock) Close() error {
	ln.closed.Store(true)
	return ln.file.Close()
}

// accept accepts a connection, waiting on the runtime poller, and returns
// it with the client's address. The error of a closed listener is
// net.ErrClosed.
func (ln *listenSock) accept() (*sock, netip.AddrPort, error) {
	var fd int
	var from netip.AddrPort
	var aerr error
	err := ln.raw.Read(func(lfd uintptr) bool {
		for {
			fd, from, aerr = rawAccept4(int(lfd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			switch aerr {
			case unix.ECONNABORTED:
				// Reset while queued: take the next one.
				continue
			case unix.EAGAIN:
				return false // wait for a connection
			}
			return true
		}
	})
	if err != nil && ln.closed.Load() {
		err = net.ErrClosed
	}
	if err == nil && aerr != nil {
		err = fmt.Errorf("accept: %w", aerr)
	}
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	c, err := newSock(fd, "accepted")
	return c, from, err
}

// SyscallConn returns the socket's RawConn.
func (s *sock) SyscallConn() (syscall.RawConn, error) { return s.raw, nil }

// SetWriteDeadline bounds Write and the waits of raw writes.
func (s *sock) SetWriteDeadline(t time.Time) error { return s.file.SetWriteDeadline(t) }

// Write writes all of b, waiting on the poller when the socket is full.
func (s *sock) Write(b []byte) (int, error) { return s.file.Write(b) }

// Close closes the socket; waits on it return an error.
func (s *sock) Close() error { return s.file.Close() }

// closeWrite sends a FIN after the data queued.
func (s *sock) closeWrite() error {
	var err error
	if cerr := s.raw.Control(func(fd uintptr) { err = rawShutdown(int(fd), unix.SHUT_WR) }); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// reset closes the socket with an RST: SO_LINGER 0 makes close abort the
// connection.
func (s *sock) reset() {
	s.raw.Control(func(fd uintptr) {
		unix.SetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	})
	s.file.Close()
}

// pollConn is a socket on the runtime poller: a health check's TCPConn or
// a flow's sock.
type pollConn interface {
	syscall.Conn
	SetWriteDeadline(time.Time) error
}

// startConnect starts a non-blocking connect of s to dst and returns
// without waiting for the handshake.
func startConnect(s *sock, dst netip.AddrPort) error {
	sa := makeRawSockaddr(dst)
	var err error
	if cerr := s.raw.Control(func(fd uintptr) { err = rawConnect(int(fd), &sa) }); cerr != nil {
		return fmt.Errorf("connect %s: %w", dst, cerr)
	}
	if err != nil && err != unix.EINPROGRESS {
		return fmt.Errorf("connect %s: %w", dst, err)
	}
	return nil
}

// connecting reports whether s is still in its handshake (SYN sent). A
// closed socket is not.
func connecting(s *sock) bool {
	var state uint8
	s.raw.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			state = info.State
		}
	})
	return state == tcpSynSent
}

// segsIn returns how many segments s has received (tcp_info's
// tcpi_segs_in): every one, those without a byte such as a peer's
// keepalive probes included. It reports false once s is closed.
// RawConn.Control holds the descriptor open while it runs and fails after
// Close, so it never reads a number that was closed and reused meanwhile.
func (s *sock) segsIn() (uint32, bool) {
	var n uint32
	var err error
	if cerr := s.raw.Control(func(fd uintptr) {
		var info *unix.TCPInfo
		if info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			n = info.Segs_in
		}
	}); cerr != nil {
		return 0, false
	}
	return n, err == nil
}

// tcpSynSent is TCP_SYN_SENT of the kernel's tcp_states.h, the state of
// tcp_info while a connect waits for the handshake.
const tcpSynSent = 2

// connect connects c to dst without blocking a thread: a non-blocking
// connect, then a wait on the poller for writability, bounded by timeout
// and by ctx. Closing c meanwhile aborts it.
func connect(ctx context.Context, c pollConn, dst netip.AddrPort, timeout time.Duration) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("connect %s: %w", dst, err)
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.SetWriteDeadline(deadline); err != nil {
		return fmt.Errorf("connect %s: %w", dst, err)
	}
	// A context that cannot be cancelled (the engine's flows end by
	// reset, not cancellation) costs nothing here.
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { c.SetWriteDeadline(aLongTimeAgo) })
		defer stop()
	}
	sa := makeRawSockaddr(dst)
	var cerr error
	err = raw.Write(func(fd uintptr) bool {
		// Once the poller says writable, connect again: on Linux it
		// returns 0 (or EISCONN) once connected, the handshake's error
		// if it failed, and EALREADY if still in progress (the poller
		// can wake spuriously). One call where SO_ERROR and
		// getpeername would take two.
		cerr = rawConnect(int(fd), &sa)
		switch cerr {
		case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
			return false // wait for writability
		case unix.EISCONN:
			cerr = nil
		}
		return true
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("connect %s: %w", dst, context.Cause(ctx))
		case errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Errorf("connect %s: %w", dst, errConnectTimeout)
		}
		return fmt.Errorf("connect %s: %w", dst, err)
	}
	if err := c.SetWriteDeadline(time.Time{}); err != nil {
		return fmt.Errorf("connect %s: %w", dst, err)
	}
	return nil
}
