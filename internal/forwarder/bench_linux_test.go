package forwarder

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/privlink/privlink/internal/testenv"
	"golang.org/x/sys/unix"
)

// The benchmarks run the engine in this process and the load (clients in
// the client namespace, backends in the target one) in a child process,
// this test binary again, so that this process's CPU time and descriptors
// are the engine's. They need root; the machine's other work moves every
// number, so compare builds in alternation, on the same run:
//
//	go test -run '^$' -bench Privileged -benchtime 1x ./internal/forwarder/
//
// benchtime is best left at 1x: one op is a run of loadDuration (or of
// idleConns connections).

// loadEnv, when set, makes the test binary the benchmarks' load generator
// (see TestMain) with the loadSpec it holds.
const loadEnv = "PRIVLINK_FORWARDER_LOAD"

// loadCPUEnv, when set, pins the load generator to that CPU list
// (taskset -c), so that it does not share the engine's CPUs: run the
// benchmark itself under taskset too.
const loadCPUEnv = "PRIVLINK_BENCH_LOAD_CPU"

const (
	loadDuration = 3 * time.Second
	loadWorkers  = 32
	msgSize      = 64 // request and answer of the connection and latency loads
	idleConns    = 2000
)

// loadSpec is one run of the load generator.
type loadSpec struct {
	Mode     string // conns, latency, bulk or idle
	Dial     string // namespace the clients dial from
	Addr     string // where they connect
	Serve    string // namespace of the backend
	Backend  string // its address
	Duration time.Duration
}

// loadResult is what the load generator reports.
type loadResult struct {
	Count    int           // connections (conns), round trips (latency), bytes (bulk)
	Elapsed  time.Duration // of the measured part
	P50, P99 time.Duration // latency
	CPU      time.Duration // the load generator's own (clients and backend), in the measured part
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(loadEnv); spec != "" {
		if err := runLoad(spec); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// benchEngine starts an engine with one listener to target1.
func benchEngine(b *testing.B, tp *topo) *Engine {
	b.Helper()
	e := New(Options{})
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- e.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	mustSet(b, e, Table{Listeners: []Listener{tp.listener("l", lisAddr, tp.backend("t1", target1, Healthy))}})
	return e
}

// loadProc is a running load generator.
type loadProc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startLoad(b *testing.B, spec loadSpec) *loadProc {
	b.Helper()
	js, err := json.Marshal(spec)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	if cpu := os.Getenv(loadCPUEnv); cpu != "" {
		cmd = exec.Command("taskset", "-c", cpu, os.Args[0])
	}
	cmd.Env = append(os.Environ(), loadEnv+"="+string(js))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &loadProc{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	b.Cleanup(func() {
		in.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return p
}

// expect reads the load generator's next line, which must start with word.
func (p *loadProc) expect(b *testing.B, word string) string {
	b.Helper()
	if !p.out.Scan() {
		b.Fatalf("load generator ended before %q: %v", word, p.out.Err())
	}
	rest, ok := strings.CutPrefix(p.out.Text(), word)
	if !ok {
		b.Fatalf("load generator said %q, want %q", p.out.Text(), word)
	}
	return strings.TrimSpace(rest)
}

// runOnce runs spec and returns its result and the engine's CPU time
// during the measured part.
func runOnce(b *testing.B, spec loadSpec) (loadResult, time.Duration) {
	b.Helper()
	p := startLoad(b, spec)
	p.expect(b, "ready")
	cpu0 := rusage()
	fmt.Fprintln(p.in, "go")
	line := p.expect(b, "result")
	cpu := rusage() - cpu0
	var r loadResult
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		b.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		b.Fatalf("load generator: %v", err)
	}
	return r, cpu
}

// BenchmarkPrivilegedConns: loadWorkers clients in a loop connect, send
// msgSize bytes, read the answer and the backend's close, and close,
// through the engine and, for comparison, through HAProxy (when installed)
// in the same position: listening in the ENI's namespace, dialling from
// the node's. cpu-us/conn is the proxy's CPU time per connection,
// load-cpu-us/conn the clients' and backend's, which the proxy's way of
// sending segments moves too.
func BenchmarkPrivilegedConns(b *testing.B) {
	tp := newTopo(b)
	benchEngine(b, tp)
	haproxy := startHAProxy(b, tp)
	for _, v := range []struct {
		name string
		addr netip.AddrPort
		cpu  func() time.Duration
	}{
		{"engine", lisAddr, rusage},
		{"haproxy", haproxyAddr, haproxy},
	} {
		b.Run(v.name, func(b *testing.B) {
			if v.cpu == nil {
				b.Skip("haproxy not installed")
			}
			var conns, secs, cpu, load float64
			for range b.N {
				cpu0 := v.cpu()
				r, _ := runOnce(b, loadSpec{Mode: "conns", Dial: tp.client, Addr: v.addr.String(),
					Serve: tp.target, Backend: target1.String(), Duration: loadDuration})
				cpu += (v.cpu() - cpu0).Seconds()
				conns += float64(r.Count)
				secs += r.Elapsed.Seconds()
				load += r.CPU.Seconds()
			}
			b.ReportMetric(conns/secs, "conn/s")
			b.ReportMetric(cpu/conns*1e6, "cpu-us/conn")
			b.ReportMetric(load/conns*1e6, "load-cpu-us/conn")
			b.ReportMetric(conns, "conns")
		})
	}
}

// haproxyAddr is where startHAProxy's HAProxy listens, in the ENI's
// namespace beside the engine's listener.
var haproxyAddr = netip.MustParseAddrPort("10.10.1.1:8081")

// startHAProxy runs HAProxy in TCP mode, one thread, from haproxyAddr in
// tp.eni to target1 from srcIP in tp.node (its namespace keyword), and
// returns a reader of its CPU time; nil when haproxy is not installed.
func startHAProxy(b *testing.B, tp *topo) func() time.Duration {
	b.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		return nil
	}
	cfg := fmt.Sprintf(`global
    nbthread 1
    maxconn 4096
defaults
    mode tcp
    option splice-auto
    timeout connect 5s
    timeout client 5m
    timeout server 5m
listen bench
    bind %s namespace %s
    server t1 %s namespace %s source %s
`, haproxyAddr, tp.eni, target1, tp.node, srcIP)
	path := b.TempDir() + "/haproxy.cfg"
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", path)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// It binds in a moment; the configuration's errors show on stderr.
	time.Sleep(500 * time.Millisecond)
	pid := cmd.Process.Pid
	return func() time.Duration {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			b.Fatal(err)
		}
		// After the command in parentheses: state is field 3, utime
		// and stime fields 14 and 15, in clock ticks (100 Hz).
		f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
		ut, _ := strconv.Atoi(f[11])
		st, _ := strconv.Atoi(f[12])
		return time.Duration(ut+st) * 10 * time.Millisecond
	}
}

// BenchmarkPrivilegedLatency: round trips of msgSize bytes on one
// connection, through the engine and directly (from the node's namespace
// to the backend, one veth pair like each half of the proxied path).
func BenchmarkPrivilegedLatency(b *testing.B) {
	tp := newTopo(b)
	benchEngine(b, tp)
	for _, v := range []struct{ name, ns, addr string }{
		{"direct", tp.node, target1.String()},
		{"proxied", tp.client, lisAddr.String()},
	} {
		b.Run(v.name, func(b *testing.B) {
			var p50, p99, n, cpu float64
			for range b.N {
				r, c := runOnce(b, loadSpec{Mode: "latency", Dial: v.ns, Addr: v.addr,
					Serve: tp.target, Backend: target1.String(), Duration: loadDuration})
				p50 += r.P50.Seconds() * 1e6
				p99 += r.P99.Seconds() * 1e6
				n += float64(r.Count)
				cpu += c.Seconds()
			}
			b.ReportMetric(p50/float64(b.N), "p50-us")
			b.ReportMetric(p99/float64(b.N), "p99-us")
			b.ReportMetric(n/float64(b.N), "round-trips")
			b.ReportMetric(cpu/n*1e6, "cpu-us/rt")
		})
	}
}

// BenchmarkPrivilegedBulk: one stream of 64 KiB writes, through the engine
// and directly.
func BenchmarkPrivilegedBulk(b *testing.B) {
	tp := newTopo(b)
	benchEngine(b, tp)
	for _, v := range []struct{ name, ns, addr string }{
		{"direct", tp.node, target1.String()},
		{"proxied", tp.client, lisAddr.String()},
	} {
		b.Run(v.name, func(b *testing.B) {
			var bytes, secs, cpu float64
			for range b.N {
				r, c := runOnce(b, loadSpec{Mode: "bulk", Dial: v.ns, Addr: v.addr,
					Serve: tp.target, Backend: target1.String(), Duration: loadDuration})
				bytes += float64(r.Count)
				secs += r.Elapsed.Seconds()
				cpu += c.Seconds()
			}
			b.ReportMetric(bytes/secs*8/1e9, "Gbit/s")
			b.ReportMetric(cpu/(bytes/(1<<30))*1e3, "cpu-ms/GiB")
		})
	}
}

// BenchmarkPrivilegedIdle opens idleConns connections through the engine,
// each answered once, and counts the engine's descriptors and memory with
// them open, and its descriptors once they closed.
func BenchmarkPrivilegedIdle(b *testing.B) {
	tp := newTopo(b)
	e := benchEngine(b, tp)
	active := func(want uint64) func() error {
		return func() error {
			if st := e.Stats(); len(st) != 1 || st[0].ActiveConns != want {
				return fmt.Errorf("Stats() = %+v, want %d active", st, want)
			}
			return nil
		}
	}
	for range b.N {
		fd0, rss0 := countFDs(b), rssKB(b)
		p := startLoad(b, loadSpec{Mode: "idle", Dial: tp.client, Addr: lisAddr.String(),
			Serve: tp.target, Backend: target1.String()})
		p.expect(b, "ready")
		fmt.Fprintln(p.in, "go")
		p.expect(b, "open")
		testenv.WaitFor(b, 10*time.Second, "flows", active(idleConns))
		fd1, rss1 := countFDs(b), rssKB(b)
		fmt.Fprintln(p.in, "close")
		p.expect(b, "result")
		testenv.WaitFor(b, 10*time.Second, "no flows", active(0))
		fd2 := countFDs(b)
		b.ReportMetric(float64(fd1-fd0)/idleConns, "fds/conn")
		b.ReportMetric(float64(rss1-rss0)/idleConns, "rss-kB/conn")
		b.ReportMetric(float64(fd2-fd0), "fds-left")
	}
}

// runLoad is the load generator's main: it serves the backend, says
// "ready", waits for a line on stdin, runs the load and prints "result"
// and the loadResult as JSON.
func runLoad(js string) error {
	var spec loadSpec
	if err := json.Unmarshal([]byte(js), &spec); err != nil {
		return err
	}
	var handle func(net.Conn)
	switch spec.Mode {
	case "conns":
		handle = func(c net.Conn) {
			buf := make([]byte, msgSize)
			if _, err := io.ReadFull(c, buf); err == nil {
				c.Write(buf)
			}
		}
	case "latency", "idle":
		handle = echo
	case "bulk":
		handle = func(c net.Conn) {
			n, _ := io.Copy(io.Discard, c)
			fmt.Fprint(c, n)
		}
	default:
		return fmt.Errorf("unknown mode %q", spec.Mode)
	}
	var ln net.Listener
	if err := netns.DoNamed(spec.Serve, func() error {
		var err error
		ln, err = net.Listen("tcp4", spec.Backend)
		return err
	}); err != nil {
		return err
	}
	var handlers sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			handlers.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	}()
	addr, err := netip.ParseAddrPort(spec.Addr)
	if err != nil {
		return err
	}
	d := &nsDialer{ns: spec.Dial}
	defer d.close()
	in := bufio.NewScanner(os.Stdin)
	fmt.Println("ready")
	if !in.Scan() {
		return errors.New("no go")
	}
	var r loadResult
	cpu0 := rusage()
	switch spec.Mode {
	case "conns":
		r, err = loadConns(d, addr, spec.Duration)
	case "latency":
		r, err = loadLatency(d, addr, spec.Duration)
	case "bulk":
		r, err = loadBulk(d, addr, spec.Duration)
	case "idle":
		r, err = loadIdle(d, addr, in, &handlers)
	}
	if err != nil {
		return err
	}
	r.CPU = rusage() - cpu0
	js2, _ := json.Marshal(r)
	fmt.Println("result", string(js2))
	return nil
}

func loadConns(d *nsDialer, addr netip.AddrPort, dur time.Duration) (loadResult, error) {
	if err := d.oneConn(addr); err != nil { // warm up
		return loadResult{}, err
	}
	var count atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(dur)
	for range loadWorkers {
		wg.Go(func() {
			for time.Now().Before(end) {
				if err := d.oneConn(addr); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		return loadResult{}, *err
	}
	return loadResult{Count: int(count.Load()), Elapsed: time.Since(start)}, nil
}

func loadLatency(d *nsDialer, addr netip.AddrPort, dur time.Duration) (loadResult, error) {
	c, err := d.dial(addr)
	if err != nil {
		return loadResult{}, err
	}
	defer c.Close()
	buf := make([]byte, msgSize)
	rt := func() error {
		if _, err := c.Write(buf); err != nil {
			return err
		}
		_, err := io.ReadFull(c, buf)
		return err
	}
	for range 2000 {
		if err := rt(); err != nil {
			return loadResult{}, err
		}
	}
	var rtts []time.Duration
	start := time.Now()
	for time.Since(start) < dur {
		t0 := time.Now()
		if err := rt(); err != nil {
			return loadResult{}, err
		}
		rtts = append(rtts, time.Since(t0))
	}
	el := time.Since(start)
	slices.Sort(rtts)
	return loadResult{Count: len(rtts), Elapsed: el, P50: rtts[len(rtts)/2], P99: rtts[len(rtts)*99/100]}, nil
}

func loadBulk(d *nsDialer, addr netip.AddrPort, dur time.Duration) (loadResult, error) {
	c, err := d.dial(addr)
	if err != nil {
		return loadResult{}, err
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	n := 0
	start := time.Now()
	for time.Since(start) < dur {
		m, err := c.Write(buf)
		n += m
		if err != nil {
			return loadResult{}, err
		}
	}
	c.CloseWrite()
	got, err := io.ReadAll(c)
	el := time.Since(start)
	if err != nil {
		return loadResult{}, err
	}
	if string(got) != strconv.Itoa(n) {
		return loadResult{}, fmt.Errorf("backend got %s bytes, want %d", got, n)
	}
	return loadResult{Count: n, Elapsed: el}, nil
}

// loadIdle opens idleConns connections, each with one round trip, says
// "open", and closes them all on the next line of in.
func loadIdle(d *nsDialer, addr netip.AddrPort, in *bufio.Scanner, handlers *sync.WaitGroup) (loadResult, error) {
	conns := make([]*net.TCPConn, 0, idleConns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range idleConns {
		c, err := d.dial(addr)
		if err != nil {
			return loadResult{}, err
		}
		conns = append(conns, c)
		if err := roundTrip(c, "x"); err != nil {
			return loadResult{}, err
		}
	}
	fmt.Println("open")
	if !in.Scan() {
		return loadResult{}, errors.New("no close")
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	handlers.Wait()
	return loadResult{Count: idleConns}, nil
}

// nsDialer connects from namespace ns with sockets made there in batches,
// so that a connection costs no namespace switch.
type nsDialer struct {
	ns  string
	mu  sync.Mutex
	fds []int
}

func (d *nsDialer) socket() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.fds) == 0 {
		err := netns.DoNamed(d.ns, func() error {
			for range 256 {
				fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					return err
				}
				d.fds = append(d.fds, fd)
			}
			return nil
		})
		if err != nil && len(d.fds) == 0 {
			return -1, err
		}
	}
	fd := d.fds[len(d.fds)-1]
	d.fds = d.fds[:len(d.fds)-1]
	return fd, nil
}

func (d *nsDialer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, fd := range d.fds {
		unix.Close(fd)
	}
	d.fds = nil
}

// dial connects to addr with a blocking connect, then hands the socket to
// the runtime.
func (d *nsDialer) dial(addr netip.AddrPort) (*net.TCPConn, error) {
	fd, err := d.socket()
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Connect(fd, sockaddr(addr))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	f := os.NewFile(uintptr(fd), "client")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// oneConn makes one connection: msgSize bytes there and back, then the
// backend's close.
func (d *nsDialer) oneConn(addr netip.AddrPort) error {
	c, err := d.dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, msgSize+1)
	if _, err := c.Write(buf[:msgSize]); err != nil {
		return err
	}
	n, err := io.ReadFull(c, buf)
	if err != io.ErrUnexpectedEOF || n != msgSize {
		return fmt.Errorf("read %d bytes, %v; want %d and EOF", n, err, msgSize)
	}
	return nil
}

func rusage() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func countFDs(b *testing.B) int {
	b.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		b.Fatal(err)
	}
	return len(ents)
}

func rssKB(b *testing.B) int {
	b.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
