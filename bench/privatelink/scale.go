package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"golang.org/x/sys/unix"

	"github.com/privlink/privlink/bench/internal/benchd"
	"github.com/privlink/privlink/bench/internal/proc"
	"github.com/privlink/privlink/bench/internal/report"
	"github.com/privlink/privlink/bench/internal/tcpload"
	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/privlink/privlink/internal/neigh"
)

// scaleClientIP is the client instance of every scale VPC; the endpoints
// of a VPC are at 10.0.1.10, .11, …
const scaleClientIP = "10.0.1.5"

// scaleResult is the scale test.
type scaleResult struct {
	endpoints, vpcs, accounts, perVPC int
	parallel                          int

	setup       time.Duration // accounts, VPCs, subnets, groups, clients running
	api         []time.Duration
	apiDone     time.Duration // from the first CreateVpcEndpoint call to the last answer
	available   time.Duration // from the first call until all were available
	served      time.Duration // from the first call until every endpoint answered a probe (after available)
	servedStats probeStats
	sweep       time.Duration // probes until every endpoint answered once more, after a settle
	sweepStats  probeStats
	passes      benchd.Passes // during the creation, until all available
	daemonCPU   float64       // the daemon's CPU seconds, the same span

	before, after proc.Status // the daemon with the VPCs only, and with every endpoint
	restarts      []restartResult
	deleted       time.Duration // DeleteVpcEndpoints of all until every endpoint and namespace is gone

	thresholds            neigh.Thresholds // the host's gc_thresh1/2/3 during the test
	tableFulls            int64            // the ARP table's refusals during the test
	loadBefore, loadAfter string
}

// restartResult is one restart of the daemon with every endpoint in place.
type restartResult struct {
	signal   string
	stop     time.Duration // signal → the old process had exited
	healthy  time.Duration // new process started → /healthz answered
	first    time.Duration // new process started → the first endpoint answered
	p50      time.Duration // … half of them
	all      time.Duration // … every one (the last that answered, when probes.unanswered > 0)
	probes   probeStats
	probeCPU float64 // the bench's CPU seconds from the signal until all answered
	status   proc.Status
	passes   benchd.Passes // of the new process, until all answered
}

// target is one endpoint as the probes see it.
type target struct {
	client netns.Handle // the client instance's namespace in the endpoint's VPC
	addr   netip.AddrPort
	served time.Time
}

// scaleTest creates -vpcs consumer VPCs (a client instance in each, at most
// -vpcs-per-account per account: the instance quota is 20) and
// -endpoints endpoints spread evenly over them; measures the time until
// all are available and serve, and the daemon's memory; restarts the
// daemon with each of -restarts and measures until every endpoint serves
// again; then deletes the endpoints.
func scaleTest(ctx context.Context, o options, d *benchd.Daemon, p *provider) (*scaleResult, error) {
	r := &scaleResult{endpoints: o.endpoints, vpcs: o.vpcs, parallel: o.parallel}
	r.perVPC = (o.endpoints + o.vpcs - 1) / o.vpcs
	r.accounts = (o.vpcs + o.vpcsPerAccount - 1) / o.vpcsPerAccount
	r.loadBefore = report.LoadAvg()
	// The daemon, already running, has raised them (at least
	// 1024/8192/16384) unless the host's were higher.
	var err error
	if r.thresholds, err = neigh.Read(neigh.Dir(neigh.ProcSysNet, "ipv4")); err != nil {
		return nil, fmt.Errorf("neighbour table thresholds: %w", err)
	}
	fulls0 := arpTableFulls()
	defer func() { r.tableFulls = arpTableFulls() - fulls0 }()

	log.Printf("scale: %d accounts, %d VPCs with a client each", r.accounts, o.vpcs)
	t0 := time.Now()
	var accts []*benchd.Account
	var principals []string
	for i := range r.accounts {
		a, err := d.CreateAccount(ctx, fmt.Sprintf("privatelink-bench-scale-%d", i+1))
		if err != nil {
			return nil, err
		}
		accts = append(accts, a)
		principals = append(principals, a.Principal())
	}
	if err := d.AllowPrincipals(ctx, p.serviceID, principals...); err != nil {
		return nil, err
	}
	vpcs := make([]*consumerVPC, o.vpcs)
	for j := range vpcs {
		c, err := setupConsumerVPC(ctx, accts[j/o.vpcsPerAccount], fmt.Sprintf("scale-%d", j+1), scaleClientIP, nlbPort, nlbPort)
		if err != nil {
			return nil, err
		}
		vpcs[j] = c
	}
	for _, c := range vpcs {
		if _, err := c.acct.WaitState(ctx, c.clientID, ec2types.InstanceStateNameRunning, 50*time.Millisecond, 5*time.Minute); err != nil {
			return nil, err
		}
	}
	handles := make([]netns.Handle, len(vpcs))
	defer func() {
		for _, h := range handles {
			if h.IsOpen() {
				h.Close()
			}
		}
	}()
	for j, c := range vpcs {
		h, err := netns.Open(c.clientNS)
		if err != nil {
			return nil, err
		}
		handles[j] = h
	}
	r.setup = time.Since(t0)
	log.Printf("scale: set up in %.1fs", r.setup.Seconds())
	settle(ctx)
	r.before = proc.ReadStatus(d.PID())

	// The endpoints, VPC by VPC: endpoint k of a VPC at 10.0.1.(10+k).
	type job struct {
		c  *consumerVPC
		ip netip.Addr
	}
	var jobs []job
	for j := range o.endpoints {
		jobs = append(jobs, job{vpcs[j/r.perVPC], netip.AddrFrom4([4]byte{10, 0, 1, byte(10 + j%r.perVPC)})})
	}
	log.Printf("scale: creating %d endpoints, %d per VPC, %d calls at a time", o.endpoints, r.perVPC, o.parallel)
	passes0, cpu0 := d.Passes(), proc.CPUSeconds(d.PID())
	r.api = make([]time.Duration, len(jobs))
	eps := make([]endpoint, len(jobs))
	var mu sync.Mutex
	var firstErr error
	next := 0
	t0 = time.Now()
	var wg sync.WaitGroup
	for range o.parallel {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := firstErr != nil || i >= len(jobs) || ctx.Err() != nil
				mu.Unlock()
				if stop {
					return
				}
				jb := jobs[i]
				ts := time.Now()
				in := endpointInput(jb.c, p.service, jb.ip)
				in.ClientToken = aws.String(fmt.Sprintf("privatelink-bench-%s-%s", jb.c.vpc, jb.ip))
				var out *ec2.CreateVpcEndpointOutput
				err := benchd.RetryClosed(func() (err error) {
					out, err = jb.c.acct.EC2.CreateVpcEndpoint(ctx, in)
					return err
				})
				r.api[i] = time.Since(ts)
				e, err := jb.c.acct.EndpointCreated(out, err)
				if err == nil {
					eps[i], err = created(e, jb.ip)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("endpoint %d (%s in %s): %w", i+1, jb.ip, jb.c.vpc, err)
					}
					mu.Unlock()
					return
				}
				if (i+1)%100 == 0 {
					log.Printf("  %d created (%.1fs)", i+1, time.Since(t0).Seconds())
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.apiDone = time.Since(t0)
	for i, jb := range jobs {
		jb.c.endpoints = append(jb.c.endpoints, eps[i])
	}
	log.Printf("scale: %d CreateVpcEndpoint calls in %.1fs; waiting until all are available", len(jobs), r.apiDone.Seconds())
	var last time.Time
	for _, a := range accts {
		var ids []string
		for _, c := range vpcs {
			if c.acct == a {
				for _, e := range c.endpoints {
					ids = append(ids, e.id)
				}
			}
		}
		at, err := a.WaitEndpointsAvailable(ctx, ids, 100*time.Millisecond, o.scaleTimeout)
		if err != nil {
			return nil, fmt.Errorf("%w\ndaemon log:\n%s", err, d.LogTail(20))
		}
		last = at
	}
	r.available = last.Sub(t0)
	r.passes, r.daemonCPU = d.Passes().Minus(passes0), proc.CPUSeconds(d.PID())-cpu0
	log.Printf("scale: all available after %.1fs (%.0f passes, mean %s; daemon CPU %.1fs)", r.available.Seconds(), r.passes.Count, ms(r.passes.Mean()), r.daemonCPU)

	var targets []*target
	for j, c := range vpcs {
		for _, e := range c.endpoints {
			targets = append(targets, &target{client: handles[j], addr: netip.AddrPortFrom(e.ip, nlbPort)})
		}
	}
	ps, err := probeAll(ctx, targets, o.probeInterval, o.serveTimeout, nil)
	if err != nil {
		return nil, err
	}
	r.served, r.servedStats = latest(targets).Sub(t0), ps
	if ps.unanswered > 0 {
		log.Printf("scale: %d of %d endpoints did not answer within %v of being available (last error: %v)", ps.unanswered, len(targets), o.serveTimeout, ps.lastErr)
	} else {
		log.Printf("scale: all %d endpoints answered %.1fs after the first call", len(targets), r.served.Seconds())
	}
	settle(ctx)
	r.after = proc.ReadStatus(d.PID())
	for _, t := range targets {
		t.served = time.Time{}
	}
	ts := time.Now()
	if r.sweepStats, err = probeAll(ctx, targets, o.probeInterval, o.serveTimeout, nil); err != nil {
		return nil, err
	}
	r.sweep = time.Since(ts)
	log.Printf("scale: daemon RSS %.1f → %.1f MB, fds %d → %d, threads %d → %d; a probe of every endpoint took %s (%d rounds, %d did not answer)",
		r.before.RSSMB(), r.after.RSSMB(), r.before.FDs, r.after.FDs, r.before.Threads, r.after.Threads, ms(r.sweep), r.sweepStats.rounds, r.sweepStats.unanswered)

	for _, sig := range o.restarts {
		rr, err := restartTest(ctx, o, d, sig, targets)
		if err != nil {
			return nil, err
		}
		r.restarts = append(r.restarts, rr)
		log.Printf("scale: restart (%s): stopped in %s; healthz after %s; endpoints answered: first %s, half %s, last %s, %d never (%d rounds, %d attempts, probes used %.1fs CPU); RSS %.1f MB",
			rr.signal, ms(rr.stop), ms(rr.healthy), ms(rr.first), ms(rr.p50), ms(rr.all), rr.probes.unanswered, rr.probes.rounds, rr.probes.attempts, rr.probeCPU, rr.status.RSSMB())
		settle(ctx)
	}

	log.Printf("scale: deleting the endpoints")
	ts = time.Now()
	var enis []string
	for _, a := range accts {
		var ids []string
		for _, c := range vpcs {
			if c.acct == a {
				for _, e := range c.endpoints {
					ids = append(ids, e.id)
					enis = append(enis, benchd.NamespacePrefix+e.eniID)
				}
			}
		}
		if err := a.DeleteVpcEndpoints(ctx, ids, o.scaleTimeout); err != nil {
			return nil, err
		}
	}
	if err := benchd.WaitNamespaces(ctx, enis, false, o.scaleTimeout); err != nil {
		return nil, err
	}
	r.deleted = time.Since(ts)
	log.Printf("scale: all deleted, namespaces gone, in %.1fs", r.deleted.Seconds())
	r.loadAfter = report.LoadAvg()
	return r, nil
}

// restartTest stops the daemon with sig, starts it again on the same data
// dir, and probes every endpoint from the moment the old process has
// exited until each has answered once.
func restartTest(ctx context.Context, o options, d *benchd.Daemon, sig syscall.Signal, targets []*target) (restartResult, error) {
	rr := restartResult{signal: sigName(sig)}
	for _, t := range targets {
		t.served = time.Time{}
	}
	log.Printf("scale: restarting the daemon (%s)", rr.signal)
	cpu0 := proc.CPUSeconds(os.Getpid())
	t0 := time.Now()
	exited := d.Kill(sig)
	rr.stop = exited.Sub(t0)
	type probed struct {
		ps  probeStats
		err error
	}
	done := make(chan probed, 1)
	go func() {
		ps, err := probeAll(ctx, targets, o.probeInterval, o.serveTimeout, nil)
		done <- probed{ps, err}
	}()
	started, healthy, err := d.StartAgain(ctx)
	if err != nil {
		<-done
		return rr, err
	}
	rr.healthy = healthy.Sub(started)
	pr := <-done
	if pr.err != nil {
		return rr, pr.err
	}
	rr.probeCPU = proc.CPUSeconds(os.Getpid()) - cpu0
	rr.probes = pr.ps
	rr.passes = d.Passes()
	var at []time.Duration
	for _, t := range targets {
		if !t.served.IsZero() {
			at = append(at, t.served.Sub(started))
		}
	}
	slices.Sort(at)
	if len(at) > 0 {
		rr.first, rr.p50, rr.all = at[0], at[(len(at)-1)/2], at[len(at)-1]
	}
	settle(ctx)
	rr.status = proc.ReadStatus(d.PID())
	return rr, nil
}

// probeStats is what a probeAll did.
type probeStats struct {
	rounds, attempts int
	unanswered       int   // targets that never answered
	lastErr          error // of the last failed attempt
}

// probeAll probes every target that has not answered yet (probeRound,
// each attempt within 500 ms), round after round, rounds starting at least
// interval apart, until each has answered once (its served time set) or
// timeout passes. Until gate is closed (nil: at once) or one of them
// answers, rounds probe only a sample of one target in probeSample, to
// leave the machine to the daemon while it starts. It fails only when ctx
// is done or a socket cannot be made.
func probeAll(ctx context.Context, targets []*target, interval, timeout time.Duration, gate <-chan struct{}) (probeStats, error) {
	const probeSample = 50
	var ps probeStats
	deadline := time.Now().Add(timeout)
	open := gate == nil
	for {
		if !open {
			select {
			case <-gate:
				open = true
			default:
			}
		}
		var left, sample []*target
		for i, t := range targets {
			switch {
			case !t.served.IsZero():
				open = true
			case i%probeSample == 0:
				sample = append(sample, t)
				fallthrough
			default:
				left = append(left, t)
			}
		}
		ps.unanswered = len(left)
		if len(left) == 0 || time.Now().After(deadline) {
			return ps, nil
		}
		if !open {
			left = sample
		}
		roundStart := time.Now()
		ps.rounds++
		ps.attempts += len(left)
		if err := probeRound(left, 500*time.Millisecond, &ps); err != nil {
			return ps, err
		}
		select {
		case <-ctx.Done():
			return ps, ctx.Err()
		case <-time.After(time.Until(roundStart.Add(interval))):
		}
	}
}

// probeRound probes each target once, all at the same time, within
// timeout: the sockets of one client namespace are made in one switch into
// it, and one poll(2) loop on this goroutine's thread drives every
// connect, the byte sent and the byte awaited, so a refused attempt (the
// forwarder not listening yet) costs a socket, a connect, a getsockopt and
// a close. It sets served of each target that answered, and ps.lastErr.
func probeRound(targets []*target, timeout time.Duration, ps *probeStats) error {
	type conn struct {
		t    *target
		fd   int
		sent bool // connected and sent the request byte
	}
	var conns []*conn
	fail := func(c *conn, err error) {
		unix.Close(c.fd)
		c.fd = -1
		ps.lastErr = fmt.Errorf("%s: %w", c.t.addr, err)
	}
	// Targets are grouped by client: one namespace switch a group.
	for i := 0; i < len(targets); {
		j := i
		for j < len(targets) && targets[j].client == targets[i].client {
			j++
		}
		fds, err := sockets(targets[i].client, j-i)
		if err != nil {
			return err
		}
		for k, fd := range fds {
			c := &conn{t: targets[i+k], fd: fd}
			a := targets[i+k].addr
			err := unix.Connect(fd, &unix.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().As4()})
			if err != nil && !errors.Is(err, unix.EINPROGRESS) {
				fail(c, fmt.Errorf("connect: %w", err))
				continue
			}
			conns = append(conns, c)
		}
		i = j
	}
	deadline := time.Now().Add(timeout)
	pfds := make([]unix.PollFd, 0, len(conns))
	live := make([]*conn, 0, len(conns))
	for {
		pfds, live = pfds[:0], live[:0]
		for _, c := range conns {
			if c.fd < 0 {
				continue
			}
			ev := int16(unix.POLLOUT)
			if c.sent {
				ev = unix.POLLIN
			}
			pfds = append(pfds, unix.PollFd{Fd: int32(c.fd), Events: ev})
			live = append(live, c)
		}
		wait := time.Until(deadline)
		if len(live) == 0 || wait <= 0 {
			break
		}
		n, err := unix.Poll(pfds, int(wait/time.Millisecond)+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("poll: %w", err)
		}
		if n <= 0 {
			continue
		}
		for i, p := range pfds {
			c := live[i]
			switch {
			case p.Revents == 0:
			case !c.sent:
				if v, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || v != 0 {
					fail(c, fmt.Errorf("connect: %w", errors.Join(err, unix.Errno(v))))
					continue
				}
				if _, err := unix.Write(c.fd, []byte{tcpload.ModeHold}); err != nil {
					fail(c, fmt.Errorf("write: %w", err))
					continue
				}
				c.sent = true
			default:
				var b [1]byte
				n, err := unix.Read(c.fd, b[:])
				if errors.Is(err, unix.EAGAIN) {
					continue
				}
				if n != 1 {
					fail(c, fmt.Errorf("no answer: %d bytes, %v", n, err))
					continue
				}
				c.t.served = time.Now()
				unix.Close(c.fd)
				c.fd = -1
			}
		}
	}
	for _, c := range conns {
		if c.fd >= 0 {
			fail(c, errors.New("timed out"))
		}
	}
	return nil
}

// latest is the latest served time of the targets.
func latest(targets []*target) time.Time {
	var t time.Time
	for _, x := range targets {
		if x.served.After(t) {
			t = x.served
		}
	}
	return t
}

// settle lets the daemon's memory and the last connections settle before
// a reading.
func settle(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(2 * time.Second):
	}
}

func sigName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}
