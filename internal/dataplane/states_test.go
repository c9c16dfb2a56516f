package dataplane

import (
	"errors"
	"net/netip"
	"testing"
)

// outOfBand changes a kernel behind the data plane's back, as an operator
// with `ip netns` or another daemon on the host would.
type outOfBand interface {
	// AddNamespace creates an empty, unowned namespace.
	AddNamespace(t *testing.T, name string)
	// AddForeignNamespace creates an empty namespace stamped with owner.
	AddForeignNamespace(t *testing.T, name, owner string)
	DeleteNamespace(t *testing.T, name string)
}

// stateStep is one step of a state-transition test: an optional change
// behind the data plane's back, then Set(cfg), which must apply exactly want
// and fail with an error containing wantErr, if set.
type stateStep struct {
	name     string
	before   func(t *testing.T, k outOfBand)
	failNext error // Fake only: inject this error into Set
	cfg      Config
	want     []string
	wantErr  string
}

// statesOwner is the owner of the data plane in the state-transition steps;
// statesOther is another daemon's.
const (
	statesOwner = "0123456789abcdef"
	statesOther = "fedcba9876543210"
)

// stateSteps returns the state-transition steps for namespaces under base;
// the data plane has the prefix base+"r-", and base+"x-" stands for
// namespaces outside its prefix. Under its prefix, another daemon has
// otherVpc and someone made handMade by hand. The Fake and the Linux data
// plane must both pass them, and then have exactly stateStepsLeft(base).
func stateSteps(base string) []stateStep {
	p := base + "r-"
	vpcA, vpcB, foreign := p+"vpc-a", p+"vpc-b", base+"x-vpc"
	otherVpc, handMade := p+"vpc-o", p+"vpc-h"
	a1 := netip.MustParsePrefix("10.0.1.1/24")
	a2 := netip.MustParsePrefix("10.0.2.1/24")
	a3 := netip.MustParsePrefix("10.0.3.1/24")
	a4 := netip.MustParsePrefix("10.0.4.1/24")
	a6 := netip.MustParsePrefix("fd00:0:0:1::1/64")
	cfg := func(rs ...Router) Config { return Config{Prefix: p, Owner: statesOwner, Routers: rs} }
	oneSubnet := Router{Namespace: vpcA, Bridges: []Bridge{{Name: "b1", Address: a1}}}
	twoSubnets := Router{Namespace: vpcA, Bridges: []Bridge{{Name: "b1", Address: a1}, {Name: "b2", Address: a2}}}
	renumbered := Router{Namespace: vpcA, Bridges: []Bridge{{Name: "b1", Address: a3}, {Name: "b2", Address: a2}}}
	// vpcB overlaps vpcA: the same bridge name and address.
	overlapping := Router{Namespace: vpcB, Bridges: []Bridge{{Name: "b1", Address: a1}, {Name: "b6", Address: a6}}}
	return []stateStep{
		{name: "nothing wanted, nothing there", cfg: cfg()},
		{
			name: "first VPC",
			cfg:  cfg(oneSubnet),
			want: []string{
				"add netns " + vpcA,
				"up lo in " + vpcA,
				"forwarding on in " + vpcA,
				"add bridge b1 in " + vpcA,
				"add addr 10.0.1.1/24 on b1 in " + vpcA,
				"up b1 in " + vpcA,
			},
		},
		{name: "same again", cfg: cfg(oneSubnet)},
		{
			name: "second subnet and an overlapping VPC",
			cfg:  cfg(twoSubnets, overlapping),
			want: []string{
				"add bridge b2 in " + vpcA,
				"add addr 10.0.2.1/24 on b2 in " + vpcA,
				"up b2 in " + vpcA,
				"add netns " + vpcB,
				"up lo in " + vpcB,
				"forwarding on in " + vpcB,
				"add bridge b1 in " + vpcB,
				"add addr 10.0.1.1/24 on b1 in " + vpcB,
				"up b1 in " + vpcB,
				"add bridge b6 in " + vpcB,
				"add addr fd00:0:0:1::1/64 on b6 in " + vpcB,
				"up b6 in " + vpcB,
			},
		},
		{
			name: "renumber a subnet",
			cfg:  cfg(renumbered, overlapping),
			want: []string{
				"del addr 10.0.1.1/24 on b1 in " + vpcA,
				"add addr 10.0.3.1/24 on b1 in " + vpcA,
			},
		},
		{
			name: "invalid config changes nothing",
			cfg: cfg(renumbered, Router{Namespace: vpcB, Bridges: []Bridge{
				{Name: "a-name-that-is-too-long", Address: a1},
			}}),
			wantErr: "invalid config",
		},
		{
			name: "namespace deleted by hand is recreated",
			before: func(t *testing.T, k outOfBand) {
				k.DeleteNamespace(t, vpcB)
			},
			cfg: cfg(renumbered, overlapping),
			want: []string{
				"add netns " + vpcB,
				"up lo in " + vpcB,
				"forwarding on in " + vpcB,
				"add bridge b1 in " + vpcB,
				"add addr 10.0.1.1/24 on b1 in " + vpcB,
				"up b1 in " + vpcB,
				"add bridge b6 in " + vpcB,
				"add addr fd00:0:0:1::1/64 on b6 in " + vpcB,
				"up b6 in " + vpcB,
			},
		},
		{
			name: "unowned leftover namespace is adopted, one without the prefix ignored",
			before: func(t *testing.T, k outOfBand) {
				k.DeleteNamespace(t, vpcA)
				k.AddNamespace(t, vpcA)
				k.AddNamespace(t, foreign)
			},
			cfg: cfg(renumbered, overlapping),
			want: []string{
				"own " + vpcA,
				"up lo in " + vpcA,
				"forwarding on in " + vpcA,
				"add bridge b1 in " + vpcA,
				"add addr 10.0.3.1/24 on b1 in " + vpcA,
				"up b1 in " + vpcA,
				"add bridge b2 in " + vpcA,
				"add addr 10.0.2.1/24 on b2 in " + vpcA,
				"up b2 in " + vpcA,
			},
		},
		{
			name: "another daemon's namespace and a hand-made one under the prefix are left alone",
			before: func(t *testing.T, k outOfBand) {
				k.AddForeignNamespace(t, otherVpc, statesOther)
				k.AddNamespace(t, handMade)
			},
			cfg: cfg(renumbered, overlapping),
		},
		{
			name: "wanting another daemon's namespace fails for it alone",
			cfg: cfg(
				Router{Namespace: vpcA, Bridges: []Bridge{{Name: "b1", Address: a3}, {Name: "b2", Address: a2}, {Name: "b4", Address: a4}}},
				overlapping,
				Router{Namespace: otherVpc, Bridges: []Bridge{{Name: "b1", Address: a1}}},
			),
			want: []string{
				"add bridge b4 in " + vpcA,
				"add addr 10.0.4.1/24 on b4 in " + vpcA,
				"up b4 in " + vpcA,
			},
			wantErr: "namespace " + otherVpc + " belongs to privlink owner " + statesOther,
		},
		{
			name:     "failed Set changes nothing",
			failNext: errors.New("injected"),
			cfg:      cfg(renumbered),
			wantErr:  "injected",
		},
		{
			name: "remove a subnet and a VPC",
			cfg:  cfg(Router{Namespace: vpcA, Bridges: []Bridge{{Name: "b2", Address: a2}}}),
			want: []string{
				"del netns " + vpcB,
				"del bridge b1 in " + vpcA,
				"del bridge b4 in " + vpcA,
			},
		},
		{
			name: "remove everything",
			cfg:  cfg(),
			want: []string{"del netns " + vpcA},
		},
	}
}

// stateStepsLeft returns the namespaces under base, sorted, that are left
// after stateSteps(base): the one outside the prefix, another daemon's and
// the hand-made one.
func stateStepsLeft(base string) []string {
	return []string{base + "r-vpc-h", base + "r-vpc-o", base + "x-vpc"}
}
