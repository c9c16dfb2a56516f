package forwarder

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeTargets answers probes from a table of results by check key, and
// counts the probes.
type fakeTargets struct {
	mu      sync.Mutex
	results map[string]result
	probes  map[string]int
}

func (f *fakeTargets) set(key string, r result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.results[key] = r
}

func (f *fakeTargets) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.probes[key]
}

func (f *fakeTargets) probe(ctx context.Context, c Check, _ matcher) result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probes[c.Key]++
	return f.results[c.Key]
}

// reports records what Report got, and fails the test if it is called
// concurrently with itself.
type reports struct {
	t        *testing.T
	inFlight atomic.Int32
	mu       sync.Mutex
	got      [][]Health
}

func (r *reports) report(hs []Health) {
	if r.inFlight.Add(1) != 1 {
		r.t.Error("Report called concurrently")
	}
	defer r.inFlight.Add(-1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, hs)
}

// take returns the reports so far, flattened, and forgets them.
func (r *reports) take() []Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Health
	for _, hs := range r.got {
		out = append(out, hs...)
	}
	r.got = nil
	return out
}

func TestCheckerReports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		targets := &fakeTargets{results: map[string]result{}, probes: map[string]int{}}
		rep := &reports{t: t}
		c := NewChecker(CheckerOptions{Report: rep.report})
		c.probe = targets.probe

		check := func(key string) Check {
			return Check{Key: key, Namespace: "ns", Protocol: "TCP", Interval: time.Second, Timeout: 500 * time.Millisecond,
				HealthyThreshold: 2, UnhealthyThreshold: 3}
		}
		targets.set("a", result{})
		targets.set("b", result{reason: FailRefused})
		c.Set([]Check{check("a"), check("b")})
		if diff := cmp.Diff([]Health{{Key: "a", State: StateInitial}, {Key: "b", State: StateInitial}}, c.Current()); diff != "" {
			t.Errorf("Current() before Run mismatch (-want +got):\n%s", diff)
		}

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()

		// First attempt within maxFirstJitter, then one per second: a
		// passes twice by 1.25 s, b fails three times by 2.25 s.
		time.Sleep(1300 * time.Millisecond)
		synctest.Wait()
		if diff := cmp.Diff([]Health{{Key: "a", State: StateHealthy}}, rep.take()); diff != "" {
			t.Errorf("reports after 1.3 s mismatch (-want +got):\n%s", diff)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if diff := cmp.Diff([]Health{{Key: "b", State: StateUnhealthy, Reason: FailRefused}}, rep.take()); diff != "" {
			t.Errorf("reports after 2.3 s mismatch (-want +got):\n%s", diff)
		}

		// Only changes are reported: steady states say nothing.
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := rep.take(); len(got) != 0 {
			t.Errorf("reports of steady states: %v, want none", got)
		}

		// b starts answering with a wrong code: the reason changes.
		targets.set("b", result{reason: FailMismatch, code: 503})
		time.Sleep(time.Second)
		synctest.Wait()
		if diff := cmp.Diff([]Health{{Key: "b", State: StateUnhealthy, Reason: FailMismatch, Code: 503}}, rep.take()); diff != "" {
			t.Errorf("reports after mismatch mismatch (-want +got):\n%s", diff)
		}

		// Set again: a unchanged keeps its state; b with a new
		// threshold starts over; c is new.
		b2 := check("b")
		b2.HealthyThreshold = 5
		c.Set([]Check{check("a"), b2, check("c")})
		want := []Health{{Key: "a", State: StateHealthy}, {Key: "b", State: StateInitial}, {Key: "c", State: StateInitial}}
		if diff := cmp.Diff(want, c.Current()); diff != "" {
			t.Errorf("Current() after Set mismatch (-want +got):\n%s", diff)
		}

		// Removing a stops its probes.
		c.Set([]Check{b2})
		synctest.Wait()
		n := targets.count("a")
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := targets.count("a"); got != n {
			t.Errorf("removed check probed %d more times", got-n)
		}
		if diff := cmp.Diff([]Health{{Key: "b", State: StateUnhealthy, Reason: FailMismatch, Code: 503}}, c.Current()); diff != "" {
			t.Errorf("Current() after removal mismatch (-want +got):\n%s", diff)
		}

		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	})
}

// TestCheckerCoalesces holds Report while a check flaps: the next report
// carries the check's latest state once.
func TestCheckerCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		targets := &fakeTargets{results: map[string]result{}, probes: map[string]int{}}
		release := make(chan struct{})
		var got [][]Health
		c := NewChecker(CheckerOptions{Report: func(hs []Health) {
			got = append(got, hs)
			if len(got) == 1 {
				<-release
			}
		}})
		c.probe = targets.probe
		c.Set([]Check{{Key: "a", Interval: time.Second, Timeout: time.Second / 2, HealthyThreshold: 1, UnhealthyThreshold: 1}})
		go c.Run(t.Context())

		time.Sleep(500 * time.Millisecond) // first attempt: healthy, Report blocks
		synctest.Wait()
		for _, r := range []result{{reason: FailTimeout}, {}, {reason: FailRefused}} {
			targets.set("a", r)
			time.Sleep(time.Second)
			synctest.Wait()
		}
		close(release)
		synctest.Wait()
		want := [][]Health{
			{{Key: "a", State: StateHealthy}},
			{{Key: "a", State: StateUnhealthy, Reason: FailRefused}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("reports mismatch (-want +got):\n%s", diff)
		}
	})
}
