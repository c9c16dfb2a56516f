package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/sys/unix"

	"github.com/privlink/privlink/bench/internal/benchd"
	"github.com/privlink/privlink/bench/internal/nsnet"
	"github.com/privlink/privlink/internal/dataplane/netns"
)

// endpointTest takes o.n samples of reject and of delete, in turn, each
// with an endpoint of its own.
func endpointTest(ctx context.Context, o options, e *env, res *runResult) error {
	for i := range o.n {
		for _, m := range []measurement{mReject, mDelete} {
			if err := endpointOnce(ctx, o, e, m, fmt.Sprintf("%-9s %2d/%d", m, i+1, o.n), res); err != nil {
				return fmt.Errorf("%s %d: %w", m, i+1, err)
			}
			if err := pause(ctx, o); err != nil {
				return err
			}
		}
	}
	return nil
}

// endpointOnce creates an endpoint, waits until it is available and then
// o.gap, so that the daemon's passes that made it available have ended;
// measures the baseline (a reset the server sends through it); opens the
// held connection through it from the consumer's client and watches it;
// makes the call (reject or delete) and waits up to o.timeout for the held
// connection to end; then deletes the endpoint and waits until it and its
// namespace are gone.
func endpointOnce(ctx context.Context, o options, e *env, m measurement, label string, res *runResult) error {
	spec := e.nextEndpoint()
	ep, err := e.cons.CreateVpcEndpoint(ctx, benchd.InterfaceEndpointInput(spec))
	if err != nil {
		return err
	}
	id := aws.ToString(ep.VpcEndpointId)
	if len(ep.NetworkInterfaceIds) != 1 {
		return fmt.Errorf("endpoint %s has %d network interfaces, want 1", id, len(ep.NetworkInterfaceIds))
	}
	nsName := benchd.NamespacePrefix + ep.NetworkInterfaceIds[0]
	if _, err := e.cons.WaitEndpointsAvailable(ctx, []string{id}, 10*time.Millisecond, 30*time.Second); err != nil {
		return err
	}
	if err := benchd.WaitNamespaces(ctx, []string{nsName}, true, 30*time.Second); err != nil {
		return err
	}
	if err := pause(ctx, o); err != nil { // let the passes that made it available end
		return err
	}
	addr := netip.AddrPortFrom(spec.IP, nlbPort).String()

	// The baseline: the server resets a connection through the endpoint.
	c, err := hold(ctx, e.consumer, addr)
	if err != nil {
		return err
	}
	for len(e.srv.resets) > 0 { // from an earlier sample that failed
		<-e.srv.resets
	}
	// The wait runs in its own goroutine, as the held connection's does:
	// a goroutine that waited in poll(2) itself, right after the write,
	// would keep the process's other goroutines (the server's) off the
	// network poller for up to 10 ms.
	ended := make(chan ending, 1)
	go func() { ended <- waitEnd(c, o.timeout) }()
	_, err = c.Write([]byte{resetByte})
	end := <-ended
	c.Close()
	if err != nil || end.how == "open" {
		return fmt.Errorf("the server's reset through %s (%s) did not reach the client within %v (write: %v)", id, addr, o.timeout, err)
	}
	var resetAt time.Time
	select {
	case resetAt = <-e.srv.resets:
	case <-time.After(time.Second):
		return fmt.Errorf("the connection through %s (%s) ended (%s), but not by the server's reset", id, addr, end.how)
	}
	res.echo = append(res.echo, end.at.Sub(resetAt))

	// The held connection.
	if c, err = hold(ctx, e.consumer, addr); err != nil {
		return err
	}
	defer func() {
		c.SetLinger(0) // after a delete nobody answers a FIN: leave no orphan
		c.Close()
	}()
	ended = make(chan ending, 1)
	go func() { ended <- waitEnd(c, 3*o.timeout) }()
	callAt := time.Now()
	var unsuccessful []types.UnsuccessfulItem
	switch m {
	case mReject:
		var out *ec2.RejectVpcEndpointConnectionsOutput
		if out, err = e.d.EC2.RejectVpcEndpointConnections(ctx, &ec2.RejectVpcEndpointConnectionsInput{
			ServiceId: aws.String(e.serviceID), VpcEndpointIds: []string{id},
		}); err == nil {
			unsuccessful = out.Unsuccessful
		}
	case mDelete:
		var out *ec2.DeleteVpcEndpointsOutput
		if out, err = e.cons.EC2.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{id}}); err == nil {
			unsuccessful = out.Unsuccessful
		}
	}
	t0 := time.Now()
	if err == nil && len(unsuccessful) > 0 && unsuccessful[0].Error != nil {
		err = fmt.Errorf("%s: %s", aws.ToString(unsuccessful[0].Error.Code), aws.ToString(unsuccessful[0].Error.Message))
	}
	if err != nil {
		c.CloseRead() // wakes waitEnd
		<-ended
		return fmt.Errorf("%s %s: %w", m, id, err)
	}
	timer := time.NewTimer(o.timeout - time.Since(t0))
	defer timer.Stop()
	select {
	case end = <-ended:
	case <-timer.C:
		c.CloseRead() // wakes waitEnd
		if end = <-ended; end.at.Sub(t0) >= o.timeout {
			end.how = "open" // CloseRead's doing
		}
	case <-ctx.Done():
		c.CloseRead()
		<-ended
		return ctx.Err()
	}
	switch s := (sample{call: t0.Sub(callAt), latency: end.at.Sub(t0), how: end.how}); {
	case end.at.Before(callAt):
		res.odd[m]++
		log.Printf("%s: the held connection through %s ended (%s) %v before the call; sample left out", m, id, end.how, callAt.Sub(end.at))
	default:
		if end.how == "open" || s.latency > o.timeout {
			s.latency, s.missed = o.timeout, true
		}
		res.samples[m] = append(res.samples[m], s)
		log.Printf("%s  %s after the call returned (call %s, %s; baseline reset %s)",
			label, o.ms(s.latency), o.ms(s.call), s.how, o.ms(res.echo[len(res.echo)-1]))
	}

	// A second DeleteVpcEndpoints of a deleted endpoint changes nothing;
	// this one waits until it is gone.
	if err := e.cons.DeleteVpcEndpoints(ctx, []string{id}, time.Minute); err != nil {
		return err
	}
	return benchd.WaitNamespaces(ctx, []string{nsName}, false, time.Minute)
}

// hold opens a connection to addr (an endpoint's) from namespace ns and
// waits for the server's helloByte through it, retrying for up to 10 s
// while the path comes up.
func hold(ctx context.Context, ns netns.Handle, addr string) (*net.TCPConn, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := nsnet.Dial(ctx, ns, addr)
		if err == nil {
			var b [1]byte
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err = io.ReadFull(c, b[:]); err == nil && b[0] == helloByte {
				c.SetReadDeadline(time.Time{})
				return c, nil
			}
			c.Close()
			if err == nil {
				err = fmt.Errorf("first byte %q, want %q", b[0], helloByte)
			}
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, fmt.Errorf("hold a connection to %s: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ending is how and when a held connection ended.
type ending struct {
	at  time.Time
	how string // reset, eof, data (bytes came instead), open (nothing within the time), or an error
}

// waitEnd blocks in poll(2) on c's socket until something arrives or the
// connection ends, for at most timeout, and takes the time as soon as
// poll returns: the kernel wakes the thread when the reset arrives, so
// the time is as precise as a thread's wake-up, with no polling interval.
// CloseRead on c from another goroutine ends the wait.
func waitEnd(c *net.TCPConn, timeout time.Duration) ending {
	rc, err := c.SyscallConn()
	if err != nil {
		return ending{at: time.Now(), how: err.Error()}
	}
	var e ending
	err = rc.Read(func(fd uintptr) bool {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLRDHUP}}
		n, err := unix.Poll(pfd, int(timeout.Milliseconds()))
		for errors.Is(err, unix.EINTR) {
			n, err = unix.Poll(pfd, int(timeout.Milliseconds()))
		}
		e.at = time.Now()
		switch {
		case err != nil:
			e.how = "poll: " + err.Error()
			return true
		case n == 0:
			e.how = "open"
			return true
		}
		var b [1]byte
		switch n, err := unix.Read(int(fd), b[:]); {
		case n > 0:
			e.how = "data"
		case err == nil:
			e.how = "eof"
		case errors.Is(err, unix.ECONNRESET):
			e.how = "reset"
		default:
			e.how = err.Error()
		}
		return true
	})
	if err != nil {
		return ending{at: time.Now(), how: err.Error()}
	}
	return e
}
