package controller

import (
	"maps"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/dataplane/nft"
	"github.com/privlink/privlink/internal/model"
)

var prefixCmp = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

func p32(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range s {
		out = append(out, netip.PrefixFrom(netip.MustParseAddr(a), 32))
	}
	return out
}

func TestSecurityGroupRules(t *testing.T) {
	const vpc, other = "vpc-0aaaaaaaaaaaaaaaa", "vpc-0bbbbbbbbbbbbbbbb"
	enis := []model.NetworkInterface{
		{ID: "eni-1", VpcID: vpc, PrivateIP: "10.0.1.10", Groups: []string{"sg-default", "sg-web"}},
		{ID: "eni-2", VpcID: vpc, PrivateIP: "10.0.2.20", Groups: []string{"sg-default"}},
		{ID: "eni-3", VpcID: other, PrivateIP: "10.0.1.10", Groups: []string{"sg-default"}}, // same group id, other VPC
		{ID: "eni-4", VpcID: vpc, PrivateIP: "10.0.1.9", Groups: []string{"sg-client"}},
	}
	members := groupMembers(enis)
	tests := []struct {
		name string
		rule model.SecurityGroupRule
		want nft.Rule
		ok   bool
	}{
		{"default group self-reference: every member's /32 in the VPC",
			model.SecurityGroupRule{Protocol: "-1", FromPort: -1, ToPort: -1, GroupID: "sg-default"},
			nft.Rule{Proto: nft.ProtoAll, IcmpType: -1, IcmpCode: -1, Prefixes: p32("10.0.1.10", "10.0.2.20")}, true},
		{"group reference",
			model.SecurityGroupRule{Protocol: "tcp", FromPort: 80, ToPort: 80, GroupID: "sg-client"},
			nft.Rule{Proto: nft.ProtoTCP, FromPort: 80, ToPort: 80, IcmpType: -1, IcmpCode: -1, Prefixes: p32("10.0.1.9")}, true},
		{"group without members matches nothing",
			model.SecurityGroupRule{Protocol: "tcp", FromPort: 80, ToPort: 80, GroupID: "sg-empty"},
			nft.Rule{}, false},
		{"CIDR with a port range",
			model.SecurityGroupRule{Protocol: "udp", FromPort: 1000, ToPort: 2000, CidrIPv4: "192.168.1.7/24"},
			nft.Rule{Proto: nft.ProtoUDP, FromPort: 1000, ToPort: 2000, IcmpType: -1, IcmpCode: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}}, true},
		{"all traffic to anywhere",
			model.SecurityGroupRule{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"},
			nft.Rule{Proto: nft.ProtoAll, IcmpType: -1, IcmpCode: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}, true},
		{"icmp echo request, any code",
			model.SecurityGroupRule{Protocol: "icmp", FromPort: 8, ToPort: -1, CidrIPv4: "10.0.0.0/16"},
			nft.Rule{Proto: nft.ProtoICMP, IcmpType: 8, IcmpCode: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}}, true},
		{"icmp type and code",
			model.SecurityGroupRule{Protocol: "icmp", FromPort: 3, ToPort: 4, CidrIPv4: "10.0.0.0/16"},
			nft.Rule{Proto: nft.ProtoICMP, IcmpType: 3, IcmpCode: 4, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}}, true},
		{"all icmp",
			model.SecurityGroupRule{Protocol: "icmp", FromPort: -1, ToPort: -1, CidrIPv4: "10.0.0.0/16"},
			nft.Rule{Proto: nft.ProtoICMP, IcmpType: -1, IcmpCode: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}}, true},
		{"other protocol by number",
			model.SecurityGroupRule{Protocol: "50", FromPort: -1, ToPort: -1, CidrIPv4: "10.0.0.0/16"},
			nft.Rule{Proto: 50, IcmpType: -1, IcmpCode: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}}, true},
		{"IPv6 CIDR is skipped",
			model.SecurityGroupRule{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv6: "::/0"},
			nft.Rule{}, false},
		{"prefix list is skipped",
			model.SecurityGroupRule{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixList: "pl-1234"},
			nft.Rule{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := sgRule(tt.rule, vpc, members)
			if ok != tt.ok {
				t.Fatalf("sgRule() ok = %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got, prefixCmp); diff != "" {
				t.Errorf("sgRule() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFirewallOfAnENI(t *testing.T) {
	groups := map[string]model.SecurityGroup{
		"sg-default": {ID: "sg-default",
			Ingress: []model.SecurityGroupRule{{Protocol: "-1", FromPort: -1, ToPort: -1, GroupID: "sg-default"}},
			Egress:  []model.SecurityGroupRule{{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"}},
		},
		"sg-web": {ID: "sg-web",
			Ingress: []model.SecurityGroupRule{{Protocol: "tcp", FromPort: 80, ToPort: 80, CidrIPv4: "10.0.0.0/16"}},
		},
	}
	eni := model.NetworkInterface{ID: "eni-1", VpcID: "vpc-1", PrivateIP: "10.0.1.10", Groups: []string{"sg-default", "sg-web", "sg-gone"}}
	got := firewall("eth0", eni, groups, groupMembers([]model.NetworkInterface{eni}))
	want := nft.Firewall{Interfaces: []nft.IfacePolicy{{
		Iface: "eth0",
		Ingress: []nft.Rule{
			{Proto: nft.ProtoAll, IcmpType: -1, IcmpCode: -1, Prefixes: p32("10.0.1.10")},
			{Proto: nft.ProtoTCP, FromPort: 80, ToPort: 80, IcmpType: -1, IcmpCode: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}},
		},
		Egress: []nft.Rule{
			{Proto: nft.ProtoAll, IcmpType: -1, IcmpCode: -1, Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}},
		},
	}}}
	if diff := cmp.Diff(want, got, prefixCmp); diff != "" {
		t.Errorf("firewall() mismatch (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("firewall().Validate() = %v", err)
	}
}

func TestACLEntries(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	acl := model.NetworkAcl{ID: "acl-1", Entries: []model.NetworkAclEntry{
		{RuleNumber: 100, Protocol: "-1", RuleAction: "allow", CidrBlock: "0.0.0.0/0"},
		{RuleNumber: 110, Protocol: "6", RuleAction: "allow", CidrBlock: "10.0.1.0/24", PortFrom: i32(1024), PortTo: i32(65535)},
		{RuleNumber: 120, Protocol: "1", RuleAction: "deny", CidrBlock: "10.0.2.5/32", IcmpType: i32(8), IcmpCode: i32(0)},
		{RuleNumber: 130, Protocol: "1", RuleAction: "allow", CidrBlock: "10.0.0.0/16", IcmpType: i32(-1), IcmpCode: i32(-1)},
		{RuleNumber: 140, Protocol: "17", RuleAction: "allow", CidrBlock: "10.0.0.0/16"},
		{RuleNumber: 100, Protocol: "-1", RuleAction: "allow", Ipv6CidrBlock: "::/0"}, // IPv6: skipped
		{RuleNumber: 32767, Protocol: "-1", RuleAction: "deny", CidrBlock: "0.0.0.0/0"},
		{RuleNumber: 100, Egress: true, Protocol: "6", RuleAction: "allow", CidrBlock: "10.0.2.0/24", PortFrom: i32(80), PortTo: i32(80)},
		{RuleNumber: 32767, Egress: true, Protocol: "-1", RuleAction: "deny", CidrBlock: "0.0.0.0/0"},
		{RuleNumber: 32767, Egress: true, Protocol: "-1", RuleAction: "deny", Ipv6CidrBlock: "::/0"},
	}}
	all := netip.MustParsePrefix("0.0.0.0/0")
	wantIn := []nft.ACLEntry{
		{Number: 100, Allow: true, Proto: nft.ProtoAll, IcmpType: -1, IcmpCode: -1, Prefix: all},
		{Number: 110, Allow: true, Proto: nft.ProtoTCP, FromPort: 1024, ToPort: 65535, IcmpType: -1, IcmpCode: -1, Prefix: netip.MustParsePrefix("10.0.1.0/24")},
		{Number: 120, Allow: false, Proto: nft.ProtoICMP, IcmpType: 8, IcmpCode: 0, Prefix: netip.MustParsePrefix("10.0.2.5/32")},
		{Number: 130, Allow: true, Proto: nft.ProtoICMP, IcmpType: -1, IcmpCode: -1, Prefix: netip.MustParsePrefix("10.0.0.0/16")},
		{Number: 140, Allow: true, Proto: nft.ProtoUDP, FromPort: 0, ToPort: 65535, IcmpType: -1, IcmpCode: -1, Prefix: netip.MustParsePrefix("10.0.0.0/16")},
		{Number: 32767, Allow: false, Proto: nft.ProtoAll, IcmpType: -1, IcmpCode: -1, Prefix: all},
	}
	wantOut := []nft.ACLEntry{
		{Number: 100, Allow: true, Proto: nft.ProtoTCP, FromPort: 80, ToPort: 80, IcmpType: -1, IcmpCode: -1, Prefix: netip.MustParsePrefix("10.0.2.0/24")},
		{Number: 32767, Allow: false, Proto: nft.ProtoAll, IcmpType: -1, IcmpCode: -1, Prefix: all},
	}
	in, out := aclEntries(acl)
	if diff := cmp.Diff(wantIn, in, prefixCmp); diff != "" {
		t.Errorf("aclEntries() inbound mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantOut, out, prefixCmp); diff != "" {
		t.Errorf("aclEntries() outbound mismatch (-want +got):\n%s", diff)
	}
	set := nft.ACLSet{Subnets: []nft.SubnetACL{nftSubnetACL("br-1", in, out)}}
	if err := set.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

// TestSubnetACLsInRouter checks that each subnet's bridge gets the ACL
// associated with the subnet, and the VPC's router its resolver address.
func TestSubnetACLsInRouter(t *testing.T) {
	const vpc = "vpc-0aaaaaaaaaaaaaaaa"
	d := buildConfig("plk-", "owner", "us-east-1", snapshotWithACLs(vpc))
	if len(d.cfg.Routers) != 1 {
		t.Fatalf("routers = %+v", d.cfg.Routers)
	}
	r := d.cfg.Routers[0]
	if want := netip.MustParseAddr("10.0.0.2"); r.ResolverAddr != want {
		t.Errorf("ResolverAddr = %v, want %v", r.ResolverAddr, want)
	}
	var got []string
	for _, s := range r.ACLs.Subnets {
		got = append(got, s.Iface)
		if len(s.Inbound) != 1 || len(s.Outbound) != 1 {
			t.Errorf("%s: %d inbound and %d outbound entries, want 1 and 1", s.Iface, len(s.Inbound), len(s.Outbound))
		}
	}
	if diff := cmp.Diff([]string{"br-1", "br-2"}, got); diff != "" {
		t.Errorf("ACL bridges mismatch (-want +got):\n%s", diff)
	}
	if err := d.cfg.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func snapshotWithACLs(vpc string) controlplane.NetworkSnapshot {
	deny := func(egress bool) model.NetworkAclEntry {
		return model.NetworkAclEntry{RuleNumber: 32767, Egress: egress, Protocol: "-1", RuleAction: "deny", CidrBlock: "0.0.0.0/0"}
	}
	return controlplane.NetworkSnapshot{
		Vpcs: []model.Vpc{{ID: vpc, CidrBlock: "10.0.0.0/16", EnableDnsSupport: true}},
		Subnets: []model.Subnet{
			{ID: "subnet-1", VpcID: vpc, CidrBlock: "10.0.1.0/24", BridgeName: "br-1"},
			{ID: "subnet-2", VpcID: vpc, CidrBlock: "10.0.2.0/24", BridgeName: "br-2"},
			{ID: "subnet-3", VpcID: vpc, CidrBlock: "10.0.3.0/24", BridgeName: "br-3"}, // no association
		},
		NetworkAcls: []model.NetworkAcl{
			{ID: "acl-default", VpcID: vpc, IsDefault: true,
				Entries:      []model.NetworkAclEntry{deny(false), deny(true)},
				Associations: []model.NetworkAclAssociation{{ID: "aclassoc-1", SubnetID: "subnet-1"}}},
			{ID: "acl-custom", VpcID: vpc,
				Entries:      []model.NetworkAclEntry{deny(false), deny(true)},
				Associations: []model.NetworkAclAssociation{{ID: "aclassoc-2", SubnetID: "subnet-2"}}},
		},
	}
}

func TestIntersectRules(t *testing.T) {
	pf := netip.MustParsePrefix
	any4 := []netip.Prefix{pf("0.0.0.0/0")}
	all := nft.Rule{Proto: nft.ProtoAll, IcmpType: -1, IcmpCode: -1, Prefixes: any4}
	tcp := func(from, to uint16, ps ...netip.Prefix) nft.Rule {
		return nft.Rule{Proto: nft.ProtoTCP, FromPort: from, ToPort: to, IcmpType: -1, IcmpCode: -1, Prefixes: ps}
	}
	icmp := func(typ, code int16, ps ...netip.Prefix) nft.Rule {
		return nft.Rule{Proto: nft.ProtoICMP, IcmpType: typ, IcmpCode: code, Prefixes: ps}
	}
	tests := []struct {
		name string
		a, b []nft.Rule
		want []nft.Rule
	}{
		{"all and a port", []nft.Rule{all}, []nft.Rule{tcp(80, 80, pf("10.9.0.0/16"))}, []nft.Rule{tcp(80, 80, pf("10.9.0.0/16"))}},
		{"a port and all", []nft.Rule{tcp(80, 80, pf("10.9.0.0/16"))}, []nft.Rule{all}, []nft.Rule{tcp(80, 80, pf("10.9.0.0/16"))}},
		{"port ranges overlap", []nft.Rule{tcp(0, 1000, any4...)}, []nft.Rule{tcp(443, 8443, any4...)}, []nft.Rule{tcp(443, 1000, any4...)}},
		{"port ranges apart", []nft.Rule{tcp(80, 80, any4...)}, []nft.Rule{tcp(443, 443, any4...)}, nil},
		{"narrower prefix wins", []nft.Rule{tcp(80, 80, pf("10.0.0.0/8"))}, []nft.Rule{tcp(80, 80, pf("10.1.2.0/24"), pf("192.168.0.0/16"))}, []nft.Rule{tcp(80, 80, pf("10.1.2.0/24"))}},
		{"no common source", []nft.Rule{tcp(80, 80, pf("10.0.0.0/16"))}, []nft.Rule{tcp(80, 80, pf("10.1.0.0/16"))}, nil},
		{"other protocols", []nft.Rule{tcp(80, 80, any4...)}, []nft.Rule{{Proto: nft.ProtoUDP, FromPort: 80, ToPort: 80, IcmpType: -1, IcmpCode: -1, Prefixes: any4}}, nil},
		{"ICMP any and echo", []nft.Rule{icmp(-1, -1, any4...)}, []nft.Rule{icmp(8, -1, any4...)}, []nft.Rule{icmp(8, -1, any4...)}},
		{"ICMP types apart", []nft.Rule{icmp(0, -1, any4...)}, []nft.Rule{icmp(8, -1, any4...)}, nil},
		{"each pair", []nft.Rule{tcp(80, 80, any4...), tcp(22, 22, any4...)}, []nft.Rule{tcp(0, 100, pf("10.9.0.0/16"))},
			[]nft.Rule{tcp(80, 80, pf("10.9.0.0/16")), tcp(22, 22, pf("10.9.0.0/16"))}},
		{"nothing on one side", []nft.Rule{all}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, intersectRules(tt.a, tt.b), prefixCmp); diff != "" {
				t.Errorf("intersectRules() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// An endpoint ENI's firewall also takes the inbound CIDR rules of the
// security groups of the load balancer its flows go to, while that load
// balancer enforces them on PrivateLink traffic; group references in them
// match no consumer.
func TestPrivateLinkGate(t *testing.T) {
	pf := netip.MustParsePrefix
	groups := map[string]model.SecurityGroup{
		"sg-ep": {ID: "sg-ep",
			Ingress: []model.SecurityGroupRule{{Protocol: "tcp", FromPort: 0, ToPort: 65535, CidrIPv4: "10.0.0.0/16"}},
			Egress:  []model.SecurityGroupRule{{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"}},
		},
		"sg-nlb": {ID: "sg-nlb", Ingress: []model.SecurityGroupRule{
			{Protocol: "tcp", FromPort: 80, ToPort: 80, CidrIPv4: "10.0.1.0/24"},
			{Protocol: "-1", FromPort: -1, ToPort: -1, GroupID: "sg-nlb"},
		}},
	}
	eni := model.NetworkInterface{ID: "eni-ea", VpcID: "vpc-2", PrivateIP: "10.0.1.50", Groups: []string{"sg-ep"}}
	fw := firewall("eth0", eni, groups, groupMembers([]model.NetworkInterface{eni}))
	lb := model.LoadBalancer{ARN: testLBARN, VpcID: "vpc-1", SecurityGroups: []string{"sg-nlb"}, EnforceSGOnPrivateLink: controlplane.EnforceOn}
	got := gateByLoadBalancer(fw, lb, groups)
	want := []nft.Rule{{Proto: nft.ProtoTCP, FromPort: 80, ToPort: 80, IcmpType: -1, IcmpCode: -1, Prefixes: []netip.Prefix{pf("10.0.1.0/24")}}}
	if diff := cmp.Diff(want, got.Interfaces[0].Ingress, prefixCmp); diff != "" {
		t.Errorf("gated ingress mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(fw.Interfaces[0].Egress, got.Interfaces[0].Egress, prefixCmp); diff != "" {
		t.Errorf("gated egress changed (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("gated firewall: %v", err)
	}

	// Which ENIs are gated: only with groups on the load balancer and
	// enforcement on.
	for _, tt := range []struct {
		name    string
		groups  []string
		enforce string
		want    []string
	}{
		{"enforced", []string{"sg-nlb"}, controlplane.EnforceOn, []string{"eni-ea", "eni-eb"}},
		{"off", []string{"sg-nlb"}, controlplane.EnforceOff, nil},
		{"no groups", nil, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap := endpointSnapshot(time.Unix(0, 0), model.EndpointAvailable, func(s *controlplane.NetworkSnapshot) {
				s.LoadBalancers[0].SecurityGroups = tt.groups
				s.LoadBalancers[0].EnforceSGOnPrivateLink = tt.enforce
			})
			got := slices.Sorted(maps.Keys(privateLinkGates(snap)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("privateLinkGates() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
