package controlplane

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// maxNetworkAclEntries is AWS's default quota of rules per ACL and
// direction, not counting the fixed rule 32767.
const maxNetworkAclEntries = 20

var idNetworkAclAssoc = idKind{
	prefix:        model.PrefixNetworkAclAssoc,
	malformedCode: "InvalidAssociationID.Malformed",
	notFoundCode:  "InvalidAssociationID.NotFound",
	notFoundOne:   "The association ID '%s' does not exist",
	notFoundMany:  "The association IDs '%s' do not exist",
}

// CreateNetworkAclInput is the input of CreateNetworkAcl.
type CreateNetworkAclInput struct {
	VpcID       string
	TagSpecs    []TagSpec
	ClientToken string
	DryRun      bool
}

// DeleteNetworkAclInput is the input of DeleteNetworkAcl.
type DeleteNetworkAclInput struct {
	NetworkAclID string
	DryRun       bool
}

// IcmpTypeCode is the Icmp parameter of a network ACL entry; -1 is any.
type IcmpTypeCode struct {
	Type, Code *int32
}

// PortRange is the PortRange parameter of a network ACL entry.
type PortRange struct {
	From, To *int32
}

// NetworkAclEntryInput is the input of CreateNetworkAclEntry and
// ReplaceNetworkAclEntry.
type NetworkAclEntryInput struct {
	NetworkAclID  string
	RuleNumber    *int32
	Protocol      string
	RuleAction    string
	Egress        bool
	CidrBlock     string
	Ipv6CidrBlock string
	Icmp          *IcmpTypeCode
	PortRange     *PortRange
	DryRun        bool
}

// DeleteNetworkAclEntryInput is the input of DeleteNetworkAclEntry.
type DeleteNetworkAclEntryInput struct {
	NetworkAclID string
	RuleNumber   *int32
	Egress       bool
	DryRun       bool
}

// ReplaceNetworkAclAssociationInput is the input of
// ReplaceNetworkAclAssociation.
type ReplaceNetworkAclAssociationInput struct {
	AssociationID string
	NetworkAclID  string
	DryRun        bool
}

// DescribeNetworkAclsInput is the input of DescribeNetworkAcls.
type DescribeNetworkAclsInput struct {
	NetworkAclIDs []string
	Filters       []Filter
	Page          Page
	DryRun        bool
}

// DescribeNetworkAclsOutput is one page of DescribeNetworkAcls.
type DescribeNetworkAclsOutput struct {
	NetworkAcls []*model.NetworkAcl
	NextToken   string
}

// networkAclToken is the record a CreateNetworkAcl ClientToken leaves, so
// that a retry returns the ACL the first call created.
type networkAclToken struct {
	NetworkAclID string          `json:"networkAclId"`
	Request      json.RawMessage `json:"request"`
}

// CreateNetworkAcl creates a custom ACL in one of the caller's VPCs. Like
// AWS's it starts with only the fixed rules 32767 that deny everything in
// both directions. A retry with the same ClientToken and parameters returns
// the same ACL; the same token with other parameters is
// IdempotentParameterMismatch.
func (s *Service) CreateNetworkAcl(ctx context.Context, account string, in CreateNetworkAclInput) (*model.NetworkAcl, error) {
	var out *model.NetworkAcl
	err := s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if in.VpcID == "" {
			return awsapi.ErrMissingParameter("vpcId")
		}
		vpc, err := loadVpc(tx, account, in.VpcID)
		if err != nil {
			return err
		}
		tags, err := applyTagSpecs("network-acl", in.TagSpecs)
		if err != nil {
			return err
		}
		var tokenKey string
		request, err := json.Marshal(struct {
			VpcID    string
			TagSpecs []TagSpec
		}{in.VpcID, in.TagSpecs})
		if err != nil {
			return err
		}
		if in.ClientToken != "" {
			tokenKey = networkAclTokenKey(account, in.ClientToken)
			tok, found, err := getRecord[networkAclToken](tx, tokenKey)
			if err != nil {
				return err
			}
			if found {
				if !bytes.Equal(tok.Request, request) {
					return awsapi.Errorf("IdempotentParameterMismatch", "The client token '%s' has already been used with different request parameters.", in.ClientToken)
				}
				acl, found, err := getRecord[model.NetworkAcl](tx, networkAclKey(account, tok.NetworkAclID))
				if err != nil {
					return err
				}
				if found {
					out = acl
					return nil
				}
			}
		}
		acl := &model.NetworkAcl{
			ID:      model.NewID(model.PrefixNetworkAcl),
			OwnerID: account,
			VpcID:   vpc.ID,
			Entries: []model.NetworkAclEntry{denyAll(true), denyAll(false)},
			Tags:    tags,
		}
		if tokenKey != "" {
			if err := putRecord(tx, tokenKey, networkAclToken{NetworkAclID: acl.ID, Request: request}); err != nil {
				return err
			}
		}
		out = acl
		return putRecord(tx, networkAclKey(account, acl.ID), acl)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func denyAll(egress bool) model.NetworkAclEntry {
	return model.NetworkAclEntry{
		RuleNumber: model.NetworkAclDefaultRuleNumber,
		Egress:     egress,
		Protocol:   "-1",
		RuleAction: model.RuleActionDeny,
		CidrBlock:  "0.0.0.0/0",
	}
}

func allowAll(egress bool) model.NetworkAclEntry {
	return model.NetworkAclEntry{
		RuleNumber: 100,
		Egress:     egress,
		Protocol:   "-1",
		RuleAction: model.RuleActionAllow,
		CidrBlock:  "0.0.0.0/0",
	}
}

// DeleteNetworkAcl deletes a custom ACL that no subnet uses.
func (s *Service) DeleteNetworkAcl(ctx context.Context, account string, in DeleteNetworkAclInput) error {
	return s.update(ctx, in.DryRun, func(tx store.Tx) error {
		acl, err := loadNetworkAcl(tx, account, in.NetworkAclID)
		if err != nil {
			return err
		}
		if acl.IsDefault {
			return awsapi.ErrInvalidParameterValue("cannot delete default network ACL %s", acl.ID)
		}
		if len(acl.Associations) > 0 {
			return awsapi.Errorf("DependencyViolation", "The networkAcl '%s' has dependencies and cannot be deleted.", acl.ID)
		}
		return tx.Delete(networkAclKey(account, acl.ID))
	})
}

// CreateNetworkAclEntry adds a numbered rule to one direction of an ACL.
func (s *Service) CreateNetworkAclEntry(ctx context.Context, account string, in NetworkAclEntryInput) error {
	return s.update(ctx, in.DryRun, func(tx store.Tx) error {
		e, err := networkAclEntryOf(in)
		if err != nil {
			return err
		}
		acl, err := loadNetworkAcl(tx, account, in.NetworkAclID)
		if err != nil {
			return err
		}
		n := 0
		for _, o := range acl.Entries {
			if o.Egress != e.Egress || o.RuleNumber == model.NetworkAclDefaultRuleNumber {
				continue
			}
			if o.RuleNumber == e.RuleNumber {
				return awsapi.Errorf("NetworkAclEntryAlreadyExists", "The network acl entry identified by %d already exists.", e.RuleNumber)
			}
			n++
		}
		if n >= maxNetworkAclEntries {
			return awsapi.Errorf("NetworkAclEntryLimitExceeded", "The maximum number of network acl entries has been reached.")
		}
		acl.Entries = append(acl.Entries, e)
		sortNetworkAclEntries(acl.Entries)
		return putRecord(tx, networkAclKey(account, acl.ID), acl)
	})
}

// ReplaceNetworkAclEntry replaces an existing numbered rule.
func (s *Service) ReplaceNetworkAclEntry(ctx context.Context, account string, in NetworkAclEntryInput) error {
	return s.update(ctx, in.DryRun, func(tx store.Tx) error {
		e, err := networkAclEntryOf(in)
		if err != nil {
			return err
		}
		acl, err := loadNetworkAcl(tx, account, in.NetworkAclID)
		if err != nil {
			return err
		}
		i, err := findNetworkAclEntry(acl, e.RuleNumber, e.Egress)
		if err != nil {
			return err
		}
		acl.Entries[i] = e
		return putRecord(tx, networkAclKey(account, acl.ID), acl)
	})
}

// DeleteNetworkAclEntry removes a numbered rule.
func (s *Service) DeleteNetworkAclEntry(ctx context.Context, account string, in DeleteNetworkAclEntryInput) error {
	return s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if in.NetworkAclID == "" {
			return awsapi.ErrMissingParameter("networkAclId")
		}
		n, err := ruleNumberOf(in.RuleNumber)
		if err != nil {
			return err
		}
		acl, err := loadNetworkAcl(tx, account, in.NetworkAclID)
		if err != nil {
			return err
		}
		i, err := findNetworkAclEntry(acl, n, in.Egress)
		if err != nil {
			return err
		}
		acl.Entries = append(acl.Entries[:i], acl.Entries[i+1:]...)
		return putRecord(tx, networkAclKey(account, acl.ID), acl)
	})
}

func findNetworkAclEntry(acl *model.NetworkAcl, n int32, egress bool) (int, error) {
	for i, e := range acl.Entries {
		if e.RuleNumber == n && e.Egress == egress {
			return i, nil
		}
	}
	dir := "ingress"
	if egress {
		dir = "egress"
	}
	return 0, awsapi.Errorf("InvalidNetworkAclEntry.NotFound", "no %s entry with number %d", dir, n)
}

// sortNetworkAclEntries orders entries as AWS lists them: egress before
// ingress, each by rule number.
func sortNetworkAclEntries(es []model.NetworkAclEntry) {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Egress != es[j].Egress {
			return es[i].Egress
		}
		return es[i].RuleNumber < es[j].RuleNumber
	})
}

func ruleNumberOf(n *int32) (int32, error) {
	if n == nil {
		return 0, awsapi.ErrMissingParameter("ruleNumber")
	}
	if *n < 1 || *n >= model.NetworkAclDefaultRuleNumber {
		return 0, awsapi.ErrInvalidParameterValue("Value (%d) for parameter ruleNumber is invalid. Rule number must be between 1 and 32766.", *n)
	}
	return *n, nil
}

// networkAclEntryOf validates the parameters of a Create/Replace entry call
// and returns the entry to store: protocol as a number, canonical CIDR, and
// ports or ICMP type/code only where the protocol uses them.
func networkAclEntryOf(in NetworkAclEntryInput) (model.NetworkAclEntry, error) {
	var e model.NetworkAclEntry
	if in.NetworkAclID == "" {
		return e, awsapi.ErrMissingParameter("networkAclId")
	}
	n, err := ruleNumberOf(in.RuleNumber)
	if err != nil {
		return e, err
	}
	if in.Protocol == "" {
		return e, awsapi.ErrMissingParameter("protocol")
	}
	proto, err := parseAclProtocol(in.Protocol)
	if err != nil {
		return e, err
	}
	if in.RuleAction == "" {
		return e, awsapi.ErrMissingParameter("ruleAction")
	}
	action := strings.ToLower(in.RuleAction)
	if action != model.RuleActionAllow && action != model.RuleActionDeny {
		return e, awsapi.ErrInvalidParameterValue("Value (%s) for parameter ruleAction is invalid. Valid values are allow and deny.", in.RuleAction)
	}
	e = model.NetworkAclEntry{RuleNumber: n, Egress: in.Egress, Protocol: proto, RuleAction: action}
	switch {
	case in.CidrBlock == "" && in.Ipv6CidrBlock == "":
		return e, awsapi.ErrMissingParameter("cidrBlock or ipv6CidrBlock")
	case in.CidrBlock != "" && in.Ipv6CidrBlock != "":
		return e, awsapi.Errorf("InvalidParameterCombination", "You may specify only one of cidrBlock and ipv6CidrBlock.")
	case in.CidrBlock != "":
		if e.CidrBlock, err = canonicalAclCIDR("cidrBlock", in.CidrBlock, false); err != nil {
			return e, err
		}
	default:
		if e.Ipv6CidrBlock, err = canonicalAclCIDR("ipv6CidrBlock", in.Ipv6CidrBlock, true); err != nil {
			return e, err
		}
	}
	switch {
	case proto == "6" || proto == "17":
		if in.PortRange == nil || in.PortRange.From == nil || in.PortRange.To == nil {
			return e, awsapi.ErrMissingParameter("portRange")
		}
		from, to := *in.PortRange.From, *in.PortRange.To
		for _, p := range []int32{from, to} {
			if p < 0 || p > 65535 {
				return e, awsapi.ErrInvalidParameterValue("Value (%d) for parameter portRange is invalid. Ports must be between 0 and 65535.", p)
			}
		}
		if from > to {
			return e, awsapi.ErrInvalidParameterValue("Invalid port range: from port %d is greater than to port %d.", from, to)
		}
		e.PortFrom, e.PortTo = &from, &to
	case proto == "1" || (proto == "58" && e.Ipv6CidrBlock != ""):
		if in.Icmp == nil || in.Icmp.Type == nil || in.Icmp.Code == nil {
			return e, awsapi.ErrMissingParameter("icmpTypeCode")
		}
		typ, code := *in.Icmp.Type, *in.Icmp.Code
		if typ < -1 || typ > 255 {
			return e, awsapi.ErrInvalidParameterValue("Value (%d) for parameter icmpTypeCode.type is invalid.", typ)
		}
		if code < -1 || code > 255 {
			return e, awsapi.ErrInvalidParameterValue("Value (%d) for parameter icmpTypeCode.code is invalid.", code)
		}
		e.IcmpType, e.IcmpCode = &typ, &code
	}
	return e, nil
}

// parseAclProtocol canonicalises an ACL entry protocol to its number ("-1"
// for all). The names tcp, udp, icmp and icmpv6 are accepted, as the AWS CLI
// documents, and stored as 6, 17, 1 and 58.
func parseAclProtocol(p string) (string, error) {
	switch strings.ToLower(p) {
	case "-1":
		return "-1", nil
	case model.ProtocolTCP:
		return "6", nil
	case model.ProtocolUDP:
		return "17", nil
	case model.ProtocolICMP:
		return "1", nil
	case model.ProtocolICMPv6:
		return "58", nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 255 {
		return "", awsapi.ErrInvalidParameterValue("Invalid value '%s' for IP protocol. Unknown protocol.", p)
	}
	return strconv.Itoa(n), nil
}

func canonicalAclCIDR(param, s string, v6 bool) (string, error) {
	c, err := canonicalCIDR(s, v6)
	if err != nil {
		return "", awsapi.ErrInvalidParameterValue("Value (%s) for parameter %s is invalid. This is not a valid CIDR block.", s, param)
	}
	return c, nil
}

// ReplaceNetworkAclAssociation moves the subnet of one of the caller's ACL
// associations to another ACL of the same VPC and returns the new
// association's id.
func (s *Service) ReplaceNetworkAclAssociation(ctx context.Context, account string, in ReplaceNetworkAclAssociationInput) (string, error) {
	var newID string
	err := s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if in.AssociationID == "" {
			return awsapi.ErrMissingParameter("associationId")
		}
		if in.NetworkAclID == "" {
			return awsapi.ErrMissingParameter("networkAclId")
		}
		if err := idNetworkAclAssoc.check(in.AssociationID); err != nil {
			return err
		}
		target, err := loadNetworkAcl(tx, account, in.NetworkAclID)
		if err != nil {
			return err
		}
		acls, err := listNetworkAcls(tx, account)
		if err != nil {
			return err
		}
		var from *model.NetworkAcl
		var assoc model.NetworkAclAssociation
		for _, a := range acls {
			for _, as := range a.Associations {
				if as.ID == in.AssociationID {
					from, assoc = a, as
				}
			}
		}
		if from == nil {
			return idNetworkAclAssoc.notFound(in.AssociationID)
		}
		if from.VpcID != target.VpcID {
			return awsapi.ErrInvalidParameterValue("Network acl %s and subnet %s belong to different networks", target.ID, assoc.SubnetID)
		}
		newID = model.NewID(model.PrefixNetworkAclAssoc)
		if from.ID == target.ID {
			target = from
		}
		from.Associations = removeAssociation(from.Associations, assoc.ID)
		target.Associations = append(target.Associations, model.NetworkAclAssociation{ID: newID, SubnetID: assoc.SubnetID})
		if from != target {
			if err := putRecord(tx, networkAclKey(account, from.ID), from); err != nil {
				return err
			}
		}
		return putRecord(tx, networkAclKey(account, target.ID), target)
	})
	if err != nil {
		return "", err
	}
	return newID, nil
}

func removeAssociation(list []model.NetworkAclAssociation, id string) []model.NetworkAclAssociation {
	out := list[:0:0]
	for _, as := range list {
		if as.ID != id {
			out = append(out, as)
		}
	}
	return out
}

// DescribeNetworkAcls lists the caller's ACLs, sorted by id. NetworkAclId.N
// must all exist.
func (s *Service) DescribeNetworkAcls(ctx context.Context, account string, in DescribeNetworkAclsInput) (DescribeNetworkAclsOutput, error) {
	var out DescribeNetworkAclsOutput
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if err := idNetworkAcl.checkDescribe(in.NetworkAclIDs, in.Page, "networkAclIdSet"); err != nil {
			return err
		}
		acls, err := selectOwned[model.NetworkAcl](tx, idNetworkAcl, account, in.NetworkAclIDs)
		if err != nil {
			return err
		}
		items, err := networkAclFilters.apply(acls, in.Filters)
		if err != nil {
			return err
		}
		out.NetworkAcls, out.NextToken, err = paginate(items, func(a *model.NetworkAcl) string { return a.ID }, in.Page, 5, 1000)
		return err
	})
	return out, err
}

var networkAclFilters = filterDefs[*model.NetworkAcl]{
	fields: map[string]func(*model.NetworkAcl) []string{
		"association.association-id": assocValues(func(a *model.NetworkAcl, as model.NetworkAclAssociation) string { return as.ID }),
		"association.network-acl-id": assocValues(func(a *model.NetworkAcl, as model.NetworkAclAssociation) string { return a.ID }),
		"association.subnet-id":      assocValues(func(a *model.NetworkAcl, as model.NetworkAclAssociation) string { return as.SubnetID }),
		"default":                    func(a *model.NetworkAcl) []string { return []string{strconv.FormatBool(a.IsDefault)} },
		"entry.cidr":                 entryValues(func(e model.NetworkAclEntry) []string { return nonEmpty(e.CidrBlock) }),
		"entry.icmp.code":            entryValues(func(e model.NetworkAclEntry) []string { return int32Value(e.IcmpCode) }),
		"entry.icmp.type":            entryValues(func(e model.NetworkAclEntry) []string { return int32Value(e.IcmpType) }),
		"entry.ipv6-cidr":            entryValues(func(e model.NetworkAclEntry) []string { return nonEmpty(e.Ipv6CidrBlock) }),
		"entry.port-range.from":      entryValues(func(e model.NetworkAclEntry) []string { return int32Value(e.PortFrom) }),
		"entry.port-range.to":        entryValues(func(e model.NetworkAclEntry) []string { return int32Value(e.PortTo) }),
		"entry.protocol":             entryValues(aclProtocolFilterValues),
		"entry.rule-action":          entryValues(func(e model.NetworkAclEntry) []string { return []string{e.RuleAction} }),
		"entry.egress":               entryValues(func(e model.NetworkAclEntry) []string { return []string{strconv.FormatBool(e.Egress)} }),
		"entry.rule-number":          entryValues(func(e model.NetworkAclEntry) []string { return []string{strconv.Itoa(int(e.RuleNumber))} }),
		"network-acl-id":             func(a *model.NetworkAcl) []string { return []string{a.ID} },
		"owner-id":                   func(a *model.NetworkAcl) []string { return []string{a.OwnerID} },
		"vpc-id":                     func(a *model.NetworkAcl) []string { return []string{a.VpcID} },
	},
	tags: tagFilterValues[*model.NetworkAcl],
}

func assocValues(f func(*model.NetworkAcl, model.NetworkAclAssociation) string) func(*model.NetworkAcl) []string {
	return func(a *model.NetworkAcl) []string {
		var out []string
		for _, as := range a.Associations {
			out = append(out, f(a, as))
		}
		return out
	}
}

func entryValues(f func(model.NetworkAclEntry) []string) func(*model.NetworkAcl) []string {
	return func(a *model.NetworkAcl) []string {
		var out []string
		for _, e := range a.Entries {
			out = append(out, f(e)...)
		}
		return out
	}
}

// aclProtocolFilterValues lets entry.protocol match by number or by the
// names the filter documentation lists (tcp | udp | icmp).
func aclProtocolFilterValues(e model.NetworkAclEntry) []string {
	names := map[string]string{"6": model.ProtocolTCP, "17": model.ProtocolUDP, "1": model.ProtocolICMP, "58": model.ProtocolICMPv6}
	if n, ok := names[e.Protocol]; ok {
		return []string{e.Protocol, n}
	}
	return []string{e.Protocol}
}

func int32Value(p *int32) []string {
	if p == nil {
		return nil
	}
	return []string{strconv.Itoa(int(*p))}
}

// loadNetworkAcl reads one of the caller's ACLs.
func loadNetworkAcl(tx store.ReadTx, account, id string) (*model.NetworkAcl, error) {
	if id == "" {
		return nil, awsapi.ErrMissingParameter("networkAclId")
	}
	return loadOwned[model.NetworkAcl](tx, idNetworkAcl, account, id)
}

// listNetworkAcls reads every ACL of account, sorted by id.
func listNetworkAcls(tx store.ReadTx, account string) ([]*model.NetworkAcl, error) {
	return listOwned[model.NetworkAcl](tx, idNetworkAcl, account)
}

func networkAclKey(account, id string) string {
	return store.Key(store.KindNetworkAcl, account, id)
}

func networkAclTokenKey(account, token string) string {
	return store.KindIndex + "/networkacl-client-token/" + account + "/" + token
}
