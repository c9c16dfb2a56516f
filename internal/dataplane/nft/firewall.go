package nft

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// TableFirewall is the nftables table (family inet) that holds a
// namespace's Firewall.
const TableFirewall = "privlink_sg"

// Firewall is the stateful policy of the interfaces of one namespace: the
// security groups of an instance's eth0, or of a requester-managed ENI's
// link in its own namespace.
//
// Semantics, those of AWS security groups:
//   - Packets of established or related connections (conntrack) pass, in
//     both directions; packets conntrack calls invalid are dropped.
//   - A new connection arriving on Iface and addressed to the namespace
//     (hook input) passes only if some Ingress rule matches; one the
//     namespace opens out of Iface (hook output) only if some Egress rule
//     matches. Everything else on Iface is dropped.
//   - IPv6 neighbour discovery (ICMPv6 types 133-136) always passes: it is
//     what ARP is for IPv4, and ARP never reaches an inet table.
//   - Loopback traffic inside the namespace always passes, and so does
//     traffic on interfaces the Firewall does not list.
//   - Nothing is forwarded through a listed interface (hook forward), as with
//     AWS's source/destination check.
//
// Changes take effect for new connections. A connection that conntrack
// already tracks keeps flowing after the rule that admitted it is revoked,
// until it closes or its conntrack entry expires, as AWS does for tracked
// flows. Cutting such flows is the caller's business (it can delete the
// conntrack entries, or the namespace).
//
// The order of the rules does not matter: Compile sorts them and drops
// duplicates. A Firewall without interfaces means no table at all.
type Firewall struct {
	Interfaces []IfacePolicy
}

// IfacePolicy is the policy of one interface.
type IfacePolicy struct {
	// Iface is the name of the link in the namespace, e.g. "eth0".
	Iface   string
	Ingress []Rule // sources allowed to open connections to the namespace
	Egress  []Rule // destinations the namespace may open connections to
}

// Rule admits new connections of one protocol, from (Ingress) or to (Egress)
// some prefixes.
type Rule struct {
	// Proto is an IP protocol number; 0 means every protocol, and then the
	// ports and the ICMP type and code are ignored.
	Proto uint8
	// FromPort and ToPort bound the destination port, for ProtoTCP and
	// ProtoUDP only. 0-65535 means every port.
	FromPort, ToPort uint16
	// IcmpType and IcmpCode restrict ProtoICMP and ProtoICMPv6; -1 means
	// any. Note that their zero value is a real type (echo reply) and code.
	IcmpType, IcmpCode int16
	// Prefixes are the sources (Ingress) or destinations (Egress). The
	// caller expands a security group reference into its members' /32s and
	// /128s. A rule without prefixes matches nothing. Each prefix matches
	// only its own address family.
	Prefixes []netip.Prefix
}

// IP protocol numbers that the rules treat specially.
const (
	ProtoAll    uint8 = 0
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
)

// Validate reports the first problem that makes fw impossible to compile.
func (fw Firewall) Validate() error {
	seen := map[string]bool{}
	for _, p := range fw.Interfaces {
		if err := checkIface(p.Iface); err != nil {
			return err
		}
		if seen[p.Iface] {
			return fmt.Errorf("interface %s listed twice", p.Iface)
		}
		seen[p.Iface] = true
		for _, d := range []struct {
			dir   string
			rules []Rule
		}{{"ingress", p.Ingress}, {"egress", p.Egress}} {
			for i, r := range d.rules {
				if err := checkProto(r.Proto, r.FromPort, r.ToPort, r.IcmpType, r.IcmpCode); err != nil {
					return fmt.Errorf("interface %s: %s rule %d: %w", p.Iface, d.dir, i, err)
				}
				for _, pf := range r.Prefixes {
					if err := checkPrefix(pf); err != nil {
						return fmt.Errorf("interface %s: %s rule %d: %w", p.Iface, d.dir, i, err)
					}
				}
			}
		}
	}
	return nil
}

// CompileFirewall compiles fw into the ruleset of the table TableFirewall.
func CompileFirewall(fw Firewall) (*Ruleset, error) {
	if err := fw.Validate(); err != nil {
		return nil, err
	}
	if len(fw.Interfaces) == 0 {
		return newRuleset(TableFirewall, nil), nil
	}
	ifs := slices.SortedFunc(slices.Values(fw.Interfaces), func(a, b IfacePolicy) int {
		return strings.Compare(a.Iface, b.Iface)
	})
	input := &chain{name: "input", hook: "input", rules: []rule{
		{matches: []match{ifname{name: "lo"}}, verdict: verdict{kind: vAccept}},
	}}
	forward := &chain{name: "forward", hook: "forward"}
	output := &chain{name: "output", hook: "output", rules: []rule{
		{matches: []match{ifname{out: true, name: "lo"}}, verdict: verdict{kind: vAccept}},
	}}
	t := &table{name: TableFirewall, chains: []*chain{input, forward, output}}
	for _, p := range ifs {
		in, out := "ingress_"+p.Iface, "egress_"+p.Iface
		input.rules = append(input.rules, rule{matches: []match{ifname{name: p.Iface}}, verdict: verdict{kind: vJump, chain: in}})
		output.rules = append(output.rules, rule{matches: []match{ifname{out: true, name: p.Iface}}, verdict: verdict{kind: vJump, chain: out}})
		forward.rules = append(forward.rules,
			rule{matches: []match{ifname{name: p.Iface}}, verdict: verdict{kind: vDrop}},
			rule{matches: []match{ifname{out: true, name: p.Iface}}, verdict: verdict{kind: vDrop}},
		)
		t.chains = append(t.chains, policyChain(in, p.Ingress, false), policyChain(out, p.Egress, true))
	}
	return newRuleset(TableFirewall, t), nil
}

// policyChain is the chain of one direction of one interface: conntrack
// first, then the rules, then drop.
func policyChain(name string, rules []Rule, egress bool) *chain {
	c := &chain{name: name, rules: []rule{
		{matches: []match{ctState{ctEstablished | ctRelated}}, verdict: verdict{kind: vAccept}},
		{matches: []match{ctState{ctInvalid}}, verdict: verdict{kind: vDrop}},
		// Neighbour discovery is untracked, so it needs its own rule.
		{matches: []match{nfproto{v6: true}, l4proto{ProtoICMPv6}, icmpField{v6: true, lo: 133, hi: 136}}, verdict: verdict{kind: vAccept}},
	}}
	var body []rule
	for _, r := range rules {
		proto := protoMatches(r.Proto, r.FromPort, r.ToPort, r.IcmpType, r.IcmpCode)
		for _, fam := range splitPrefixes(r.Prefixes) {
			body = append(body, rule{
				matches: append(fam.matches(egress), proto...),
				verdict: verdict{kind: vAccept},
			})
		}
	}
	// Rules of a security group are a union: sort them for a stable
	// rendering (and digest), and drop duplicates.
	slices.SortFunc(body, func(a, b rule) int { return strings.Compare(a.String(), b.String()) })
	body = slices.CompactFunc(body, func(a, b rule) bool { return a.String() == b.String() })
	c.rules = append(c.rules, body...)
	c.rules = append(c.rules, rule{verdict: verdict{kind: vDrop}})
	return c
}

// RenderFirewall returns the nft rendering of fw, as Apply would program it.
func RenderFirewall(fw Firewall) ([]string, error) {
	rs, err := CompileFirewall(fw)
	if err != nil {
		return nil, err
	}
	return rs.Lines(), nil
}

var errIfaceName = errors.New("invalid interface name")

// checkIface accepts the names Linux accepts for a link, except lo.
func checkIface(name string) error {
	if name == "" || len(name) > 15 || name == "." || name == ".." || name == "lo" ||
		strings.ContainsAny(name, "/: \t\n\x00") {
		return fmt.Errorf("%w %q", errIfaceName, name)
	}
	return nil
}
