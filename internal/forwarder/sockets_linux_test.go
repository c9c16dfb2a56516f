package forwarder

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/privlink/privlink/internal/testenv"
	"golang.org/x/sys/unix"
)

func stockLen(f *nsFactory) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.stock)
}

func TestPrivilegedFactoryStock(t *testing.T) {
	tp := newTopo(t)
	ns := nsSockets{prefetch: true}
	defer ns.closeAll()
	f, err := ns.get(tp.node)
	if err != nil {
		t.Fatal(err)
	}
	if n := stockLen(f); n != 0 {
		t.Errorf("stock before any demand = %d, want 0", n)
	}

	// The first socket is made on request and asks for the stock.
	fd, err := f.socket(t.Context(), unix.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, o := range sockOpts {
		if got, err := unix.GetsockoptInt(fd, o.level, o.opt); err != nil || got != o.value {
			t.Errorf("socket option %d/%d = %d, %v; want %d", o.level, o.opt, got, err, o.value)
		}
	}
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK == 0 {
		t.Errorf("socket flags = %#x, %v; want O_NONBLOCK", fl, err)
	}
	full := func() error {
		if n := stockLen(f); n != stockFill {
			return fmt.Errorf("stock = %d, want %d", n, stockFill)
		}
		return nil
	}
	testenv.WaitFor(t, 5*time.Second, "the stock", full)

	// Taking down to stockLow wakes nobody; one more refills.
	var taken []int
	defer func() {
		for _, fd := range taken {
			unix.Close(fd)
		}
	}()
	for range stockFill - stockLow + 1 {
		fd, err := f.socket(t.Context(), unix.AF_INET)
		if err != nil {
			t.Fatal(err)
		}
		taken = append(taken, fd)
	}
	testenv.WaitFor(t, 5*time.Second, "the stock refilled", full)

	// Closing the factory closes its stock.
	f.mu.Lock()
	stock := append([]int(nil), f.stock...)
	f.mu.Unlock()
	ns.closeAll()
	for _, fd := range stock {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
			t.Errorf("fcntl on a stocked socket after close = %v, want EBADF", err)
			break
		}
	}
	if _, err := f.socket(t.Context(), unix.AF_INET); !errors.Is(err, errFactoryClosed) {
		t.Errorf("socket() after close = %v, want %v", err, errFactoryClosed)
	}
}

// Namespaces that only listen hold no thread: a thousand endpoints must
// not cost a thousand threads.
func TestPrivilegedListenersHoldNoThreads(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	const n = 40
	var tb Table
	for i := range n {
		ns := fmt.Sprintf("%sl%d", p, i)
		run(t, "ip", "netns", "add", ns)
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
		tb.Listeners = append(tb.Listeners, Listener{Key: ns, Namespace: ns, Addr: netip.MustParseAddrPort("127.0.0.1:8080")})
	}
	e := startEngine(t)
	before := threads(t)
	mustSet(t, e, tb)
	if after := threads(t); after-before >= n/2 {
		t.Errorf("threads went from %d to %d with %d listening namespaces, want no thread per namespace", before, after, n)
	}
	for i := range n {
		// No backend: the engine accepts and resets.
		c, err := dialNS(fmt.Sprintf("%sl%d", p, i), "127.0.0.1:8080")
		if err != nil && !isReset(err) {
			t.Fatalf("listener %d: %v", i, err)
		}
		if c != nil {
			c.Close()
		}
	}
}

func threads(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
