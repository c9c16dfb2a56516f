package forwarder

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/privlink/privlink/internal/dataplane/netns"
	"golang.org/x/sys/unix"
)

// A socket belongs to the network namespace of the thread that created it,
// for life: bind, listen, connect and accept work on it from any thread.
// So the only namespace-bound step is socket(2) itself. One long-lived
// goroutine per namespace, locked to a thread that sits in the namespace,
// creates the sockets, and everything else happens on ordinary goroutines.
// A flow then costs no namespace open or setns, only a channel receive.

// prefetch is how many IPv4 sockets a factory keeps made ahead, so that a
// burst of new flows does not wait for the factory's thread to wake.
const prefetch = 16

// errPause is how long a factory waits after socket(2) failed (say with
// EMFILE) before it tries again, so that a lasting failure does not spin.
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

type sockReq struct {
	family int
	reply  chan sockResult // buffered: the factory never blocks on it
}

// nsFactory makes TCP sockets in one network namespace.
type nsFactory struct {
	name string
	id   netns.ID // of the namespace the factory's thread is in
	v4   chan sockResult
	reqs chan sockReq // other families, made on request
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// startFactory starts a factory in the namespace now mounted at name.
func startFactory(name string) (*nsFactory, error) {
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
	f := &nsFactory{
		name: name,
		id:   netns.ID{Ino: st.Ino, Ctime: st.Ctim.Nano()},
		v4:   make(chan sockResult, prefetch),
		reqs: make(chan sockReq),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	entered := make(chan error, 1)
	go func() {
		defer close(f.done)
		defer h.Close()
		// netns.Do locks a fresh thread, enters the namespace, and
		// releases the thread only once it is back home.
		err := netns.Do(h, func() error {
			tuneForProxy()
			entered <- nil
			f.serve()
			return nil
		})
		if err != nil {
			// Either entering failed (the caller is waiting for
			// this), or restoring did and the thread dies with the
			// goroutine; the sockets made were right either way.
			select {
			case entered <- err:
			default:
			}
		}
	}()
	if err := <-entered; err != nil {
		return nil, fmt.Errorf("netns %s: %w", name, err)
	}
	return f, nil
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

// tuneForProxy applies proxySysctls to the namespace of the calling thread
// (/proc/sys/net shows the namespace of the thread that opens it). It is
// best effort: without the settings the forwarder works, with fewer new
// flows per second to one backend.
func tuneForProxy() {
	for _, s := range proxySysctls {
		_ = os.WriteFile(s.path, []byte(s.value), 0o644)
	}
}

// serve runs on the factory's thread, inside the namespace, until stop.
func (f *nsFactory) serve() {
	var next sockResult
	have := false
	defer func() {
		if have && next.err == nil {
			unix.Close(next.fd)
		}
		// Sockets made ahead that nobody took. A caller may still take
		// one concurrently; then it is that caller's.
		for {
			select {
			case r := <-f.v4:
				if r.err == nil {
					unix.Close(r.fd)
				}
			default:
				return
			}
		}
	}()
	for {
		if !have {
			next, have = newSocket(unix.AF_INET), true
		}
		select {
		case f.v4 <- next:
			have = false
			if next.err != nil {
				t := time.NewTimer(errPause)
				select {
				case <-t.C:
				case <-f.stop:
					t.Stop()
					return
				}
			}
		case req := <-f.reqs:
			req.reply <- newSocket(req.family)
		case <-f.stop:
			return
		}
	}
}

// newSocket makes a blocking TCP socket. Blocking on purpose: os.NewFile
// then leaves it out of the runtime poller, and net.FileConn registers the
// duplicate it makes (non-blocking) once.
func newSocket(family int) sockResult {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return sockResult{fd: -1, err: fmt.Errorf("socket: %w", err)}
	}
	return sockResult{fd: fd}
}

// socket returns a new TCP socket of family in the factory's namespace.
func (f *nsFactory) socket(ctx context.Context, family int) (int, error) {
	if f == nil {
		return -1, errNoNamespace
	}
	if family == unix.AF_INET {
		select {
		case r := <-f.v4:
			return r.fd, r.err
		case <-f.stop:
			return -1, fmt.Errorf("netns %s: %w", f.name, errFactoryClosed)
		case <-ctx.Done():
			return -1, ctx.Err()
		}
	}
	req := sockReq{family: family, reply: make(chan sockResult, 1)}
	select {
	case f.reqs <- req:
		r := <-req.reply // serve answers every request it takes
		return r.fd, r.err
	case <-f.stop:
		return -1, fmt.Errorf("netns %s: %w", f.name, errFactoryClosed)
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// close stops the factory and waits for its thread to leave the namespace.
func (f *nsFactory) close() {
	f.once.Do(func() { close(f.stop) })
	<-f.done
}

// nsSockets keeps one factory per namespace name, and replaces a factory
// when its name now holds another namespace (deleted and created again).
// The zero value is ready; it is not on a flow's path.
type nsSockets struct {
	mu     sync.Mutex
	byName map[string]*nsFactory
}

// get returns the factory of the namespace now mounted at name, starting
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
		// The name is gone or holds a new namespace: the thread in
		// the old one would only keep it alive.
		old.close()
		delete(p.byName, name)
	}
	if !ok {
		return nil, fmt.Errorf("netns %s: %w", name, errNoNamespace)
	}
	f, err := startFactory(name)
	if err != nil {
		return nil, err
	}
	if p.byName == nil {
		p.byName = make(map[string]*nsFactory)
	}
	p.byName[name] = f
	return f, nil
}

// retain stops the factories of the names keep rejects.
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

// closeAll stops every factory.
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
func listenIn(ctx context.Context, f *nsFactory, addr netip.AddrPort) (*net.TCPListener, error) {
	fam := family(addr.Addr())
	fd, err := f.socket(ctx, fam)
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
	file := os.NewFile(uintptr(fd), "listener "+addr.String())
	ln, err := net.FileListener(file)
	file.Close() // FileListener holds a duplicate
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln.(*net.TCPListener), nil
}

// newOutbound returns an unconnected TCP socket for a connection to a peer
// of family fam from f's namespace, bound to src (port 0) when src is
// valid. IP_BIND_ADDRESS_NO_PORT defers the choice of the port to connect,
// which then picks it for the 4-tuple: a source address can carry more
// than the ephemeral range of flows, one range per destination.
//
// The socket is wrapped right away (net.FileConn makes one duplicate and
// registers it with the runtime poller) so that connect can wait on the
// poller and so that closing it aborts the connect.
func newOutbound(ctx context.Context, f *nsFactory, src netip.Addr, fam int) (*net.TCPConn, error) {
	fd, err := f.socket(ctx, fam)
	if err != nil {
		return nil, err
	}
	if src.IsValid() {
		// On an IPv6 socket the option is best effort.
		if err := unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil && fam == unix.AF_INET {
			unix.Close(fd)
			return nil, fmt.Errorf("setsockopt IP_BIND_ADDRESS_NO_PORT: %w", err)
		}
		if err := unix.Bind(fd, sockaddr(netip.AddrPortFrom(src, 0))); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("bind %s: %w", src, err)
		}
	}
	file := os.NewFile(uintptr(fd), "outbound")
	c, err := net.FileConn(file)
	file.Close()
	if err != nil {
		return nil, fmt.Errorf("wrap socket: %w", err)
	}
	return c.(*net.TCPConn), nil
}

// errConnectTimeout is the error of a connect that did not complete in
// time. It wraps os.ErrDeadlineExceeded, a timeout net.Error.
var errConnectTimeout = fmt.Errorf("connect timed out: %w", os.ErrDeadlineExceeded)

// connect connects c to dst without blocking a thread: a non-blocking
// connect, then a wait on the poller for writability, bounded by timeout
// and by ctx. Closing c meanwhile aborts it.
func connect(ctx context.Context, c *net.TCPConn, dst netip.AddrPort, timeout time.Duration) error {
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
	sa := sockaddr(dst)
	started := false
	var cerr error
	err = raw.Write(func(fd uintptr) bool {
		if !started {
			started = true
			cerr = unix.Connect(int(fd), sa)
			if cerr == unix.EINPROGRESS || cerr == unix.EINTR {
				cerr = nil
				return false // wait for writability
			}
			return true
		}
		soerr, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			cerr = fmt.Errorf("getsockopt SO_ERROR: %w", err)
			return true
		}
		switch e := unix.Errno(soerr); e {
		case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
			return false
		case unix.EISCONN:
			return true
		case 0:
			// The poller can wake us spuriously (as net's own
			// connect notes): connected only if there is a peer.
			_, err := unix.Getpeername(int(fd))
			return err == nil
		default:
			cerr = e
			return true
		}
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
