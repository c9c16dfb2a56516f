package nft

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// TableACL is the nftables table (family inet) that holds a VPC router
// namespace's ACLSet.
const TableACL = "privlink_acl"

// ACLSet is the stateless, ordered filtering at the subnet boundaries of
// one router namespace: what the controller makes of network ACLs.
//
// The router forwards between its subnet bridges. A packet it routes from
// bridge A to bridge B (hook forward) must pass A's Outbound ACL (it leaves
// subnet A) and then B's Inbound ACL (it enters subnet B). A bridge without
// a SubnetACL is not filtered.
//
// Not filtered, on purpose:
//   - Traffic between hosts on the same bridge: it is bridged, not routed,
//     as in AWS where NACLs see only traffic that crosses the subnet
//     boundary. (With br_netfilter, bridged IPv4 traffic does reach the
//     forward hook, with the bridge as both input and output interface;
//     the table lets it pass.)
//   - Traffic to and from the router's own addresses (hooks input and
//     output): the subnet's .1 and, when it runs in the router, the VPC+2
//     resolver. AWS documents that network ACLs do not filter traffic to or
//     from the Amazon DNS server or the reserved addresses of the VPC router;
//     so a restrictive NACL never breaks name resolution here either.
//
// There is no connection tracking: replies need entries of their own (the
// ephemeral ports), exactly as with AWS network ACLs. Rule changes apply to
// the next packet.
type ACLSet struct {
	Subnets []SubnetACL
}

// SubnetACL is the ACL of one subnet's bridge.
type SubnetACL struct {
	// Iface is the name of the subnet's bridge in the router namespace.
	Iface string
	// Inbound filters traffic routed into the subnet: its entries match the
	// source address and the destination port.
	Inbound []ACLEntry
	// Outbound filters traffic routed out of the subnet: its entries match
	// the destination address and the destination port.
	Outbound []ACLEntry
}

// ACLEntry is one numbered entry of an ACL. The entries are evaluated in
// ascending Number order and the first that matches decides; a packet that
// matches none is dropped. (The caller includes AWS's explicit 32767 deny
// entries as well; the table ends with a drop regardless.)
type ACLEntry struct {
	// Number orders the entries: 1-32767, unique within one direction of
	// one ACL and one address family (AWS's default deny entries for IPv4
	// and IPv6 both have 32767).
	Number int
	Allow  bool
	// Proto, FromPort, ToPort, IcmpType and IcmpCode are as in Rule.
	Proto            uint8
	FromPort, ToPort uint16
	IcmpType         int16
	IcmpCode         int16
	// Prefix is the source (Inbound) or destination (Outbound) prefix. It
	// matches only its own address family.
	Prefix netip.Prefix
}

// Validate reports the first problem that makes s impossible to compile.
func (s ACLSet) Validate() error {
	seen := map[string]bool{}
	for _, sub := range s.Subnets {
		if err := checkIface(sub.Iface); err != nil {
			return err
		}
		if seen[sub.Iface] {
			return fmt.Errorf("interface %s listed twice", sub.Iface)
		}
		seen[sub.Iface] = true
		for _, d := range []struct {
			dir     string
			entries []ACLEntry
		}{{"inbound", sub.Inbound}, {"outbound", sub.Outbound}} {
			type key struct {
				number int
				v6     bool
			}
			seen := map[key]bool{}
			for _, e := range d.entries {
				if e.Number < 1 || e.Number > 32767 {
					return fmt.Errorf("interface %s: %s entry number %d out of range 1-32767", sub.Iface, d.dir, e.Number)
				}
				if err := checkProto(e.Proto, e.FromPort, e.ToPort, e.IcmpType, e.IcmpCode); err != nil {
					return fmt.Errorf("interface %s: %s entry %d: %w", sub.Iface, d.dir, e.Number, err)
				}
				if err := checkPrefix(e.Prefix); err != nil {
					return fmt.Errorf("interface %s: %s entry %d: %w", sub.Iface, d.dir, e.Number, err)
				}
				k := key{e.Number, e.Prefix.Addr().Is6()}
				if seen[k] {
					return fmt.Errorf("interface %s: %s entry %d listed twice", sub.Iface, d.dir, e.Number)
				}
				seen[k] = true
			}
		}
	}
	return nil
}

// CompileACLs compiles s into the ruleset of the table TableACL.
func CompileACLs(s ACLSet) (*Ruleset, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(s.Subnets) == 0 {
		return newRuleset(TableACL, nil), nil
	}
	subs := slices.SortedFunc(slices.Values(s.Subnets), func(a, b SubnetACL) int {
		return strings.Compare(a.Iface, b.Iface)
	})
	forward := &chain{name: "forward", hook: "forward"}
	t := &table{name: TableACL, chains: []*chain{forward}}
	// Same bridge in and out: bridged (br_netfilter) or hairpinned
	// traffic that never leaves the subnet.
	for _, sub := range subs {
		forward.rules = append(forward.rules, rule{
			matches: []match{ifname{name: sub.Iface}, ifname{out: true, name: sub.Iface}},
			verdict: verdict{kind: vAccept},
		})
	}
	// Leaving a subnet, then entering one: each ACL chain returns to
	// forward if it allows the packet, and drops it otherwise.
	for _, sub := range subs {
		forward.rules = append(forward.rules, rule{
			matches: []match{ifname{name: sub.Iface}},
			verdict: verdict{kind: vJump, chain: "outbound_" + sub.Iface},
		})
	}
	for _, sub := range subs {
		forward.rules = append(forward.rules, rule{
			matches: []match{ifname{out: true, name: sub.Iface}},
			verdict: verdict{kind: vJump, chain: "inbound_" + sub.Iface},
		})
	}
	for _, sub := range subs {
		t.chains = append(t.chains,
			aclChain("inbound_"+sub.Iface, sub.Inbound, false),
			aclChain("outbound_"+sub.Iface, sub.Outbound, true))
	}
	return newRuleset(TableACL, t), nil
}

// aclChain is the chain of one direction of one ACL: its entries in order
// (allow returns to the forward chain, deny drops), then drop.
func aclChain(name string, entries []ACLEntry, outbound bool) *chain {
	entries = slices.SortedFunc(slices.Values(entries), func(a, b ACLEntry) int {
		if a.Number != b.Number {
			return a.Number - b.Number
		}
		// AWS's two "*" entries share 32767, one per family.
		return cmpBool(a.Prefix.Addr().Is6(), b.Prefix.Addr().Is6())
	})
	c := &chain{name: name}
	for _, e := range entries {
		v, what := verdict{kind: vDrop}, "deny"
		if e.Allow {
			v, what = verdict{kind: vReturn}, "allow"
		}
		fam := splitPrefixes([]netip.Prefix{e.Prefix})[0]
		c.rules = append(c.rules, rule{
			matches: append(fam.matches(outbound), protoMatches(e.Proto, e.FromPort, e.ToPort, e.IcmpType, e.IcmpCode)...),
			verdict: v,
			comment: fmt.Sprintf("%d %s", e.Number, what),
		})
	}
	c.rules = append(c.rules, rule{verdict: verdict{kind: vDrop}, comment: "default deny"})
	return c
}

// RenderACLs returns the nft rendering of s, as Apply would program it.
func RenderACLs(s ACLSet) ([]string, error) {
	rs, err := CompileACLs(s)
	if err != nil {
		return nil, err
	}
	return rs.Lines(), nil
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}
