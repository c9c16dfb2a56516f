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
var stateOpts = cmp.Options{cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{}), cmpopts.EquateEmpty()}

const (
	testPrefix = "plk-"
	testOwner  = "0123456789abcdef"
	otherOwner = "fedcba9876543210"
)

var (
	a1 = netip.MustParsePrefix("10.0.1.1/24")
	a2 = netip.MustParsePrefix("10.0.2.1/24")
	a9 = netip.MustParsePrefix("10.0.9.1/24")
)

// router returns a fully configured router namespace of testOwner, as the
// kernel has it after Set.
func router(links map[string]linkState) *nsState {
	return ownedRouter(testOwner, links)
}

// ownedRouter returns a fully configured router namespace stamped with
// owner ("": unowned).
func ownedRouter(owner string, links map[string]linkState) *nsState {
	if links == nil {
		links = map[string]linkState{}
	}
	for name, l := range links {
		if l.Kind == kindBridge && l.MAC == "" {
			l.MAC = BridgeMAC(name).String()
			links[name] = l
		}
	}
	return &nsState{Owner: owner, LoUp: true, Forwarding: true, Links: links}
}

// desired returns the state cfg asks for; cfg must be valid.
func desired(cfg Config) state {
	s, _, err := desiredState(cfg)
	if err != nil {
		panic(err)
	}
	return s
}

func bridge(addrs ...netip.Prefix) linkState {
	return linkState{Kind: kindBridge, Up: true, Addrs: addrs}
}

func TestPlan(t *testing.T) {
	vpcA := Router{Namespace: "plk-vpc-a", Bridges: []Bridge{{Name: "b1", Address: a1}, {Name: "b2", Address: a2}}}
	vpcB := Router{Namespace: "plk-vpc-b", Bridges: []Bridge{{Name: "b1", Address: a1}}}
	tests := []struct {
		name          string
		cur           state
		cfg           []Router
		want          []string
		wantConflicts []string
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
			cur: state{"plk-vpc-b": &nsState{Owner: testOwner, Links: map[string]linkState{
				"b1": {Kind: kindBridge, Addrs: []netip.Prefix{a1}, MAC: BridgeMAC("b1").String()},
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
			name: "stale name is deleted and created again if wanted, else left alone",
			cur: state{
				"plk-vpc-b": {Stale: true},
				"plk-vpc-z": {Stale: true},
			},
			cfg: []Router{{Namespace: "plk-vpc-b"}},
			want: []string{
				"del netns plk-vpc-b",
				"add netns plk-vpc-b",
				"up lo in plk-vpc-b",
				"forwarding on in plk-vpc-b",
			},
		},
		{
			name: "unowned wanted namespace is adopted",
			cur: state{
				"plk-vpc-a": {Links: map[string]linkState{}},
				"plk-vpc-b": ownedRouter("", map[string]linkState{"b1": bridge(a1)}),
			},
			cfg: []Router{vpcA, vpcB},
			want: []string{
				"own plk-vpc-a",
				"up lo in plk-vpc-a",
				"forwarding on in plk-vpc-a",
				"add bridge b1 in plk-vpc-a",
				"add addr 10.0.1.1/24 on b1 in plk-vpc-a",
				"up b1 in plk-vpc-a",
				"add bridge b2 in plk-vpc-a",
				"add addr 10.0.2.1/24 on b2 in plk-vpc-a",
				"up b2 in plk-vpc-a",
				"own plk-vpc-b",
			},
		},
		{
			name: "unowned unwanted namespace is left alone",
			cur: state{
				"plk-vpc-a": {Links: map[string]linkState{}},
				"plk-vpc-u": ownedRouter("", map[string]linkState{"b1": bridge(a9)}),
			},
		},
		{
			name: "another owner's namespaces are invisible",
			cur: state{
				"plk-vpc-a": ownedRouter(otherOwner, map[string]linkState{"b1": bridge(a9)}),
				"plk-vpc-x": ownedRouter(otherOwner, nil),
				"plk-vpc-b": router(map[string]linkState{"b1": bridge(a1)}),
				"plk-vpc-c": router(nil),
			},
			cfg:  []Router{vpcB},
			want: []string{"del netns plk-vpc-c"},
		},
		{
			name: "wanted namespace of another owner is a conflict, the rest goes on",
			cur: state{
				"plk-vpc-a": ownedRouter(otherOwner, map[string]linkState{"b1": bridge(a9)}),
			},
			cfg: []Router{vpcA, vpcB},
			want: []string{
				"add netns plk-vpc-b",
				"up lo in plk-vpc-b",
				"forwarding on in plk-vpc-b",
				"add bridge b1 in plk-vpc-b",
				"add addr 10.0.1.1/24 on b1 in plk-vpc-b",
				"up b1 in plk-vpc-b",
			},
			wantConflicts: []string{"namespace plk-vpc-a belongs to privlink owner " + otherOwner},
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
			cfg := Config{Prefix: testPrefix, Owner: testOwner, Routers: tt.cfg}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			cur := tt.cur
			if cur == nil {
				cur = state{}
			}
			want := desired(cfg)
			ops, conflicts := plan(testPrefix, testOwner, cur, want)
			got := render(ops)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan() mismatch (-want +got):\n%s", diff)
			}
			var gotConflicts []string
			for _, c := range conflicts {
				gotConflicts = append(gotConflicts, c.Error())
			}
			if diff := cmp.Diff(tt.wantConflicts, gotConflicts); diff != "" {
				t.Errorf("plan() conflicts mismatch (-want +got):\n%s", diff)
			}
			for _, line := range got {
				if !strings.Contains(line, " in "+testPrefix) && !strings.HasPrefix(line, "add netns "+testPrefix) &&
					!strings.HasPrefix(line, "del netns "+testPrefix) && !strings.HasPrefix(line, "own "+testPrefix) {
					t.Errorf("plan() op %q touches a namespace without prefix %q", line, testPrefix)
				}
			}
			checkApply(t, testPrefix, testOwner, cur, want)
		})
	}
}

// checkApply applies the plan for owner to a copy of cur and checks that it
// reaches want for every namespace that is not another owner's, leaves
// every namespace the planner must not touch as it was, and that then there
// is nothing left to do. It returns the new kernel state.
func checkApply(t *testing.T, prefix, owner string, cur, want state) state {
	t.Helper()
	ops, conflicts := plan(prefix, owner, cur, want)
	k := cur.clone()
	for _, o := range ops {
		if err := k.apply(o); err != nil {
			t.Fatalf("apply(%q) = %v", o, err)
		}
	}
	reachable, got := want.clone(), owned(k, prefix, owner)
	for _, c := range conflicts {
		delete(reachable, c.NS)
		// A host cannot plug into another owner's router.
		for name, ns := range want {
			for _, l := range ns.Links {
				if l.Peer.NS == c.NS {
					delete(reachable, name)
					delete(got, name)
				}
			}
		}
	}
	if diff := cmp.Diff(reachable, got, stateOpts); diff != "" {
		t.Errorf("state after plan mismatch (-want +got):\n%s", diff)
	}
	for name, ns := range cur {
		_, wanted := want[name]
		mayTouch := strings.HasPrefix(name, prefix) &&
			(ns.Owner == owner || wanted && (ns.Owner == "" || ns.Stale))
		if mayTouch {
			continue
		}
		if diff := cmp.Diff(ns, k[name], stateOpts); diff != "" {
			t.Errorf("namespace %s, not %s's, changed (-want +got):\n%s", name, owner, diff)
		}
	}
	again, againConflicts := plan(prefix, owner, k, want)
	if len(again) != 0 {
		t.Errorf("plan() after applying = %q, want nothing", render(again))
	}
	if diff := cmp.Diff(conflicts, againConflicts); diff != "" {
		t.Errorf("plan() conflicts after applying mismatch (-want +got):\n%s", diff)
	}
	return k
}

// owned returns the namespaces of s that start with prefix and carry owner.
func owned(s state, prefix, owner string) state {
	out := state{}
	for name, ns := range s {
		if strings.HasPrefix(name, prefix) && !ns.Stale && !ns.Orphan && ns.Owner == owner {
			out[name] = ns
		}
	}
	return out
}

// TestPlanTwoOwners has two data planes with the same prefix take turns on
// one kernel: neither ever plans an op on the other's namespaces, nor on an
// unowned one it does not want.
func TestPlanTwoOwners(t *testing.T) {
	const ownerA, ownerB = "owner-a", "owner-b"
	cfgA := Config{Prefix: testPrefix, Owner: ownerA, Routers: []Router{
		{Namespace: "plk-vpc-a1", Bridges: []Bridge{{Name: "b1", Address: a1}}},
		{Namespace: "plk-vpc-a2"},
	}}
	cfgB := Config{Prefix: testPrefix, Owner: ownerB, Routers: []Router{
		{Namespace: "plk-vpc-b1", Bridges: []Bridge{{Name: "b1", Address: a1}}},
	}}
	noneA := Config{Prefix: testPrefix, Owner: ownerA}
	k := state{"plk-vpc-hand": {Links: map[string]linkState{}}} // made by hand
	steps := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"A creates its VPCs", cfgA, []string{
			"add netns plk-vpc-a1",
			"up lo in plk-vpc-a1",
			"forwarding on in plk-vpc-a1",
			"add bridge b1 in plk-vpc-a1",
			"add addr 10.0.1.1/24 on b1 in plk-vpc-a1",
			"up b1 in plk-vpc-a1",
			"add netns plk-vpc-a2",
			"up lo in plk-vpc-a2",
			"forwarding on in plk-vpc-a2",
		}},
		{"B creates its VPC and leaves A's alone", cfgB, []string{
			"add netns plk-vpc-b1",
			"up lo in plk-vpc-b1",
			"forwarding on in plk-vpc-b1",
			"add bridge b1 in plk-vpc-b1",
			"add addr 10.0.1.1/24 on b1 in plk-vpc-b1",
			"up b1 in plk-vpc-b1",
		}},
		{"A leaves B's alone", cfgA, nil},
		{"B again", cfgB, nil},
		{"A removes everything of its own", noneA, []string{"del netns plk-vpc-a1", "del netns plk-vpc-a2"}},
		{"B is unaffected", cfgB, nil},
	}
	for _, step := range steps {
		if err := step.cfg.Validate(); err != nil {
			t.Fatalf("%s: Validate() = %v", step.name, err)
		}
		want := desired(step.cfg)
		ops, conflicts := plan(step.cfg.Prefix, step.cfg.Owner, k, want)
		if diff := cmp.Diff(step.want, render(ops)); diff != "" {
			t.Errorf("%s: plan() mismatch (-want +got):\n%s", step.name, diff)
		}
		if len(conflicts) != 0 {
			t.Errorf("%s: plan() conflicts = %v, want none", step.name, conflicts)
		}
		k = checkApply(t, step.cfg.Prefix, step.cfg.Owner, k, want)
	}
	got := map[string]string{}
	for name, ns := range k {
		got[name] = ns.Owner
	}
	wantOwners := map[string]string{"plk-vpc-b1": ownerB, "plk-vpc-hand": ""}
	if diff := cmp.Diff(wantOwners, got); diff != "" {
		t.Errorf("namespaces and owners at the end mismatch (-want +got):\n%s", diff)
	}
}

func TestOpString(t *testing.T) {
	tests := []struct {
		op   op
		want string
	}{
		{op{Kind: opForwarding, NS: "n"}, "forwarding off in n"},
		{op{Kind: opDelLink, NS: "n", Link: "x"}, "del link x in n"},
		{op{Kind: opAddAddr, NS: "n", Link: "b", Addr: netip.MustParsePrefix("fd00::1/64")}, "add addr fd00::1/64 on b in n"},
		{op{Kind: opAddNetns, NS: "n", Owner: "o"}, "add netns n"},
		{op{Kind: opOwn, NS: "n", Owner: "o"}, "own n"},
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
		c.LoAddrs = slices.Clone(ns.LoAddrs)
		c.Routes = slices.Clone(ns.Routes)
		c.Links = maps.Clone(ns.Links)
		for ln, l := range c.Links {
			l.Addrs = slices.Clone(l.Addrs)
			c.Links[ln] = l
		}
		out[name] = &c
	}
	return out
}
