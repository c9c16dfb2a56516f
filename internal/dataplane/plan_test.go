package dataplane

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// stateOpts compares states.
var stateOpts = cmp.Options{cmpopts.EquateComparable(netip.Prefix{}), cmpopts.EquateEmpty()}

const testPrefix = "plk-"

var (
	a1 = netip.MustParsePrefix("10.0.1.1/24")
	a2 = netip.MustParsePrefix("10.0.2.1/24")
	a9 = netip.MustParsePrefix("10.0.9.1/24")
)

// router returns a fully configured router namespace, as the kernel has it
// after Set.
func router(links map[string]linkState) *nsState {
	if links == nil {
		links = map[string]linkState{}
	}
	return &nsState{LoUp: true, Forwarding: true, Links: links}
}

func bridge(addrs ...netip.Prefix) linkState {
	return linkState{Kind: kindBridge, Up: true, Addrs: addrs}
}

func TestPlan(t *testing.T) {
	vpcA := Router{Namespace: "plk-vpc-a", Bridges: []Bridge{{Name: "b1", Address: a1}, {Name: "b2", Address: a2}}}
	vpcB := Router{Namespace: "plk-vpc-b", Bridges: []Bridge{{Name: "b1", Address: a1}}}
	tests := []struct {
		name string
		cur  state
		cfg  []Router
		want []string
	}{
		{
			name: "empty to empty",
		},
		{
			name: "from empty",
			cfg:  []Router{vpcA},
			want: []string{
				"add netns plk-vpc-a",
				"up lo in plk-vpc-a",
				"forwarding on in plk-vpc-a",
				"add bridge b1 in plk-vpc-a",
				"add addr 10.0.1.1/24 on b1 in plk-vpc-a",
				"up b1 in plk-vpc-a",
				"add bridge b2 in plk-vpc-a",
				"add addr 10.0.2.1/24 on b2 in plk-vpc-a",
				"up b2 in plk-vpc-a",
			},
		},
		{
			name: "adopt identical",
			cur: state{
				"plk-vpc-a": router(map[string]linkState{"b1": bridge(a1), "b2": bridge(a2)}),
				"plk-vpc-b": router(map[string]linkState{"b1": bridge(a1)}),
			},
			cfg: []Router{vpcA, vpcB},
		},
		{
			name: "address change",
			cur:  state{"plk-vpc-b": router(map[string]linkState{"b1": bridge(a9)})},
			cfg:  []Router{vpcB},
			want: []string{
				"del addr 10.0.9.1/24 on b1 in plk-vpc-b",
				"add addr 10.0.1.1/24 on b1 in plk-vpc-b",
			},
		},
		{
			name: "extra address",
			cur:  state{"plk-vpc-b": router(map[string]linkState{"b1": bridge(a1, a9)})},
			cfg:  []Router{vpcB},
			want: []string{"del addr 10.0.9.1/24 on b1 in plk-vpc-b"},
		},
		{
			name: "address moves to another bridge",
			cur:  state{"plk-vpc-a": router(map[string]linkState{"b1": bridge(a2), "b2": bridge(a1)})},
			cfg:  []Router{vpcA},
			want: []string{
				"del addr 10.0.2.1/24 on b1 in plk-vpc-a",
				"del addr 10.0.1.1/24 on b2 in plk-vpc-a",
				"add addr 10.0.1.1/24 on b1 in plk-vpc-a",
				"add addr 10.0.2.1/24 on b2 in plk-vpc-a",
			},
		},
		{
			name: "bridge removal",
			cur:  state{"plk-vpc-a": router(map[string]linkState{"b1": bridge(a1), "b2": bridge(a2)})},
			cfg:  []Router{{Namespace: "plk-vpc-a", Bridges: []Bridge{{Name: "b2", Address: a2}}}},
			want: []string{"del bridge b1 in plk-vpc-a"},
		},
		{
			name: "link of another kind with a wanted name",
			cur: state{"plk-vpc-b": router(map[string]linkState{
				"b1": {Kind: "veth", Up: true, Addrs: []netip.Prefix{a1}},
				"x":  {Kind: "dummy"},
			})},
			cfg: []Router{vpcB},
			want: []string{
				"del veth b1 in plk-vpc-b",
				"del dummy x in plk-vpc-b",
				"add bridge b1 in plk-vpc-b",
				"add addr 10.0.1.1/24 on b1 in plk-vpc-b",
				"up b1 in plk-vpc-b",
			},
		},
		{
			name: "down links and disabled forwarding are fixed in place",
			cur: state{"plk-vpc-b": &nsState{Links: map[string]linkState{
				"b1": {Kind: kindBridge, Addrs: []netip.Prefix{a1}},
			}}},
			cfg: []Router{vpcB},
			want: []string{
				"up lo in plk-vpc-b",
				"forwarding on in plk-vpc-b",
				"up b1 in plk-vpc-b",
			},
		},
		{
			name: "namespace removal",
			cur: state{
				"plk-vpc-a": router(map[string]linkState{"b1": bridge(a1), "b2": bridge(a2)}),
				"plk-vpc-b": router(map[string]linkState{"b1": bridge(a1)}),
			},
			cfg:  []Router{vpcB},
			want: []string{"del netns plk-vpc-a"},
		},
		{
			name: "remove everything",
			cur: state{
				"plk-vpc-a": router(nil),
				"plk-vpc-b": router(nil),
			},
			want: []string{"del netns plk-vpc-a", "del netns plk-vpc-b"},
		},
		{
			name: "stale name is deleted and created again",
			cur: state{
				"plk-vpc-b": {Stale: true},
				"plk-vpc-z": {Stale: true},
			},
			cfg: []Router{{Namespace: "plk-vpc-b"}},
			want: []string{
				"del netns plk-vpc-b",
				"del netns plk-vpc-z",
				"add netns plk-vpc-b",
				"up lo in plk-vpc-b",
				"forwarding on in plk-vpc-b",
			},
		},
		{
			name: "prefix isolation",
			cur: state{
				"plk":         router(nil),
				"plkx-vpc-a":  router(nil),
				"other":       router(map[string]linkState{"b1": bridge(a9)}),
				"vpc-plk-a":   &nsState{},
				"plktest-abc": {Stale: true},
				"plk-vpc-b":   router(map[string]linkState{"b1": bridge(a1)}),
			},
			cfg: []Router{vpcB},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Prefix: testPrefix, Routers: tt.cfg}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			cur := tt.cur
			if cur == nil {
				cur = state{}
			}
			want := desired(cfg)
			got := render(plan(testPrefix, cur, want))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan() mismatch (-want +got):\n%s", diff)
			}
			for _, line := range got {
				if !strings.Contains(line, " in "+testPrefix) && !strings.HasPrefix(line, "add netns "+testPrefix) && !strings.HasPrefix(line, "del netns "+testPrefix) {
					t.Errorf("plan() op %q touches a namespace without prefix %q", line, testPrefix)
				}
			}

			// Applying the plan reaches the desired state, leaves foreign
			// namespaces alone, and then there is nothing left to do.
			k := cur.clone()
			for _, o := range plan(testPrefix, cur, want) {
				if err := k.apply(o); err != nil {
					t.Fatalf("apply(%q) = %v", o, err)
				}
			}
			if diff := cmp.Diff(want, owned(k, testPrefix), stateOpts); diff != "" {
				t.Errorf("state after plan mismatch (-want +got):\n%s", diff)
			}
			for name, ns := range cur {
				if !strings.HasPrefix(name, testPrefix) {
					if diff := cmp.Diff(ns, k[name], stateOpts); diff != "" {
						t.Errorf("foreign namespace %s changed (-want +got):\n%s", name, diff)
					}
				}
			}
			if again := render(plan(testPrefix, k, want)); len(again) != 0 {
				t.Errorf("plan() after applying = %q, want nothing", again)
			}
		})
	}
}

// owned returns the namespaces of s that start with prefix.
func owned(s state, prefix string) state {
	out := state{}
	for name, ns := range s {
		if strings.HasPrefix(name, prefix) {
			out[name] = ns
		}
	}
	return out
}

func TestOpString(t *testing.T) {
	tests := []struct {
		op   op
		want string
	}{
		{op{Kind: opForwarding, NS: "n"}, "forwarding off in n"},
		{op{Kind: opDelLink, NS: "n", Link: "x"}, "del link x in n"},
		{op{Kind: opAddAddr, NS: "n", Link: "b", Addr: netip.MustParsePrefix("fd00::1/64")}, "add addr fd00::1/64 on b in n"},
	}
	for _, tt := range tests {
		if got := tt.op.String(); got != tt.want {
			t.Errorf("op.String() = %q, want %q", got, tt.want)
		}
	}
}

// clone returns a deep copy of s.
func (s state) clone() state {
	out := make(state, len(s))
	for name, ns := range s {
		c := *ns
		c.Links = maps.Clone(ns.Links)
		for ln, l := range c.Links {
			l.Addrs = slices.Clone(l.Addrs)
			c.Links[ln] = l
		}
		out[name] = &c
	}
	return out
}
