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
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/privlink/privlink/bench/internal/benchd"
	"github.com/privlink/privlink/bench/internal/cmdline"
	"github.com/privlink/privlink/bench/internal/haproxy"
	"github.com/privlink/privlink/bench/internal/proc"
	"github.com/privlink/privlink/bench/internal/proxycmp"
	"github.com/privlink/privlink/bench/internal/report"
	"github.com/privlink/privlink/bench/internal/tcpload"
)

type options struct {
	duration  time.Duration
	n         int
	size      int
	workers   int
	idle      int
	runs      int
	splits    []proxycmp.Split
	variants  string
	haproxyIn string
	haproxy   string
	privlink  string
	out       string
}

func main() {
	tcpload.Subcommand()
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
	cmdline.PrivlinkFlag(&o.privlink)
	cmdline.OutFlag(&o.out, "nlb")
	flag.Parse()
	cmdline.Main(func(ctx context.Context) error {
		var err error
		if o.splits, err = proxycmp.ParseSplits(*splits); err != nil {
			return fmt.Errorf("-splits: %w", err)
		}
		return run(ctx, o, os.Args)
	})
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
		haproxyVersion = haproxy.Version(path)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	d, err := benchd.StartTemp(ctx, o.privlink, "privlink-nlb-")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.Close()) }()
	if err := proc.Pin(d.PID(), o.splits[0].Proxy); err != nil {
		return fmt.Errorf("pin the daemon to CPU %d: %w", o.splits[0].Proxy, err)
	}

	env, err := setupInstances(ctx, d, want["haproxy"] && o.haproxyIn == "instance")
	if err != nil {
		return err
	}
	srv, err := tcpload.StartServer(ctx, exe, env.serverNS, o.splits[0].Server, serverPort, o.size, d.Dir)
	if err != nil {
		return err
	}
	defer srv.Stop()
	if want["nlb"] {
		t0 := time.Now()
		nlb, err := d.CreateNLB(ctx, benchd.NLBSpec{
			Name: "nlb-bench", VpcID: env.vpc, SubnetID: env.subnet, NodeIP: nodeIP,
			Port: nlbPort, TargetPort: serverPort, Targets: []string{env.serverID},
		})
		if err != nil {
			return err
		}
		env.nodeNS = nlb.NodeNS
		log.Printf("NLB %s active, node %s %s, target healthy (%.1fs)", nlb.ARN, nlb.NodeENI, nodeIP, time.Since(t0).Seconds())
	}

	var variants []*proxycmp.Variant
	if want["direct"] {
		variants = append(variants, &proxycmp.Variant{
			Name: "direct", ClientNS: env.clientNS, Addr: fmt.Sprintf("%s:%d", serverIP, serverPort),
			Desc: fmt.Sprintf("client %s → server %s:%d, same subnet (veth, bridge, veth; the instances' security groups)", clientIP, serverIP, serverPort),
		})
	}
	if want["haproxy"] {
		ns, ip := env.nodeNS, nodeIP
		where := "in the NLB node's namespace " + ns + " (same address, same veth on the same bridge, no firewall, as the NLB's forwarder)"
		if o.haproxyIn == "instance" {
			ns, ip = env.haproxyNS, haproxyIP
			where = "in a third instance " + ns + " at " + ip + " in the same subnet"
		}
		hp, err := startHAProxy(ctx, o, ns, ip, d.Dir)
		if err != nil {
			return err
		}
		defer hp.Stop()
		variants = append(variants, &proxycmp.Variant{
			Name: "HAProxy", ClientNS: env.clientNS, Addr: fmt.Sprintf("%s:%d", ip, haproxyPort), PID: hp.PID(),
			Desc: fmt.Sprintf("client → %s:%d, %s (mode tcp, nbthread 1, option splice-auto, no health checks) %s → server %s:%d",
				ip, haproxyPort, haproxyVersion, where, serverIP, serverPort),
		})
	}
	if want["nlb"] {
		variants = append(variants, &proxycmp.Variant{
			Name: "privlink NLB", ClientNS: env.clientNS, Addr: fmt.Sprintf("%s:%d", nodeIP, nlbPort), PID: d.PID(),
			Desc: fmt.Sprintf("client → NLB node %s:%d (internal, one node, no security groups; listener TCP %d → target group TCP %d, instance target) → server %s:%d; the forwarder in the daemon proxies from the node's namespace %s",
				nodeIP, nlbPort, nlbPort, serverPort, serverIP, serverPort, env.nodeNS),
		})
	}
	if err := proxycmp.Check(ctx, exe, o.splits[0].Client, o.tests(), variants); err != nil {
		return err
	}

	loadBefore := report.LoadAvg()
	res, err := proxycmp.Compare(ctx, exe, o.tests(), o.splits, o.runs, d.PID(), srv.PID(), variants)
	if err != nil {
		return err
	}

	var mem *memResult
	if want["nlb"] && o.idle > 0 {
		log.Printf("memory: %d idle connections through the NLB", o.idle)
		if mem, err = memoryTest(ctx, exe, env.clientNS, o.splits[len(o.splits)-1].Client, o.idle, d, srv); err != nil {
			return fmt.Errorf("memory test: %w", err)
		}
		log.Printf("  %s", mem.summary())
	}
	section := render(o, argv, d.Version, variants, res, mem, loadBefore, report.LoadAvg())
	return report.Publish(o.out, beginMarker, endMarker, section)
}

// startHAProxy starts haproxy in namespace ns on ip:haproxyPort, pinned to
// the proxies' CPU, forwarding to the server.
func startHAProxy(ctx context.Context, o options, ns, ip, dir string) (*proc.Process, error) {
	cfg := haproxy.Defaults + fmt.Sprintf(`
frontend bench
    bind %s:%d
    default_backend server

backend server
    server s1 %s:%d
`, ip, haproxyPort, serverIP, serverPort)
	p, err := haproxy.Start(ctx, o.haproxy, cfg, ns, o.splits[0].Proxy, dir)
	if err != nil {
		return nil, err
	}
	log.Printf("haproxy (pid %d) in %s on %s:%d", p.PID(), ns, ip, haproxyPort)
	return p, nil
}

// tests are the parameters of the three tests.
func (o options) tests() proxycmp.Tests {
	return proxycmp.Tests{Duration: o.duration, N: o.n, Size: o.size, Workers: o.workers}
}
