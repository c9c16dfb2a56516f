package main

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/privlink/privlink/bench/internal/benchd"
	"github.com/privlink/privlink/bench/internal/report"
	"github.com/privlink/privlink/internal/dataplane/netns"
)

// attemptTimeout bounds each probe attempt of the create test: a SYN to an
// address nobody has yet goes nowhere, and newer attempts take over.
const attemptTimeout = 200 * time.Millisecond

// createSample is one CreateVpcEndpoint; the durations count from just
// before the call.
type createSample struct {
	id, eni   string
	ip        netip.Addr
	api       time.Duration // CreateVpcEndpoint returned
	netns     time.Duration // /run/netns/plk-<eni> seen (to -interval)
	available time.Duration // DescribeVpcEndpoints first said available (to -state-poll); 0 if not polled
	connect   time.Duration // first TCP connect to the endpoint completed
	firstByte time.Duration // the server's first byte arrived through it
	attempts  int
}

// createResult is the create test.
type createResult struct {
	samples               []createSample
	passes                benchd.Passes
	loadBefore, loadAfter string
}

// createTest creates -creates endpoints (after -create-warmup untimed
// ones) of the service in the consumer's VPC, one at a time; for each it
// probes from the consumer's client until the server's first byte comes
// back through the endpoint, then deletes it and waits until it and its
// namespace are gone.
func createTest(ctx context.Context, o options, d *benchd.Daemon, c *consumerVPC, service string) (*createResult, error) {
	client, err := netns.Open(c.clientNS)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	res := &createResult{}
	var passes0 benchd.Passes
	for i := range o.createWarmup + o.creates {
		timed := i >= o.createWarmup
		if i == o.createWarmup {
			res.loadBefore = report.LoadAvg()
			passes0 = d.Passes()
		}
		ip := netip.MustParseAddr("10.0.1.60")
		if o.distinct {
			ip = netip.AddrFrom4([4]byte{10, 0, 1, byte(60 + i)})
		}
		s, err := createOnce(ctx, o, c, service, client, ip)
		if err != nil {
			return nil, fmt.Errorf("endpoint %d: %w\ndaemon log:\n%s", i+1, err, d.LogTail(20))
		}
		label := "warm-up"
		if timed {
			label = fmt.Sprintf("%d/%d", i-o.createWarmup+1, o.creates)
			res.samples = append(res.samples, s)
		}
		log.Printf("%-7s %s %s first byte %7s  (api %s, netns %s, connect %s, available %s; %d attempts)",
			label, s.id, s.ip, ms(s.firstByte), ms(s.api), ms(s.netns), ms(s.connect), ms(s.available), s.attempts)
		if err := c.acct.DeleteVpcEndpoints(ctx, []string{s.id}, time.Minute); err != nil {
			return nil, err
		}
		if err := benchd.WaitNamespaces(ctx, []string{benchd.NamespacePrefix + s.eni}, false, time.Minute); err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(o.gap):
		}
	}
	res.passes = d.Passes().Minus(passes0)
	res.loadAfter = report.LoadAvg()
	return res, nil
}

func createOnce(ctx context.Context, o options, c *consumerVPC, service string, client netns.Handle, ip netip.Addr) (createSample, error) {
	t0 := time.Now()
	out, err := c.acct.EC2.CreateVpcEndpoint(ctx, endpointInput(c, service, ip))
	api := time.Since(t0)
	e, err := c.acct.EndpointCreated(out, err)
	if err != nil {
		return createSample{}, err
	}
	ep, err := created(e, ip)
	if err != nil {
		return createSample{}, err
	}
	s := createSample{id: ep.id, eni: ep.eniID, ip: ip, api: api}

	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	availableC := make(chan time.Duration, 1)
	if o.statePoll > 0 {
		go func() {
			at, err := c.acct.WaitEndpointsAvailable(pollCtx, []string{ep.id}, o.statePoll, o.createTimeout)
			if err != nil {
				availableC <- -1
				return
			}
			availableC <- at.Sub(t0)
		}()
	}
	pr, err := probeUntilAnswer(ctx, client, netip.AddrPortFrom(ip, nlbPort), benchd.NamespacePrefix+ep.eniID, t0, o.interval, o.createTimeout)
	s.netns, s.connect, s.firstByte, s.attempts = pr.netns, pr.connect, pr.firstByte, pr.attempts
	if err != nil {
		return s, fmt.Errorf("%s (%s): %w", s.id, ip, err)
	}
	if o.statePoll > 0 {
		select {
		case s.available = <-availableC:
		case <-ctx.Done():
			return s, ctx.Err()
		}
		if s.available < 0 {
			return s, fmt.Errorf("%s: not available after %v", s.id, o.createTimeout)
		}
	}
	return s, nil
}

type probeResult struct {
	netns, connect, firstByte time.Duration
	attempts                  int
}

// probeUntilAnswer starts an attempt (firstByte, each bounded by
// attemptTimeout) from namespace client to addr every interval until one
// gets the server's answer or timeout passes since t0. It also notes when
// the named namespace nsName appears, and when the first attempt
// connected.
func probeUntilAnswer(ctx context.Context, client netns.Handle, addr netip.AddrPort, nsName string, t0 time.Time, interval, timeout time.Duration) (probeResult, error) {
	var res probeResult
	results := make(chan attempt, 1024)
	inflight := 0
	defer func() {
		// Let the attempts still running finish (each within
		// attemptTimeout), so that none outlives the test.
		for ; inflight > 0; inflight-- {
			<-results
		}
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	deadline := t0.Add(timeout)
	var lastErr error
	start := func() {
		res.attempts++
		inflight++
		go func() { results <- firstByte(client, addr, time.Now().Add(attemptTimeout)) }()
	}
	start()
	for {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case a := <-results:
			inflight--
			if !a.connected.IsZero() && (res.connect == 0 || a.connected.Sub(t0) < res.connect) {
				res.connect = a.connected.Sub(t0)
			}
			if a.err == nil {
				res.firstByte = a.answered.Sub(t0)
				if res.netns == 0 {
					res.netns = res.firstByte
				}
				return res, nil
			}
			lastErr = a.err
		case now := <-tick.C:
			if res.netns == 0 && benchd.NamespaceExists(nsName) {
				res.netns = now.Sub(t0)
			}
			if now.After(deadline) {
				return res, fmt.Errorf("no answer from %s after %v (%d attempts; last error: %v)", addr, timeout, res.attempts, lastErr)
			}
			start()
		}
	}
}

func ms(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
