package main

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/privlink/privlink/internal/dataplane/netns"
)

// attempt is one new connection of a probe.
type attempt struct {
	start time.Time     // just before connect(2)
	took  time.Duration // until it connected, failed, or was given up
	ok    bool          // it connected
}

// probe is a loop of new TCP connections from one namespace to one
// address, on one thread switched into the namespace for the whole loop. A
// non-blocking connect starts every o.interval, whether the last one has
// completed or not (a dropped SYN is not answered, and the kernel would
// resend it only after a second), and is given up after o.attemptTimeout.
// A connection that got through is closed with a reset, so that nothing
// lingers in TIME_WAIT. The loop does not start connects back to back:
// on two CPUs that much work slows the daemon it measures (it made revoke
// calls take almost twice as long).
//
// The loop watches for a change of outcome: want is the outcome after the
// change. It closes ready once pre attempts had the other outcome (the
// state before the change holds); the caller then makes its API call and
// sends the call's start on armed. The loop ends when an attempt started
// since then has the outcome want and every attempt started before it has
// ended, or o.timeout after the call's start (the change never showed),
// or when stop is closed.
type probe struct {
	to   unix.SockaddrInet4
	want bool
	pre  int
	o    options

	ready chan struct{}
	armed chan time.Time
	stop  chan struct{}
	done  chan error

	// attempts, in the order they ended; read them after done.
	attempts []attempt
}

func startProbe(ns netns.Handle, to netip.AddrPort, want bool, pre int, o options) *probe {
	p := &probe{
		to:    unix.SockaddrInet4{Port: int(to.Port()), Addr: to.Addr().As4()},
		want:  want,
		pre:   pre,
		o:     o,
		ready: make(chan struct{}),
		armed: make(chan time.Time, 1),
		stop:  make(chan struct{}),
		done:  make(chan error, 1),
	}
	go func() { p.done <- netns.Do(ns, p.loop) }()
	return p
}

type pending struct {
	fd    int
	start time.Time
}

func (p *probe) loop() error {
	var inflight []pending // in start order
	defer func() {
		for _, a := range inflight {
			closeReset(a.fd)
		}
	}()
	var (
		begin          = time.Now()
		lastStart      time.Time
		callAt, found  time.Time // the call's start; the start of the first attempt since with the outcome want
		old            int       // attempts with the other outcome
		ready, isArmed bool
		pfds           []unix.PollFd
		lastErr        error
		checkFound     = func(a attempt) {
			if isArmed && a.ok == p.want && !a.start.Before(callAt) && (found.IsZero() || a.start.Before(found)) {
				found = a.start
			}
		}
	)
	record := func(a attempt) {
		p.attempts = append(p.attempts, a)
		if a.ok != p.want {
			if old++; old == p.pre && !ready {
				ready = true
				close(p.ready)
			}
		}
		checkFound(a)
	}
	for {
		select {
		case <-p.stop:
			return nil
		case callAt = <-p.armed:
			isArmed = true
			for _, a := range p.attempts {
				checkFound(a)
			}
		default:
		}
		now := time.Now()
		if found.IsZero() && (lastStart.IsZero() || now.Sub(lastStart) >= p.o.interval) {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("socket: %w", err)
			}
			lastStart = now
			switch err := unix.Connect(fd, &p.to); {
			case errors.Is(err, unix.EINPROGRESS):
				inflight = append(inflight, pending{fd, now})
			default:
				if err != nil {
					lastErr = err
				}
				record(attempt{start: now, took: time.Since(now), ok: err == nil})
				closeReset(fd)
			}
		}
		now = time.Now()
		kept := inflight[:0]
		for _, a := range inflight {
			if now.Sub(a.start) >= p.o.attemptTimeout {
				record(attempt{start: a.start, took: now.Sub(a.start)})
				closeReset(a.fd)
				continue
			}
			kept = append(kept, a)
		}
		inflight = kept
		switch {
		case !found.IsZero() && (len(inflight) == 0 || !inflight[0].start.Before(found)):
			return nil // nothing started before found is still open
		case isArmed && found.IsZero() && now.Sub(callAt) > p.o.timeout:
			return nil // missed
		case !ready && now.Sub(begin) > p.o.timeout:
			return fmt.Errorf("%d of %d attempts to %v had the outcome expected before the call (connected: %v) in %v; last error %v",
				old, len(p.attempts), netip.AddrPortFrom(netip.AddrFrom4(p.to.Addr), uint16(p.to.Port)), !p.want, p.o.timeout, lastErr)
		}
		// Sleep until an attempt ends, the next is due, or the oldest is
		// to be given up.
		wait := time.Hour
		if len(inflight) > 0 {
			wait = inflight[0].start.Add(p.o.attemptTimeout).Sub(now)
		}
		if found.IsZero() {
			wait = min(wait, lastStart.Add(p.o.interval).Sub(now))
		}
		pfds = pfds[:0]
		for _, a := range inflight {
			pfds = append(pfds, unix.PollFd{Fd: int32(a.fd), Events: unix.POLLOUT})
		}
		ts := unix.NsecToTimespec(int64(max(wait, 0)))
		n, err := unix.Ppoll(pfds, &ts, nil)
		if errors.Is(err, unix.EINTR) || (err == nil && n == 0) {
			continue
		}
		if err != nil {
			return fmt.Errorf("ppoll: %w", err)
		}
		at := time.Now()
		kept = inflight[:0]
		for i, a := range inflight {
			if pfds[i].Revents == 0 {
				kept = append(kept, a)
				continue
			}
			soErr, err := unix.GetsockoptInt(a.fd, unix.SOL_SOCKET, unix.SO_ERROR)
			if err == nil && soErr != 0 {
				lastErr = unix.Errno(soErr)
			}
			record(attempt{start: a.start, took: at.Sub(a.start), ok: err == nil && soErr == 0})
			closeReset(a.fd)
		}
		inflight = kept
	}
}

// closeReset closes a socket with SO_LINGER 0: a connected one sends a
// reset and leaves nothing in TIME_WAIT.
func closeReset(fd int) {
	unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	unix.Close(fd)
}

// sampleOf reads a change out of a probe's attempts: the call started at
// callAt and returned at t0. The latency is from t0 to the start of the
// first attempt started since callAt with the outcome want (negative if
// it started while the call was still running); window is the time from
// the start of the last attempt before it with the other outcome, the
// resolution of this sample. connects are the times that successful
// connects took before the call, odd the attempts before the call that
// already had the outcome want.
func sampleOf(atts []attempt, want bool, callAt, t0 time.Time, timeout time.Duration) (s sample, connects []time.Duration, odd int) {
	s = sample{call: t0.Sub(callAt), attempts: len(atts)}
	var found time.Time
	for _, a := range atts {
		switch {
		case a.start.Before(callAt) && a.ok == want:
			odd++
		case a.start.Before(callAt) && a.ok:
			connects = append(connects, a.took)
		case a.start.Before(callAt):
		case a.ok == want && (found.IsZero() || a.start.Before(found)):
			found = a.start
		}
	}
	if found.IsZero() {
		s.latency, s.missed = timeout, true
		return s, connects, odd
	}
	var before time.Time
	for _, a := range atts {
		if a.ok != want && a.start.Before(found) && a.start.After(before) {
			before = a.start
		}
	}
	if before.IsZero() {
		before = callAt
	}
	s.latency, s.window = found.Sub(t0), found.Sub(before)
	return s, connects, odd
}
