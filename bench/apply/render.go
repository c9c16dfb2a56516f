package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/privlink/privlink/bench/internal/report"
)

var beginMarker, endMarker = report.Markers("apply")

// rows say what each measurement is, in the report.
var rows = [nMeasurements]string{
	mAuthorize: "AuthorizeSecurityGroupIngress → first new connection through",
	mRevoke:    "RevokeSecurityGroupIngress → first new connection dropped",
	mReject:    "RejectVpcEndpointConnections → held connection reset",
	mDelete:    "DeleteVpcEndpoints → held connection reset",
}

func render(o options, argv []string, plVersion string, runs []*runResult) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	loads := make([]string, len(runs))
	for i, r := range runs {
		loads[i] = r.loadBefore + " → " + r.loadAfter
	}
	w("%s\n## apply: from the API call to the data plane (security group rules, endpoint reject and delete)\n\n", beginMarker)
	w("- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	w("- Machine: %s; load average (1/5/15 min) at the start → end of each run: %s\n", report.Machine(), strings.Join(loads, "; "))
	w("- Bench: %s, aws-sdk-go-v2 service/ec2 and elasticloadbalancingv2, one client per account, retries off, HTTP keep-alive, loopback; every client and the server are this program's own sockets, made inside the instances' namespaces\n", runtime.Version())
	w("- privlink: %s\n", plVersion)
	w("- Command: `%s`\n", report.Command(argv, "./bench/apply"))
	w("- Provider (the bootstrap account): VPC %s, subnets %s (us-east-1a) and %s (us-east-1b); server instance %s in group apply-server (TCP %d from the VPC), client instance %s in group apply-client; an internal NLB with one node %s, listener TCP %d → the server's %d (no security groups); an endpoint service for it, acceptance not required. Consumer (another account): VPC %s, subnet %s, a client instance %s and group apply-endpoint (TCP %d from the VPC) for it and the endpoints. Each endpoint is an interface endpoint with one network interface, at an address of its own (10.0.1.%d and up), made and made available before its sample, deleted and gone (namespace too) after it.\n",
		vpcCIDR, subnet1CIDR, subnet2CIDR, serverIP, serverPort, clientIP, nodeIP, nlbPort, serverPort, vpcCIDR, subnet1CIDR, consumerIP, nlbPort, endpointBase)
	w("- Security groups: %d runs of %d authorize/revoke pairs of the rule \"apply-server allows TCP %d from apply-client\", %v apart. For each call a loop on one thread inside the client's namespace starts a non-blocking connect to %s:%d every %v, whether the last one has completed or not, gives each up after %v (the group drops SYNs, so a blocked connect shows only as a timeout; the kernel would resend the SYN only after 1 s), and closes what connected with a reset. The loop starts before the call (authorize: it runs until one connect was dropped; revoke: until %d got through) and ends once an attempt started since the call has the new outcome and every attempt started before that one has ended. The sample is call returned → the *start* (monotonic clock) of the first attempt with the new outcome: its start, because a drop is known only at its timeout. The change took effect between the start of the last attempt with the old outcome and that start (the *window*, about the loop's period), so a sample over-states by at most its window. The loop is paced, not back to back: back-to-back connects compete for the CPUs with the daemon they measure.\n",
		len(runs), o.n, sgPort, o.gap, serverIP, sgPort, o.interval, o.attemptTimeout, o.baseline)
	w("- Endpoints: %d runs of %d reject/delete pairs, each on a new endpoint, made available, then %v for the daemon's passes to end. The consumer's client holds a TCP connection to the endpoint's address, port %d, answered by the server through the forwarder; a goroutine blocks in poll(2) on that socket and takes the time as soon as it returns (the kernel wakes it when the reset arrives: no polling interval). The sample is call returned → that time. Reject is the provider's `RejectVpcEndpointConnections` of the available endpoint; delete the consumer's `DeleteVpcEndpoints`. Then the endpoint is deleted and gone (its namespace too), and %v later the next sample starts.\n",
		len(runs), o.n, o.gap, nlbPort, o.gap)
	w("- Baselines, in the same runs: *connect*, the time a connect that got through took (client → server:%d with the rule in place: the connects before each revoke call), the floor of any probe by new connections (the loop's own resolution is its window, below); *reset*, before each endpoint sample, on a second connection through the same endpoint: the server (in this process, same clock) resets it (close with SO_LINGER 0) → the consumer's blocked poll returns, the held connection's own resolution over the path the reset takes. A sample with no change within %v counts as missed (shown as > %v). A negative sample: the change showed while the call was still running (before its answer reached the client); p50 ÷ baseline is left out when the p50 is not positive.\n",
		sgPort, o.timeout, o.timeout)

	baseline := [nMeasurements]float64{}
	connectP50 := report.MedianOf(runs, func(r *runResult) float64 { return float64(report.Percentile(r.connect, 0.5)) })
	echoP50 := report.MedianOf(runs, func(r *runResult) float64 { return float64(report.Percentile(r.echo, 0.5)) })
	baseline[mAuthorize], baseline[mRevoke], baseline[mReject], baseline[mDelete] = connectP50, connectP50, echoP50, echoP50

	w("\np50, p90 and max are the median over the runs of each run's; worst is the largest sample of all runs; each run's p50 in brackets.\n\n")
	w("| after the call returned | n | call p50 | p50 | p90 | max | worst | p50 ÷ baseline | worst ÷ 1 s | within 1 s |\n|---|---|---|---|---|---|---|---|---|---|\n")
	verdicts := make([]string, 0, nMeasurements)
	for m := range nMeasurements {
		lat := func(r *runResult) []time.Duration { return latencies(r.samples[m]) }
		stat := func(p float64) time.Duration {
			return time.Duration(report.MedianOf(runs, func(r *runResult) float64 { return float64(report.Percentile(lat(r), p)) }))
		}
		var all []time.Duration
		bad := 0 // over 1 s, or missed
		for _, r := range runs {
			all = append(all, lat(r)...)
			for _, s := range r.samples[m] {
				if s.missed || s.latency > target {
					bad++
				}
			}
		}
		calls := time.Duration(report.MedianOf(runs, func(r *runResult) float64 {
			var ds []time.Duration
			for _, s := range r.samples[m] {
				ds = append(ds, s.call)
			}
			return float64(report.Percentile(ds, 0.5))
		}))
		worst := report.Percentile(all, 1)
		verdict := "met"
		if bad > 0 {
			verdict = fmt.Sprintf("MISSED (%d of %d not within 1 s)", bad, len(all))
		}
		verdicts = append(verdicts, fmt.Sprintf("%s %s (worst %s)", m, verdict, o.ms(worst)))
		ratio := "–"
		if p50 := stat(0.5); baseline[m] > 0 && p50 > 0 && p50 < o.timeout {
			ratio = report.F0(float64(p50)/baseline[m]) + "×"
		}
		ofTarget := fmt.Sprintf("%.1f %%", 100*float64(worst)/float64(target))
		if worst >= o.timeout {
			ofTarget = "> " + ofTarget
		}
		w("| %s | %d | %s | %s (%s) | %s | %s | %s | %s | %s | %s |\n", rows[m], len(all), o.ms(calls),
			o.ms(stat(0.5)), report.Each(runs, func(r *runResult) float64 { return float64(report.Percentile(lat(r), 0.5)) }, o.msF),
			o.ms(stat(0.9)), o.ms(stat(1)), o.ms(worst), ratio, ofTarget, verdict)
	}

	w("\n| baseline | n | p50 | p90 | max |\n|---|---|---|---|---|\n")
	for _, bl := range []struct {
		name string
		f    func(*runResult) []time.Duration
	}{
		{fmt.Sprintf("connect: client → %s:%d, rule in place", serverIP, sgPort), func(r *runResult) []time.Duration { return r.connect }},
		{"reset: the server's reset → the consumer's blocked poll, through the endpoint", func(r *runResult) []time.Duration { return r.echo }},
	} {
		n := 0
		for _, r := range runs {
			n += len(bl.f(r))
		}
		stat := func(p float64) string {
			return report.US(report.MedianOf(runs, func(r *runResult) float64 { return float64(report.Percentile(bl.f(r), p)) }))
		}
		w("| %s | %d | %s (%s) | %s | %s |\n", bl.name, n, stat(0.5),
			report.Each(runs, func(r *runResult) float64 { return float64(report.Percentile(bl.f(r), 0.5)) }, report.US), stat(0.9), stat(1))
	}

	w("\n")
	for _, m := range []measurement{mAuthorize, mRevoke} {
		var windows, attempts []time.Duration
		for _, r := range runs {
			for _, s := range r.samples[m] {
				if !s.missed {
					windows = append(windows, s.window)
					attempts = append(attempts, time.Duration(s.attempts))
				}
			}
		}
		w("- %s: window p50 %s, max %s; connects per sample p50 %d.\n", m, o.ms(report.Percentile(windows, 0.5)),
			o.ms(report.Percentile(windows, 1)), int64(report.Percentile(attempts, 0.5)))
	}
	for _, m := range []measurement{mReject, mDelete} {
		hows := map[string]int{}
		var order []string
		for _, r := range runs {
			for _, s := range r.samples[m] {
				if hows[s.how] == 0 {
					order = append(order, s.how)
				}
				hows[s.how]++
			}
		}
		parts := make([]string, len(order))
		for i, h := range order {
			if h == "open" {
				h = "nothing within " + o.timeout.String() + " (still open)"
			}
			parts[i] = fmt.Sprintf("%s: %d", h, hows[order[i]])
		}
		w("- %s: how the held connection ended: %s.\n", m, strings.Join(parts, ", "))
	}
	var odd [nMeasurements]int
	for _, r := range runs {
		for m := range nMeasurements {
			odd[m] += r.odd[m]
		}
	}
	w("- Before the call: %d connects got through before an authorize call, %d were dropped before a revoke call; %d and %d held connections ended before a reject or delete call (those samples are left out).\n",
		odd[mAuthorize], odd[mRevoke], odd[mReject], odd[mDelete])

	w("\nEvery sample, call returned → change (ms), run by run:\n\n")
	for m := range nMeasurements {
		per := make([]string, len(runs))
		for i, r := range runs {
			vs := make([]string, len(r.samples[m]))
			for j, s := range r.samples[m] {
				vs[j] = o.msF(float64(s.latency))
				if s.missed {
					vs[j] = ">" + vs[j]
				}
			}
			per[i] = strings.Join(vs, ", ")
		}
		w("- %s: %s\n", m, strings.Join(per, " | "))
	}
	w("\nTarget (issues 3 and 5): each change within 1 s of the call: %s.\n", strings.Join(verdicts, "; "))
	w("%s\n", endMarker)
	return b.String()
}

func latencies(ss []sample) []time.Duration {
	ds := make([]time.Duration, len(ss))
	for i, s := range ss {
		ds[i] = s.latency
	}
	return ds
}

// ms formats a duration in milliseconds; a missed sample's (o.timeout) as
// "> timeout".
func (o options) ms(d time.Duration) string {
	if d >= o.timeout {
		return "> " + o.timeout.String()
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// msF is ms for nanoseconds as a float, without the unit.
func (o options) msF(ns float64) string {
	return fmt.Sprintf("%.2f", ns/float64(time.Millisecond))
}
