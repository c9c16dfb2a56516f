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
	keep  bool          // KeepFlowsAfterDrain
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
			name:  "removed before the end of a drain that keeps its flows: reset",
			steps: []bstep{apply(bcfg{state: Draining, drain: time.Minute, keep: true}), removal},
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
						if n, released := b.remove(time.Now()); released {
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
						bc := Backend{Key: "b", State: c.state, DrainUntil: at(c.drain), KeepFlowsAfterDrain: c.keep, UnhealthyResetAt: at(c.reset)}
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
