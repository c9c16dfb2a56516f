package model

import "strconv"

// Canonical security group rule protocols. AWS stores the names for the four
// protocols it knows and the decimal number for every other one; "-1" is all
// protocols.
const (
	ProtocolAll    = "-1"
	ProtocolTCP    = "tcp"
	ProtocolUDP    = "udp"
	ProtocolICMP   = "icmp"
	ProtocolICMPv6 = "icmpv6"
)

// Network ACL rule actions and the reserved catch-all rule number.
const (
	RuleActionAllow = "allow"
	RuleActionDeny  = "deny"
	// NetworkAclDefaultRuleNumber is the "*" rule every ACL ends with: it
	// denies what no other entry matched and can be neither changed nor
	// removed.
	NetworkAclDefaultRuleNumber = 32767
)

// IPProtocolNumber maps a canonical security group protocol ("tcp", "-1",
// "50", …) to its IP protocol number; -1 means all protocols.
func IPProtocolNumber(protocol string) int {
	switch protocol {
	case ProtocolTCP:
		return 6
	case ProtocolUDP:
		return 17
	case ProtocolICMP:
		return 1
	case ProtocolICMPv6:
		return 58
	}
	n, err := strconv.Atoi(protocol)
	if err != nil {
		return -1
	}
	return n
}

// HasPorts reports whether FromPort and ToPort mean something: a port range
// for tcp and udp, an ICMP type and code for icmp and icmpv6. For every other
// protocol they are -1 and AWS leaves them out of IpPermissions.
func (r SecurityGroupRule) HasPorts() bool {
	switch r.Protocol {
	case ProtocolTCP, ProtocolUDP, ProtocolICMP, ProtocolICMPv6:
		return true
	}
	return false
}

// Peer returns the rule's one source (ingress) or destination (egress): an
// IPv4 or IPv6 CIDR, a prefix list id or a security group id.
func (r SecurityGroupRule) Peer() string {
	switch {
	case r.CidrIPv4 != "":
		return r.CidrIPv4
	case r.CidrIPv6 != "":
		return r.CidrIPv6
	case r.PrefixList != "":
		return r.PrefixList
	}
	return r.GroupID
}

// SameTraffic reports whether r and o match the same traffic (protocol,
// ports and peer), whatever their ids, descriptions and tags. AWS allows only
// one such rule per direction.
func (r SecurityGroupRule) SameTraffic(o SecurityGroupRule) bool {
	return r.Protocol == o.Protocol && r.FromPort == o.FromPort && r.ToPort == o.ToPort &&
		r.CidrIPv4 == o.CidrIPv4 && r.CidrIPv6 == o.CidrIPv6 && r.PrefixList == o.PrefixList &&
		r.GroupID == o.GroupID
}

// Association returns the ACL's association with subnetID, if any.
func (a *NetworkAcl) Association(subnetID string) (NetworkAclAssociation, bool) {
	for _, as := range a.Associations {
		if as.SubnetID == subnetID {
			return as, true
		}
	}
	return NetworkAclAssociation{}, false
}

// RulesRef returns the group's egress or ingress rules for in-place edits.
func (g *SecurityGroup) RulesRef(egress bool) *[]SecurityGroupRule {
	if egress {
		return &g.Egress
	}
	return &g.Ingress
}
