package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/privlink/privlink/bench/internal/proxycmp"
	"github.com/privlink/privlink/bench/internal/report"
)

var beginMarker, endMarker = report.Markers("nlb")

// The targets.
const (
	targetThroughput = 0.9  // NLB / direct
	targetConns      = 1.2  // NLB / HAProxy
	targetLatencyUs  = 30.0 // NLB p50 − direct p50
)

func render(o options, argv []string, plVersion string, variants []*proxycmp.Variant, res []map[string][]proxycmp.Sample, mem *memResult, loadBefore, loadAfter string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("%s\n## nlb: the privlink NLB against the direct path and HAProxy\n\n", beginMarker)
	w("- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	w("- Machine: %s; load average (1/5/15 min) %s at the start, %s at the end\n", report.Machine(), loadBefore, loadAfter)
	w("- Bench: %s; server and load generator are this program (`nlb serve`, `nlb load`), Go net (TCP_NODELAY, default socket buffers), MTU 1500\n", runtime.Version())
	w("- privlink: %s\n", plVersion)
	w("- Command: `%s`\n", report.Command(argv, "./bench/nlb"))
	w("- Topology: one VPC, one subnet 10.0.1.0/24; client instance %s, server instance %s (a group allowing TCP %d-%d from the VPC on both); every variant uses these two namespaces and the same server process:\n", clientIP, serverIP, nlbPort, serverPort)
	for _, v := range variants {
		w("  - %s: %s\n", v.Name, v.Desc)
	}
	w("- CPU placement: every test of every variant runs in each placement below (the same placement for all three variants). The daemon (all its threads), haproxy and the server are pinned with sched_setaffinity, the load generator starts under `taskset`; each Go process runs with GOMAXPROCS 1. The kernel's veth/bridge/TCP receive work runs on the CPU of the sending process.\n")
	w("- Throughput: one TCP connection, the client writes 64 KiB buffers for %v, the server reads and discards and answers the byte count after the client's FIN; Gbit/s = bytes / (first write → count received).\n", o.duration)
	w("- Connections per second: %d workers, each looping for %v over connect, a %d-byte request, the %d-byte answer, the server's close (it closes first, as HTTP/1.0 does), close; completed transactions / elapsed.\n", o.workers, o.duration, o.size, o.size)
	w("- Latency: one persistent connection, %d untimed then %d timed round trips of %d bytes each way; p50/p99 nearest rank.\n", max(o.n/10, 1), o.n, o.size)
	w("- %d runs, the placements alternating within each run and the variants in a rotating order; tables give the median over runs with every run's value in brackets. Proxy CPU: the proxy process's user+system time during the test (/proc/PID/stat), as a share of one CPU, and per connection in the conn/s test; CPU busy: each CPU's busy share during the conn/s test (/proc/stat).\n", o.runs)
	for i, sp := range o.splits {
		renderSplit(w, sp, variants, res[i])
	}

	if mem != nil {
		renderMem(w, mem)
	}
	w("%s\n", endMarker)
	return b.String()
}

func renderMem(w func(string, ...any), m *memResult) {
	w("\n### Idle connections through the NLB\n\n")
	w("Once, after the runs. The client opens connections to %s:%d in batches of 250, 32 at a time, each sending one byte that the server answers with one byte through the forwarder, and holds them; before each batch the bench checks that the daemon's descriptors (/proc/PID/fd) would stay under its open-file limit, and stops short if not. The daemon's VmRSS, descriptors and threads before, 2 s after the last batch (all held), 2 s after the client then tried to open the rest up to %d, and 2 s after the client closed everything; \"at the server\" counts the server's descriptors above its idle count. The client and the server raise their soft RLIMIT_NOFILE to the hard limit (Go does at start; client: %s).\n\n",
		nodeIP, nlbPort, m.want, m.clientFDLimit)
	w("| step | connections (client / at the server) | daemon RSS | daemon fds | daemon threads |\n|---|---|---|---|---|\n")
	w("| before | 0 | %.1f MB | %d | %d |\n", mb(m.before.RSSKB), m.before.FDs, m.before.Threads)
	w("| held | %d / %d | %.1f MB | %d | %d |\n", m.open, m.serverHeld, mb(m.held.RSSKB), m.held.FDs, m.held.Threads)
	if m.pushedTo > 0 {
		w("| after opening the rest up to %d | %d / %d | %.1f MB | %d | %d |\n", m.want, m.pushedTo, m.survivors, mb(m.pushed.RSSKB), m.pushed.FDs, m.pushed.Threads)
	}
	w("| after closing | 0 | %.1f MB | %d | %d |\n", mb(m.closed.RSSKB), m.closed.FDs, m.closed.Threads)
	w("\nWith %d connections held: %.1f MB more RSS, %.1f KB and %.1f descriptors per connection; daemon open-file limit (soft/hard) %s.", m.open, mb(m.held.RSSKB-m.before.RSSKB), m.perConnKB(), m.fdsPerConn, m.held.Limit)
	if m.stopReason != "" {
		w(" The held step %s.", m.stopReason)
	}
	if m.pushedTo > 0 {
		w(" Opening the rest: the client reached %d (first failure: %s); 2 s later %d connections were left at the server.", m.pushedTo, m.pushErr, m.survivors)
	}
	w("\n")
	for _, p := range logPatterns {
		if ls := m.logs[p]; len(ls) > 0 {
			w("\nDaemon log, %d lines with %q; the first: `%s`\n", len(ls), p, strings.TrimSpace(ls[0]))
		}
	}
}

func renderSplit(w func(string, ...any), sp proxycmp.Split, variants []*proxycmp.Variant, res map[string][]proxycmp.Sample) {
	w("\n### %s\n\n%s\n\n", sp, proxycmp.Describe(sp))
	proxycmp.Table(w, variants, res)
	direct, hap, nlb := res["direct"], res["HAProxy"], res["privlink NLB"]
	w("\n| target (issue 4) | ratio of medians | per run | verdict |\n|---|---|---|---|\n")
	if direct != nil && nlb != nil {
		got := report.MedianOf(nlb, proxycmp.Gbps) / report.MedianOf(direct, proxycmp.Gbps)
		w("| throughput NLB / direct ≥ %.1f | %s | %s | %s |\n", targetThroughput, report.F2(got), proxycmp.PerRun(nlb, direct, proxycmp.Gbps, proxycmp.Ratio, report.F2), proxycmp.Verdict(got >= targetThroughput))
	}
	if hap != nil && nlb != nil {
		got := report.MedianOf(nlb, proxycmp.CPS) / report.MedianOf(hap, proxycmp.CPS)
		w("| conn/s NLB / HAProxy ≥ %.1f | %s | %s | %s |\n", targetConns, report.F2(got), proxycmp.PerRun(nlb, hap, proxycmp.CPS, proxycmp.Ratio, report.F2), proxycmp.Verdict(got >= targetConns))
	}
	if direct != nil && nlb != nil {
		got := (report.MedianOf(nlb, proxycmp.P50) - report.MedianOf(direct, proxycmp.P50)) / 1e3
		w("| latency p50 NLB − direct ≤ %.0f µs | %s | %s | %s |\n", targetLatencyUs, report.US(got*1e3), proxycmp.PerRun(nlb, direct, proxycmp.P50, proxycmp.Diff, report.US), proxycmp.Verdict(got <= targetLatencyUs))
	}
	if direct != nil && hap != nil {
		w("| latency p50 HAProxy − direct (no target) | %s | %s | |\n", report.US(report.MedianOf(hap, proxycmp.P50)-report.MedianOf(direct, proxycmp.P50)), proxycmp.PerRun(hap, direct, proxycmp.P50, proxycmp.Diff, report.US))
		w("| throughput HAProxy / direct (no target) | %s | %s | |\n", report.F2(report.MedianOf(hap, proxycmp.Gbps)/report.MedianOf(direct, proxycmp.Gbps)), proxycmp.PerRun(hap, direct, proxycmp.Gbps, proxycmp.Ratio, report.F2))
	}
	if hap != nil && nlb != nil {
		w("| proxy CPU per connection, HAProxy / NLB (no target) | %s | %s | |\n", report.F2(report.MedianOf(hap, proxycmp.ProxyPerConn)/report.MedianOf(nlb, proxycmp.ProxyPerConn)), proxycmp.PerRun(hap, nlb, proxycmp.ProxyPerConn, proxycmp.Ratio, report.F2))
	}
}
