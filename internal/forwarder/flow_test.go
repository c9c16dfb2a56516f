package forwarder

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// stubFlows returns n flows that have already ended: resetting one is a
// no-op, so a backend's state machine runs without sockets, and the
// counts it returns say whether it reset them.
func stubFlows(n int) map[*flow]struct{} {
	fs := make(map[*flow]struct{}, n)
	for range n {
		f := &flow{}
		f.ended.Store(true)
		fs[f] = struct{}{}
	}
	return fs
}

// bcfg is a backend configuration in a test, with times as offsets from
// the test's start.
type bcfg struct {
	state BackendState
	drain time.Duration // DrainUntil
	keep  bool          // KeepFlows
	reset time.Duration // UnhealthyResetAt; 0 is the zero time
}

// bstep is one step of TestBackendResets: apply a configuration (in a
// listener that fails open or not), remove the backend, or let time pass.
type bstep struct {
	cfg      bcfg
	failOpen bool
	remove   bool
	wait     time.Duration
}

func apply(c bcfg) bstep          { return bstep{cfg: c} }
func applyFailOpen(c bcfg) bstep  { return bstep{cfg: c, failOpen: true} }
func after(d time.Duration) bstep { return bstep{wait: d} }

var removal = bstep{remove: true}

// TestBackendResets walks a backend through steps, each with two flows
// registered, and records what each step did to them: "reset", "keep" or
// "release" (removed, and the flows left to end on their own), and
// whether the backend still takes new flows ("takes"). Time passes in a
// synctest bubble, so scheduled resets fire at once.
func TestBackendResets(t *testing.T) {
	tests := []struct {
		name  string
		steps []bstep
		want  []string
	}{
		{
			name:  "healthy: kept until removed",
			steps: []bstep{apply(bcfg{state: Healthy}), removal},
			want:  []string{"keep, takes", "reset"},
		},
		{
			name:  "drain over: reset at once, then no new flow",
			steps: []bstep{apply(bcfg{state: Draining, drain: -time.Second})},
			want:  []string{"reset"},
		},
		{
			name:  "drain ahead: reset when it ends",
			steps: []bstep{apply(bcfg{state: Draining, drain: time.Minute}), after(time.Minute)},
			want:  []string{"keep, takes", "reset"},
		},
		{
			name:  "a drain that keeps its flows: nothing at its end, released when removed",
			steps: []bstep{apply(bcfg{state: Draining, drain: time.Minute, keep: true}), after(2 * time.Minute), removal},
			want:  []string{"keep, takes", "keep, takes", "release"},
		},
		{
			name:  "removed before the end of a drain that keeps its flows: released",
			steps: []bstep{apply(bcfg{state: Draining, drain: time.Minute, keep: true}), removal},
			want:  []string{"keep, takes", "release"},
		},
		{
			name:  "healthy, keeping its flows (the listener now forwards elsewhere): released when removed",
			steps: []bstep{apply(bcfg{state: Healthy, keep: true}), removal},
			want:  []string{"keep, takes", "release"},
		},
		{
			name:  "a drain that resets at its end, removed before: reset",
			steps: []bstep{apply(bcfg{state: Draining, drain: time.Minute}), removal},
			want:  []string{"keep, takes", "reset"},
		},
		{
			name: "unhealthy past its deadline: reset at once, takes flows again once healthy",
			steps: []bstep{
				apply(bcfg{state: Unhealthy, reset: -time.Second}),
				apply(bcfg{state: Unhealthy, reset: -time.Second}),
				apply(bcfg{state: Healthy}),
			},
			want: []string{"reset", "keep", "keep, takes"},
		},
		{
			name:  "unhealthy without a deadline: never reset",
			steps: []bstep{apply(bcfg{state: Unhealthy}), after(time.Hour)},
			want:  []string{"keep, takes", "keep, takes"},
		},
		{
			name:  "unhealthy with a deadline ahead: reset then",
			steps: []bstep{apply(bcfg{state: Unhealthy, reset: time.Minute}), after(30 * time.Second), after(30 * time.Second)},
			want:  []string{"keep, takes", "keep, takes", "reset"},
		},
		{
			name:  "unhealthy, healthy again before its deadline: kept",
			steps: []bstep{apply(bcfg{state: Unhealthy, reset: time.Minute}), apply(bcfg{state: Healthy}), after(2 * time.Minute)},
			want:  []string{"keep, takes", "keep, takes", "keep, takes"},
		},
		{
			name: "failing open keeps unhealthy flows until a backend is healthy again",
			steps: []bstep{
				applyFailOpen(bcfg{state: Unhealthy, reset: -time.Second}),
				applyFailOpen(bcfg{state: Unhealthy, reset: -time.Second}),
				apply(bcfg{state: Unhealthy, reset: -time.Second}),
			},
			want: []string{"keep, takes", "keep, takes", "reset"},
		},
		{
			name: "failing open cancels a reset ahead",
			steps: []bstep{
				apply(bcfg{state: Unhealthy, reset: time.Minute}),
				applyFailOpen(bcfg{state: Unhealthy, reset: time.Minute}),
				after(2 * time.Minute),
			},
			want: []string{"keep, takes", "keep, takes", "keep, takes"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				at := func(d time.Duration) time.Time {
					if d == 0 {
						return time.Time{}
					}
					return start.Add(d)
				}
				l := &listener{}
				b := &backend{key: "b"}
				var got []string
				for _, s := range tt.steps {
					b.mu.Lock()
					b.flows = stubFlows(2)
					wasExpired := b.expired
					b.mu.Unlock()
					what := "keep"
					switch {
					case s.remove:
						if n, released := b.remove(); released {
							what = "release"
						} else if n > 0 {
							what = "reset"
						}
					case s.wait > 0:
						time.Sleep(s.wait)
						synctest.Wait()
						b.mu.Lock()
						if b.expired && !wasExpired {
							what = "reset"
						}
						b.mu.Unlock()
					default:
						c := s.cfg
						bc := Backend{Key: "b", State: c.state, DrainUntil: at(c.drain), KeepFlows: c.keep, UnhealthyResetAt: at(c.reset)}
						if n := b.apply(bc, s.failOpen, time.Now()); n > 0 {
							what = "reset"
						}
					}
					if f := (&flow{}); b.register(f, l) {
						what += ", takes"
						b.deregister(f, l)
					}
					got = append(got, what)
				}
				b.mu.Lock()
				b.stopReset()
				b.mu.Unlock()
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("steps mismatch (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestAppendIdle: a flow is idle once no byte moved for longer than the
// timeout, strictly; one exactly at the timeout lives on, and one busy
// writing is never idle.
func TestAppendIdle(t *testing.T) {
	const timeout = 350 * time.Second
	now := int64(time.Hour)
	tests := []struct {
		name string
		last time.Duration // before now
		busy bool
		want bool
	}{
		{"active just now", 0, false, false},
		{"idle for less than the timeout", timeout - time.Second, false, false},
		{"idle for exactly the timeout", timeout, false, false},
		{"idle for longer than the timeout", timeout + time.Nanosecond, false, true},
		{"idle for long", 10 * timeout, false, true},
		{"busy writing to a slow receiver", 10 * timeout, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &flow{}
			f.last.Store(now - int64(tt.last))
			if tt.busy {
				f.busy.Add(1)
			}
			b := &backend{flows: map[*flow]struct{}{f: {}}}
			if got := len(b.appendIdle(nil, now, timeout)) == 1; got != tt.want {
				t.Errorf("appendIdle() found the flow idle: %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSweepInterval(t *testing.T) {
	tests := []struct {
		shortest, want time.Duration
	}{
		{0, 0},
		{100 * time.Millisecond, sweepMin},
		{time.Second, 125 * time.Millisecond},
		{8 * time.Second, time.Second},
		{60 * time.Second, sweepMax},
		{350 * time.Second, sweepMax},
	}
	for _, tt := range tests {
		if got := sweepInterval(tt.shortest); got != tt.want {
			t.Errorf("sweepInterval(%v) = %v, want %v", tt.shortest, got, tt.want)
		}
	}
}

// xstep is one step of TestFlowExpired, at an offset from the flow's last
// bytes: a sweep, or bytes that move, or a segment without bytes (a
// keepalive probe) that a socket receives.
type xstep struct {
	at    time.Duration
	bytes bool
	probe int // 1: at the client's socket, 2: at the backend's
}

func sweepAt(d time.Duration) xstep { return xstep{at: d} }
func bytesAt(d time.Duration) xstep { return xstep{at: d, bytes: true} }
func probeAt(side int) xstep        { return xstep{probe: side} }

// TestFlowExpired walks a flow through sweeps with an idle timeout of 8 s
// and records what each sweep did: "-" (no system call), "read" (read the
// segment counters), "alive" (read them, saw segments and counted them
// as activity) or "reset".
func TestFlowExpired(t *testing.T) {
	const timeout = 8 * time.Second
	s := time.Second
	tests := []struct {
		name       string
		busy       bool
		ended      bool
		unreadable bool
		steps      []xstep
		want       []string
	}{
		{
			name:  "idle for up to half the timeout: no system call",
			steps: []xstep{sweepAt(1 * s), sweepAt(3 * s), sweepAt(4 * s)},
			want:  []string{"-", "-", "-"},
		},
		{
			name:  "silent peers: a baseline past half the timeout, reset past the timeout",
			steps: []xstep{sweepAt(4*s + 1), sweepAt(6 * s), sweepAt(8 * s), sweepAt(9 * s)},
			want:  []string{"read", "-", "-", "reset"},
		},
		{
			name: "keepalives: each window of a timeout with a probe keeps the flow",
			steps: []xstep{
				sweepAt(5 * s), probeAt(1), sweepAt(9 * s), // seen: activity at 9 s
				sweepAt(14 * s), probeAt(2), sweepAt(17 * s), sweepAt(18 * s), // the window from 9 s to 18 s
				sweepAt(27 * s), // no probe since 18 s
			},
			want: []string{"read", "alive", "-", "-", "alive", "reset"},
		},
		{
			name: "a probe before the baseline is missed",
			steps: []xstep{
				probeAt(1), sweepAt(5 * s), sweepAt(9 * s),
			},
			want: []string{"read", "reset"},
		},
		{
			name: "bytes after the baseline make it stale",
			steps: []xstep{
				sweepAt(5 * s), bytesAt(6 * s), sweepAt(9 * s), sweepAt(11 * s), sweepAt(14 * s), sweepAt(15 * s),
			},
			want: []string{"read", "-", "read", "-", "reset"},
		},
		{
			name:  "already past the timeout without a baseline: half a timeout to show a segment",
			steps: []xstep{sweepAt(30 * s), sweepAt(33 * s), sweepAt(34 * s)},
			want:  []string{"read", "-", "reset"},
		},
		{
			name:  "a baseline less than half a timeout old waits for the next sweep",
			steps: []xstep{sweepAt(5 * s), sweepAt(8*s + 1), sweepAt(9*s - 1), sweepAt(9 * s)},
			want:  []string{"read", "-", "-", "reset"},
		},
		{
			name:       "counters that cannot be read: reset past the timeout",
			unreadable: true,
			steps:      []xstep{sweepAt(5 * s), sweepAt(9 * s)},
			want:       []string{"read", "reset"},
		},
		{
			name:  "busy writing to a slow receiver: never idle",
			busy:  true,
			steps: []xstep{sweepAt(5 * s), sweepAt(100 * s)},
			want:  []string{"-", "-"},
		},
		{
			name:  "ended: left alone",
			ended: true,
			steps: []xstep{sweepAt(5 * s), sweepAt(100 * s)},
			want:  []string{"-", "-"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const start = int64(time.Hour)
			f := &flow{}
			f.last.Store(start)
			if tt.busy {
				f.busy.Add(1)
			}
			f.ended.Store(tt.ended)
			var segs [2]uint32
			reads := 0
			segsIn := func(*flow) ([2]uint32, bool) {
				reads++
				return segs, !tt.unreadable
			}
			var got []string
			for _, st := range tt.steps {
				now := start + int64(st.at)
				switch {
				case st.probe > 0:
					segs[st.probe-1]++
					continue
				case st.bytes:
					f.last.Store(now)
					continue
				}
				before, last := reads, f.last.Load()
				reset := f.expired(now, timeout, segsIn)
				switch {
				case reset:
					got = append(got, "reset")
				case reads == before:
					got = append(got, "-")
				case f.last.Load() == now && last != now:
					got = append(got, "alive")
				default:
					got = append(got, "read")
				}
				if reads-before > 1 {
					t.Errorf("sweep at %v read the counters %d times, want at most once", st.at, reads-before)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("expired() per sweep mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
