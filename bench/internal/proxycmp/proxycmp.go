// Package proxycmp compares TCP paths from a client to one server, direct
// or through proxies, in one run: the variants (one path each), the CPU
// placements every test runs in, the three tests (single-stream
// throughput, connections per second, ping-pong latency; run with
// tcpload), and the ratios and tables of the results.
//
// It imports only the standard library and bench/internal packages.
package proxycmp

import (
	"context"
	"fmt"
	"log"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/privlink/privlink/bench/internal/proc"
	"github.com/privlink/privlink/bench/internal/report"
	"github.com/privlink/privlink/bench/internal/tcpload"
)

// Split is a placement of the processes on the CPUs.
type Split struct{ Proxy, Server, Client int }

func (s Split) String() string {
	return fmt.Sprintf("proxy on CPU %d, server on CPU %d, load generator on CPU %d", s.Proxy, s.Server, s.Client)
}

// ParseSplits parses "P/S/C,P/S/C".
func ParseSplits(v string) ([]Split, error) {
	var out []Split
	ncpu := runtime.NumCPU()
	for part := range strings.SplitSeq(v, ",") {
		f := strings.Split(strings.TrimSpace(part), "/")
		if len(f) != 3 {
			return nil, fmt.Errorf("%q: want PROXY/SERVER/CLIENT", part)
		}
		var cpus [3]int
		for i, x := range f {
			n, err := strconv.Atoi(x)
			if err != nil || n < 0 || n >= ncpu {
				return nil, fmt.Errorf("%q: %q is not a CPU of this machine (0-%d)", part, x, ncpu-1)
			}
			cpus[i] = n
		}
		out = append(out, Split{cpus[0], cpus[1], cpus[2]})
	}
	return out, nil
}

// Describe says what a placement means for the comparison.
func Describe(sp Split) string {
	switch {
	case sp.Proxy != sp.Server && sp.Server == sp.Client:
		return "the proxy has a CPU to itself, like a dedicated load balancer; server and load generator share the other. The direct path runs entirely on one CPU; a proxied path also uses the proxy's CPU, and its round trip crosses CPUs four times (none for direct)."
	case sp.Proxy == sp.Server && sp.Client != sp.Server:
		return "the load generator has a CPU to itself and never competes with what is measured; the server side (server, and the proxy if any) gets the other CPU in every variant, so a proxy's cost comes out of the server's CPU. Every variant's round trip crosses CPUs twice."
	default:
		return "custom placement."
	}
}

// Variant is one path from a client to the server.
type Variant struct {
	Name     string
	ClientNS string // the namespace the load generator runs in
	Addr     string // what the client dials
	Desc     string
	PID      int // the proxy's process, 0 for none
}

// Place pins the proxies' processes (the daemon's with them) and the
// server for sp; the load generator is pinned as it starts.
func Place(sp Split, daemon, server int, variants []*Variant) error {
	pids := map[int]int{daemon: sp.Proxy, server: sp.Server}
	for _, v := range variants {
		if v.PID != 0 {
			pids[v.PID] = sp.Proxy
		}
	}
	for pid, cpu := range pids {
		if err := proc.Pin(pid, cpu); err != nil {
			return fmt.Errorf("pin process %d to CPU %d: %w", pid, cpu, err)
		}
	}
	return nil
}

// Tests are the parameters of the three tests.
type Tests struct {
	Duration time.Duration // of throughput and connections per second
	N        int           // timed round trips of the latency test
	Size     int           // bytes of request, answer and ping-pong message
	Workers  int           // concurrent connections of connections per second
}

// Sample is one run's measurements of one variant.
type Sample struct {
	Gbps      float64
	TputCPU   proc.Use
	CPS       float64
	CPSErrors int64
	CPSCPU    proc.Use
	P50, P99  time.Duration
}

// Check logs every variant, lets the daemon's runtime see the single CPU it
// was pinned to (sysmon rereads the affinity about once a second), and
// runs a short ping-pong through every variant, to see each path work end
// to end before anything is measured.
func Check(ctx context.Context, exe string, cpu int, t Tests, variants []*Variant) error {
	for _, v := range variants {
		log.Printf("%s: %s", v.Name, v.Desc)
	}
	time.Sleep(2 * time.Second)
	for _, v := range variants {
		if _, _, err := tcpload.Run(ctx, exe, v.ClientNS, cpu, v.PID, "-mode", "rr", "-addr", v.Addr, "-n", "200", "-size", strconv.Itoa(t.Size)); err != nil {
			return fmt.Errorf("%s: first check of the path: %w", v.Name, err)
		}
	}
	return nil
}

// Compare measures every variant in each placement of splits (Place, then
// Measure), runs times, the variants in an order that rotates from run to
// run; daemon and server are the processes Place pins with the proxies and
// as the server. It returns each placement's samples by variant name.
func Compare(ctx context.Context, exe string, t Tests, splits []Split, runs, daemon, server int, variants []*Variant) ([]map[string][]Sample, error) {
	res := make([]map[string][]Sample, len(splits))
	for i := range res {
		res[i] = map[string][]Sample{}
	}
	for r := range runs {
		for i, sp := range splits {
			if err := Place(sp, daemon, server, variants); err != nil {
				return nil, err
			}
			order := slices.Concat(variants[r%len(variants):], variants[:r%len(variants)])
			got, err := Measure(ctx, exe, t, sp, order, fmt.Sprintf("run %d/%d, %s", r+1, runs, sp))
			if err != nil {
				return nil, err
			}
			for name, s := range got {
				res[i][name] = append(res[i][name], *s)
			}
		}
	}
	return res, nil
}

// Measure runs the three tests on every variant, in order, with split sp;
// exe is the bench binary (its `load` subcommand is tcpload.LoadMain).
func Measure(ctx context.Context, exe string, t Tests, sp Split, order []*Variant, label string) (map[string]*Sample, error) {
	samples := map[string]*Sample{}
	for _, v := range order {
		samples[v.Name] = &Sample{}
	}
	for _, v := range order {
		log.Printf("%s: %s: throughput, %v", label, v.Name, t.Duration)
		lr, cpu, err := tcpload.Run(ctx, exe, v.ClientNS, sp.Client, v.PID, "-mode", "tput", "-addr", v.Addr, "-duration", t.Duration.String())
		if err != nil {
			return nil, fmt.Errorf("%s, %s: throughput: %w", label, v.Name, err)
		}
		s := samples[v.Name]
		s.Gbps, s.TputCPU = float64(lr.Bytes)*8/lr.Seconds/1e9, cpu
		log.Printf("  %.2f Gbit/s; %s", s.Gbps, cpu)
		pause(ctx)
	}
	for _, v := range order {
		log.Printf("%s: %s: connections per second, %d workers, %v", label, v.Name, t.Workers, t.Duration)
		lr, cpu, err := tcpload.Run(ctx, exe, v.ClientNS, sp.Client, v.PID, "-mode", "cps", "-addr", v.Addr,
			"-duration", t.Duration.String(), "-workers", strconv.Itoa(t.Workers), "-size", strconv.Itoa(t.Size))
		if err != nil {
			return nil, fmt.Errorf("%s, %s: connections per second: %w", label, v.Name, err)
		}
		s := samples[v.Name]
		s.CPS, s.CPSErrors, s.CPSCPU = float64(lr.Conns)/lr.Seconds, lr.Errors, cpu
		log.Printf("  %.0f conn/s (%d failed%s); %s", s.CPS, lr.Errors, firstErr(lr.FirstErr), cpu)
		pause(ctx)
	}
	for _, v := range order {
		log.Printf("%s: %s: latency, %d round trips of %d bytes", label, v.Name, t.N, t.Size)
		lr, _, err := tcpload.Run(ctx, exe, v.ClientNS, sp.Client, v.PID, "-mode", "rr", "-addr", v.Addr, "-n", strconv.Itoa(t.N), "-size", strconv.Itoa(t.Size))
		if err != nil {
			return nil, fmt.Errorf("%s, %s: latency: %w", label, v.Name, err)
		}
		s := samples[v.Name]
		s.P50, s.P99 = lr.P50, lr.P99
		log.Printf("  p50 %s  p99 %s", report.US(float64(lr.P50)), report.US(float64(lr.P99)))
	}
	return samples, nil
}

// pause lets the previous test's connections finish closing.
func pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
}

func firstErr(e string) string {
	if e == "" {
		return ""
	}
	return ", first: " + e
}
