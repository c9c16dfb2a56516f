package forwarder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/privlink/privlink/internal/testenv"
)

// topo is the test network, all in throwaway namespaces:
//
//	client 10.10.1.2 (c0) ── (e0) 10.10.1.1 eni       listeners live here
//	node   10.10.2.1 (n0) ── (t0) 10.10.2.2, .3 target dials leave from here
//
// Nothing routes between the two halves: only the engine joins them, as
// it joins an endpoint's ENI to a load balancer's node.
type topo struct {
	prefix                    string
	client, eni, node, target string
}

func newTopo(t testing.TB) *topo {
	t.Helper()
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	tp := &topo{prefix: p, client: p + "client", eni: p + "eni", node: p + "node", target: p + "target"}
	for _, ns := range []string{tp.client, tp.eni, tp.node, tp.target} {
		run(t, "ip", "netns", "add", ns)
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	tp.link(t, tp.client, "c0", "10.10.1.2/24", tp.eni, "e0", "10.10.1.1/24")
	tp.link(t, tp.node, "n0", "10.10.2.1/24", tp.target, "t0", "10.10.2.2/24")
	run(t, "ip", "-n", tp.target, "addr", "add", "10.10.2.3/24", "dev", "t0")
	return tp
}

// link joins namespaces a and b with a veth pair; an empty address is
// left unconfigured.
func (tp *topo) link(t testing.TB, a, aName, aAddr, b, bName, bAddr string) {
	t.Helper()
	run(t, "ip", "-n", a, "link", "add", aName, "type", "veth", "peer", "name", bName, "netns", b)
	for _, end := range [][3]string{{a, aName, aAddr}, {b, bName, bAddr}} {
		if end[2] != "" {
			run(t, "ip", "-n", end[0], "addr", "add", end[2], "dev", end[1])
		}
		run(t, "ip", "-n", end[0], "link", "set", end[1], "up")
	}
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startEngine runs an engine until the test ends.
func startEngine(t testing.TB) *Engine {
	t.Helper()
	return startEngineWith(t, Options{})
}

func startEngineWith(t testing.TB, opts Options) *Engine {
	t.Helper()
	opts.Logger = testLogger(t)
	e := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
	return e
}

func mustSet(t testing.TB, e *Engine, tb Table) {
	t.Helper()
	if err := e.Set(t.Context(), tb); err != nil {
		t.Fatalf("Set() = %v", err)
	}
}

// listenNS listens on addr inside namespace ns.
func listenNS(t testing.TB, ns, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := netns.DoNamed(ns, func() error {
		var err error
		ln, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// dialNS connects to addr from namespace ns.
func dialNS(ns, addr string) (*net.TCPConn, error) {
	var c net.Conn
	err := netns.DoNamed(ns, func() error {
		var err error
		c, err = (&net.Dialer{Timeout: 3 * time.Second}).Dial("tcp4", addr)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

func mustDial(t testing.TB, ns, addr string) *net.TCPConn {
	t.Helper()
	c, err := dialNS(ns, addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testServer accepts connections in a namespace and hands each to handle;
// it records the remote addresses it saw.
type testServer struct {
	ln      net.Listener
	mu      sync.Mutex
	remotes []string
}

func startServer(t testing.TB, ns, addr string, handle func(net.Conn)) *testServer {
	t.Helper()
	s := &testServer{ln: listenNS(t, ns, addr)}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(func() { s.ln.Close() })
	wg.Go(func() {
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.remotes = append(s.remotes, c.RemoteAddr().String())
			s.mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	return s
}

func (s *testServer) accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.remotes)
}

func (s *testServer) remoteIPs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.remotes {
		host, _, _ := net.SplitHostPort(r)
		out = append(out, host)
	}
	return out
}

// echo sends back what it reads and passes the client's half-close on.
func echo(c net.Conn) {
	io.Copy(struct{ io.Writer }{c}, c)
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c)
}

// roundTrip writes msg on c and expects it back.
func roundTrip(c net.Conn, msg string) error {
	c.SetDeadline(time.Now().Add(3 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, msg); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if !bytes.Equal(buf, []byte(msg)) {
		return fmt.Errorf("read %q, want %q", buf, msg)
	}
	return nil
}

// waitReset waits up to d for c to be reset, and returns how long it took.
func waitReset(t *testing.T, c net.Conn, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(d))
	_, err := c.Read(make([]byte, 1))
	if !isReset(err) {
		t.Fatalf("read = %v, want a connection reset within %v", err, d)
	}
	return time.Since(start)
}

// expectReset connects from ns to addr and expects the connection to be
// reset: during the connect already (the reset can overtake the dialler's
// check of the handshake) or soon after.
func expectReset(t *testing.T, ns, addr string) {
	t.Helper()
	c, err := dialNS(ns, addr)
	if isReset(err) {
		return
	}
	if err != nil {
		t.Fatalf("dial %s from %s: %v, want a reset", addr, ns, err)
	}
	defer c.Close()
	waitReset(t, c, 2*time.Second)
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET)
}

// oneShot connects, checks one round trip and closes.
func oneShot(ns, addr, msg string) error {
	c, err := dialNS(ns, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return roundTrip(c, msg)
}
