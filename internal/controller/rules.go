package controller

import (
	"net/netip"
	"slices"

	"github.com/privlink/privlink/internal/dataplane/nft"
	"github.com/privlink/privlink/internal/model"
)

// This file translates security groups and network ACLs into the data
// plane's nft inputs. IPv6 CIDRs and prefix lists are not enforced yet: their
// rules are left out.

// groupIndex maps a VPC and a security group to the /32s of the ENIs in that
// VPC that carry the group.
type groupIndex map[vpcGroup][]netip.Prefix

type vpcGroup struct{ vpc, group string }

// groupMembers indexes the ENIs' addresses by VPC and group, each list
// sorted and without duplicates.
func groupMembers(enis []model.NetworkInterface) groupIndex {
	idx := groupIndex{}
	for _, e := range enis {
		ip, err := netip.ParseAddr(e.PrivateIP)
		if err != nil || !ip.Is4() {
			continue
		}
		for _, g := range e.Groups {
			k := vpcGroup{e.VpcID, g}
			idx[k] = append(idx[k], netip.PrefixFrom(ip, 32))
		}
	}
	for k, ps := range idx {
		slices.SortFunc(ps, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
		idx[k] = slices.Compact(ps)
	}
	return idx
}

// firewall returns the policy of an ENI's link iface: the union of the
// ingress and egress rules of its security groups. An ENI without groups
// (or whose groups have no rules) admits no new connections.
func firewall(iface string, eni model.NetworkInterface, groups map[string]model.SecurityGroup, members groupIndex) nft.Firewall {
	p := nft.IfacePolicy{Iface: iface}
	for _, id := range eni.Groups {
		g, ok := groups[id]
		if !ok {
			continue
		}
		for _, r := range g.Ingress {
			if nr, ok := sgRule(r, eni.VpcID, members); ok {
				p.Ingress = append(p.Ingress, nr)
			}
		}
		for _, r := range g.Egress {
			if nr, ok := sgRule(r, eni.VpcID, members); ok {
				p.Egress = append(p.Egress, nr)
			}
		}
	}
	return nft.Firewall{Interfaces: []nft.IfacePolicy{p}}
}

// sgRule translates one security group rule of an ENI in vpcID. It reports
// false for a rule the data plane does not enforce (IPv6, prefix list, an
// unknown protocol) and for a group reference without members, which
// matches nothing.
func sgRule(r model.SecurityGroupRule, vpcID string, members groupIndex) (nft.Rule, bool) {
	proto, ok := protoNumber(r.Protocol)
	if !ok {
		return nft.Rule{}, false
	}
	nr := nft.Rule{Proto: proto, IcmpType: -1, IcmpCode: -1}
	switch proto {
	case nft.ProtoTCP, nft.ProtoUDP:
		nr.FromPort, nr.ToPort = portRange(r.FromPort, r.ToPort)
	case nft.ProtoICMP, nft.ProtoICMPv6:
		// AWS keeps the ICMP type in FromPort and the code in ToPort; -1
		// is any.
		nr.IcmpType, nr.IcmpCode = icmpField(r.FromPort), icmpField(r.ToPort)
		if nr.IcmpType < 0 {
			nr.IcmpCode = -1
		}
	}
	switch {
	case r.CidrIPv4 != "":
		p, err := netip.ParsePrefix(r.CidrIPv4)
		if err != nil || !p.Addr().Is4() {
			return nft.Rule{}, false
		}
		nr.Prefixes = []netip.Prefix{p.Masked()}
	case r.GroupID != "":
		nr.Prefixes = slices.Clone(members[vpcGroup{vpcID, r.GroupID}])
		if len(nr.Prefixes) == 0 {
			return nft.Rule{}, false
		}
	default: // IPv6 CIDR or prefix list
		return nft.Rule{}, false
	}
	return nr, true
}

// subnetACLs maps each subnet to the ACL associated with it.
func subnetACLs(acls []model.NetworkAcl) map[string]model.NetworkAcl {
	out := map[string]model.NetworkAcl{}
	for _, a := range acls {
		for _, as := range a.Associations {
			out[as.SubnetID] = a
		}
	}
	return out
}

// aclEntries translates an ACL's IPv4 entries, the default deny (32767)
// included, into inbound (ingress) and outbound (egress) entries. Entries
// the data plane cannot enforce (IPv6, an unknown protocol) are left out.
func aclEntries(acl model.NetworkAcl) (inbound, outbound []nft.ACLEntry) {
	for _, e := range acl.Entries {
		ne, ok := aclEntry(e)
		if !ok {
			continue
		}
		if e.Egress {
			outbound = append(outbound, ne)
		} else {
			inbound = append(inbound, ne)
		}
	}
	return inbound, outbound
}

func aclEntry(e model.NetworkAclEntry) (nft.ACLEntry, bool) {
	if e.CidrBlock == "" || e.RuleNumber < 1 || e.RuleNumber > model.NetworkAclDefaultRuleNumber {
		return nft.ACLEntry{}, false
	}
	p, err := netip.ParsePrefix(e.CidrBlock)
	if err != nil || !p.Addr().Is4() {
		return nft.ACLEntry{}, false
	}
	proto, ok := protoNumber(e.Protocol)
	if !ok {
		return nft.ACLEntry{}, false
	}
	ne := nft.ACLEntry{
		Number:   int(e.RuleNumber),
		Allow:    e.RuleAction == model.RuleActionAllow,
		Proto:    proto,
		IcmpType: -1,
		IcmpCode: -1,
		Prefix:   p.Masked(),
	}
	switch proto {
	case nft.ProtoTCP, nft.ProtoUDP:
		from, to := int32(-1), int32(-1)
		if e.PortFrom != nil && e.PortTo != nil {
			from, to = *e.PortFrom, *e.PortTo
		}
		ne.FromPort, ne.ToPort = portRange(from, to)
	case nft.ProtoICMP, nft.ProtoICMPv6:
		if e.IcmpType != nil {
			ne.IcmpType = icmpField(*e.IcmpType)
		}
		if e.IcmpCode != nil && ne.IcmpType >= 0 {
			ne.IcmpCode = icmpField(*e.IcmpCode)
		}
	}
	return ne, true
}

func nftSubnetACL(bridge string, in, out []nft.ACLEntry) nft.SubnetACL {
	return nft.SubnetACL{Iface: bridge, Inbound: in, Outbound: out}
}

// protoNumber maps a stored protocol ("-1", "tcp", "17", …) to an IP
// protocol number, 0 being every protocol.
func protoNumber(p string) (uint8, bool) {
	if p == model.ProtocolAll {
		return nft.ProtoAll, true
	}
	n := model.IPProtocolNumber(p)
	if n < 0 || n > 255 {
		return 0, false
	}
	return uint8(n), true
}

// portRange returns a port range; a negative or reversed bound means every
// port.
func portRange(from, to int32) (uint16, uint16) {
	if from < 0 || to < 0 || from > to || to > 65535 {
		return 0, 65535
	}
	return uint16(from), uint16(to)
}

// icmpField returns an ICMP type or code, -1 meaning any.
func icmpField(v int32) int16 {
	if v < 0 || v > 255 {
		return -1
	}
	return int16(v)
}

// intersectRules returns rules that admit exactly what both a rule of a and
// a rule of b admit: the security groups of two hops that a connection
// must both pass, as one policy.
func intersectRules(a, b []nft.Rule) []nft.Rule {
	var out []nft.Rule
	for _, ra := range a {
		for _, rb := range b {
			if r, ok := intersectRule(ra, rb); ok {
				out = append(out, r)
			}
		}
	}
	return out
}

// intersectRule is the rule that admits what both ra and rb admit, if
// anything.
func intersectRule(ra, rb nft.Rule) (nft.Rule, bool) {
	// Let ra be the narrower protocol: every protocol (0) only if both are.
	if ra.Proto == nft.ProtoAll {
		ra, rb = rb, ra
	}
	if rb.Proto != nft.ProtoAll && rb.Proto != ra.Proto {
		return nft.Rule{}, false
	}
	r := nft.Rule{Proto: ra.Proto, FromPort: ra.FromPort, ToPort: ra.ToPort, IcmpType: ra.IcmpType, IcmpCode: ra.IcmpCode}
	if rb.Proto != nft.ProtoAll {
		switch ra.Proto {
		case nft.ProtoTCP, nft.ProtoUDP:
			r.FromPort, r.ToPort = max(ra.FromPort, rb.FromPort), min(ra.ToPort, rb.ToPort)
			if r.FromPort > r.ToPort {
				return nft.Rule{}, false
			}
		case nft.ProtoICMP, nft.ProtoICMPv6:
			var ok bool
			if r.IcmpType, ok = intersectICMP(ra.IcmpType, rb.IcmpType); !ok {
				return nft.Rule{}, false
			}
			if r.IcmpCode, ok = intersectICMP(ra.IcmpCode, rb.IcmpCode); !ok {
				return nft.Rule{}, false
			}
		}
	}
	for _, pa := range ra.Prefixes {
		for _, pb := range rb.Prefixes {
			if !pa.Overlaps(pb) {
				continue
			}
			// Of two overlapping prefixes one contains the other: the
			// overlap is the longer.
			if pa.Bits() >= pb.Bits() {
				r.Prefixes = append(r.Prefixes, pa)
			} else {
				r.Prefixes = append(r.Prefixes, pb)
			}
		}
	}
	if len(r.Prefixes) == 0 {
		return nft.Rule{}, false
	}
	return r, true
}

// intersectICMP intersects two ICMP types or codes, -1 meaning any.
func intersectICMP(a, b int16) (int16, bool) {
	switch {
	case a < 0:
		return b, true
	case b < 0 || a == b:
		return a, true
	}
	return 0, false
}
