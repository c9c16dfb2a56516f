package forwarder

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEligible(t *testing.T) {
	h, u, d := Healthy, Unhealthy, Draining
	tests := []struct {
		name   string
		states []BackendState
		want   []int
	}{
		{"none", nil, nil},
		{"healthy only", []BackendState{h, u, h, d}, []int{0, 2}},
		{"fail open", []BackendState{u, d, u}, []int{0, 2}},
		{"draining never", []BackendState{d, d}, nil},
		{"one healthy", []BackendState{u, u, h}, []int{2}},
	}
	for _, tt := range tests {
		var bs []Backend
		for i, s := range tt.states {
			bs = append(bs, Backend{Key: fmt.Sprint(i), State: s})
		}
		if diff := cmp.Diff(tt.want, eligible(bs)); diff != "" {
			t.Errorf("%s: eligible() mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

// testRoute builds a route as Set does, without states or sockets.
func testRoute(lis Listener) *route {
	r := &route{lis: lis, eligible: eligible(lis.Backends)}
	for _, b := range lis.Backends {
		r.backends = append(r.backends, routeBackend{cfg: b})
	}
	return r
}

func TestRouteChoose(t *testing.T) {
	listen := netip.MustParseAddrPort("10.1.2.10:443")
	backends := func(states ...BackendState) []Backend {
		var bs []Backend
		for i, s := range states {
			bs = append(bs, Backend{Key: fmt.Sprintf("b%d", i), State: s, DrainUntil: time.Unix(1, 0)})
		}
		return bs
	}
	tests := []struct {
		name     string
		backends []Backend
		sticky   bool
		// want is the share of 3000 flows each backend gets, in
		// percent, within tolerance 5.
		want map[string]int
	}{
		{name: "even over healthy", backends: backends(Healthy, Healthy, Healthy), want: map[string]int{"b0": 33, "b1": 33, "b2": 33}},
		{name: "unhealthy and draining excluded", backends: backends(Healthy, Unhealthy, Draining, Healthy), want: map[string]int{"b0": 50, "b3": 50}},
		{name: "fail open", backends: backends(Unhealthy, Unhealthy, Draining), want: map[string]int{"b0": 50, "b1": 50}},
		{name: "nothing eligible", backends: backends(Draining), want: map[string]int{"none": 100}},
		{name: "no backends", want: map[string]int{"none": 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRoute(Listener{Addr: listen, Backends: tt.backends, StickySource: tt.sticky})
			const n = 3000
			counts := map[string]int{}
			for i := range n {
				// Many clients, many ports: what a busy listener sees.
				client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i % 7), byte(i % 251)}), uint16(32768+i))
				key := "none"
				if b := r.choose(client); b != nil {
					key = b.cfg.Key
				}
				counts[key]++
			}
			for key, pct := range tt.want {
				if got := counts[key] * 100 / n; got < pct-5 || got > pct+5 {
					t.Errorf("backend %s got %d%% of flows, want %d%% (counts %v)", key, got, pct, counts)
				}
			}
			for key := range counts {
				if _, ok := tt.want[key]; !ok {
					t.Errorf("backend %s got flows, want none (counts %v)", key, counts)
				}
			}
		})
	}
}

func TestRouteChooseDeterministic(t *testing.T) {
	var bs []Backend
	for i := range 5 {
		bs = append(bs, Backend{Key: fmt.Sprint(i), State: Healthy})
	}
	listen := netip.MustParseAddrPort("10.1.2.10:443")
	plain := testRoute(Listener{Addr: listen, Backends: bs})
	sticky := testRoute(Listener{Addr: listen, Backends: bs, StickySource: true})
	client := netip.MustParseAddr("10.0.0.7")

	first := sticky.choose(netip.AddrPortFrom(client, 1000)).cfg.Key
	seen := map[string]bool{}
	for port := range uint16(200) {
		ap := netip.AddrPortFrom(client, 1000+port)
		if got := sticky.choose(ap).cfg.Key; got != first {
			t.Fatalf("sticky choose(%v) = %s, want %s as for every port of the client", ap, got, first)
		}
		// The same 4-tuple always gets the same backend.
		a, b := plain.choose(ap).cfg.Key, plain.choose(ap).cfg.Key
		if a != b {
			t.Fatalf("choose(%v) = %s then %s", ap, a, b)
		}
		seen[a] = true
	}
	if len(seen) != len(bs) {
		t.Errorf("200 ports of one client reached %d of %d backends without stickiness", len(seen), len(bs))
	}
	mapped := netip.AddrPortFrom(netip.AddrFrom16(client.As16()), 1234)
	if flowHash(mapped, listen, false) != flowHash(netip.AddrPortFrom(client, 1234), listen, false) {
		t.Error("an IPv4-mapped client hashes differently from its IPv4 address")
	}
}
