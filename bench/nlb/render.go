package main

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/privlink/privlink/bench/internal/report"
)

const (
	beginMarker = "<!-- nlb:begin (written by bench/nlb; edits here are overwritten) -->"
	endMarker   = "<!-- nlb:end -->"
)

// The targets.
const (
	targetThroughput = 0.9  // NLB / direct
	targetConns      = 1.2  // NLB / HAProxy
	targetLatencyUs  = 30.0 // NLB p50 − direct p50
)

func render(o options, argv []string, plVersion string, variants []*variant, res []map[string][]sample, mem *memResult, loadBefore, loadAfter string) string {
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
		w("  - %s: %s\n", v.name, v.desc)
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
	w("| before | 0 | %.1f MB | %d | %d |\n", mb(m.before.rssKB), m.before.fds, m.before.threads)
	w("| held | %d / %d | %.1f MB | %d | %d |\n", m.open, m.serverHeld, mb(m.held.rssKB), m.held.fds, m.held.threads)
	if m.pushedTo > 0 {
		w("| after opening the rest up to %d | %d / %d | %.1f MB | %d | %d |\n", m.want, m.pushedTo, m.survivors, mb(m.pushed.rssKB), m.pushed.fds, m.pushed.threads)
	}
	w("| after closing | 0 | %.1f MB | %d | %d |\n", mb(m.closed.rssKB), m.closed.fds, m.closed.threads)
	w("\nWith %d connections held: %.1f MB more RSS, %.1f KB and %.1f descriptors per connection; daemon open-file limit (soft/hard) %s.", m.open, mb(m.held.rssKB-m.before.rssKB), m.perConnKB(), m.fdsPerConn, m.held.limit)
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

// describe says what a placement means for the comparison.
func describe(sp split) string {
	switch {
	case sp.proxy != sp.server && sp.server == sp.client:
		return "the proxy has a CPU to itself, like a dedicated load balancer; server and load generator share the other. The direct path runs entirely on one CPU; a proxied path also uses the proxy's CPU, and its round trip crosses CPUs four times (none for direct)."
	case sp.proxy == sp.server && sp.client != sp.server:
		return "the load generator has a CPU to itself and never competes with what is measured; the server side (server, and the proxy if any) gets the other CPU in every variant, so a proxy's cost comes out of the server's CPU. Every variant's round trip crosses CPUs twice."
	default:
		return "custom placement."
	}
}

func renderSplit(w func(string, ...any), sp split, variants []*variant, res map[string][]sample) {
	w("\n### %s\n\n%s\n\n", sp, describe(sp))
	w("| variant | throughput | conn/s | latency p50 | latency p99 | proxy CPU: throughput / conn/s | proxy CPU per connection | CPU0 / CPU1 busy (conn/s) |\n|---|---|---|---|---|---|---|---|\n")
	for _, v := range variants {
		rs := res[v.name]
		proxy, perConn := "–", "–"
		if v.pid != 0 {
			proxy = fmt.Sprintf("%s %% / %s %%", f0(med(rs, proxyTput)*100), f0(med(rs, proxyConns)*100))
			perConn = us(med(rs, proxyPerConn))
		}
		errs := ""
		if n := sum(rs, func(s sample) float64 { return float64(s.cpsErrors) }); n > 0 {
			errs = fmt.Sprintf(" (%.0f failed)", n)
		}
		w("| %s | %s Gbit/s [%s] | %s [%s]%s | %s [%s] | %s [%s] | %s | %s | %s %% / %s %% |\n", v.name,
			f2(med(rs, gbps)), all(rs, gbps, f2),
			f0(med(rs, cps)), all(rs, cps, f0), errs,
			us(med(rs, p50)), all(rs, p50, us),
			us(med(rs, p99)), all(rs, p99, us),
			proxy, perConn,
			f0(med(rs, cpuBusy(0))*100), f0(med(rs, cpuBusy(1))*100))
	}
	direct, hap, nlb := res["direct"], res["HAProxy"], res["privlink NLB"]
	w("\n| target (issue 4) | ratio of medians | per run | verdict |\n|---|---|---|---|\n")
	if direct != nil && nlb != nil {
		got := med(nlb, gbps) / med(direct, gbps)
		w("| throughput NLB / direct ≥ %.1f | %s | %s | %s |\n", targetThroughput, f2(got), perRun(nlb, direct, gbps, ratio, f2), verdict(got >= targetThroughput))
	}
	if hap != nil && nlb != nil {
		got := med(nlb, cps) / med(hap, cps)
		w("| conn/s NLB / HAProxy ≥ %.1f | %s | %s | %s |\n", targetConns, f2(got), perRun(nlb, hap, cps, ratio, f2), verdict(got >= targetConns))
	}
	if direct != nil && nlb != nil {
		got := (med(nlb, p50) - med(direct, p50)) / 1e3
		w("| latency p50 NLB − direct ≤ %.0f µs | %s | %s | %s |\n", targetLatencyUs, us(got*1e3), perRun(nlb, direct, p50, diff, us), verdict(got <= targetLatencyUs))
	}
	if direct != nil && hap != nil {
		w("| latency p50 HAProxy − direct (no target) | %s | %s | |\n", us(med(hap, p50)-med(direct, p50)), perRun(hap, direct, p50, diff, us))
		w("| throughput HAProxy / direct (no target) | %s | %s | |\n", f2(med(hap, gbps)/med(direct, gbps)), perRun(hap, direct, gbps, ratio, f2))
	}
	if hap != nil && nlb != nil {
		w("| proxy CPU per connection, HAProxy / NLB (no target) | %s | %s | |\n", f2(med(hap, proxyPerConn)/med(nlb, proxyPerConn)), perRun(hap, nlb, proxyPerConn, ratio, f2))
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func gbps(s sample) float64       { return s.gbps }
func cps(s sample) float64        { return s.cps }
func p50(s sample) float64        { return float64(s.p50) }
func p99(s sample) float64        { return float64(s.p99) }
func proxyTput(s sample) float64  { return s.tputCPU.proxy }
func proxyConns(s sample) float64 { return s.cpsCPU.proxy }

// proxyPerConn is the proxy's CPU time per completed connection, ns.
func proxyPerConn(s sample) float64 {
	if s.cps <= 0 || s.cpsCPU.proxy < 0 {
		return 0
	}
	return s.cpsCPU.proxy / s.cps * 1e9
}

func cpuBusy(cpu int) func(sample) float64 {
	return func(s sample) float64 {
		if cpu < len(s.cpsCPU.perCPU) {
			return s.cpsCPU.perCPU[cpu]
		}
		return 0
	}
}

func ratio(a, b float64) float64 { return a / b }
func diff(a, b float64) float64  { return a - b }

// perRun combines the two variants' values run by run.
func perRun(a, b []sample, f func(sample) float64, op func(a, b float64) float64, format func(float64) string) string {
	parts := make([]string, min(len(a), len(b)))
	for i := range parts {
		parts[i] = format(op(f(a[i]), f(b[i])))
	}
	return strings.Join(parts, ", ")
}

func med(rs []sample, f func(sample) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	return report.Median(xs)
}

func sum(rs []sample, f func(sample) float64) float64 {
	var t float64
	for _, r := range rs {
		t += f(r)
	}
	return t
}

func all(rs []sample, f func(sample) float64, format func(float64) string) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = format(f(r))
	}
	return strings.Join(parts, ", ")
}

func f2(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }
func f0(x float64) string { return strconv.FormatFloat(x, 'f', 0, 64) }

// us formats nanoseconds as microseconds.
func us(ns float64) string { return fmt.Sprintf("%.1f µs", ns/1e3) }
