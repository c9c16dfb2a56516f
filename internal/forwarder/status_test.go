package forwarder

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStatusObserve(t *testing.T) {
	pass := result{}
	timeout := result{reason: FailTimeout}
	refused := result{reason: FailRefused}
	mismatch := func(code int) result { return result{reason: FailMismatch, code: code} }
	type step struct {
		r           result
		want        Health
		wantChanged bool
	}
	initial := Health{Key: "k", State: StateInitial}
	healthy := Health{Key: "k", State: StateHealthy}
	unhealthy := func(r FailReason, code int) Health {
		return Health{Key: "k", State: StateUnhealthy, Reason: r, Code: code}
	}
	tests := []struct {
		name                string
		healthyT, unhealthy int
		steps               []step
	}{
		{
			name: "initial to healthy after threshold", healthyT: 3, unhealthy: 2,
			steps: []step{
				{pass, initial, false},
				{pass, initial, false},
				{pass, healthy, true},
				{pass, healthy, false},
			},
		},
		{
			name: "a failure restarts the count of passes", healthyT: 2, unhealthy: 3,
			steps: []step{
				{pass, initial, false},
				{timeout, initial, false},
				{pass, initial, false},
				{pass, healthy, true},
			},
		},
		{
			name: "initial to unhealthy", healthyT: 3, unhealthy: 2,
			steps: []step{
				{refused, initial, false},
				{refused, unhealthy(FailRefused, 0), true},
				{refused, unhealthy(FailRefused, 0), false},
			},
		},
		{
			name: "healthy to unhealthy and back", healthyT: 2, unhealthy: 2,
			steps: []step{
				{pass, initial, false},
				{pass, healthy, true},
				{timeout, healthy, false},
				{pass, healthy, false},
				{timeout, healthy, false},
				{timeout, unhealthy(FailTimeout, 0), true},
				{pass, unhealthy(FailTimeout, 0), false},
				{pass, healthy, true},
			},
		},
		{
			name: "reason and code changes while unhealthy are reported", healthyT: 2, unhealthy: 1,
			steps: []step{
				{mismatch(503), unhealthy(FailMismatch, 503), true},
				{mismatch(503), unhealthy(FailMismatch, 503), false},
				{mismatch(404), unhealthy(FailMismatch, 404), true},
				{refused, unhealthy(FailRefused, 0), true},
				{pass, unhealthy(FailRefused, 0), false},
				{timeout, unhealthy(FailTimeout, 0), true},
			},
		},
		{
			name: "thresholds below 1 count as 1", healthyT: 0, unhealthy: -1,
			steps: []step{
				{pass, healthy, true},
				{refused, unhealthy(FailRefused, 0), true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := status{state: StateInitial}
			for i, st := range tt.steps {
				changed := s.observe(st.r, tt.healthyT, tt.unhealthy)
				if changed != st.wantChanged {
					t.Errorf("step %d: observe(%+v) changed = %v, want %v", i, st.r, changed, st.wantChanged)
				}
				if diff := cmp.Diff(st.want, s.health("k")); diff != "" {
					t.Errorf("step %d: health() mismatch (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}
