// Command netperf measures the data path between two privlink instances in
// different subnets against a raw veth pair, the physical limit, in the same
// run.
//
// It starts a privlink daemon (temporary data dir, free 127.0.0.1 port) and
// creates with aws-sdk-go-v2 a VPC 10.0.0.0/16 with subnets 10.0.1.0/24
// (us-east-1a) and 10.0.2.0/24 (us-east-1b), a security group that allows
// TCP 5001-5002 from 10.0.0.0/16, a server instance at 10.0.1.10 and a
// client instance at 10.0.2.10: client eth0 → veth → subnet bridge in the
// VPC router → routed → subnet bridge → veth → server eth0, with the
// security groups' nftables in both instances and the network ACLs' in the
// router. The baseline is two throwaway namespaces (plkbench-<rand>-a/-b)
// joined by one veth pair, 10.99.0.1/24 – 10.99.0.2/24: no bridge, no
// routing, no nftables.
//
// No program runs in the instances: the bench opens its sockets inside the
// namespaces itself (setns on a locked thread), so both paths are driven by
// the same code in the same process. Per path and run:
//
//   - throughput: one TCP stream; the client writes 64 KiB buffers for
//     -duration, the server reads and discards, and answers the byte count
//     after the client's FIN; Gbit/s = bytes / (first write → count
//     received);
//   - request/response: one TCP connection (TCP_NODELAY), -n round trips of
//     one byte each way after -n/10 untimed ones; p50/p99 of the round trip
//     and round trips per second.
//
// The paths alternate in order from run to run. The report gives the median
// over -runs runs and the privlink/raw ratios, and rewrites the netperf
// section of RESULTS.md. Everything the bench creates is removed on exit,
// also after an error or SIGINT.
//
// It needs root.
//
//	go build -o /tmp/privlink ./cmd/privlink
//	go run ./bench/netperf -privlink /tmp/privlink -runs 3 -out bench/RESULTS.md
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/vishvananda/netlink"

	"github.com/privlink/privlink/bench/internal/benchd"
	"github.com/privlink/privlink/bench/internal/cmdline"
	"github.com/privlink/privlink/bench/internal/nsnet"
	"github.com/privlink/privlink/bench/internal/report"
	"github.com/privlink/privlink/bench/internal/tcpload"
	"github.com/privlink/privlink/internal/dataplane/netns"
)

type options struct {
	duration time.Duration
	n        int
	runs     int
	buf      int
	privlink string
	out      string
}

const (
	tputPort = 5001
	rrPort   = 5002
)

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each throughput test")
	flag.IntVar(&o.n, "n", 20000, "timed round trips of each request/response test")
	flag.IntVar(&o.runs, "runs", 3, "runs; the report gives the median over runs")
	flag.IntVar(&o.buf, "buf", 64<<10, "size of the client's writes in the throughput test, bytes")
	cmdline.PrivlinkFlag(&o.privlink)
	cmdline.OutFlag(&o.out, "netperf")
	flag.Parse()
	cmdline.Main(func(ctx context.Context) error { return run(ctx, o, os.Args) })
}

func run(ctx context.Context, o options, argv []string) (err error) {
	if o.duration <= 0 || o.n < 1 || o.runs < 1 || o.buf < 1 {
		return errors.New("-duration, -n, -runs and -buf must be positive")
	}
	if os.Geteuid() != 0 {
		return errors.New("netperf needs root: it creates network namespaces")
	}
	d, err := benchd.StartTemp(ctx, o.privlink, "privlink-netperf-")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.Close()) }()

	pl, err := setupPrivlink(ctx, d)
	if err != nil {
		return err
	}
	defer pl.close()
	raw, err := setupRaw()
	if err != nil {
		return err
	}
	defer raw.close()

	loadBefore := report.LoadAvg()
	results := map[string][]result{}
	paths := []*pair{raw, pl}
	for r := 1; r <= o.runs; r++ {
		order := paths
		if r%2 == 0 {
			order = []*pair{pl, raw}
		}
		res := map[string]*result{raw.name: {}, pl.name: {}}
		for _, p := range order {
			log.Printf("run %d/%d: %s: throughput, %v", r, o.runs, p.name, o.duration)
			t, err := throughput(ctx, p, o.duration, o.buf)
			if err != nil {
				return fmt.Errorf("run %d, %s: throughput: %w", r, p.name, err)
			}
			res[p.name].tput = t
			log.Printf("  %.2f Gbit/s (host CPU busy %.0f%%)", t.gbps, t.busy*100)
		}
		for _, p := range order {
			log.Printf("run %d/%d: %s: request/response, %d round trips", r, o.runs, p.name, o.n)
			rr, err := requestResponse(ctx, p, o.n)
			if err != nil {
				return fmt.Errorf("run %d, %s: request/response: %w", r, p.name, err)
			}
			res[p.name].rr = rr
			log.Printf("  p50 %s  p99 %s  %.0f round trips/s", report.US(float64(rr.p50)), report.US(float64(rr.p99)), rr.tps)
		}
		for name, x := range res {
			results[name] = append(results[name], *x)
		}
	}
	section := render(o, argv, d.Version, raw, pl, results, loadBefore, report.LoadAvg())
	return report.Publish(o.out, beginMarker, endMarker, section)
}

// pair is a path to measure: a server and a client namespace.
type pair struct {
	name     string
	desc     string
	server   netns.Handle
	client   netns.Handle
	serverIP string
	close    func()
}

// setupPrivlink creates the VPC, subnets, group and the two instances, and
// opens their namespaces. The instances and the rest go in d.Close.
func setupPrivlink(ctx context.Context, d *benchd.Daemon) (*pair, error) {
	vpc, err := d.CreateVpc(ctx, "10.0.0.0/16")
	if err != nil {
		return nil, err
	}
	sub1, err := d.CreateSubnet(ctx, vpc, "10.0.1.0/24", "us-east-1a")
	if err != nil {
		return nil, err
	}
	sub2, err := d.CreateSubnet(ctx, vpc, "10.0.2.0/24", "us-east-1b")
	if err != nil {
		return nil, err
	}
	sg, err := d.CreateSecurityGroup(ctx, vpc, "netperf", "10.0.0.0/16", tputPort, rrPort)
	if err != nil {
		return nil, err
	}
	srv, err := d.RunInstance(ctx, benchd.Instance{SubnetID: sub1, GroupID: sg, IP: "10.0.1.10"})
	if err != nil {
		return nil, err
	}
	cli, err := d.RunInstance(ctx, benchd.Instance{SubnetID: sub2, GroupID: sg, IP: "10.0.2.10"})
	if err != nil {
		return nil, err
	}
	ids := []string{aws.ToString(srv.InstanceId), aws.ToString(cli.InstanceId)}
	for _, id := range ids {
		if _, err := d.WaitState(ctx, id, types.InstanceStateNameRunning, 20*time.Millisecond, time.Minute); err != nil {
			return nil, err
		}
	}
	log.Printf("privlink: %s, server %s 10.0.1.10 (%s), client %s 10.0.2.10 (%s), group %s", vpc, ids[0], sub1, ids[1], sub2, sg)
	hs, err := netns.Open(benchd.NamespacePrefix + ids[0])
	if err != nil {
		return nil, err
	}
	hc, err := netns.Open(benchd.NamespacePrefix + ids[1])
	if err != nil {
		hs.Close()
		return nil, err
	}
	return &pair{
		name:     "privlink",
		desc:     "instance 10.0.2.10 (subnet 2) → instance 10.0.1.10 (subnet 1): veth, bridge, VPC router, bridge, veth; security groups and NACLs in nftables",
		server:   hs,
		client:   hc,
		serverIP: "10.0.1.10",
		close:    func() { hs.Close(); hc.Close() },
	}, nil
}

// setupRaw creates the baseline: two namespaces and a veth pair.
func setupRaw() (_ *pair, err error) {
	var rnd [3]byte
	rand.Read(rnd[:])
	prefix := "plkbench-" + hex.EncodeToString(rnd[:])
	a, b := prefix+"-a", prefix+"-b"
	var handles []netns.Handle
	cleanup := func() {
		for _, h := range handles {
			h.Close()
		}
		for _, n := range []string{a, b} {
			if err := netns.Delete(n); err != nil {
				log.Printf("clean-up: %v", err)
			}
		}
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	for _, n := range []string{a, b} {
		if err := netns.Create(n); err != nil {
			return nil, err
		}
		h, err := netns.Open(n)
		if err != nil {
			return nil, err
		}
		handles = append(handles, h)
	}
	nla, err := netlink.NewHandleAt(handles[0])
	if err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", a, err)
	}
	defer nla.Close()
	nlb, err := netlink.NewHandleAt(handles[1])
	if err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", b, err)
	}
	defer nlb.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(handles[1]))}
	if err := nla.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("create veth %s/eth0 – %s/eth0: %w", a, b, err)
	}
	for _, side := range []struct {
		h    *netlink.Handle
		ns   string
		addr string
	}{{nla, a, "10.99.0.1/24"}, {nlb, b, "10.99.0.2/24"}} {
		for _, name := range []string{"lo", "eth0"} {
			l, err := side.h.LinkByName(name)
			if err != nil {
				return nil, fmt.Errorf("%s/%s: %w", side.ns, name, err)
			}
			if name == "eth0" {
				addr, _ := netlink.ParseAddr(side.addr)
				if err := side.h.AddrAdd(l, addr); err != nil {
					return nil, fmt.Errorf("address %s on %s/eth0: %w", side.addr, side.ns, err)
				}
			}
			if err := side.h.LinkSetUp(l); err != nil {
				return nil, fmt.Errorf("set %s/%s up: %w", side.ns, name, err)
			}
		}
	}
	log.Printf("raw veth: %s 10.99.0.1 (server) – %s 10.99.0.2 (client)", a, b)
	return &pair{
		name:     "raw veth",
		desc:     fmt.Sprintf("namespace %s-b 10.99.0.2 → %s-a 10.99.0.1: one veth pair, no bridge, no routing, no nftables", prefix, prefix),
		server:   handles[0],
		client:   handles[1],
		serverIP: "10.99.0.1",
		close:    cleanup,
	}, nil
}

type result struct {
	tput tputResult
	rr   rrResult
}

type tputResult struct {
	gbps float64
	busy float64 // share of all CPUs busy during the test, 0..1
}

// throughput runs one single-stream test on p.
func throughput(ctx context.Context, p *pair, dur time.Duration, bufSize int) (tputResult, error) {
	addr := net.JoinHostPort(p.serverIP, strconv.Itoa(tputPort))
	ln, err := nsnet.Listen(p.server, addr)
	if err != nil {
		return tputResult{}, err
	}
	defer ln.Close()
	deadline := time.Now().Add(dur + time.Minute)
	ln.SetDeadline(deadline)
	srvErr := make(chan error, 1)
	go func() { srvErr <- acceptOne(ln, deadline, tcpload.Sink) }()

	c, err := nsnet.Dial(ctx, p.client, addr)
	if err != nil {
		ln.Close()
		<-srvErr
		return tputResult{}, err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	cpu0 := readCPU()
	got, elapsed, err := tcpload.Stream(c, dur, bufSize)
	if err != nil {
		return tputResult{}, err
	}
	busy := readCPU().busySince(cpu0)
	if err := <-srvErr; err != nil {
		return tputResult{}, fmt.Errorf("server: %w", err)
	}
	return tputResult{gbps: float64(got) * 8 / elapsed.Seconds() / 1e9, busy: busy}, nil
}

// acceptOne accepts one connection, sets its deadline, and serves it with
// serve (tcpload.Sink, a one-byte tcpload.Echo).
func acceptOne(ln *net.TCPListener, deadline time.Time, serve func(net.Conn) error) error {
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	return serve(c)
}

type rrResult struct {
	p50, p99 time.Duration
	tps      float64
}

// requestResponse runs one ping-pong test on p.
func requestResponse(ctx context.Context, p *pair, n int) (rrResult, error) {
	addr := net.JoinHostPort(p.serverIP, strconv.Itoa(rrPort))
	ln, err := nsnet.Listen(p.server, addr)
	if err != nil {
		return rrResult{}, err
	}
	defer ln.Close()
	deadline := time.Now().Add(5 * time.Minute)
	ln.SetDeadline(deadline)
	srvErr := make(chan error, 1)
	go func() { srvErr <- acceptOne(ln, deadline, func(c net.Conn) error { return tcpload.Echo(c, 1) }) }()

	c, err := nsnet.Dial(ctx, p.client, addr)
	if err != nil {
		ln.Close()
		<-srvErr
		return rrResult{}, err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	lat, elapsed, err := tcpload.PingPong(c, []byte{'x'}, n)
	if err != nil {
		return rrResult{}, err
	}
	c.CloseWrite()
	if err := <-srvErr; err != nil {
		return rrResult{}, fmt.Errorf("server: %w", err)
	}
	return rrResult{
		p50: report.Percentile(lat, 0.50),
		p99: report.Percentile(lat, 0.99),
		tps: float64(n) / elapsed.Seconds(),
	}, nil
}

// cpuTimes is the first line of /proc/stat: jiffies per state, all CPUs.
type cpuTimes struct{ busy, total uint64 }

func readCPU() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var t cpuTimes
	for i, s := range f[1:] {
		v, _ := strconv.ParseUint(s, 10, 64)
		if i == 8 || i == 9 { // guest and guest_nice are inside user and nice
			continue
		}
		t.total += v
		if i != 3 && i != 4 { // idle, iowait
			t.busy += v
		}
	}
	return t
}

func (t cpuTimes) busySince(t0 cpuTimes) float64 {
	if t.total <= t0.total {
		return 0
	}
	return float64(t.busy-t0.busy) / float64(t.total-t0.total)
}

var beginMarker, endMarker = report.Markers("netperf")

func render(o options, argv []string, plVersion string, raw, pl *pair, results map[string][]result, loadBefore, loadAfter string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("%s\n## netperf: TCP between two instances in different subnets, privlink vs a raw veth pair\n\n", beginMarker)
	w("- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	w("- Machine: %s; load average (1/5/15 min) %s at the start, %s at the end\n", report.Machine(), loadBefore, loadAfter)
	w("- Bench: %s, client and server in the bench process, sockets opened inside the namespaces (setns on a locked thread), Go net (TCP_NODELAY), default socket buffers, MTU 1500\n", runtime.Version())
	w("- privlink: %s\n", plVersion)
	w("- Command: `%s`\n", report.Command(argv, "./bench/netperf"))
	w("- privlink path: %s\n", pl.desc)
	w("- raw path (the physical limit, measured in the same run): %s\n", raw.desc)
	w("- Throughput: one TCP stream, the client writes %d KiB buffers for %v, the server reads (256 KiB) and discards; Gbit/s = bytes received / (first write → server's byte count back after FIN). Request/response: one connection, %d untimed then %d timed round trips of 1 byte each way; p50/p99 nearest rank, round trips/s = n / elapsed. Host CPU busy: share of both CPUs busy during the throughput test (/proc/stat).\n", o.buf>>10, o.duration, max(o.n/10, 1), o.n)
	w("- %d runs, the paths alternating in order; the table gives the median over runs, with every run's value in brackets\n\n", o.runs)
	w("| path | throughput | host CPU busy | RR p50 | RR p99 | round trips/s |\n|---|---|---|---|---|---|\n")
	for _, p := range []*pair{raw, pl} {
		rs := results[p.name]
		w("| %s | %s Gbit/s [%s] | %s %% | %s [%s] | %s [%s] | %s [%s] |\n", p.name,
			report.F2(report.MedianOf(rs, gbps)), report.Each(rs, gbps, report.F2),
			report.F0(report.MedianOf(rs, busy)*100),
			report.US(report.MedianOf(rs, p50)), report.Each(rs, p50, report.US),
			report.US(report.MedianOf(rs, p99)), report.Each(rs, p99, report.US),
			report.F0(report.MedianOf(rs, tps)), report.Each(rs, tps, report.F0))
	}
	rr, pr := results[raw.name], results[pl.name]
	ratio := func(f func(result) float64) string { return report.F2(report.MedianOf(pr, f) / report.MedianOf(rr, f)) }
	w("\n| privlink / raw | throughput | RR p50 | RR p99 | round trips/s |\n|---|---|---|---|---|\n")
	w("| ratio of medians | %s | %s | %s | %s |\n", ratio(gbps), ratio(p50), ratio(p99), ratio(tps))
	paired := func(f func(result) float64) string {
		xs := make([]float64, min(len(pr), len(rr)))
		for i := range xs {
			xs[i] = f(pr[i]) / f(rr[i])
		}
		parts := make([]string, len(xs))
		for i, x := range xs {
			parts[i] = report.F2(x)
		}
		return fmt.Sprintf("%s [%s]", report.F2(report.Median(xs)), strings.Join(parts, ", "))
	}
	w("| median of per-run ratios [each run] | %s | %s | %s | %s |\n", paired(gbps), paired(p50), paired(p99), paired(tps))
	got := report.MedianOf(pr, gbps) / report.MedianOf(rr, gbps)
	verdict := "met"
	if got < 0.8 {
		verdict = "MISSED"
	}
	w("\nTarget (issue 3): privlink throughput ≥ 0.8 × raw veth: %s (%.2f).\n", verdict, got)
	w("%s\n", endMarker)
	return b.String()
}

func gbps(r result) float64 { return r.tput.gbps }
func busy(r result) float64 { return r.tput.busy }
func p50(r result) float64  { return float64(r.rr.p50) }
func p99(r result) float64  { return float64(r.rr.p99) }
func tps(r result) float64  { return r.rr.tps }
