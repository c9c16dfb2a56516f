package nft

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func pfx(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// allTraffic is AWS's "all traffic" rule to the given prefixes.
func allTraffic(ps ...string) Rule { return Rule{Proto: ProtoAll, Prefixes: pfx(ps...)} }

func tcp(from, to uint16, ps ...string) Rule {
	return Rule{Proto: ProtoTCP, FromPort: from, ToPort: to, Prefixes: pfx(ps...)}
}

var firewallGolden = []struct {
	golden string
	fw     Firewall
}{
	{
		// AWS's default security group: all traffic from the group's own
		// members (expanded to /32s and /128s), all traffic out.
		golden: "sg_default.golden",
		fw: Firewall{Interfaces: []IfacePolicy{{
			Iface:   "eth0",
			Ingress: []Rule{allTraffic("10.0.1.10/32", "10.0.2.20/32", "10.0.1.11/32", "2001:db8::a/128")},
			Egress:  []Rule{allTraffic("0.0.0.0/0"), allTraffic("::/0")},
		}}},
	},
	{
		golden: "sg_web.golden",
		fw: Firewall{Interfaces: []IfacePolicy{{
			Iface:   "eth0",
			Ingress: []Rule{tcp(80, 80, "10.0.2.0/24")},
			Egress:  []Rule{allTraffic("0.0.0.0/0")},
		}}},
	},
	{
		golden: "sg_icmp.golden",
		fw: Firewall{Interfaces: []IfacePolicy{{
			Iface: "eth0",
			Ingress: []Rule{
				{Proto: ProtoICMP, IcmpType: 8, IcmpCode: -1, Prefixes: pfx("0.0.0.0/0")},       // echo request
				{Proto: ProtoICMP, IcmpType: 3, IcmpCode: 4, Prefixes: pfx("10.0.0.0/16")},      // fragmentation needed
				{Proto: ProtoICMP, IcmpType: -1, IcmpCode: -1, Prefixes: pfx("192.168.0.0/16")}, // all ICMP
				{Proto: ProtoICMPv6, IcmpType: 128, IcmpCode: -1, Prefixes: pfx("::/0")},        // echo request
			},
		}}},
	},
	{
		// All traffic and protocols without ports, with prefixes to
		// normalise: a covered /32, a duplicate, unmasked host bits, a
		// duplicate rule, and the ordering of the rules and interfaces.
		golden: "sg_all_traffic.golden",
		fw: Firewall{Interfaces: []IfacePolicy{
			{
				Iface: "eth1",
				Ingress: []Rule{
					allTraffic("10.0.0.0/8", "10.1.2.3/32", "10.0.0.0/8", "2001:db8::1/32"),
					{Proto: 47, FromPort: 1, ToPort: 2, Prefixes: pfx("172.16.0.0/12")}, // GRE: ports ignored
					tcp(0, 65535, "172.16.0.0/12", "192.0.2.0/24"),                      // every port
					allTraffic("10.0.0.0/8", "10.1.2.3/32", "10.0.0.0/8", "2001:db8::1/32"),
					{Proto: ProtoUDP, FromPort: 1024, ToPort: 65535, Prefixes: pfx("10.0.0.0/8")},
				},
				Egress: []Rule{allTraffic("0.0.0.0/0", "10.0.0.0/8")},
			},
			{Iface: "eth0", Egress: []Rule{allTraffic("0.0.0.0/0")}},
		}},
	},
	{
		// Nothing may come in, not even from the namespace's peers; a rule
		// without prefixes (an empty group) matches nothing.
		golden: "sg_empty_ingress.golden",
		fw: Firewall{Interfaces: []IfacePolicy{{
			Iface:   "eth0",
			Ingress: []Rule{{Proto: ProtoTCP, FromPort: 22, ToPort: 22}},
			Egress:  []Rule{allTraffic("0.0.0.0/0")},
		}}},
	},
}

// defaultACL is AWS's default network ACL, in one direction.
func defaultACL() []ACLEntry {
	return []ACLEntry{
		{Number: 100, Allow: true, Prefix: netip.MustParsePrefix("0.0.0.0/0")},
		{Number: 101, Allow: true, Prefix: netip.MustParsePrefix("::/0")},
		{Number: 32767, Prefix: netip.MustParsePrefix("0.0.0.0/0")},
		{Number: 32767, Prefix: netip.MustParsePrefix("::/0")},
	}
}

var aclGolden = []struct {
	golden string
	acls   ACLSet
}{
	{
		golden: "acl_default.golden",
		acls: ACLSet{Subnets: []SubnetACL{
			{Iface: "br-b", Inbound: defaultACL(), Outbound: defaultACL()},
			{Iface: "br-a", Inbound: defaultACL(), Outbound: defaultACL()},
		}},
	},
	{
		// The scenario: web servers in subnet br-b take HTTP from
		// br-a; the ACL allows port 80 in and out and ephemeral replies out,
		// denies ephemeral ports in. The entries come unsorted.
		golden: "acl_custom.golden",
		acls: ACLSet{Subnets: []SubnetACL{
			{Iface: "br-a", Inbound: defaultACL(), Outbound: defaultACL()},
			{
				Iface: "br-b",
				Inbound: []ACLEntry{
					{Number: 32767, Prefix: netip.MustParsePrefix("0.0.0.0/0")},
					{Number: 100, Allow: true, Proto: ProtoTCP, FromPort: 80, ToPort: 80, Prefix: netip.MustParsePrefix("10.8.1.0/24")},
					{Number: 200, Proto: ProtoTCP, FromPort: 1024, ToPort: 65535, Prefix: netip.MustParsePrefix("0.0.0.0/0")},
					{Number: 300, Allow: true, Proto: ProtoICMP, IcmpType: 8, IcmpCode: 0, Prefix: netip.MustParsePrefix("10.8.0.0/16")},
					{Number: 400, Allow: true, Proto: ProtoUDP, FromPort: 0, ToPort: 65535, Prefix: netip.MustParsePrefix("10.8.1.7/32")},
				},
				Outbound: []ACLEntry{
					{Number: 100, Allow: true, Proto: ProtoTCP, FromPort: 80, ToPort: 80, Prefix: netip.MustParsePrefix("0.0.0.0/0")},
					{Number: 110, Allow: true, Proto: ProtoTCP, FromPort: 1024, ToPort: 65535, Prefix: netip.MustParsePrefix("10.8.1.0/24")},
					{Number: 120, Allow: true, Proto: ProtoICMPv6, IcmpType: -1, IcmpCode: -1, Prefix: netip.MustParsePrefix("2001:db8:8::/48")},
					{Number: 32767, Prefix: netip.MustParsePrefix("0.0.0.0/0")},
				},
			},
		}},
	},
}

func checkGolden(t *testing.T, name string, lines []string) {
	t.Helper()
	got := strings.Join(lines, "\n") + "\n"
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("rendering mismatch with %s (-want +got):\n%s", path, diff)
	}
}

func TestRenderFirewallGolden(t *testing.T) {
	for _, tc := range firewallGolden {
		t.Run(tc.golden, func(t *testing.T) {
			lines, err := RenderFirewall(tc.fw)
			if err != nil {
				t.Fatalf("RenderFirewall() = %v", err)
			}
			checkGolden(t, tc.golden, lines)
		})
	}
}

func TestRenderACLsGolden(t *testing.T) {
	for _, tc := range aclGolden {
		t.Run(tc.golden, func(t *testing.T) {
			lines, err := RenderACLs(tc.acls)
			if err != nil {
				t.Fatalf("RenderACLs() = %v", err)
			}
			checkGolden(t, tc.golden, lines)
		})
	}
}

// TestRenderDeterministic checks that the rendering, and so the digest,
// does not depend on the order of interfaces, of security-group rules or of
// their prefixes, nor of ACL subnets and entries.
func TestRenderDeterministic(t *testing.T) {
	for _, tc := range firewallGolden {
		rs, err := CompileFirewall(tc.fw)
		if err != nil {
			t.Fatal(err)
		}
		var fw Firewall
		for _, p := range slices.Backward(tc.fw.Interfaces) {
			q := IfacePolicy{Iface: p.Iface}
			for _, r := range slices.Backward(p.Ingress) {
				r.Prefixes = slices.Clone(r.Prefixes)
				slices.Reverse(r.Prefixes)
				q.Ingress = append(q.Ingress, r)
			}
			for _, r := range slices.Backward(p.Egress) {
				q.Egress = append(q.Egress, r)
			}
			fw.Interfaces = append(fw.Interfaces, q)
		}
		rs2, err := CompileFirewall(fw)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(rs.Lines(), rs2.Lines()); diff != "" {
			t.Errorf("%s: CompileFirewall(reordered) mismatch (-want +got):\n%s", tc.golden, diff)
		}
		if rs.Digest() != rs2.Digest() || len(rs.Digest()) != 32 {
			t.Errorf("%s: digests %q and %q, want equal and 32 hex digits", tc.golden, rs.Digest(), rs2.Digest())
		}
	}
	for _, tc := range aclGolden {
		rs, err := CompileACLs(tc.acls)
		if err != nil {
			t.Fatal(err)
		}
		var s ACLSet
		for _, sub := range slices.Backward(tc.acls.Subnets) {
			sub.Inbound = slices.Clone(sub.Inbound)
			slices.Reverse(sub.Inbound)
			s.Subnets = append(s.Subnets, sub)
		}
		rs2, err := CompileACLs(s)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(rs.Lines(), rs2.Lines()); diff != "" {
			t.Errorf("%s: CompileACLs(reordered) mismatch (-want +got):\n%s", tc.golden, diff)
		}
	}
}

func TestCompileEmpty(t *testing.T) {
	fw, err := CompileFirewall(Firewall{})
	if err != nil {
		t.Fatal(err)
	}
	acl, err := CompileACLs(ACLSet{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range []*Ruleset{fw, acl} {
		if rs.Lines() != nil || rs.Digest() != "" {
			t.Errorf("%s: Lines() = %q, Digest() = %q; want no table", rs.Table(), rs.Lines(), rs.Digest())
		}
	}
	if fw.Table() != "privlink_sg" || acl.Table() != "privlink_acl" {
		t.Errorf("tables %q, %q; want privlink_sg, privlink_acl", fw.Table(), acl.Table())
	}
}

func TestValidate(t *testing.T) {
	good := netip.MustParsePrefix("10.0.0.0/8")
	tests := []struct {
		name    string
		fw      Firewall
		acls    ACLSet
		wantErr string
	}{
		{name: "no interface name", fw: Firewall{Interfaces: []IfacePolicy{{}}}, wantErr: "invalid interface name"},
		{name: "interface name too long", fw: Firewall{Interfaces: []IfacePolicy{{Iface: "abcdefghijklmnop"}}}, wantErr: "invalid interface name"},
		{name: "loopback", fw: Firewall{Interfaces: []IfacePolicy{{Iface: "lo"}}}, wantErr: "invalid interface name"},
		{name: "slash", fw: Firewall{Interfaces: []IfacePolicy{{Iface: "a/b"}}}, wantErr: "invalid interface name"},
		{name: "interface twice", fw: Firewall{Interfaces: []IfacePolicy{{Iface: "eth0"}, {Iface: "eth0"}}}, wantErr: "listed twice"},
		{name: "reversed ports", fw: Firewall{Interfaces: []IfacePolicy{{Iface: "eth0", Egress: []Rule{tcp(90, 80, "10.0.0.0/8")}}}}, wantErr: "egress rule 0: port range 90-80 is reversed"},
		{name: "icmp type", fw: Firewall{Interfaces: []IfacePolicy{{Iface: "eth0", Ingress: []Rule{{Proto: ProtoICMP, IcmpType: 256, IcmpCode: -1}}}}}, wantErr: "icmp type 256"},
		{name: "icmp code", fw: Firewall{Interfaces: []IfacePolicy{{Iface: "eth0", Ingress: []Rule{{Proto: ProtoICMPv6, IcmpType: -1, IcmpCode: -2}}}}}, wantErr: "icmp code -2"},
		{name: "zero prefix", fw: Firewall{Interfaces: []IfacePolicy{{Iface: "eth0", Ingress: []Rule{{Prefixes: []netip.Prefix{{}}}}}}}, wantErr: "invalid prefix"},
		{name: "mapped prefix", fw: Firewall{Interfaces: []IfacePolicy{{Iface: "eth0", Ingress: []Rule{allTraffic("::ffff:10.0.0.0/104")}}}}, wantErr: "IPv4-mapped"},
		{name: "acl no name", acls: ACLSet{Subnets: []SubnetACL{{}}}, wantErr: "invalid interface name"},
		{name: "acl twice", acls: ACLSet{Subnets: []SubnetACL{{Iface: "br0"}, {Iface: "br0"}}}, wantErr: "listed twice"},
		{name: "acl number 0", acls: ACLSet{Subnets: []SubnetACL{{Iface: "br0", Inbound: []ACLEntry{{Prefix: good}}}}}, wantErr: "number 0 out of range"},
		{name: "acl number high", acls: ACLSet{Subnets: []SubnetACL{{Iface: "br0", Outbound: []ACLEntry{{Number: 32768, Prefix: good}}}}}, wantErr: "number 32768 out of range"},
		{name: "acl number twice", acls: ACLSet{Subnets: []SubnetACL{{Iface: "br0", Outbound: []ACLEntry{{Number: 5, Prefix: good}, {Number: 5, Prefix: netip.MustParsePrefix("192.0.2.0/24")}}}}}, wantErr: "outbound entry 5 listed twice"},
		{name: "acl ports", acls: ACLSet{Subnets: []SubnetACL{{Iface: "br0", Inbound: []ACLEntry{{Number: 5, Proto: ProtoUDP, FromPort: 2, ToPort: 1, Prefix: good}}}}}, wantErr: "inbound entry 5: port range"},
		{name: "acl no prefix", acls: ACLSet{Subnets: []SubnetACL{{Iface: "br0", Inbound: []ACLEntry{{Number: 5}}}}}, wantErr: "inbound entry 5: invalid prefix"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.fw.Interfaces != nil {
				_, err = CompileFirewall(tc.fw)
			} else {
				_, err = CompileACLs(tc.acls)
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Compile() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestSplitPrefixes(t *testing.T) {
	tests := []struct {
		in   []netip.Prefix
		want []family
	}{
		{in: nil, want: nil},
		{
			in: pfx("10.1.0.0/16", "10.0.0.1/8", "10.2.0.0/16", "192.0.2.9/32", "192.0.2.8/31", "2001:db8::/32"),
			want: []family{
				{prefixes: pfx("10.0.0.0/8", "192.0.2.8/31")},
				{v6: true, prefixes: pfx("2001:db8::/32")},
			},
		},
		{in: pfx("10.0.0.0/8", "0.0.0.0/0", "::1/128"), want: []family{{any: true}, {v6: true, prefixes: pfx("::1/128")}}},
		{in: pfx("::/0"), want: []family{{v6: true, any: true}}},
	}
	for _, tc := range tests {
		got := splitPrefixes(tc.in)
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(family{}), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
			t.Errorf("splitPrefixes(%v) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}
