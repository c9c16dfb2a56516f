package forwarder

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/privlink/privlink/internal/testenv"
)

// sleepPast lets time run until just after at: these tests check that
// something does not happen across a deadline, which no poll can show.
func sleepPast(at time.Time) {
	time.Sleep(time.Until(at) + 200*time.Millisecond)
}

// echoReporting echoes like echo, then sends what ended its reads: nil for
// the client's EOF, the error (a reset) otherwise.
func echoReporting(ended chan<- error) func(net.Conn) {
	return func(c net.Conn) {
		_, err := io.Copy(struct{ io.Writer }{c}, c)
		ended <- err
	}
}

// Prune resets the flows of the listeners in the namespaces it drops, at
// once, so that the resets still reach the clients when the namespace's
// interface goes right after; listeners it keeps go on.
func TestPrivilegedPrune(t *testing.T) {
	tp := newTopo(t)
	startServer(t, tp.target, target1.String(), echo)
	e := startEngine(t)
	mustSet(t, e, Table{Listeners: []Listener{tp.listener("l", lisAddr, tp.backend("t1", target1, Healthy))}})
	c := mustDial(t, tp.client, lisAddr.String())
	if err := roundTrip(c, "before"); err != nil {
		t.Fatal(err)
	}
	e.Prune(func(string) bool { return true })
	if err := roundTrip(c, "kept"); err != nil {
		t.Fatalf("flow after a Prune that keeps its namespace: %v", err)
	}
	e.Prune(func(ns string) bool { return ns != tp.eni })
	// What the data plane does next: the namespace, and its interface
	// to the client, go.
	run(t, "ip", "-n", tp.eni, "link", "del", "e0")
	waitReset(t, c, 3*time.Second)
	if st := e.Stats(); len(st) != 0 {
		t.Errorf("Stats() = %+v after the listener's namespace was pruned, want none", st)
	}
}

// A retired listener (an NLB listener deleted) takes no new connection,
// and its flows go on until they end, idle out, or Prune drops its
// namespace; the engine forgets it once they have ended.
func TestPrivilegedRetire(t *testing.T) {
	tp := newTopo(t)
	startServer(t, tp.target, target1.String(), echo)
	e := startEngine(t)
	// Two listeners retired together: l without an idle timeout, li with
	// a short one.
	idleAddr := netip.AddrPortFrom(lisAddr.Addr(), 8081)
	l := tp.listener("l", lisAddr, tp.backend("t1", target1, Healthy))
	li := tp.listener("li", idleAddr, tp.backend("t1", target1, Healthy))
	li.IdleTimeout = 3 * time.Second
	mustSet(t, e, Table{Listeners: []Listener{l, li}})
	ended, pruned := mustDial(t, tp.client, lisAddr.String()), mustDial(t, tp.client, lisAddr.String())
	idle := mustDial(t, tp.client, idleAddr.String())
	idleFrom := time.Now()
	for _, c := range []net.Conn{ended, pruned, idle} {
		if err := roundTrip(c, "before"); err != nil {
			t.Fatal(err)
		}
	}

	mustSet(t, e, Table{Retire: []string{"l", "li"}})
	if err := oneShot(tp.client, lisAddr.String(), "new"); err == nil {
		t.Error("a new connection to a retired listener got through, want it refused")
	}
	for _, c := range []net.Conn{ended, pruned} {
		if err := roundTrip(c, "after"); err != nil {
			t.Fatalf("flow of a retired listener: %v", err)
		}
	}
	if st := e.Stats(); len(st) != 0 {
		t.Errorf("Stats() = %+v with only retired listeners, want none", st)
	}
	// The idle one idles out, though no table has its listener any more.
	waitReset(t, idle, 5*li.IdleTimeout)
	if d := time.Since(idleFrom); d < li.IdleTimeout {
		t.Errorf("idle flow of a retired listener reset after %v, before its timeout %v", d, li.IdleTimeout)
	}
	// Tables that do not name l again leave it be.
	mustSet(t, e, Table{})
	if err := roundTrip(pruned, "a later table"); err != nil {
		t.Fatalf("flow of a retired listener after a later table: %v", err)
	}
	ended.Close()
	e.Prune(func(ns string) bool { return ns != tp.eni })
	waitReset(t, pruned, 3*time.Second)
	mustSet(t, e, Table{})
	e.mu.Lock()
	n := len(e.listeners)
	e.mu.Unlock()
	if n != 0 {
		t.Errorf("engine holds %d listeners once the retired ones' flows ended, want 0", n)
	}
}

// A drain that keeps its flows: the flow outlives DrainUntil, and the
// table dropping the backend afterwards (as the controller does once the
// target is gone), until it ends or its listener goes.
func TestPrivilegedDrainKeepsFlows(t *testing.T) {
	tp := newTopo(t)
	startServer(t, tp.target, target1.String(), echo)
	s2 := startServer(t, tp.target, target2.String(), echo)
	e := startEngine(t)
	table := func(bs ...Backend) Table { return Table{Listeners: []Listener{tp.listener("l", lisAddr, bs...)}} }

	mustSet(t, e, table(tp.backend("t1", target1, Healthy)))
	old := mustDial(t, tp.client, lisAddr.String())
	if err := roundTrip(old, "old flow"); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(500 * time.Millisecond)
	draining := tp.backend("t1", target1, Draining)
	draining.DrainUntil, draining.KeepFlows = until, true
	mustSet(t, e, table(draining, tp.backend("t2", target2, Healthy)))
	if err := oneShot(tp.client, lisAddr.String(), "new"); err != nil || s2.accepted() != 1 {
		t.Fatalf("new flow: %v, t2 accepted %d, want it to take the new flow", err, s2.accepted())
	}
	sleepPast(until)
	if err := roundTrip(old, "after the drain"); err != nil {
		t.Fatalf("flow after DrainUntil: %v", err)
	}
	mustSet(t, e, table(tp.backend("t2", target2, Healthy)))
	if err := roundTrip(old, "after its backend left"); err != nil {
		t.Fatalf("flow after its backend left the table: %v", err)
	}
	if st := e.Stats(); len(st) != 1 || st[0].ActiveConns != 1 || st[0].Resets != 0 {
		t.Errorf("Stats() = %+v, want the one released flow active and no reset", st)
	}
	// The listener going resets it all the same: the data plane fails
	// closed.
	mustSet(t, e, Table{})
	// Within the bound, well short of any sweep: the reset comes from the
	// table change itself.
	waitReset(t, old, 3*time.Second)
}

// Unhealthy backends: their flows are reset at UnhealthyResetAt, or never
// without one, and not while the listener fails open.
func TestPrivilegedUnhealthyResets(t *testing.T) {
	tp := newTopo(t)
	startServer(t, tp.target, target1.String(), echo)
	startServer(t, tp.target, target2.String(), echo)
	e := startEngine(t)
	table := func(bs ...Backend) Table { return Table{Listeners: []Listener{tp.listener("l", lisAddr, bs...)}} }
	unhealthy := func(resetAt time.Time) Backend {
		b := tp.backend("t1", target1, Unhealthy)
		b.UnhealthyResetAt = resetAt
		return b
	}
	healthy2, unhealthy2 := tp.backend("t2", target2, Healthy), tp.backend("t2", target2, Unhealthy)
	// flowToT1 opens a flow that goes to t1, the only backend.
	flowToT1 := func() net.Conn {
		t.Helper()
		mustSet(t, e, table(tp.backend("t1", target1, Healthy)))
		c := mustDial(t, tp.client, lisAddr.String())
		if err := roundTrip(c, "to t1"); err != nil {
			t.Fatal(err)
		}
		return c
	}

	t.Run("reset at once", func(t *testing.T) {
		c := flowToT1()
		mustSet(t, e, table(unhealthy(time.Now()), healthy2))
		waitReset(t, c, 3*time.Second) // at once: well short of any sweep
	})
	t.Run("never without a deadline", func(t *testing.T) {
		c := flowToT1()
		mustSet(t, e, table(unhealthy(time.Time{}), healthy2))
		sleepPast(time.Now().Add(300 * time.Millisecond))
		if err := roundTrip(c, "still there"); err != nil {
			t.Fatalf("flow of an unhealthy backend without a deadline: %v", err)
		}
	})
	t.Run("at the deadline", func(t *testing.T) {
		c := flowToT1()
		// Far enough ahead for a Set and a round trip on a loaded
		// machine.
		at := time.Now().Add(2 * time.Second)
		mustSet(t, e, table(unhealthy(at), healthy2))
		if err := roundTrip(c, "before the deadline"); err != nil {
			t.Fatalf("flow before the deadline: %v", err)
		}
		waitReset(t, c, 5*time.Second)
		if early := time.Until(at); early > 50*time.Millisecond {
			t.Errorf("flow reset %v before its deadline", early)
		}
	})
	t.Run("healthy again before the deadline", func(t *testing.T) {
		c := flowToT1()
		// Far enough ahead for two Sets on a loaded machine.
		at := time.Now().Add(2 * time.Second)
		mustSet(t, e, table(unhealthy(at), healthy2))
		mustSet(t, e, table(tp.backend("t1", target1, Healthy), healthy2))
		sleepPast(at)
		if err := roundTrip(c, "recovered"); err != nil {
			t.Fatalf("flow of a backend healthy again: %v", err)
		}
	})
	t.Run("not while failing open", func(t *testing.T) {
		c := flowToT1()
		mustSet(t, e, table(unhealthy(time.Now()), unhealthy2))
		sleepPast(time.Now().Add(300 * time.Millisecond))
		if err := roundTrip(c, "failing open"); err != nil {
			t.Fatalf("flow of an unhealthy backend while failing open: %v", err)
		}
		// A healthy backend again: the listener no longer fails open.
		mustSet(t, e, table(unhealthy(time.Now().Add(-time.Second)), healthy2))
		waitReset(t, c, 3*time.Second) // at once: well short of any sweep
	})
}

// The idle timeout: a flow with no byte either way for longer than its
// listener's IdleTimeout is reset on both sides; a flow that moves a byte
// now and then, or that waits on a slow receiver, lives on.
func TestPrivilegedIdleTimeout(t *testing.T) {
	tp := newTopo(t)
	ended := make(chan error, 10)
	startServer(t, tp.target, target1.String(), echoReporting(ended))
	e := startEngine(t)
	// Ten times the chatty flow's 300 ms: a stall of its writer on a
	// loaded machine does not make it idle.
	const timeout = 3 * time.Second
	l := tp.listener("l", lisAddr, tp.backend("t1", target1, Healthy))
	l.IdleTimeout = timeout
	mustSet(t, e, Table{Listeners: []Listener{l}})

	idle := mustDial(t, tp.client, lisAddr.String())
	// Before the last bytes move: the engine's last activity comes after.
	idleFrom := time.Now()
	if err := roundTrip(idle, "then nothing"); err != nil {
		t.Fatal(err)
	}
	active := mustDial(t, tp.client, lisAddr.String())
	chatty := make(chan error, 1)
	go func() {
		// A byte every 300 ms for two timeouts, past the idle flow's
		// reset.
		for end := time.Now().Add(2 * timeout); time.Now().Before(end); {
			if err := roundTrip(active, "."); err != nil {
				chatty <- err
				return
			}
			time.Sleep(300 * time.Millisecond)
		}
		chatty <- nil
	}()

	waitReset(t, idle, 5*timeout)
	if d := time.Since(idleFrom); d < timeout {
		t.Errorf("idle flow reset after %v, before the timeout %v", d, timeout)
	}
	select {
	case err := <-ended:
		if !isReset(err) {
			t.Errorf("backend's side of the idle flow ended with %v, want a reset", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("backend's side of the idle flow did not end")
	}
	if err := <-chatty; err != nil {
		t.Errorf("flow moving a byte every 300 ms: %v", err)
	}
	if st := e.Stats(); len(st) != 1 || st[0].Resets != 1 {
		t.Errorf("Stats() = %+v, want one reset", st)
	}

	// No idle timeout: idle flows stay.
	l.IdleTimeout = 0
	mustSet(t, e, Table{Listeners: []Listener{l}})
	c := mustDial(t, tp.client, lisAddr.String())
	if err := roundTrip(c, "hi"); err != nil {
		t.Fatal(err)
	}
	sleepPast(time.Now().Add(2 * timeout))
	if err := roundTrip(c, "still"); err != nil {
		t.Errorf("idle flow without an idle timeout: %v", err)
	}
}

// A flow whose backend reads nothing for longer than the idle timeout,
// while the client has more to send, is not idle: bytes are waiting.
func TestPrivilegedIdleTimeoutSlowReader(t *testing.T) {
	tp := newTopo(t)
	release := make(chan struct{})
	startServer(t, tp.target, target1.String(), func(c net.Conn) {
		<-release
		n, err := io.Copy(io.Discard, c)
		fmt.Fprintf(c, "%d %v", n, err)
	})
	e := startEngine(t)
	const timeout = 2 * time.Second // room for the writer to fill the buffers first
	l := tp.listener("l", lisAddr, tp.backend("t1", target1, Healthy))
	l.IdleTimeout = timeout
	mustSet(t, e, Table{Listeners: []Listener{l}})

	c := mustDial(t, tp.client, lisAddr.String())
	// More than every buffer on the way holds, so that the engine waits
	// to write.
	const size = 64 << 20
	wrote := make(chan error, 1)
	go func() {
		_, err := io.Copy(c, io.LimitReader(zeros{}, size))
		if err == nil {
			err = c.CloseWrite()
		}
		wrote <- err
	}()
	sleepPast(time.Now().Add(2 * timeout))
	close(release)
	if err := <-wrote; err != nil {
		t.Fatalf("write: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if want := fmt.Sprintf("%d <nil>", size); err != nil || string(got) != want {
		t.Errorf("backend reported %q, %v; want %q", got, err, want)
	}
	testenv.WaitFor(t, 5*time.Second, "the flow to end", func() error {
		if st := e.Stats(); len(st) != 1 || st[0].ActiveConns != 0 || st[0].Resets != 0 {
			return fmt.Errorf("Stats() = %+v, want no active flow and no reset", st)
		}
		return nil
	})
}

// zeros reads as endless zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// keepAliveEverySecond makes a socket probe its peer after a second
// without a segment from it, and every second after that.
var keepAliveEverySecond = net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 9}

// TCP keepalives restart the idle timeout, as on AWS, where "clients or
// targets can use TCP keepalive packets to reset the idle timeout": a flow
// whose client or backend probes more often than every half timeout lives
// on without a byte, while one whose peers are silent is reset.
func TestPrivilegedIdleTimeoutKeepalive(t *testing.T) {
	tp := newTopo(t)
	startServer(t, tp.target, target1.String(), echo)
	startServer(t, tp.target, target2.String(), func(c net.Conn) {
		if err := c.(*net.TCPConn).SetKeepAliveConfig(keepAliveEverySecond); err != nil {
			t.Errorf("backend keepalive: %v", err)
		}
		echo(c)
	})
	e := startEngine(t)
	// Probes a second apart, and some slack for their timers, fit in
	// the shortest window the sweep looks at, half the timeout.
	const timeout = 3 * time.Second
	l1 := tp.listener("l1", lisAddr, tp.backend("t1", target1, Healthy))
	l2 := tp.listener("l2", netip.MustParseAddrPort("10.10.1.1:8081"), tp.backend("t2", target2, Healthy))
	l1.IdleTimeout, l2.IdleTimeout = timeout, timeout
	mustSet(t, e, Table{Listeners: []Listener{l1, l2}})

	// open opens an idle flow to l whose client probes per ka, or not.
	open := func(l Listener, ka net.KeepAliveConfig) net.Conn {
		t.Helper()
		c := mustDial(t, tp.client, l.Addr.String())
		if err := c.SetKeepAliveConfig(ka); err != nil {
			t.Fatal(err)
		}
		if err := roundTrip(c, "then no byte"); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Before the last bytes move: the engine's last activity comes after.
	idleFrom := time.Now()
	silent := open(l1, net.KeepAliveConfig{Enable: false})
	clientProbes := open(l1, keepAliveEverySecond)
	backendProbes := open(l2, net.KeepAliveConfig{Enable: false})

	waitReset(t, silent, 2*timeout)
	if d := time.Since(idleFrom); d < timeout {
		t.Errorf("silent flow reset after %v, before the timeout %v", d, timeout)
	}
	sleepPast(idleFrom.Add(timeout * 5 / 2))
	for name, c := range map[string]net.Conn{"client": clientProbes, "backend": backendProbes} {
		if err := roundTrip(c, "still there"); err != nil {
			t.Errorf("flow whose %s sends keepalives, after %v without a byte: %v", name, time.Since(idleFrom).Round(time.Millisecond), err)
		}
	}
	want := map[string]uint64{"l1": 1, "l2": 0}
	for _, st := range e.Stats() {
		if st.Resets != want[st.Key] {
			t.Errorf("listener %s: %d resets, want %d", st.Key, st.Resets, want[st.Key])
		}
	}
}
