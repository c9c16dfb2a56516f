package controlplane

import (
	"context"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// maxRulesPerDirection is AWS's default quota of inbound (and, separately,
// outbound) rules per group. It counts IPv4 and IPv6 rules separately; a rule
// that references a group or prefix list counts as IPv4.
const maxRulesPerDirection = 60

// ruleDescriptionChars are the characters, beyond letters and digits, that
// a rule description may use.
const ruleDescriptionChars = " ._-:/()#,@[]+=&;{}!$*"

var idSecurityGroupRule = idKind{
	prefix:        model.PrefixSecurityGroupRule,
	malformedCode: "InvalidSecurityGroupRuleId.Malformed",
	notFoundCode:  "InvalidSecurityGroupRuleId.NotFound",
	notFoundOne:   "The security group rule ID '%s' does not exist",
	notFoundMany:  "The security group rule IDs '%s' do not exist",
}

// IPPermission is AWS's IpPermission: one protocol and port range and the
// peers it applies to. It is the input of Authorize*/Revoke* and the output
// form of a group's rules (see GroupIPPermissions).
type IPPermission struct {
	IPProtocol       string
	FromPort, ToPort *int32
	IPRanges         []IPRange
	IPv6Ranges       []IPv6Range
	PrefixListIDs    []PrefixListID
	UserIDGroupPairs []UserIDGroupPair
}

// IPRange is an IPv4 peer of an IPPermission.
type IPRange struct {
	CidrIP      string
	Description string
}

// IPv6Range is an IPv6 peer of an IPPermission.
type IPv6Range struct {
	CidrIPv6    string
	Description string
}

// PrefixListID is a prefix-list peer of an IPPermission.
type PrefixListID struct {
	PrefixListID string
	Description  string
}

// UserIDGroupPair is a security-group peer of an IPPermission. GroupName is
// input only (resolved in the VPC of the group being changed).
type UserIDGroupPair struct {
	GroupID     string
	GroupName   string
	UserID      string
	Description string
}

// LegacyPermission is the flat, pre-IpPermissions form of
// AuthorizeSecurityGroupIngress and RevokeSecurityGroupIngress.
type LegacyPermission struct {
	IPProtocol                 string
	FromPort, ToPort           *int32
	CidrIP                     string
	SourceSecurityGroupName    string
	SourceSecurityGroupOwnerID string
}

func (l LegacyPermission) isZero() bool { return l == LegacyPermission{} }

// AuthorizeSecurityGroupInput is the input of AuthorizeSecurityGroupIngress
// and AuthorizeSecurityGroupEgress. Legacy is honoured for ingress only (for
// egress AWS documents those parameters as not supported).
type AuthorizeSecurityGroupInput struct {
	GroupID       string
	GroupName     string
	IPPermissions []IPPermission
	Legacy        LegacyPermission
	TagSpecs      []TagSpec
	DryRun        bool
}

// RevokeSecurityGroupInput is the input of RevokeSecurityGroupIngress and
// RevokeSecurityGroupEgress.
type RevokeSecurityGroupInput struct {
	GroupID              string
	GroupName            string
	IPPermissions        []IPPermission
	Legacy               LegacyPermission
	SecurityGroupRuleIDs []string
	DryRun               bool
}

// SecurityGroupRuleInfo is one rule as AWS reports it on its own
// (securityGroupRuleSet): the rule with the group it belongs to.
type SecurityGroupRuleInfo struct {
	GroupID      string
	GroupOwnerID string
	IsEgress     bool
	ARN          string
	Rule         model.SecurityGroupRule
}

// DescribeSecurityGroupRulesInput is the input of DescribeSecurityGroupRules.
type DescribeSecurityGroupRulesInput struct {
	SecurityGroupRuleIDs []string
	Filters              []Filter
	Page                 Page
	DryRun               bool
}

// DescribeSecurityGroupRulesOutput is one page of DescribeSecurityGroupRules.
type DescribeSecurityGroupRulesOutput struct {
	SecurityGroupRules []SecurityGroupRuleInfo
	NextToken          string
}

// AuthorizeSecurityGroupIngress adds inbound rules, all of them or none,
// and returns them.
func (s *Service) AuthorizeSecurityGroupIngress(ctx context.Context, account string, in AuthorizeSecurityGroupInput) ([]SecurityGroupRuleInfo, error) {
	return s.authorize(ctx, account, false, in)
}

// AuthorizeSecurityGroupEgress adds outbound rules, all of them or none,
// and returns them.
func (s *Service) AuthorizeSecurityGroupEgress(ctx context.Context, account string, in AuthorizeSecurityGroupInput) ([]SecurityGroupRuleInfo, error) {
	in.Legacy = LegacyPermission{}
	return s.authorize(ctx, account, true, in)
}

// RevokeSecurityGroupIngress removes inbound rules and returns them. Outside
// a default VPC AWS removes nothing unless every rule named exists
// (InvalidPermission.NotFound), so there are never unknown permissions.
func (s *Service) RevokeSecurityGroupIngress(ctx context.Context, account string, in RevokeSecurityGroupInput) ([]SecurityGroupRuleInfo, error) {
	return s.revoke(ctx, account, false, in)
}

// RevokeSecurityGroupEgress removes outbound rules and returns them.
func (s *Service) RevokeSecurityGroupEgress(ctx context.Context, account string, in RevokeSecurityGroupInput) ([]SecurityGroupRuleInfo, error) {
	in.Legacy = LegacyPermission{}
	return s.revoke(ctx, account, true, in)
}

func (s *Service) authorize(ctx context.Context, account string, egress bool, in AuthorizeSecurityGroupInput) ([]SecurityGroupRuleInfo, error) {
	var out []SecurityGroupRuleInfo
	err := s.update(ctx, in.DryRun, func(tx store.Tx) error {
		g, err := s.groupForRules(tx, account, egress, in.GroupID, in.GroupName)
		if err != nil {
			return err
		}
		perms, err := permissionsOf(in.IPPermissions, in.Legacy)
		if err != nil {
			return err
		}
		tags, err := applyTagSpecs("security-group-rule", in.TagSpecs)
		if err != nil {
			return err
		}
		added, err := expandPermissions(tx, account, g, perms, true)
		if err != nil {
			return err
		}
		rules := g.RulesRef(egress)
		for i, r := range added {
			for _, o := range append(append([]model.SecurityGroupRule(nil), *rules...), added[:i]...) {
				if o.SameTraffic(r) {
					return awsapi.Errorf("InvalidPermission.Duplicate", "the specified rule %q already exists", ruleSummary(r))
				}
			}
		}
		if err := checkRuleQuota(*rules, added); err != nil {
			return err
		}
		for i := range added {
			added[i].ID = model.NewID(model.PrefixSecurityGroupRule)
			added[i].Tags = append([]model.Tag(nil), tags...)
			out = append(out, s.ruleInfo(g, egress, added[i]))
		}
		*rules = append(*rules, added...)
		return putRecord(tx, securityGroupKey(account, g.ID), g)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) revoke(ctx context.Context, account string, egress bool, in RevokeSecurityGroupInput) ([]SecurityGroupRuleInfo, error) {
	var out []SecurityGroupRuleInfo
	err := s.update(ctx, in.DryRun, func(tx store.Tx) error {
		g, err := s.groupForRules(tx, account, egress, in.GroupID, in.GroupName)
		if err != nil {
			return err
		}
		var perms []IPPermission
		if len(in.IPPermissions) > 0 || !in.Legacy.isZero() || len(in.SecurityGroupRuleIDs) == 0 {
			if perms, err = permissionsOf(in.IPPermissions, in.Legacy); err != nil {
				return err
			}
		}
		ruleIDs := dedupe(in.SecurityGroupRuleIDs)
		if err := idSecurityGroupRule.checkAll(ruleIDs); err != nil {
			return err
		}
		wanted, err := expandPermissions(tx, account, g, perms, false)
		if err != nil {
			return err
		}
		rules := g.RulesRef(egress)
		drop := map[string]bool{}
		for _, w := range wanted {
			found := false
			for _, r := range *rules {
				if r.SameTraffic(w) {
					drop[r.ID], found = true, true
					break
				}
			}
			if !found {
				return awsapi.Errorf("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
			}
		}
		for _, id := range ruleIDs {
			found := false
			for _, r := range *rules {
				if r.ID == id {
					drop[id], found = true, true
					break
				}
			}
			if !found {
				return idSecurityGroupRule.notFound(id)
			}
		}
		kept := make([]model.SecurityGroupRule, 0, len(*rules))
		for _, r := range *rules {
			if drop[r.ID] {
				out = append(out, s.ruleInfo(g, egress, r))
				continue
			}
			kept = append(kept, r)
		}
		*rules = kept
		return putRecord(tx, securityGroupKey(account, g.ID), g)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// groupForRules resolves the group an Authorize*/Revoke* call changes.
// Egress calls take GroupId only.
func (s *Service) groupForRules(tx store.ReadTx, account string, egress bool, id, name string) (*model.SecurityGroup, error) {
	if egress && id == "" {
		return nil, awsapi.ErrMissingParameter("groupId")
	}
	return s.securityGroupByIDOrName(tx, account, id, name)
}

// permissionsOf merges the IpPermissions of a call with the permission(s)
// its legacy flat parameters describe.
func permissionsOf(perms []IPPermission, l LegacyPermission) ([]IPPermission, error) {
	out := append([]IPPermission(nil), perms...)
	if !l.isZero() {
		lp, err := legacyPermissions(l)
		if err != nil {
			return nil, err
		}
		out = append(out, lp...)
	}
	if len(out) == 0 {
		return nil, awsapi.ErrMissingParameter("ipPermissions")
	}
	return out, nil
}

// legacyPermissions turns the flat form into IpPermissions. A source group
// alone grants, as AWS documents, full ICMP, UDP and TCP access.
func legacyPermissions(l LegacyPermission) ([]IPPermission, error) {
	portsOrProtocol := l.IPProtocol != "" || l.FromPort != nil || l.ToPort != nil
	switch {
	case l.SourceSecurityGroupName != "" && (portsOrProtocol || l.CidrIP != ""):
		return nil, awsapi.Errorf("InvalidParameterCombination", "You can't specify sourceSecurityGroupName in combination with cidrIp, ipProtocol, fromPort or toPort.")
	case l.SourceSecurityGroupName != "":
		pair := []UserIDGroupPair{{GroupName: l.SourceSecurityGroupName, UserID: l.SourceSecurityGroupOwnerID}}
		all, maxPort, minusOne := int32(0), int32(65535), int32(-1)
		return []IPPermission{
			{IPProtocol: model.ProtocolICMP, FromPort: &minusOne, ToPort: &minusOne, UserIDGroupPairs: pair},
			{IPProtocol: model.ProtocolTCP, FromPort: &all, ToPort: &maxPort, UserIDGroupPairs: pair},
			{IPProtocol: model.ProtocolUDP, FromPort: &all, ToPort: &maxPort, UserIDGroupPairs: pair},
		}, nil
	case l.CidrIP == "":
		return nil, awsapi.Errorf("MissingParameter", "Missing source specification: include source security group or CIDR information")
	}
	return []IPPermission{{IPProtocol: l.IPProtocol, FromPort: l.FromPort, ToPort: l.ToPort, IPRanges: []IPRange{{CidrIP: l.CidrIP}}}}, nil
}

// expandPermissions validates permissions and turns each (permission, peer)
// into one rule of g, with no id yet. A permission without any peer adds
// nothing, as in AWS. describe says whether descriptions count (authorize)
// or are ignored (revoke).
func expandPermissions(tx store.ReadTx, account string, g *model.SecurityGroup, perms []IPPermission, describe bool) ([]model.SecurityGroupRule, error) {
	var out []model.SecurityGroupRule
	desc := func(d string) (string, error) {
		if !describe {
			return "", nil
		}
		return d, validateRuleDescription(d)
	}
	for _, p := range perms {
		proto, err := parseRuleProtocol(p.IPProtocol)
		if err != nil {
			return nil, err
		}
		from, to, err := rulePorts(proto, p.FromPort, p.ToPort)
		if err != nil {
			return nil, err
		}
		base := model.SecurityGroupRule{Protocol: proto, FromPort: from, ToPort: to}
		for _, rg := range p.IPRanges {
			r := base
			if r.CidrIPv4, err = canonicalCIDR(rg.CidrIP, false); err != nil {
				return nil, err
			}
			if r.Description, err = desc(rg.Description); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		for _, rg := range p.IPv6Ranges {
			r := base
			if r.CidrIPv6, err = canonicalCIDR(rg.CidrIPv6, true); err != nil {
				return nil, err
			}
			if r.Description, err = desc(rg.Description); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		for _, pl := range p.PrefixListIDs {
			// privlink has no prefix lists, managed or customer-made.
			if pl.PrefixListID == "" {
				return nil, awsapi.ErrMissingParameter("prefixListId")
			}
			return nil, awsapi.Errorf("InvalidPrefixListID.NotFound", "The prefix list ID '%s' does not exist", pl.PrefixListID)
		}
		for _, pair := range p.UserIDGroupPairs {
			peer, err := peerGroup(tx, account, g, pair)
			if err != nil {
				return nil, err
			}
			r := base
			r.GroupID, r.GroupOwner = peer.ID, peer.OwnerID
			if r.Description, err = desc(pair.Description); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// peerGroup resolves a UserIdGroupPair to one of the caller's groups in the
// same VPC as g. Groups of other accounts are not found, like groups that do
// not exist.
func peerGroup(tx store.ReadTx, account string, g *model.SecurityGroup, pair UserIDGroupPair) (*model.SecurityGroup, error) {
	if pair.GroupID == "" && pair.GroupName == "" {
		return nil, awsapi.Errorf("MissingParameter", "Source group ID missing.")
	}
	if pair.GroupID == "" {
		if pair.UserID != "" && pair.UserID != account {
			return nil, idSecurityGroup.notFound(pair.GroupName)
		}
		if strings.EqualFold(pair.GroupName, g.Name) {
			return g, nil
		}
		groups, err := listSecurityGroups(tx, account)
		if err != nil {
			return nil, err
		}
		for _, o := range groups {
			if o.VpcID == g.VpcID && strings.EqualFold(o.Name, pair.GroupName) {
				return o, nil
			}
		}
		return nil, idSecurityGroup.notFound(pair.GroupName)
	}
	if err := idSecurityGroup.check(pair.GroupID); err != nil {
		return nil, err
	}
	if pair.UserID != "" && pair.UserID != account {
		return nil, idSecurityGroup.notFound(pair.GroupID)
	}
	if pair.GroupID == g.ID {
		return g, nil
	}
	peer, err := loadSecurityGroup(tx, account, pair.GroupID)
	if err != nil {
		return nil, err
	}
	if peer.VpcID != g.VpcID {
		return nil, awsapi.Errorf("InvalidGroup.NotFound", "You have specified two resources that belong to different networks.")
	}
	return peer, nil
}

// parseRuleProtocol canonicalises IpProtocol: tcp, udp, icmp and icmpv6 by
// name (case-insensitive, or by their numbers 6, 17, 1 and 58), -1 for all,
// any other protocol by its number 0-255.
func parseRuleProtocol(p string) (string, error) {
	if p == "" {
		return "", awsapi.ErrInvalidParameterValue("Invalid value 'null' for protocol. VPC security group rules must specify protocols explicitly.")
	}
	switch l := strings.ToLower(p); l {
	case model.ProtocolTCP, model.ProtocolUDP, model.ProtocolICMP, model.ProtocolICMPv6, model.ProtocolAll:
		return l, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 255 {
		return "", awsapi.ErrInvalidParameterValue("Invalid value '%s' for IP protocol. Unknown protocol.", p)
	}
	switch n {
	case 6:
		return model.ProtocolTCP, nil
	case 17:
		return model.ProtocolUDP, nil
	case 1:
		return model.ProtocolICMP, nil
	case 58:
		return model.ProtocolICMPv6, nil
	}
	return strconv.Itoa(n), nil
}

// rulePorts validates FromPort/ToPort for a canonical protocol: a port range
// for tcp and udp, an ICMP type and code (-1 = any) for icmp and icmpv6.
// Every other protocol covers all ports; its ports are ignored and stored
// as -1.
func rulePorts(proto string, from, to *int32) (int32, int32, error) {
	switch proto {
	case model.ProtocolTCP, model.ProtocolUDP:
		if from == nil || to == nil {
			return 0, 0, awsapi.ErrInvalidParameterValue("Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.")
		}
		for _, p := range []int32{*from, *to} {
			if p < 0 || p > 65535 {
				return 0, 0, awsapi.Errorf("InvalidPermission.Malformed", "TCP/UDP port (%d) out of range", p)
			}
		}
		if *from > *to {
			return 0, 0, awsapi.ErrInvalidParameterValue("Invalid TCP/UDP port range: from port %d is greater than to port %d.", *from, *to)
		}
		return *from, *to, nil
	case model.ProtocolICMP, model.ProtocolICMPv6:
		if from == nil || to == nil {
			return 0, 0, awsapi.ErrInvalidParameterValue("Invalid value 'Must specify both from and to ports with ICMP.' for portRange.")
		}
		if *from < -1 || *from > 255 {
			return 0, 0, awsapi.Errorf("InvalidPermission.Malformed", "ICMP type (%d) out of range", *from)
		}
		if *to < -1 || *to > 255 {
			return 0, 0, awsapi.Errorf("InvalidPermission.Malformed", "ICMP code (%d) out of range", *to)
		}
		if *from == -1 && *to != -1 {
			return 0, 0, awsapi.ErrInvalidParameterValue("Invalid value 'ICMP code must be -1 when ICMP type is -1.' for portRange.")
		}
		return *from, *to, nil
	}
	return -1, -1, nil
}

// canonicalCIDR parses an IPv4 (or, with v6, IPv6) CIDR and returns it with
// the host bits cleared, as AWS canonicalises "100.68.0.18/18" to
// "100.68.0.0/18".
func canonicalCIDR(s string, v6 bool) (string, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Addr().Is4() == v6 || p.Addr().Is4In6() {
		return "", awsapi.ErrInvalidParameterValue("CIDR block %s is malformed", s)
	}
	return p.Masked().String(), nil
}

// validateRuleDescription checks a rule description against AWS's rules.
func validateRuleDescription(d string) error {
	ok := len(d) <= 255
	for _, r := range d {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(ruleDescriptionChars, r):
		default:
			ok = false
		}
	}
	if !ok {
		return awsapi.ErrInvalidParameterValue("Invalid rule description. Valid descriptions are strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*")
	}
	return nil
}

// checkRuleQuota enforces the per-direction rule quota on rules + added.
func checkRuleQuota(rules, added []model.SecurityGroupRule) error {
	var v4, v6 int
	for _, r := range append(append([]model.SecurityGroupRule(nil), rules...), added...) {
		if r.CidrIPv6 != "" {
			v6++
		} else {
			v4++
		}
	}
	if v4 > maxRulesPerDirection || v6 > maxRulesPerDirection {
		return awsapi.Errorf("RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached.")
	}
	return nil
}

// ruleSummary renders a rule the way AWS quotes it in
// InvalidPermission.Duplicate: peer: 0.0.0.0/0, TCP, from port: 22, to
// port: 22, ALLOW.
func ruleSummary(r model.SecurityGroupRule) string {
	var b strings.Builder
	b.WriteString("peer: " + r.Peer() + ", ")
	switch r.Protocol {
	case model.ProtocolAll:
		b.WriteString("ALL")
	case model.ProtocolTCP, model.ProtocolUDP:
		b.WriteString(strings.ToUpper(r.Protocol) + ", from port: " + strconv.Itoa(int(r.FromPort)) + ", to port: " + strconv.Itoa(int(r.ToPort)))
	case model.ProtocolICMP, model.ProtocolICMPv6:
		b.WriteString(strings.ToUpper(r.Protocol) + ", type: " + strconv.Itoa(int(r.FromPort)) + ", code: " + strconv.Itoa(int(r.ToPort)))
	default:
		b.WriteString(r.Protocol)
	}
	b.WriteString(", ALLOW")
	return b.String()
}

func (s *Service) ruleInfo(g *model.SecurityGroup, egress bool, r model.SecurityGroupRule) SecurityGroupRuleInfo {
	return SecurityGroupRuleInfo{
		GroupID:      g.ID,
		GroupOwnerID: g.OwnerID,
		IsEgress:     egress,
		ARN:          s.SecurityGroupRuleARN(g.OwnerID, r.ID),
		Rule:         r,
	}
}

// DescribeSecurityGroupRules lists the rules of the caller's groups, sorted
// by rule id. SecurityGroupRuleId.N must all exist.
func (s *Service) DescribeSecurityGroupRules(ctx context.Context, account string, in DescribeSecurityGroupRulesInput) (DescribeSecurityGroupRulesOutput, error) {
	var out DescribeSecurityGroupRulesOutput
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if err := idSecurityGroupRule.checkDescribe(in.SecurityGroupRuleIDs, in.Page, "securityGroupRuleIdSet"); err != nil {
			return err
		}
		groups, err := listSecurityGroups(tx, account)
		if err != nil {
			return err
		}
		var all []SecurityGroupRuleInfo
		for _, g := range groups {
			for _, egress := range []bool{false, true} {
				for _, r := range *g.RulesRef(egress) {
					all = append(all, s.ruleInfo(g, egress, r))
				}
			}
		}
		sort.Slice(all, func(i, j int) bool { return all[i].Rule.ID < all[j].Rule.ID })
		if len(in.SecurityGroupRuleIDs) > 0 {
			if all, err = selectByID(all, func(r SecurityGroupRuleInfo) string { return r.Rule.ID }, in.SecurityGroupRuleIDs, idSecurityGroupRule); err != nil {
				return err
			}
		}
		items, err := securityGroupRuleFilters.apply(all, in.Filters)
		if err != nil {
			return err
		}
		out.SecurityGroupRules, out.NextToken, err = paginate(items, func(r SecurityGroupRuleInfo) string { return r.Rule.ID }, in.Page, 5, 1000)
		return err
	})
	return out, err
}

var securityGroupRuleFilters = filterDefs[SecurityGroupRuleInfo]{
	fields: map[string]func(SecurityGroupRuleInfo) []string{
		"group-id":               func(r SecurityGroupRuleInfo) []string { return []string{r.GroupID} },
		"security-group-rule-id": func(r SecurityGroupRuleInfo) []string { return []string{r.Rule.ID} },
	},
	tags: func(r SecurityGroupRuleInfo) []model.Tag { return r.Rule.Tags },
}

// GroupIPPermissions folds rules into AWS's IpPermissions: one permission
// per (protocol, from port, to port), in the order each first appears, with
// its peers in rule order. Ports are left out for protocols that have none.
func GroupIPPermissions(rules []model.SecurityGroupRule) []IPPermission {
	type key struct {
		proto    string
		from, to int32
	}
	var out []IPPermission
	index := map[key]int{}
	for _, r := range rules {
		k := key{r.Protocol, r.FromPort, r.ToPort}
		i, ok := index[k]
		if !ok {
			p := IPPermission{IPProtocol: r.Protocol}
			if r.HasPorts() {
				from, to := r.FromPort, r.ToPort
				p.FromPort, p.ToPort = &from, &to
			}
			i = len(out)
			index[k] = i
			out = append(out, p)
		}
		p := &out[i]
		switch {
		case r.CidrIPv4 != "":
			p.IPRanges = append(p.IPRanges, IPRange{CidrIP: r.CidrIPv4, Description: r.Description})
		case r.CidrIPv6 != "":
			p.IPv6Ranges = append(p.IPv6Ranges, IPv6Range{CidrIPv6: r.CidrIPv6, Description: r.Description})
		case r.PrefixList != "":
			p.PrefixListIDs = append(p.PrefixListIDs, PrefixListID{PrefixListID: r.PrefixList, Description: r.Description})
		case r.GroupID != "":
			p.UserIDGroupPairs = append(p.UserIDGroupPairs, UserIDGroupPair{GroupID: r.GroupID, UserID: r.GroupOwner, Description: r.Description})
		}
	}
	return out
}
