package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/privlink/privlink/bench/internal/proxycmp"
	"github.com/privlink/privlink/bench/internal/report"
)

var beginMarker, endMarker = report.Markers("privatelink")

// The targets.
const (
	targetThroughput = 0.9 // endpoint / direct
	targetConns      = 1.2 // endpoint / HAProxy
	targetFirstByte  = 50 * time.Millisecond
)

func render(o options, argv []string, plVersion string, p *provider, res results) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("%s\n## privatelink: interface endpoints against the direct path and HAProxy, endpoint creation, endpoints at scale\n\n", beginMarker)
	w("- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	w("- Machine: %s; load average (1/5/15 min) at the start and end of each part below\n", report.Machine())
	w("- Bench: %s, aws-sdk-go-v2 service/ec2 and elasticloadbalancingv2, retries off, loopback; server and load generator are this program (`privatelink serve`, `privatelink load`: Go net, TCP_NODELAY, default socket buffers), MTU 1500\n", runtime.Version())
	w("- privlink: %s\n", plVersion)
	w("- Command: `%s`\n", report.Command(argv, "./bench/privatelink"))
	w("- Provider (the bootstrap account): VPC %s, subnet %s in %s, a group allowing TCP %d-%d from the VPC; server instance %s running `serve` on port %d; the provider's client instance %s; an internal NLB, one node %s (its ENI %s, no security groups), listener TCP %d → target group TCP %d (instance target, TCP health checks every 5 s); endpoint service %s for it, acceptance not required.\n",
		vpcCIDR, subnetCIDR, zone, nlbPort, serverPort, serverIP, serverPort, clientIP, nodeIP, p.nlb.NodeENI, nlbPort, serverPort, p.service)
	w("- Consumers: other accounts, each VPC %s with a subnet %s in %s (the same CIDR as the provider's: nothing routes between the VPCs), a group allowing TCP from the VPC for the endpoints' network interfaces, and a client instance. Every endpoint is an interface endpoint of that service with one network interface in the subnet, at an address the bench chooses (`SubnetConfiguration.Ipv4`), private DNS off.\n",
		vpcCIDR, subnetCIDR, zone)
	if res.traffic != nil {
		renderTraffic(w, o, res.traffic)
	}
	if res.create != nil {
		renderCreate(w, o, res.create)
	}
	if res.scale != nil {
		renderScale(w, o, res.scale)
	}
	renderTargets(w, res)
	w("%s\n", endMarker)
	return b.String()
}

func renderTraffic(w func(string, ...any), o options, tr *trafficResult) {
	w("\n### Traffic through an endpoint\n\n")
	w("- Load average %s at the start, %s at the end\n", tr.loadBefore, tr.loadAfter)
	w("- The consumer's client instance %s, the endpoint's network interface %s (namespace of the ENI; port %d, the NLB listener's). Variants, each with the same server process:\n", clientIP, endpointIP, nlbPort)
	for _, v := range tr.variants {
		w("  - %s: %s\n", v.Name, v.Desc)
	}
	w("- Why this direct path: the consumer's client has no route to the provider's server (that is the point of PrivateLink), so the limit is the same kind of instance in the provider's VPC talking to the server over one bridge, as bench/nlb's direct variant. The endpoint path is one userspace proxy hop more (the forwarder), like the NLB.\n")
	w("- Why this HAProxy: HAProxy 2.6 can put a listening socket and a server's sockets in named network namespaces (`namespace` on `bind` and `server`), so it stands exactly where the forwarder stands: it accepts in the endpoint ENI's namespace on the ENI's address and connects from the NLB node's, and the server sees the node's address either way. Only the proxy program differs.\n")
	w("- CPU placement: every test of every variant runs in each placement below. The daemon (all its threads), haproxy and the server are pinned with sched_setaffinity, the load generator starts under `taskset`; each Go process runs with GOMAXPROCS 1. The kernel's veth/bridge/TCP receive work runs on the CPU of the sending process. The daemon is unpinned again after this part.\n")
	w("- Throughput: one TCP connection, the client writes 64 KiB buffers for %v, the server reads and discards and answers the byte count after the client's FIN; Gbit/s = bytes / (first write → count received).\n", o.duration)
	w("- Connections per second: %d workers, each looping for %v over connect, a %d-byte request, the %d-byte answer, the server's close (it closes first), close; completed transactions / elapsed.\n", o.workers, o.duration, o.size, o.size)
	w("- Latency: one persistent connection, %d untimed then %d timed round trips of %d bytes each way; p50/p99 nearest rank.\n", max(o.n/10, 1), o.n, o.size)
	w("- %d runs, the placements alternating within each run and the variants in a rotating order; tables give the median over runs with every run's value in brackets. Proxy CPU: the proxy process's user+system time during the test (/proc/PID/stat) as a share of one CPU, and per connection in the conn/s test; CPU busy: each CPU's busy share during the conn/s test (/proc/stat).\n", o.runs)
	for i, sp := range o.splits {
		w("\n#### %s\n\n%s\n\n", sp, proxycmp.Describe(sp))
		res := tr.res[i]
		proxycmp.Table(w, tr.variants, res)
		direct, ep, hap, nlb := res[vDirect], res[vEndpoint], res[vHAProxy], res[vNLB]
		w("\n| target (issue 5) | ratio of medians | per run | verdict |\n|---|---|---|---|\n")
		if direct != nil && ep != nil {
			got := report.MedianOf(ep, proxycmp.Gbps) / report.MedianOf(direct, proxycmp.Gbps)
			w("| throughput endpoint / direct ≥ %.1f | %s | %s | %s |\n", targetThroughput, report.F2(got),
				proxycmp.PerRun(ep, direct, proxycmp.Gbps, proxycmp.Ratio, report.F2), proxycmp.Verdict(got >= targetThroughput))
		}
		if hap != nil && ep != nil {
			got := report.MedianOf(ep, proxycmp.CPS) / report.MedianOf(hap, proxycmp.CPS)
			w("| conn/s endpoint / HAProxy ≥ %.1f | %s | %s | %s |\n", targetConns, report.F2(got),
				proxycmp.PerRun(ep, hap, proxycmp.CPS, proxycmp.Ratio, report.F2), proxycmp.Verdict(got >= targetConns))
			w("| proxy CPU per connection, HAProxy / endpoint (no target) | %s | %s | |\n",
				report.F2(report.MedianOf(hap, proxycmp.ProxyPerConn)/report.MedianOf(ep, proxycmp.ProxyPerConn)), proxycmp.PerRun(hap, ep, proxycmp.ProxyPerConn, proxycmp.Ratio, report.F2))
		}
		if direct != nil && ep != nil {
			w("| latency p50 endpoint − direct (no target) | %s | %s | |\n",
				report.US(report.MedianOf(ep, proxycmp.P50)-report.MedianOf(direct, proxycmp.P50)), proxycmp.PerRun(ep, direct, proxycmp.P50, proxycmp.Diff, report.US))
		}
		if direct != nil && hap != nil {
			w("| throughput HAProxy / direct (no target) | %s | %s | |\n",
				report.F2(report.MedianOf(hap, proxycmp.Gbps)/report.MedianOf(direct, proxycmp.Gbps)), proxycmp.PerRun(hap, direct, proxycmp.Gbps, proxycmp.Ratio, report.F2))
		}
		if nlb != nil && ep != nil {
			w("| throughput endpoint / NLB (no target) | %s | %s | |\n",
				report.F2(report.MedianOf(ep, proxycmp.Gbps)/report.MedianOf(nlb, proxycmp.Gbps)), proxycmp.PerRun(ep, nlb, proxycmp.Gbps, proxycmp.Ratio, report.F2))
			w("| conn/s endpoint / NLB (no target) | %s | %s | |\n",
				report.F2(report.MedianOf(ep, proxycmp.CPS)/report.MedianOf(nlb, proxycmp.CPS)), proxycmp.PerRun(ep, nlb, proxycmp.CPS, proxycmp.Ratio, report.F2))
		}
	}
}

func renderCreate(w func(string, ...any), o options, cr *createResult) {
	w("\n### CreateVpcEndpoint until the first byte\n\n")
	w("- Load average %s at the start, %s at the end\n", cr.loadBefore, cr.loadAfter)
	addr := "10.0.1.60 every time (the address the previous endpoint freed: the stale-neighbour case)"
	if o.distinct {
		addr = "10.0.1.60, .61, … (a fresh address each time)"
	}
	w("- In the consumer's VPC, one endpoint at a time: %d untimed, then %d timed. Each: `CreateVpcEndpoint` (the service needs no acceptance, so the endpoint starts `pending`), its interface at %s; from the consumer's client instance (a socket opened in its namespace), every %v a new attempt, each given up after %v: a non-blocking connect to the endpoint's address, port %d, then one byte that the server answers with one byte through the endpoint. The sample is from the start of the `CreateVpcEndpoint` call to the arrival of that byte. Meanwhile `DescribeVpcEndpoints` is polled every %v until `available`, and the bench notes when `/run/netns/plk-<eni>` appears. After each sample: `DeleteVpcEndpoints`, wait until `deleted` and the namespace is gone, then %v.\n",
		o.createWarmup, o.creates, addr, o.interval, attemptTimeout, nlbPort, o.statePoll, o.gap)
	ss := cr.samples
	col := func(f func(createSample) time.Duration) []time.Duration {
		ds := make([]time.Duration, len(ss))
		for i, s := range ss {
			ds[i] = f(s)
		}
		return ds
	}
	fb := col(func(s createSample) time.Duration { return s.firstByte })
	w("\n| CreateVpcEndpoint → first byte | p50 | p90 | p99 | min | max |\n|---|---|---|---|---|---|\n")
	w("| n = %d | %s | %s | %s | %s | %s |\n", len(ss), ms(report.Percentile(fb, 0.5)), ms(report.Percentile(fb, 0.9)), ms(report.Percentile(fb, 0.99)), ms(report.Percentile(fb, 0)), ms(report.Percentile(fb, 1)))
	w("\nBreakdown, each from the start of the call (p50 / p90 over the samples):\n\n| step | p50 | p90 |\n|---|---|---|\n")
	rows := []struct {
		name string
		f    func(createSample) time.Duration
	}{
		{"CreateVpcEndpoint returned", func(s createSample) time.Duration { return s.api }},
		{fmt.Sprintf("namespace plk-<eni> exists (seen within %v)", o.interval), func(s createSample) time.Duration { return s.netns }},
		{"first TCP connect to the endpoint completed", func(s createSample) time.Duration { return s.connect }},
		{"first byte from the server", func(s createSample) time.Duration { return s.firstByte }},
	}
	if o.statePoll > 0 {
		rows = append(rows, struct {
			name string
			f    func(createSample) time.Duration
		}{fmt.Sprintf("DescribeVpcEndpoints says available (polled every %v)", o.statePoll), func(s createSample) time.Duration { return s.available }})
	}
	for _, r := range rows {
		ds := col(r.f)
		w("| %s | %s | %s |\n", r.name, ms(report.Percentile(ds, 0.5)), ms(report.Percentile(ds, 0.9)))
	}
	if cr.passes.Count > 0 {
		w("\nController during the timed endpoints (daemon /metrics): %.0f reconcile passes, %.1f per endpoint, mean pass %s.\n",
			cr.passes.Count, cr.passes.Count/float64(len(ss)), ms(cr.passes.Mean()))
	}
	var all []string
	for _, s := range ss {
		all = append(all, fmt.Sprintf("%.1f", float64(s.firstByte)/float64(time.Millisecond)))
	}
	w("\nEvery sample, in order (ms): %s\n", strings.Join(all, ", "))
}

func renderScale(w func(string, ...any), o options, sr *scaleResult) {
	w("\n### %d endpoints in %d VPCs\n\n", sr.endpoints, sr.vpcs)
	w("- Load average %s at the start, %s at the end\n", sr.loadBefore, sr.loadAfter)
	w("- Set-up (not timed as a figure, %.1f s): %d consumer accounts (`privlink accounts create` through the admin socket), each allowed on the service; %d VPCs, at most %d an account, each with a subnet, a group allowing TCP %d from the VPC and a client instance at %s (the instance quota is 20 an account, hence the accounts). The endpoints: %d a VPC, VPC after VPC, at 10.0.1.10, .11, …; `CreateVpcEndpoint` calls %d at a time from one client per account.\n",
		sr.setup.Seconds(), sr.accounts, sr.vpcs, o.vpcsPerAccount, nlbPort, scaleClientIP, sr.perVPC, sr.parallel)
	w("- Probing: an endpoint serves when a probe gets the server's first byte through it: from a socket opened in the namespace of the client instance of the endpoint's VPC, a connect to the endpoint's address port %d and one byte each way, 500 ms at most. Each probe crosses the VPC's bridge into the endpoint ENI's namespace, as any consumer's traffic does, so it also checks that the consumer side of the path is intact after a restart. The probes go in rounds over the endpoints that have not answered yet, all of a round at once (the sockets of a VPC made in one switch into its client's namespace, one poll(2) loop driving them), rounds starting at least %v apart; a round over all %d took %s with all serving, which bounds the resolution.\n",
		nlbPort, o.probeInterval, sr.endpoints, ms(sr.sweep))
	w("- Restart: the daemon gets the signal, the bench waits until it has exited, starts `privlink server` again with the same flags and data dir, and probes from the moment the old process is gone: every 50th endpoint until the new process answers `/healthz` (its first pass has configured the kernel) or one answers, then all; times below count from the new process's start (exec). The bench's own CPU time in that window is given, as the probes compete with the daemon for the 2 CPUs.\n")
	api := sr.api
	w("\n| figure | value |\n|---|---|\n")
	w("| all %d `CreateVpcEndpoint` calls answered | %.1f s (per call p50 %s, p99 %s; first 100 calls p50 %s, last 100 p50 %s) |\n",
		len(api), sr.apiDone.Seconds(), ms(report.Percentile(api, 0.5)), ms(report.Percentile(api, 0.99)),
		ms(report.Percentile(api[:min(100, len(api))], 0.5)), ms(report.Percentile(api[max(0, len(api)-100):], 0.5)))
	w("| all `available` (DescribeVpcEndpoints, polled every 100 ms), from the first call | **%.1f s** |\n", sr.available.Seconds())
	if n := sr.servedStats.unanswered; n > 0 {
		w("| all answering a probe, from the first call | **%d of %d never answered** within %v of all being available (last error: %v) |\n", n, sr.endpoints, o.serveTimeout, sr.servedStats.lastErr)
	} else {
		w("| all answering a probe, from the first call | %.1f s |\n", sr.served.Seconds())
	}
	w("| controller meanwhile (until all available) | %.0f passes, mean %s; daemon CPU %.1f s |\n", sr.passes.Count, ms(sr.passes.Mean()), sr.daemonCPU)
	w("| daemon VmRSS with the %d VPCs and their clients, no endpoint | %.1f MB (%d descriptors, %d threads) |\n", sr.vpcs, sr.before.RSSMB(), sr.before.FDs, sr.before.Threads)
	w("| daemon VmRSS with the %d endpoints, 2 s after all answered | **%.1f MB** (%d descriptors, %d threads): %.1f KB and %.2f descriptors an endpoint |\n",
		sr.endpoints, sr.after.RSSMB(), sr.after.FDs, sr.after.Threads,
		float64(sr.after.RSSKB-sr.before.RSSKB)/float64(sr.endpoints), float64(sr.after.FDs-sr.before.FDs)/float64(sr.endpoints))
	for _, rr := range sr.restarts {
		if n := rr.probes.unanswered; n > 0 {
			w("| restart (%s) until all %d serve again, from the new process's start | **%d never answered** within %v; of the others the first answered after %s, half after %s, the last after %s (stopping took %s; /healthz after %s) |\n",
				rr.signal, sr.endpoints, n, o.serveTimeout, ms(rr.first), ms(rr.p50), ms(rr.all), ms(rr.stop), ms(rr.healthy))
		} else {
			w("| restart (%s) until all %d serve again, from the new process's start | **%.2f s** (first %s, half %s; stopping took %s; /healthz after %s) |\n",
				rr.signal, sr.endpoints, rr.all.Seconds(), ms(rr.first), ms(rr.p50), ms(rr.stop), ms(rr.healthy))
		}
		w("| … daemon VmRSS after that restart | %.1f MB (%d descriptors, %d threads); %.0f passes so far, mean %s; the probes: %d rounds, %d attempts, %.1f s of the bench's CPU |\n",
			rr.status.RSSMB(), rr.status.FDs, rr.status.Threads, rr.passes.Count, ms(rr.passes.Mean()), rr.probes.rounds, rr.probes.attempts, rr.probeCPU)
	}
	w("| `DeleteVpcEndpoints` of all until every endpoint is `deleted` and its namespace gone | %.1f s |\n", sr.deleted.Seconds())
	w("| host ARP table: net.ipv4.neigh.default.gc_thresh1/2/3 (one table for all namespaces) | %s (the host's, which the daemon raises at start to at least 1024/8192/16384); the table refused %d new entries during this part (table_fulls, /proc/net/stat/arp_cache) |\n", sr.thresholds, sr.tableFulls)
}

// renderTargets sums up the targets.
func renderTargets(w func(string, ...any), res results) {
	w("\n### Targets (issue 5)\n\n| target | result | verdict |\n|---|---|---|\n")
	if tr := res.traffic; tr != nil {
		for i, sp := range splitsOf(tr) {
			r := tr.res[i]
			if d, e := r[vDirect], r[vEndpoint]; d != nil && e != nil {
				got := report.MedianOf(e, proxycmp.Gbps) / report.MedianOf(d, proxycmp.Gbps)
				w("| throughput endpoint / direct ≥ %.1f (%s) | %s | %s |\n", targetThroughput, sp, report.F2(got), proxycmp.Verdict(got >= targetThroughput))
			}
			if h, e := r[vHAProxy], r[vEndpoint]; h != nil && e != nil {
				got := report.MedianOf(e, proxycmp.CPS) / report.MedianOf(h, proxycmp.CPS)
				w("| conn/s endpoint / HAProxy ≥ %.1f (%s) | %s | %s |\n", targetConns, sp, report.F2(got), proxycmp.Verdict(got >= targetConns))
			}
		}
	}
	if cr := res.create; cr != nil {
		var fb []time.Duration
		for _, s := range cr.samples {
			fb = append(fb, s.firstByte)
		}
		got := report.Percentile(fb, 0.5)
		w("| CreateVpcEndpoint → first byte p50 ≤ %s | %s | %s |\n", ms(targetFirstByte), ms(got), proxycmp.Verdict(got <= targetFirstByte))
	}
	if sr := res.scale; sr != nil {
		w("| %d endpoints / %d VPCs: create all, RSS, restart (no target) | available after %.1f s; %.1f MB; ", sr.endpoints, sr.vpcs, sr.available.Seconds(), sr.after.RSSMB())
		var rs []string
		for _, rr := range sr.restarts {
			if rr.probes.unanswered > 0 {
				rs = append(rs, fmt.Sprintf("%s → %d never answered", rr.signal, rr.probes.unanswered))
			} else {
				rs = append(rs, fmt.Sprintf("%s → all serve %.2f s", rr.signal, rr.all.Seconds()))
			}
		}
		w("%s | |\n", strings.Join(rs, ", "))
	}
}

// splitsOf returns the placements of the traffic result, in order.
func splitsOf(tr *trafficResult) []string {
	out := make([]string, len(tr.res))
	for i := range out {
		out[i] = fmt.Sprint(tr.splits[i])
	}
	return out
}
