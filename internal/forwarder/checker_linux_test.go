package forwarder

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/privlink/privlink/internal/testenv"
)

// startChecker runs a checker until the test ends; Report's calls are
// recorded.
func startChecker(t *testing.T) (*Checker, *reports) {
	t.Helper()
	rep := &reports{t: t}
	c := NewChecker(CheckerOptions{Logger: testLogger(t), Report: rep.report})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
	return c, rep
}

func (tp *topo) check(key, protocol string, addr netip.AddrPort) Check {
	return Check{
		Key: key, Namespace: tp.node, Source: srcIP, Addr: addr, Protocol: protocol,
		Interval: 100 * time.Millisecond, Timeout: 300 * time.Millisecond,
		HealthyThreshold: 2, UnhealthyThreshold: 2,
	}
}

// waitHealth waits for the checker's current state of the only check.
func waitHealth(t *testing.T, c *Checker, want Health) {
	t.Helper()
	testenv.WaitFor(t, 5*time.Second, fmt.Sprintf("%s %s", want.Key, want.State), func() error {
		if diff := cmp.Diff([]Health{want}, c.Current()); diff != "" {
			return fmt.Errorf("Current() mismatch (-want +got):\n%s", diff)
		}
		return nil
	})
}

func TestPrivilegedCheckTCP(t *testing.T) {
	tp := newTopo(t)
	addr := netip.MustParseAddrPort("10.10.2.2:9100")
	headers := make(chan []byte, 100)
	handle := func(c net.Conn) {
		b, _ := io.ReadAll(c)
		headers <- b
	}
	srv := startServer(t, tp.target, addr.String(), handle)
	c, rep := startChecker(t)
	chk := tp.check("tcp", "TCP", addr)
	chk.ProxyProtocol = true
	// The exact sequence of reports below has no room for a timeout: one
	// stalled attempt while unhealthy (or two while healthy) would add a
	// report. Refused and accepted attempts end at once, and the interval
	// runs from start to start, so a long timeout changes no schedule.
	chk.Timeout = 2 * time.Second
	c.Set([]Check{chk})

	waitHealth(t, c, Health{Key: "tcp", State: StateHealthy})
	if ips := srv.remoteIPs(); len(ips) == 0 || ips[0] != srcIP.String() {
		t.Errorf("target saw checks from %v, want %v", ips, srcIP)
	}
	if got, want := <-headers, appendProxyLocal(nil); !bytes.Equal(got, want) {
		t.Errorf("check sent %x, want the LOCAL header %x", got, want)
	}

	// The target stops: refused, unhealthy. Back: healthy again.
	srv.ln.Close()
	waitHealth(t, c, Health{Key: "tcp", State: StateUnhealthy, Reason: FailRefused})
	startServer(t, tp.target, addr.String(), handle)
	waitHealth(t, c, Health{Key: "tcp", State: StateHealthy})

	testenv.WaitFor(t, 5*time.Second, "reports", func() error {
		want := []Health{
			{Key: "tcp", State: StateHealthy},
			{Key: "tcp", State: StateUnhealthy, Reason: FailRefused},
			{Key: "tcp", State: StateHealthy},
		}
		rep.mu.Lock()
		defer rep.mu.Unlock()
		var got []Health
		for _, hs := range rep.got {
			got = append(got, hs...)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			return fmt.Errorf("reports mismatch (-want +got):\n%s", diff)
		}
		return nil
	})
}

func TestPrivilegedCheckTimeout(t *testing.T) {
	tp := newTopo(t)
	c, _ := startChecker(t)
	// Nobody has this address: the SYNs go unanswered.
	c.Set([]Check{tp.check("gone", "TCP", netip.MustParseAddrPort("10.10.2.99:80"))})
	waitHealth(t, c, Health{Key: "gone", State: StateUnhealthy, Reason: FailTimeout})
}

func TestPrivilegedCheckHTTP(t *testing.T) {
	tp := newTopo(t)
	addr := netip.MustParseAddrPort("10.10.2.2:9200")
	var code atomic.Int32
	code.Store(http.StatusOK)
	var mu sync.Mutex
	var hosts, paths []string
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts, paths = append(hosts, r.Host), append(paths, r.URL.Path)
		mu.Unlock()
		w.WriteHeader(int(code.Load()))
	})
	serve := func() *http.Server {
		s := &http.Server{Handler: handler}
		ln := listenNS(t, tp.target, addr.String())
		go s.Serve(ln)
		t.Cleanup(func() { s.Close() })
		return s
	}
	srv := serve()
	c, _ := startChecker(t)
	chk := tp.check("http", "HTTP", addr)
	chk.Path, chk.Matcher = "/healthz", "200,202"
	c.Set([]Check{chk})

	waitHealth(t, c, Health{Key: "http", State: StateHealthy})
	mu.Lock()
	if hosts[0] != addr.String() || paths[0] != "/healthz" {
		t.Errorf("check asked host %q path %q, want %q %q", hosts[0], paths[0], addr, "/healthz")
	}
	mu.Unlock()

	code.Store(http.StatusServiceUnavailable)
	waitHealth(t, c, Health{Key: "http", State: StateUnhealthy, Reason: FailMismatch, Code: 503})
	code.Store(http.StatusAccepted)
	waitHealth(t, c, Health{Key: "http", State: StateHealthy})

	srv.Close()
	waitHealth(t, c, Health{Key: "http", State: StateUnhealthy, Reason: FailRefused})
	serve()
	waitHealth(t, c, Health{Key: "http", State: StateHealthy})
}

func TestPrivilegedCheckHTTPS(t *testing.T) {
	tp := newTopo(t)
	addr := netip.MustParseAddrPort("10.10.2.2:9443")
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/tls" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	s.Listener.Close()
	s.Listener = listenNS(t, tp.target, addr.String())
	s.StartTLS() // a self-signed certificate: the check must not verify it
	t.Cleanup(s.Close)

	c, _ := startChecker(t)
	chk := tp.check("https", "HTTPS", addr)
	chk.Path = "/tls"
	c.Set([]Check{chk})
	waitHealth(t, c, Health{Key: "https", State: StateHealthy})

	chk.Path = "/other"
	c.Set([]Check{chk})
	waitHealth(t, c, Health{Key: "https", State: StateUnhealthy, Reason: FailMismatch, Code: 404})
}
