package forwarder

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/privlink/privlink/internal/metrics"
	"github.com/privlink/privlink/internal/testenv"
	"golang.org/x/sys/unix"
)

var (
	lisAddr = netip.MustParseAddrPort("10.10.1.1:8080")
	srcIP   = netip.MustParseAddr("10.10.2.1")
	target1 = netip.MustParseAddrPort("10.10.2.2:9000")
	target2 = netip.MustParseAddrPort("10.10.2.3:9000")
)

func (tp *topo) backend(key string, addr netip.AddrPort, state BackendState) Backend {
	return Backend{Key: key, Namespace: tp.node, Source: srcIP, Addr: addr, State: state}
}

func (tp *topo) listener(key string, addr netip.AddrPort, bs ...Backend) Listener {
	return Listener{Key: key, Namespace: tp.eni, Addr: addr, Backends: bs}
}

func TestPrivilegedForward(t *testing.T) {
	tp := newTopo(t)
	srv := startServer(t, tp.target, target1.String(), echo)
	reg := metrics.NewRegistry()
	e := startEngineWith(t, Options{Metrics: reg})
	tb := Table{Listeners: []Listener{tp.listener("l", lisAddr, tp.backend("t1", target1, Healthy))}}
	mustSet(t, e, tb)

	c := mustDial(t, tp.client, lisAddr.String())
	msg := strings.Repeat("hello through the engine ", 1000)
	if err := roundTrip(c, msg); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"10.10.2.1"}, srv.remoteIPs()); diff != "" {
		t.Errorf("backend saw sources mismatch (-want +got):\n%s", diff)
	}

	// Both of the flow's sockets have TCP_NODELAY and no keepalive: an
	// NLB sends no probes, and answers to the engine's own would look
	// like the peers' activity to the idle timeout.
	e.mu.Lock()
	b := e.listeners["l"].backends["t1"]
	e.mu.Unlock()
	b.mu.Lock()
	fs := b.takeFlows()
	b.mu.Unlock()
	if len(fs) != 1 {
		t.Fatalf("backend has %d flows, want 1", len(fs))
	}
	for name, conn := range map[string]syscall.Conn{"client": fs[0].client, "server": fs[0].server.Load()} {
		raw, err := conn.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range []struct {
			name       string
			level, opt int
			want       int
		}{
			{"SO_KEEPALIVE", unix.SOL_SOCKET, unix.SO_KEEPALIVE, 0},
			{"TCP_NODELAY", unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
		} {
			var got int
			raw.Control(func(fd uintptr) { got, err = unix.GetsockoptInt(int(fd), o.level, o.opt) })
			if err != nil || got != o.want {
				t.Errorf("%s socket %s = %d, %v; want %d", name, o.name, got, err, o.want)
			}
		}
	}

	// An equal table changes nothing: the flow goes on.
	mustSet(t, e, tb)
	if err := roundTrip(c, "again"); err != nil {
		t.Fatalf("after an equal Set: %v", err)
	}
	c.Close()

	testenv.WaitFor(t, 3*time.Second, "counters", func() error {
		want := []ListenerStats{{
			Key: "l", NewConns: 1, BytesIn: uint64(len(msg) + 5), BytesOut: uint64(len(msg) + 5),
			Backends: []BackendStats{{Key: "t1", NewConns: 1, BytesIn: uint64(len(msg) + 5), BytesOut: uint64(len(msg) + 5)}},
		}}
		if diff := cmp.Diff(want, e.Stats()); diff != "" {
			return fmt.Errorf("Stats() mismatch (-want +got):\n%s", diff)
		}
		return nil
	})

	e.export()
	var text strings.Builder
	if err := reg.WriteText(t.Context(), &text); err != nil {
		t.Fatal(err)
	}
	n := len(msg) + 5
	for _, want := range []string{
		`privlink_forwarder_connections_total{listener="l",backend="t1"} 1`,
		`privlink_forwarder_active_connections{listener="l",backend="t1"} 0`,
		fmt.Sprintf(`privlink_forwarder_bytes_total{listener="l",backend="t1",direction="in"} %d`, n),
		fmt.Sprintf(`privlink_forwarder_bytes_total{listener="l",backend="t1",direction="out"} %d`, n),
	} {
		if !strings.Contains(text.String(), want+"\n") {
			t.Errorf("metrics lack %s; got:\n%s", want, text.String())
		}
	}
}

func TestPrivilegedShutdown(t *testing.T) {
	tp := newTopo(t)
	startServer(t, tp.target, target1.String(), echo)
	e := New(Options{Logger: testLogger(t)})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	mustSet(t, e, Table{Listeners: []Listener{tp.listener("l", lisAddr, tp.backend("t1", target1, Healthy))}})
	c := mustDial(t, tp.client, lisAddr.String())
	if err := roundTrip(c, "hi"); err != nil {
		t.Fatal(err)
	}
	cancel()
	waitReset(t, c, 2*time.Second)
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
	if _, err := dialNS(tp.client, lisAddr.String()); err == nil {
		t.Error("dial after Run returned succeeded")
	}
}

func TestPrivilegedHalfClose(t *testing.T) {
	tp := newTopo(t)
	// The backend reads the whole request, then answers and closes: it
	// answers only once the client's half-close reached it.
	startServer(t, tp.target, target1.String(), func(c net.Conn) {
		req, _ := io.ReadAll(c)
		fmt.Fprintf(c, "got %d bytes", len(req))
	})
	e := startEngine(t)
	mustSet(t, e, Table{Listeners: []Listener{tp.listener("l", lisAddr, tp.backend("t1", target1, Healthy))}})

	c := mustDial(t, tp.client, lisAddr.String())
	c.SetDeadline(time.Now().Add(5 * time.Second))
	req := strings.Repeat("x", 100000)
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	if got, want := string(resp), "got 100000 bytes"; got != want {
		t.Errorf("answer = %q, want %q", got, want)
	}
}

func TestPrivilegedBalance(t *testing.T) {
	tp := newTopo(t)
	s1 := startServer(t, tp.target, target1.String(), echo)
	s2 := startServer(t, tp.target, target2.String(), echo)
	e := startEngine(t)
	mustSet(t, e, Table{Listeners: []Listener{tp.listener("l", lisAddr,
		tp.backend("t1", target1, Healthy), tp.backend("t2", target2, Healthy))}})

	// 200 connections, 20 at a time: the engine makes outbound sockets
	// for many flows at once.
	const n = 200
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Go(func() {
			for i := range n / 20 {
				if err := oneShot(tp.client, lisAddr.String(), "ping"); err != nil {
					errs <- fmt.Errorf("worker %d connection %d: %w", w, i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if a, b := s1.accepted(), s2.accepted(); a+b != n || a < n/4 || b < n/4 {
		t.Errorf("backends got %d and %d of %d connections, want each at least %d", a, b, n, n/4)
	}
}

func TestPrivilegedFailOpen(t *testing.T) {
	tp := newTopo(t)
	s1 := startServer(t, tp.target, target1.String(), echo)
	s2 := startServer(t, tp.target, target2.String(), echo)
	e := startEngine(t)
	tests := []struct {
		name         string
		s1, s2       BackendState
		want1, want2 bool // whether each backend gets connections
	}{
		{"all unhealthy: fail open", Unhealthy, Unhealthy, true, true},
		{"one healthy takes all", Unhealthy, Healthy, false, true},
		{"draining and unhealthy", Draining, Unhealthy, false, true},
	}
	for _, tt := range tests {
		mustSet(t, e, Table{Listeners: []Listener{tp.listener("l", lisAddr,
			tp.backend("t1", target1, tt.s1), tp.backend("t2", target2, tt.s2))}})
		a0, b0 := s1.accepted(), s2.accepted()
		for i := range 40 {
			if err := oneShot(tp.client, lisAddr.String(), "ping"); err != nil {
				t.Fatalf("%s: connection %d: %v", tt.name, i, err)
			}
		}
		if got1, got2 := s1.accepted() > a0, s2.accepted() > b0; got1 != tt.want1 || got2 != tt.want2 {
			t.Errorf("%s: backends got connections: %v, %v; want %v, %v", tt.name, got1, got2, tt.want1, tt.want2)
		}
	}

	// Nothing eligible: the client is reset.
	mustSet(t, e, Table{Listeners: []Listener{tp.listener("l", lisAddr,
		Backend{Key: "t1", Namespace: tp.node, Source: srcIP, Addr: target1, State: Draining, DrainUntil: time.Now().Add(time.Hour)})}})
	expectReset(t, tp.client, lisAddr.String())

	// A backend nobody listens on: the dial is refused, the client reset.
	mustSet(t, e, Table{Listeners: []Listener{tp.listener("l", lisAddr, tp.backend("t9", netip.MustParseAddrPort("10.10.2.2:9999"), Healthy))}})
	expectReset(t, tp.client, lisAddr.String())
	if st := e.Stats(); len(st) != 1 || len(st[0].Backends) != 1 || st[0].Backends[0].Resets != 1 {
		t.Errorf("Stats() = %+v, want one reset on backend t9", st)
	}
}

// A backend that never answers the SYN: the flow does not wait for the
// handshake, so only the connect timeout ends it, with a reset.
func TestPrivilegedConnectTimeout(t *testing.T) {
	tp := newTopo(t)
	e := startEngineWith(t, Options{ConnectTimeout: 300 * time.Millisecond})
	// A neighbour entry to a MAC nobody has: the SYNs leave and vanish,
	// and no error comes back.
	silent := netip.MustParseAddr("10.10.2.9")
	run(t, "ip", "-n", tp.node, "neigh", "add", silent.String(), "lladdr", "02:00:00:00:00:99", "dev", "n0", "nud", "permanent")
	mustSet(t, e, Table{Listeners: []Listener{tp.listener("l", lisAddr, tp.backend("t1", netip.AddrPortFrom(silent, 9000), Healthy))}})
	start := time.Now()
	expectReset(t, tp.client, lisAddr.String())
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("reset after %v, before the connect timeout", d)
	}
	testenv.WaitFor(t, time.Second, "the reset counted", func() error {
		if st := e.Stats(); len(st) != 1 || len(st[0].Backends) != 1 || st[0].Backends[0].Resets != 1 || st[0].Backends[0].ActiveConns != 0 {
			return fmt.Errorf("Stats() = %+v, want one reset and no active flow on t1", st)
		}
		return nil
	})
}

func TestPrivilegedDrain(t *testing.T) {
	tp := newTopo(t)
	s1 := startServer(t, tp.target, target1.String(), echo)
	s2 := startServer(t, tp.target, target2.String(), echo)
	e := startEngine(t)
	table := func(b1, b2 Backend) Table { return Table{Listeners: []Listener{tp.listener("l", lisAddr, b1, b2)}} }
	draining := func(key string, addr netip.AddrPort, until time.Time) Backend {
		b := tp.backend(key, addr, Draining)
		b.DrainUntil = until
		return b
	}

	// t2 drained long ago: every flow goes to t1.
	mustSet(t, e, table(tp.backend("t1", target1, Healthy), draining("t2", target2, time.Now().Add(-time.Minute))))
	old := mustDial(t, tp.client, lisAddr.String())
	if err := roundTrip(old, "old flow"); err != nil {
		t.Fatal(err)
	}

	// t1 drains for 1.5 s: new flows go to t2, the old flow lives on.
	until := time.Now().Add(1500 * time.Millisecond)
	mustSet(t, e, table(draining("t1", target1, until), tp.backend("t2", target2, Healthy)))
	for i := range 10 {
		if err := oneShot(tp.client, lisAddr.String(), "new"); err != nil {
			t.Fatalf("new flow %d: %v", i, err)
		}
	}
	if s1.accepted() != 1 || s2.accepted() != 10 {
		t.Errorf("backends accepted %d and %d flows, want 1 and 10", s1.accepted(), s2.accepted())
	}
	if err := roundTrip(old, "still there"); err != nil {
		t.Fatalf("draining flow before DrainUntil: %v", err)
	}
	// An equal table does not move the drain.
	mustSet(t, e, table(draining("t1", target1, until), tp.backend("t2", target2, Healthy)))
	waitReset(t, old, 3*time.Second)
	if late := time.Since(until); late < -50*time.Millisecond || late > time.Second {
		t.Errorf("draining flow reset %v after DrainUntil, want within [0, 1s]", late)
	}

	// A drain whose time is already over resets at once.
	c := mustDial(t, tp.client, lisAddr.String())
	if err := roundTrip(c, "to t2"); err != nil {
		t.Fatal(err)
	}
	mustSet(t, e, table(draining("t1", target1, until), draining("t2", target2, time.Now().Add(-time.Second))))
	if d := waitReset(t, c, 2*time.Second); d > time.Second {
		t.Errorf("flow of an expired drain reset after %v, want at once", d)
	}
	st := e.Stats()
	if len(st) != 1 || st[0].Resets != 2 {
		t.Errorf("Stats() = %+v, want 2 resets", st)
	}
}

func TestPrivilegedRemoval(t *testing.T) {
	tp := newTopo(t)
	startServer(t, tp.target, target1.String(), echo)
	startServer(t, tp.target, target2.String(), echo)
	e := startEngine(t)
	addr2 := netip.MustParseAddrPort("10.10.1.1:8081")
	l1 := tp.listener("l1", lisAddr, tp.backend("t1", target1, Healthy))
	l2 := tp.listener("l2", addr2, tp.backend("t1", target1, Healthy))
	l2b := tp.listener("l2", addr2, tp.backend("t1", target1, Healthy), tp.backend("t2", target2, Unhealthy))
	mustSet(t, e, Table{Listeners: []Listener{l1, l2b}})
	c1 := mustDial(t, tp.client, lisAddr.String())
	c2 := mustDial(t, tp.client, addr2.String())
	for _, c := range []net.Conn{c1, c2} {
		if err := roundTrip(c, "hi"); err != nil {
			t.Fatal(err)
		}
	}

	// l1 goes: its flow is reset within a second, its port refuses.
	mustSet(t, e, Table{Listeners: []Listener{l2b}})
	if d := waitReset(t, c1, 2*time.Second); d > time.Second {
		t.Errorf("flow of a removed listener reset after %v, want within 1s", d)
	}
	if _, err := dialNS(tp.client, lisAddr.String()); err == nil {
		t.Error("dial of a removed listener succeeded")
	}
	// Removing t2, which has no flows, leaves l2's flow alone.
	mustSet(t, e, Table{Listeners: []Listener{l2}})
	if err := roundTrip(c2, "still"); err != nil {
		t.Fatalf("flow of a kept backend: %v", err)
	}
	// l2 loses t1: its flow is reset at once.
	l2.Backends = nil
	mustSet(t, e, Table{Listeners: []Listener{l2}})
	if d := waitReset(t, c2, 2*time.Second); d > time.Second {
		t.Errorf("flow of a removed backend reset after %v, want within 1s", d)
	}
}

func TestPrivilegedRebind(t *testing.T) {
	tp := newTopo(t)
	startServer(t, tp.target, target1.String(), echo)
	e := startEngine(t)
	l := tp.listener("l", lisAddr, tp.backend("t1", target1, Healthy))
	mustSet(t, e, Table{Listeners: []Listener{l}})
	c := mustDial(t, tp.client, lisAddr.String())
	if err := roundTrip(c, "before"); err != nil {
		t.Fatal(err)
	}

	// A new address: the listener moves, its flow goes on.
	l.Addr = netip.MustParseAddrPort("10.10.1.1:8090")
	mustSet(t, e, Table{Listeners: []Listener{l}})
	if err := oneShot(tp.client, l.Addr.String(), "moved"); err != nil {
		t.Fatalf("new address: %v", err)
	}
	if _, err := dialNS(tp.client, lisAddr.String()); err == nil {
		t.Error("the old address still accepts")
	}
	if err := roundTrip(c, "after the move"); err != nil {
		t.Fatalf("flow across the rebind: %v", err)
	}
}

func TestPrivilegedNamespaceRecreated(t *testing.T) {
	tp := newTopo(t)
	startServer(t, tp.target, target1.String(), echo)
	e := startEngine(t)
	tb := Table{Listeners: []Listener{tp.listener("l", lisAddr, tp.backend("t1", target1, Healthy))}}
	mustSet(t, e, tb)
	if err := oneShot(tp.client, lisAddr.String(), "first"); err != nil {
		t.Fatal(err)
	}

	// The ENI's namespace is deleted and made again under the same
	// name, as a controller does after a crash.
	run(t, "ip", "netns", "del", tp.eni)
	run(t, "ip", "-n", tp.client, "link", "del", "c0")
	if err := e.Set(t.Context(), tb); err == nil {
		t.Error("Set() with the namespace gone = nil, want an error")
	}
	run(t, "ip", "netns", "add", tp.eni)
	run(t, "ip", "-n", tp.eni, "link", "set", "lo", "up")
	tp.link(t, tp.client, "c0", "10.10.1.2/24", tp.eni, "e0", "10.10.1.1/24")

	// The same table again: Set notices the new namespace and rebinds.
	mustSet(t, e, tb)
	if err := oneShot(tp.client, lisAddr.String(), "second"); err != nil {
		t.Fatalf("after re-creation: %v", err)
	}
}

func TestPrivilegedLateNamespaceAndAddress(t *testing.T) {
	tp := newTopo(t)
	startServer(t, tp.target, target1.String(), echo)
	e := startEngine(t)
	late := tp.prefix + "late"
	addr := netip.MustParseAddrPort("10.10.3.1:8080")
	l := tp.listener("late", addr, tp.backend("t1", target1, Healthy))
	l.Namespace = late
	ok := tp.listener("ok", lisAddr, tp.backend("t1", target1, Healthy))

	// The namespace does not exist yet: that listener fails, the other
	// works.
	err := e.Set(t.Context(), Table{Listeners: []Listener{l, ok}})
	if err == nil || !strings.Contains(err.Error(), "listener late") || strings.Contains(err.Error(), "listener ok") {
		t.Errorf("Set() = %v, want an error for listener late only", err)
	}
	if err := oneShot(tp.client, lisAddr.String(), "ok"); err != nil {
		t.Fatal(err)
	}

	// The namespace appears, its address not yet: IP_FREEBIND binds
	// anyway, and the listener serves once the address comes.
	run(t, "ip", "netns", "add", late)
	run(t, "ip", "-n", late, "link", "set", "lo", "up")
	tp.link(t, tp.client, "c1", "10.10.3.2/24", late, "l0", "")
	mustSet(t, e, Table{Listeners: []Listener{l, ok}})
	run(t, "ip", "-n", late, "addr", "add", "10.10.3.1/24", "dev", "l0")
	if err := oneShot(tp.client, addr.String(), "late"); err != nil {
		t.Fatalf("listener of the late namespace: %v", err)
	}
}

func TestPrivilegedProxyProtocol(t *testing.T) {
	tp := newTopo(t)
	headers := make(chan []byte, 1)
	const endpoint = "vpce-0c1308d7312217abc"
	startServer(t, tp.target, target1.String(), func(c net.Conn) {
		// Header of the IPv4 PROXY form with the TLV: 16+12+4+22 bytes.
		hdr := make([]byte, 16+12+4+len(endpoint))
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadFull(c, hdr); err != nil {
			headers <- nil
			return
		}
		c.SetReadDeadline(time.Time{})
		headers <- hdr
		echo(c)
	})
	e := startEngine(t)
	l := tp.listener("l", lisAddr, tp.backend("t1", target1, Healthy))
	l.ProxyProtocol, l.EndpointID = true, endpoint
	mustSet(t, e, Table{Listeners: []Listener{l}})

	c := mustDial(t, tp.client, lisAddr.String())
	if err := roundTrip(c, "data after the header"); err != nil {
		t.Fatal(err)
	}
	want := appendProxyV2(nil, c.LocalAddr().(*net.TCPAddr).AddrPort(), lisAddr, endpoint)
	if got := <-headers; !bytes.Equal(got, want) {
		t.Errorf("backend got header %x, want %x", got, want)
	}
}

// Idle flows hold no pipe: their directions take one only while data is
// there, and the free lists keep at most maxFreePipes each. net's ReadFrom would
// hold one per direction (400 descriptors here) for as long as the flows
// live.
func TestPrivilegedIdleFlowsHoldNoPipes(t *testing.T) {
	tp := newTopo(t)
	startServer(t, tp.target, target1.String(), echo)
	e := startEngine(t)
	mustSet(t, e, Table{Listeners: []Listener{tp.listener("l", lisAddr, tp.backend("t1", target1, Healthy))}})
	before := countPipeFDs(t)
	const n = 100
	for range n {
		c := mustDial(t, tp.client, lisAddr.String())
		if err := roundTrip(c, "x"); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitFor(t, 5*time.Second, "idle flows without pipes", func() error {
		if got, most := countPipeFDs(t)-before, 2*maxFreePipes*pipeShards; got > most {
			return fmt.Errorf("%d more pipe descriptors with %d idle flows, want at most %d", got, n, most)
		}
		return nil
	})
}

// countPipeFDs counts the process's open pipe descriptors.
func countPipeFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(target, "pipe:") {
			n++
		}
	}
	return n
}
