package dataplane

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/privlink/privlink/internal/dataplane/nft"
)

// appliedState returns the kernel state that Set(cfg) leaves behind, starting
// from nothing.
func appliedState(t *testing.T, cfg Config) state {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	k := state{}
	ops, _ := plan(cfg.Prefix, cfg.Owner, k, desired(cfg))
	for _, o := range ops {
		if err := k.apply(o); err != nil {
			t.Fatalf("apply(%q) = %v", o, err)
		}
	}
	return k
}

func TestPlanHosts(t *testing.T) {
	const vpcA, vpcB, a1, a2 = "plk-vpc-a", "plk-vpc-b", "plk-i-a1", "plk-i-a2"
	base := Config{Prefix: testPrefix, Owner: testOwner,
		Routers: []Router{testVPC(vpcA)},
		Hosts: []Host{
			testHost(a1, "pa1", vpcA, "b1", "10.0.1.10/24", 1),
			testHost(a2, "pa2", vpcA, "b2", "10.0.2.10/24", 2),
		},
	}
	withTables := base
	withTables.Routers = []Router{testVPC(vpcA)}
	withTables.Routers[0].ACLs = nft.ACLSet{Subnets: []nft.SubnetACL{{Iface: "b1"}}}
	withTables.Hosts = []Host{base.Hosts[0], base.Hosts[1]}
	withTables.Hosts[0].Firewall = webSG(80)

	tests := []struct {
		name          string
		cfg           Config
		cur           func(k state) // changes the state that cfg leaves
		want          []string
		wantConflicts []string
	}{
		{
			name: "nothing to do",
			cfg:  base,
			cur:  func(k state) {},
		},
		{
			name: "a router deleted by hand took its ports' other ends along",
			cfg:  base,
			cur: func(k state) {
				k.delNetns(vpcA)
				delete(k, vpcA)
			},
			want: []string{
				"add netns plk-vpc-a",
				"up lo in plk-vpc-a",
				"forwarding on in plk-vpc-a",
				"add addr 10.0.0.2/32 on lo in plk-vpc-a",
				"add bridge b1 in plk-vpc-a",
				"add addr 10.0.1.1/24 on b1 in plk-vpc-a",
				"up b1 in plk-vpc-a",
				"add bridge b2 in plk-vpc-a",
				"add addr 10.0.2.1/24 on b2 in plk-vpc-a",
				"up b2 in plk-vpc-a",
				"add veth eth0 in plk-i-a1 peer pa1 in plk-vpc-a",
				"add addr 10.0.1.10/24 on eth0 in plk-i-a1",
				"up eth0 in plk-i-a1",
				"up pa1 in plk-vpc-a",
				"master pa1 b1 in plk-vpc-a",
				"announce 10.0.1.10 on eth0 in plk-i-a1",
				"add route default via 10.0.1.1 dev eth0 in plk-i-a1",
				"add veth eth0 in plk-i-a2 peer pa2 in plk-vpc-a",
				"add addr 10.0.2.10/24 on eth0 in plk-i-a2",
				"up eth0 in plk-i-a2",
				"up pa2 in plk-vpc-a",
				"master pa2 b2 in plk-vpc-a",
				"announce 10.0.2.10 on eth0 in plk-i-a2",
				"add route default via 10.0.2.1 dev eth0 in plk-i-a2",
			},
		},
		{
			name: "a new host gets its security group before its interface",
			cfg:  withTables,
			cur: func(k state) {
				k.delNetns(a1)
				delete(k, a1)
				k[vpcA].ACL = desired(withTables)[vpcA].ACL
			},
			want: []string{
				"add netns plk-i-a1",
				"up lo in plk-i-a1",
				"apply sg in plk-i-a1",
				"forwarding off in plk-i-a1",
				"add veth eth0 in plk-i-a1 peer pa1 in plk-vpc-a",
				"add addr 10.0.1.10/24 on eth0 in plk-i-a1",
				"up eth0 in plk-i-a1",
				"up pa1 in plk-vpc-a",
				"master pa1 b1 in plk-vpc-a",
				"announce 10.0.1.10 on eth0 in plk-i-a1",
				"add route default via 10.0.1.1 dev eth0 in plk-i-a1",
				"write resolv.conf for plk-i-a1",
			},
		},
		{
			name: "an orphaned port and a stray link in a router",
			cfg:  base,
			cur: func(k state) {
				k[vpcA].Links["px"] = linkState{Kind: kindVeth, Up: true, Master: "b1"}
				k[vpcA].Links["d0"] = linkState{Kind: "dummy"}
			},
			want: []string{"del dummy d0 in plk-vpc-a", "del veth px in plk-vpc-a"},
		},
		{
			name: "a port unplugged and down is fixed in place",
			cfg:  base,
			cur: func(k state) {
				l := k[vpcA].Links["pa1"]
				l.Master, l.Up = "", false
				k[vpcA].Links["pa1"] = l
			},
			want: []string{"master pa1 b1 in plk-vpc-a", "up pa1 in plk-vpc-a"},
		},
		{
			name: "a pair whose ends the reader could not match is replaced",
			cfg:  base,
			cur: func(k state) {
				l := k[a1].Links["eth0"]
				l.Peer = linkRef{}
				k[a1].Links["eth0"] = l
				p := k[vpcA].Links["pa1"]
				p.Peer = linkRef{}
				k[vpcA].Links["pa1"] = p
			},
			want: []string{
				"del veth pa1 in plk-vpc-a",
				"del veth eth0 in plk-i-a1",
				"add veth eth0 in plk-i-a1 peer pa1 in plk-vpc-a",
				"add addr 10.0.1.10/24 on eth0 in plk-i-a1",
				"up eth0 in plk-i-a1",
				"up pa1 in plk-vpc-a",
				"master pa1 b1 in plk-vpc-a",
				"announce 10.0.1.10 on eth0 in plk-i-a1",
				"add route default via 10.0.1.1 dev eth0 in plk-i-a1",
			},
		},
		{
			name: "a stray route, a wrong resolver address and a bridge with a MAC of its own",
			cfg:  base,
			cur: func(k state) {
				r := k[vpcA]
				r.Routes = []route{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gw: netip.MustParseAddr("10.0.1.9"), Dev: "b1"}}
				r.LoAddrs = []netip.Prefix{netip.MustParsePrefix("10.0.0.3/32")}
				b := r.Links["b2"]
				b.MAC = "02:00:00:00:00:01"
				r.Links["b2"] = b
			},
			want: []string{
				"del addr 10.0.0.3/32 on lo in plk-vpc-a",
				"add addr 10.0.0.2/32 on lo in plk-vpc-a",
				"del route default via 10.0.1.9 dev b1 in plk-vpc-a",
				"set mac " + BridgeMAC("b2").String() + " on b2 in plk-vpc-a",
			},
		},
		{
			name: "forwarding on and no default route in a host",
			cfg:  base,
			cur: func(k state) {
				k[a2].Forwarding = true
				k[a2].Routes = nil
			},
			want: []string{
				"forwarding off in plk-i-a2",
				"add route default via 10.0.2.1 dev eth0 in plk-i-a2",
			},
		},
		{
			name: "tables edited behind Set's back are applied again",
			cfg:  withTables,
			cur: func(k state) {
				k[vpcA].ACL = nft.UnknownDigest
				k[a1].Firewall = ""
			},
			want: []string{"apply acl in plk-vpc-a", "apply sg in plk-i-a1"},
		},
		{
			name: "a host no longer wanted goes, its veth first",
			cfg: Config{Prefix: testPrefix, Owner: testOwner, Routers: base.Routers,
				Hosts: base.Hosts[1:]},
			cur: func(k state) {},
			want: []string{
				"del veth eth0 in plk-i-a1",
				"del netns plk-i-a1",
			},
		},
		{
			name: "a router no longer wanted goes, its ports first, and the host moves",
			cfg: Config{Prefix: testPrefix, Owner: testOwner, Routers: []Router{testVPC(vpcB)},
				Hosts: []Host{testHost(a1, "pa1", vpcB, "b1", "10.0.1.10/24", 1)}},
			cur: func(k state) {},
			want: []string{
				"del veth eth0 in plk-i-a2",
				"del netns plk-i-a2",
				"del veth pa1 in plk-vpc-a",
				"del netns plk-vpc-a",
				"add netns plk-vpc-b",
				"up lo in plk-vpc-b",
				"forwarding on in plk-vpc-b",
				"add addr 10.0.0.2/32 on lo in plk-vpc-b",
				"add bridge b1 in plk-vpc-b",
				"add addr 10.0.1.1/24 on b1 in plk-vpc-b",
				"up b1 in plk-vpc-b",
				"add bridge b2 in plk-vpc-b",
				"add addr 10.0.2.1/24 on b2 in plk-vpc-b",
				"up b2 in plk-vpc-b",
				"add veth eth0 in plk-i-a1 peer pa1 in plk-vpc-b",
				"add addr 10.0.1.10/24 on eth0 in plk-i-a1",
				"up eth0 in plk-i-a1",
				"up pa1 in plk-vpc-b",
				"master pa1 b1 in plk-vpc-b",
				"announce 10.0.1.10 on eth0 in plk-i-a1",
				"add route default via 10.0.1.1 dev eth0 in plk-i-a1",
			},
		},
		{
			name: "a host cannot plug into another owner's router",
			cfg:  base,
			cur: func(k state) {
				k.delNetns(vpcA)
				k[vpcA] = &nsState{Owner: otherOwner}
				delete(k, a2)
			},
			want: []string{
				"add netns plk-i-a2",
				"up lo in plk-i-a2",
				"forwarding off in plk-i-a2",
				"write resolv.conf for plk-i-a2",
			},
			wantConflicts: []string{"namespace plk-vpc-a belongs to privlink owner " + otherOwner},
		},
		{
			name: "an orphaned resolv.conf of ours goes, another owner's stays",
			cfg:  base,
			cur: func(k state) {
				k["plk-i-gone"] = &nsState{Orphan: true, Owner: testOwner, Resolv: resolvConf(testOwner, []netip.Addr{netip.MustParseAddr("10.0.0.2")})}
				k["plk-i-theirs"] = &nsState{Orphan: true, Owner: otherOwner, Resolv: resolvConf(otherOwner, []netip.Addr{netip.MustParseAddr("10.0.0.2")})}
			},
			want: []string{"del resolv.conf for plk-i-gone"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			cur := appliedState(t, base)
			tt.cur(cur)
			want := desired(tt.cfg)
			ops, conflicts := plan(testPrefix, testOwner, cur, want)
			if diff := cmp.Diff(tt.want, render(ops)); diff != "" {
				t.Errorf("plan() mismatch (-want +got):\n%s", diff)
			}
			var gotConflicts []string
			for _, c := range conflicts {
				gotConflicts = append(gotConflicts, c.Error())
			}
			if diff := cmp.Diff(tt.wantConflicts, gotConflicts); diff != "" {
				t.Errorf("plan() conflicts mismatch (-want +got):\n%s", diff)
			}
			checkApply(t, testPrefix, testOwner, cur, want)
		})
	}
}

func TestResolvConf(t *testing.T) {
	dns := []netip.Addr{netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("fd00::2")}
	want := "# privlink owner=o1\nnameserver 10.0.0.2\nnameserver fd00::2\noptions timeout:1 attempts:2\n"
	if got := resolvConf("o1", dns); got != want {
		t.Errorf("resolvConf() = %q, want %q", got, want)
	}
	if got := resolvConf("o1", nil); got != "" {
		t.Errorf("resolvConf() without DNS = %q, want none", got)
	}
	for content, owner := range map[string]string{
		want:                       "o1",
		"nameserver 10.0.0.2\n":    "",
		"# privlink owner=\n":      "",
		"# privlink owner=a b\n":   "",
		"# privlink owner=x":       "x",
		"":                         "",
		"#privlink owner=x\nfoo\n": "",
	} {
		if got := resolvOwner(content); got != owner {
			t.Errorf("resolvOwner(%q) = %q, want %q", content, got, owner)
		}
	}
}
