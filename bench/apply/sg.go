package main

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// measurement is one of the four things timed.
type measurement int

const (
	mAuthorize measurement = iota
	mRevoke
	mReject
	mDelete
	nMeasurements
)

func (m measurement) String() string {
	return [...]string{"authorize", "revoke", "reject", "delete"}[m]
}

// sample is one change, timed from the moment its API call returned.
type sample struct {
	call     time.Duration // the API call
	latency  time.Duration // call returned → the change showed; the timeout if missed
	missed   bool          // it did not show within the timeout
	window   time.Duration // security groups: the resolution of this sample (probe.go, sampleOf)
	attempts int           // security groups: connects of the probe
	how      string        // endpoints: how the held connection ended (waitEnd)
}

// runResult is one run.
type runResult struct {
	samples [nMeasurements][]sample
	// odd counts, per measurement, what showed the new state before the
	// call: connects before an authorize call that got through or before
	// a revoke call that did not; held connections that ended before a
	// reject or delete call (those samples are left out).
	odd [nMeasurements]int
	// The baselines: connects that got through before the revoke calls;
	// resets sent by the server that reached the consumer's blocked poll
	// through an endpoint (the server's close → poll returned).
	connect, echo         []time.Duration
	loadBefore, loadAfter string
}

// securityGroupTest takes o.n samples of authorize and of revoke, in
// turn, each with a fresh probe from the client to the server's sgPort.
func securityGroupTest(ctx context.Context, o options, e *env, res *runResult) error {
	for i := range o.n {
		for _, m := range []measurement{mAuthorize, mRevoke} {
			if err := securityGroupOnce(ctx, o, e, m, res); err != nil {
				return fmt.Errorf("%s %d: %w", m, i+1, err)
			}
			s := res.samples[m][len(res.samples[m])-1]
			log.Printf("%-9s %2d/%d  %s after the call returned (call %s, window %s, %d connects)",
				m, i+1, o.n, o.ms(s.latency), o.ms(s.call), o.ms(s.window), s.attempts)
			if err := pause(ctx, o); err != nil {
				return err
			}
		}
	}
	return nil
}

func securityGroupOnce(ctx context.Context, o options, e *env, m measurement, res *runResult) error {
	want := m == mAuthorize
	pre := 1 // authorize: one connect dropped first
	if !want {
		pre = o.baseline
	}
	p := startProbe(e.client, netip.AddrPortFrom(netip.MustParseAddr(serverIP), sgPort), want, pre, o)
	abort := func(err error) error {
		close(p.stop)
		<-p.done
		return err
	}
	select {
	case <-p.ready:
	case err := <-p.done:
		return fmt.Errorf("before the call: %w", err)
	case <-ctx.Done():
		return abort(ctx.Err())
	}
	perm := []types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(sgPort), ToPort: aws.Int32(sgPort),
		UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(e.clientGroup)}},
	}}
	callAt := time.Now()
	var err error
	if want {
		_, err = e.d.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(e.serverGroup), IpPermissions: perm})
	} else {
		_, err = e.d.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(e.serverGroup), IpPermissions: perm})
	}
	t0 := time.Now()
	if err != nil {
		return abort(fmt.Errorf("%s: %w", m, err))
	}
	p.armed <- callAt
	select {
	case err = <-p.done:
	case <-ctx.Done():
		return abort(ctx.Err())
	}
	if err != nil {
		return err
	}
	s, connects, odd := sampleOf(p.attempts, want, callAt, t0, o.timeout)
	res.samples[m] = append(res.samples[m], s)
	res.odd[m] += odd
	res.connect = append(res.connect, connects...)
	return nil
}
