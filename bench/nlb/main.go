// Command nlb measures privlink's Network Load Balancer against the direct
// path and against HAProxy, between the same two instances, in one run.
//
// It starts a privlink daemon (temporary data dir, free 127.0.0.1 port) and
// creates with aws-sdk-go-v2 a VPC 10.0.0.0/16 with one subnet 10.0.1.0/24,
// a security group that allows TCP 80-5001 from the VPC, a server instance
// at 10.0.1.10 and a client instance at 10.0.1.20; a target group (TCP
// 5001, instance targets, TCP health checks every 5 s) with the server
// registered, an internal NLB with one node at 10.0.1.100 in that subnet and
// no security groups, and a TCP listener on port 80. It waits until the NLB
// is active and the target healthy. The server (`nlb serve`, a hidden
// subcommand of this binary) runs in the server instance's namespace; the
// load generator (`nlb load`) in the client's. Three variants, the same two
// namespaces and the same server:
//
//   - direct: client → 10.0.1.10:5001 (the limit);
//   - HAProxy: client → 10.0.1.100:81, haproxy (mode tcp, one thread) in the
//     NLB node's own namespace → 10.0.1.10:5001;
//   - NLB: client → 10.0.1.100:80, privlink's forwarder → 10.0.1.10:5001.
//
// Every test of every variant runs in each CPU placement of -splits (by
// default two: the proxy alone on CPU 0 with server and load generator on
// CPU 1, and the load generator alone on CPU 1 with server and proxy on
// CPU 0), the same placement for all three variants. Per run, placement
// and variant, in a rotating order:
//
//   - throughput: one TCP connection, 64 KiB writes for -duration; Gbit/s;
//   - connections per second: -workers loops of connect, a -size byte
//     request, the -size byte answer, the server's close, for -duration;
//   - latency: one connection, -n round trips of -size bytes after -n/10
//     untimed ones; p50/p99.
//
// Then, once, -idle idle connections through the NLB: the daemon's VmRSS
// and open descriptors before and after. It reports the median over -runs
// runs and the ratios against the targets, and rewrites the nlb
// section of RESULTS.md. Everything it creates (daemon, namespaces,
// haproxy, server) goes on exit, also after an error or SIGINT.
//
// It needs root, ip, taskset and haproxy (apt-get install -y haproxy).
//
//	go build -o /tmp/privlink ./cmd/privlink
//	go run ./bench/nlb -privlink /tmp/privlink -runs 3 -out bench/RESULTS.md
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/privlink/privlink/bench/internal/benchd"
	"github.com/privlink/privlink/bench/internal/report"
)

type options struct {
	duration  time.Duration
	n         int
	size      int
	workers   int
	idle      int
	runs      int
	splits    []split
	variants  string
	haproxyIn string
	haproxy   string
	privlink  string
	out       string
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "serve":
			os.Exit(serveMain(os.Args[2:]))
		case "load":
			os.Exit(loadMain(os.Args[2:]))
		}
	}
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each throughput and connections-per-second test")
	flag.IntVar(&o.n, "n", 20000, "timed round trips of each latency test")
	flag.IntVar(&o.size, "size", 64, "bytes of each ping-pong message, request and answer")
	flag.IntVar(&o.workers, "workers", 32, "concurrent connections of the connections-per-second test")
	flag.IntVar(&o.idle, "idle", 10000, "idle connections through the NLB for the memory test (0: no memory test)")
	flag.IntVar(&o.runs, "runs", 3, "runs; the report gives the median over runs")
	splits := flag.String("splits", "0/1/1,0/0/1", "CPU placements to measure, comma-separated, each PROXY/SERVER/CLIENT: the CPU of the proxies (every daemon thread, haproxy), of the server and of the load generator")
	flag.StringVar(&o.variants, "variants", "direct,haproxy,nlb", "which paths to measure")
	flag.StringVar(&o.haproxyIn, "haproxy-in", "node", "where haproxy runs: node (the NLB node's namespace) or instance (a third instance at 10.0.1.30)")
	flag.StringVar(&o.haproxy, "haproxy", "haproxy", "haproxy binary")
	flag.StringVar(&o.privlink, "privlink", "", "path to the privlink binary (default: go build ./cmd/privlink into a temp dir)")
	flag.StringVar(&o.out, "out", "bench/RESULTS.md", "results file whose nlb section is written (\"\" or \"-\": stdout only)")
	flag.Parse()
	log.SetFlags(log.Ltime)
	var err error
	if o.splits, err = parseSplits(*splits); err != nil {
		log.Fatalf("-splits: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Args); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

const (
	serverIP    = "10.0.1.10"
	clientIP    = "10.0.1.20"
	haproxyIP   = "10.0.1.30" // -haproxy-in instance
	nodeIP      = "10.0.1.100"
	serverPort  = 5001
	nlbPort     = 80
	haproxyPort = 81
)

func run(ctx context.Context, o options, argv []string) (err error) {
	if o.duration <= 0 || o.n < 1 || o.size < 2 || o.workers < 1 || o.idle < 0 || o.runs < 1 {
		return errors.New("-duration, -n, -workers and -runs must be positive, -size at least 2, -idle not negative")
	}
	want := map[string]bool{}
	for v := range strings.SplitSeq(o.variants, ",") {
		switch v = strings.TrimSpace(v); v {
		case "direct", "haproxy", "nlb":
			want[v] = true
		default:
			return fmt.Errorf("-variants: unknown variant %q (direct, haproxy, nlb)", v)
		}
	}
	if o.haproxyIn != "node" && o.haproxyIn != "instance" {
		return fmt.Errorf("-haproxy-in %q: node or instance", o.haproxyIn)
	}
	if want["haproxy"] && o.haproxyIn == "node" && !want["nlb"] {
		return errors.New("-haproxy-in node needs the nlb variant (haproxy runs in the NLB node's namespace); use -haproxy-in instance")
	}
	if os.Geteuid() != 0 {
		return errors.New("nlb needs root: privlink creates network namespaces")
	}
	for _, tool := range []string{"ip", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed: %w", tool, err)
		}
	}
	haproxyVersion := ""
	if want["haproxy"] {
		path, err := exec.LookPath(o.haproxy)
		if err != nil {
			return fmt.Errorf("haproxy not found (%w): install it with `apt-get install -y haproxy`, or leave it out with -variants direct,nlb", err)
		}
		o.haproxy = path
		haproxyVersion, _, _ = strings.Cut(report.Output(path, "-v"), "\n")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "privlink-nlb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.privlink == "" {
		log.Printf("building ./cmd/privlink")
		if o.privlink, err = benchd.Build(ctx, tmp); err != nil {
			return err
		}
	}
	d, err := benchd.Start(ctx, o.privlink, tmp)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.Close()) }()
	if err := pin(d.PID(), o.splits[0].proxy); err != nil {
		return fmt.Errorf("pin the daemon to CPU %d: %w", o.splits[0].proxy, err)
	}

	env, err := setupInstances(ctx, d, want["haproxy"] && o.haproxyIn == "instance")
	if err != nil {
		return err
	}
	srv, err := startServer(ctx, exe, env.serverNS, o, tmp)
	if err != nil {
		return err
	}
	defer srv.stop()
	if want["nlb"] {
		if err := setupNLB(ctx, d, env); err != nil {
			return err
		}
	}

	var variants []*variant
	if want["direct"] {
		variants = append(variants, &variant{
			name: "direct", addr: fmt.Sprintf("%s:%d", serverIP, serverPort),
			desc: fmt.Sprintf("client %s → server %s:%d, same subnet (veth, bridge, veth; the instances' security groups)", clientIP, serverIP, serverPort),
		})
	}
	if want["haproxy"] {
		ns, ip := env.nodeNS, nodeIP
		where := "in the NLB node's namespace " + ns + " (same address, same veth on the same bridge, no firewall, as the NLB's forwarder)"
		if o.haproxyIn == "instance" {
			ns, ip = env.haproxyNS, haproxyIP
			where = "in a third instance " + ns + " at " + ip + " in the same subnet"
		}
		hp, err := startHAProxy(ctx, o, ns, ip, tmp)
		if err != nil {
			return err
		}
		defer hp.stop()
		variants = append(variants, &variant{
			name: "HAProxy", addr: fmt.Sprintf("%s:%d", ip, haproxyPort), pid: hp.pid(),
			desc: fmt.Sprintf("client → %s:%d, %s (mode tcp, nbthread 1, option splice-auto, no health checks) %s → server %s:%d",
				ip, haproxyPort, haproxyVersion, where, serverIP, serverPort),
		})
	}
	if want["nlb"] {
		variants = append(variants, &variant{
			name: "privlink NLB", addr: fmt.Sprintf("%s:%d", nodeIP, nlbPort), pid: d.PID(), nlb: true,
			desc: fmt.Sprintf("client → NLB node %s:%d (internal, one node, no security groups; listener TCP %d → target group TCP %d, instance target) → server %s:%d; the forwarder in the daemon proxies from the node's namespace %s",
				nodeIP, nlbPort, nlbPort, serverPort, serverIP, serverPort, env.nodeNS),
		})
	}
	for _, v := range variants {
		log.Printf("%s: %s", v.name, v.desc)
	}
	// Let the daemon's runtime see its single CPU (sysmon rereads the
	// affinity about once a second) and check every path end to end.
	time.Sleep(2 * time.Second)
	for _, v := range variants {
		if _, _, err := runLoad(ctx, exe, env.clientNS, o.splits[0].client, v, "-mode", "rr", "-addr", v.addr, "-n", "200", "-size", strconv.Itoa(o.size)); err != nil {
			return fmt.Errorf("%s: first check of the path: %w", v.name, err)
		}
	}

	loadBefore := report.LoadAvg()
	res := make([]map[string][]sample, len(o.splits))
	for r := range o.runs {
		for i, sp := range o.splits {
			if res[i] == nil {
				res[i] = map[string][]sample{}
			}
			if err := place(sp, d.PID(), srv, variants); err != nil {
				return err
			}
			order := slices.Concat(variants[r%len(variants):], variants[:r%len(variants)])
			got, err := measure(ctx, exe, env.clientNS, o, sp, order, fmt.Sprintf("run %d/%d, %s", r+1, o.runs, sp))
			if err != nil {
				return err
			}
			for name, s := range got {
				res[i][name] = append(res[i][name], *s)
			}
		}
	}

	var mem *memResult
	if want["nlb"] && o.idle > 0 {
		log.Printf("memory: %d idle connections through the NLB", o.idle)
		if mem, err = memoryTest(ctx, exe, env.clientNS, o.splits[len(o.splits)-1].client, o.idle, d, srv); err != nil {
			return fmt.Errorf("memory test: %w", err)
		}
		log.Printf("  %s", mem.summary())
	}
	section := render(o, argv, d.Version, variants, res, mem, loadBefore, report.LoadAvg())
	fmt.Print(section)
	if o.out == "" || o.out == "-" {
		return nil
	}
	if err := report.WriteSection(o.out, beginMarker, endMarker, section); err != nil {
		return err
	}
	log.Printf("wrote %s", o.out)
	return nil
}

// split is a placement of the processes on the CPUs.
type split struct{ proxy, server, client int }

func (s split) String() string {
	return fmt.Sprintf("proxy on CPU %d, server on CPU %d, load generator on CPU %d", s.proxy, s.server, s.client)
}

// parseSplits parses "P/S/C,P/S/C".
func parseSplits(v string) ([]split, error) {
	var out []split
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
		out = append(out, split{cpus[0], cpus[1], cpus[2]})
	}
	return out, nil
}

// place pins the daemon, the server and the proxies' processes for sp; the
// load generator is pinned as it starts.
func place(sp split, daemon int, server *child, variants []*variant) error {
	pids := map[int]int{daemon: sp.proxy, server.pid(): sp.server}
	for _, v := range variants {
		if v.pid != 0 {
			pids[v.pid] = sp.proxy
		}
	}
	for pid, cpu := range pids {
		if err := pin(pid, cpu); err != nil {
			return fmt.Errorf("pin process %d to CPU %d: %w", pid, cpu, err)
		}
	}
	return nil
}

// measure runs the three tests on every variant, in order, with split sp.
func measure(ctx context.Context, exe, clientNS string, o options, sp split, order []*variant, label string) (map[string]*sample, error) {
	samples := map[string]*sample{}
	for _, v := range order {
		samples[v.name] = &sample{}
	}
	for _, v := range order {
		log.Printf("%s: %s: throughput, %v", label, v.name, o.duration)
		lr, cpu, err := runLoad(ctx, exe, clientNS, sp.client, v, "-mode", "tput", "-addr", v.addr, "-duration", o.duration.String())
		if err != nil {
			return nil, fmt.Errorf("%s, %s: throughput: %w", label, v.name, err)
		}
		s := samples[v.name]
		s.gbps, s.tputCPU = float64(lr.Bytes)*8/lr.Seconds/1e9, cpu
		log.Printf("  %.2f Gbit/s; %s", s.gbps, cpu)
		pause(ctx)
	}
	for _, v := range order {
		log.Printf("%s: %s: connections per second, %d workers, %v", label, v.name, o.workers, o.duration)
		lr, cpu, err := runLoad(ctx, exe, clientNS, sp.client, v, "-mode", "cps", "-addr", v.addr,
			"-duration", o.duration.String(), "-workers", strconv.Itoa(o.workers), "-size", strconv.Itoa(o.size))
		if err != nil {
			return nil, fmt.Errorf("%s, %s: connections per second: %w", label, v.name, err)
		}
		s := samples[v.name]
		s.cps, s.cpsErrors, s.cpsCPU = float64(lr.Conns)/lr.Seconds, lr.Errors, cpu
		log.Printf("  %.0f conn/s (%d failed%s); %s", s.cps, lr.Errors, firstErr(lr.FirstErr), cpu)
		pause(ctx)
	}
	for _, v := range order {
		log.Printf("%s: %s: latency, %d round trips of %d bytes", label, v.name, o.n, o.size)
		lr, _, err := runLoad(ctx, exe, clientNS, sp.client, v, "-mode", "rr", "-addr", v.addr, "-n", strconv.Itoa(o.n), "-size", strconv.Itoa(o.size))
		if err != nil {
			return nil, fmt.Errorf("%s, %s: latency: %w", label, v.name, err)
		}
		s := samples[v.name]
		s.p50, s.p99 = lr.P50, lr.P99
		log.Printf("  p50 %s  p99 %s", us(float64(lr.P50)), us(float64(lr.P99)))
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

// variant is one path from the client to the server.
type variant struct {
	name string
	addr string // what the client dials
	desc string
	pid  int  // the proxy's process, 0 for none
	nlb  bool // the privlink NLB
}

// sample is one run's measurements of one variant.
type sample struct {
	gbps      float64
	tputCPU   cpuUse
	cps       float64
	cpsErrors int64
	cpsCPU    cpuUse
	p50, p99  time.Duration
}

// nsCommand runs this binary with args in namespace ns, pinned to cpu.
func nsCommand(ctx context.Context, exe, ns string, cpu int, args ...string) *exec.Cmd {
	argv := append([]string{"netns", "exec", ns, "taskset", "-c", strconv.Itoa(cpu), exe}, args...)
	cmd := exec.CommandContext(ctx, "ip", argv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// runLoad runs `nlb load args` in the client namespace and measures the
// CPU used meanwhile.
func runLoad(ctx context.Context, exe, ns string, cpu int, v *variant, args ...string) (loadResult, cpuUse, error) {
	cmd := nsCommand(ctx, exe, ns, cpu, append([]string{"load"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	c0 := readCPUs(v.pid)
	out, err := cmd.Output()
	use := readCPUs(v.pid).since(c0)
	if err != nil {
		return loadResult{}, use, fmt.Errorf("%w\n%s", err, stderr.Bytes())
	}
	var r loadResult
	if err := json.Unmarshal(out, &r); err != nil {
		return loadResult{}, use, fmt.Errorf("load's answer %q: %w", out, err)
	}
	return r, use, nil
}

// child is a long-running process of the bench.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop ends the process: SIGTERM, then SIGKILL after 5 s.
func (c *child) stop() {
	if c.exited() {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

func (c *child) tail() string {
	b, _ := os.ReadFile(c.log)
	return string(b)
}

// start starts cmd with its output in dir/name.log.
func start(cmd *exec.Cmd, name, dir string) (*child, error) {
	c := &child{name: name, cmd: cmd, done: make(chan struct{}), log: filepath.Join(dir, name+".log")}
	f, err := os.Create(c.log)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if cmd.Stdout == nil {
		cmd.Stdout = f
	}
	cmd.Stderr = f
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { cmd.Wait(); close(c.done) }()
	return c, nil
}

// startServer starts `nlb serve` in the server's namespace and waits until
// it listens.
func startServer(ctx context.Context, exe, ns string, o options, dir string) (*child, error) {
	cmd := nsCommand(ctx, exe, ns, o.splits[0].server, "serve", "-addr", fmt.Sprintf(":%d", serverPort), "-size", strconv.Itoa(o.size))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c, err := start(cmd, "server", dir)
	if err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		c.stop()
		return nil, fmt.Errorf("server did not start (%q, %v): %s", line, err, c.tail())
	}
	go io.Copy(io.Discard, stdout)
	return c, nil
}

// startHAProxy writes the configuration and starts haproxy in the
// foreground in namespace ns, pinned to the proxies' CPU.
func startHAProxy(ctx context.Context, o options, ns, ip, dir string) (*child, error) {
	cfg := fmt.Sprintf(`global
    nbthread 1
    maxconn 4096

defaults
    mode tcp
    option splice-auto
    timeout connect 5s
    timeout client 5m
    timeout server 5m

frontend bench
    bind %s:%d
    default_backend server

backend server
    server s1 %s:%d
`, ip, haproxyPort, serverIP, serverPort)
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "taskset", "-c", strconv.Itoa(o.splits[0].proxy), o.haproxy, "-db", "-f", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	c, err := start(cmd, "haproxy", dir)
	if err != nil {
		return nil, err
	}
	// haproxy binds before it daemonises nothing (-db): give it a moment
	// and check it did not exit on its configuration.
	time.Sleep(500 * time.Millisecond)
	if c.exited() {
		return nil, fmt.Errorf("haproxy exited: %s", c.tail())
	}
	log.Printf("haproxy (pid %d) in %s on %s:%d", c.pid(), ns, ip, haproxyPort)
	return c, nil
}

// pin sets the CPU affinity of every thread of process pid to cpu; threads
// it creates later inherit it.
func pin(pid, cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("thread %d: %w", tid, err)
		}
	}
	return nil
}

// cpuTimes are the per-CPU jiffies from /proc/stat and a process's.
type cpuTimes struct {
	at         time.Time
	busy, all  []uint64
	proc       uint64 // utime+stime of the proxy, ticks; 0 without one
	hasProcess bool
}

func readCPUs(pid int) cpuTimes {
	t := cpuTimes{at: time.Now()}
	b, _ := os.ReadFile("/proc/stat")
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		var busy, all uint64
		for i, s := range f[1:] {
			v, _ := strconv.ParseUint(s, 10, 64)
			if i == 8 || i == 9 { // guest, guest_nice: inside user, nice
				continue
			}
			all += v
			if i != 3 && i != 4 { // idle, iowait
				busy += v
			}
		}
		t.busy, t.all = append(t.busy, busy), append(t.all, all)
	}
	if pid > 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			// After the ")" that ends comm: state is field 3, utime 14, stime 15.
			if i := bytes.LastIndexByte(b, ')'); i >= 0 {
				f := strings.Fields(string(b[i+1:]))
				if len(f) > 12 {
					u, _ := strconv.ParseUint(f[11], 10, 64)
					s, _ := strconv.ParseUint(f[12], 10, 64)
					t.proc, t.hasProcess = u+s, true
				}
			}
		}
	}
	return t
}

// cpuUse is the CPU used during a test: each CPU's busy share, and the
// proxy process's CPU time as a share of one CPU (-1 without a proxy).
type cpuUse struct {
	perCPU []float64
	proxy  float64
}

func (t cpuTimes) since(t0 cpuTimes) cpuUse {
	u := cpuUse{proxy: -1}
	for i := range min(len(t.busy), len(t0.busy)) {
		if d := t.all[i] - t0.all[i]; d > 0 {
			u.perCPU = append(u.perCPU, float64(t.busy[i]-t0.busy[i])/float64(d))
		} else {
			u.perCPU = append(u.perCPU, 0)
		}
	}
	if t.hasProcess && t0.hasProcess {
		const ticks = 100 // USER_HZ
		u.proxy = float64(t.proc-t0.proc) / ticks / t.at.Sub(t0.at).Seconds()
	}
	return u
}

func (u cpuUse) String() string {
	var parts []string
	for i, x := range u.perCPU {
		parts = append(parts, fmt.Sprintf("CPU%d %.0f%%", i, x*100))
	}
	if u.proxy >= 0 {
		parts = append(parts, fmt.Sprintf("proxy process %.0f%% of a CPU", u.proxy*100))
	}
	return strings.Join(parts, ", ")
}
