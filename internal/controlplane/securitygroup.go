package controlplane

import (
	"context"
	"strconv"
	"strings"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// Security group names and descriptions: at most 255 characters from
// a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$* (the VPC character set).
const (
	maxSecurityGroupTextLen = 255
	securityGroupTextChars  = "._-:/()#,@[]+=&;{}!$* "
	defaultGroupName        = "default"
	defaultGroupDescription = "default VPC security group"
)

// CreateSecurityGroupInput is the input of CreateSecurityGroup.
type CreateSecurityGroupInput struct {
	GroupName   string
	Description string // GroupDescription
	VpcID       string
	TagSpecs    []TagSpec
	DryRun      bool
}

// DescribeSecurityGroupsInput is the input of DescribeSecurityGroups.
type DescribeSecurityGroupsInput struct {
	GroupIDs   []string
	GroupNames []string
	Filters    []Filter
	Page       Page
	DryRun     bool
}

// DescribeSecurityGroupsOutput is one page of DescribeSecurityGroups.
type DescribeSecurityGroupsOutput struct {
	SecurityGroups []*model.SecurityGroup
	NextToken      string
}

// DeleteSecurityGroupInput is the input of DeleteSecurityGroup.
type DeleteSecurityGroupInput struct {
	GroupID   string
	GroupName string
	DryRun    bool
}

// SecurityGroupARN is the ARN of a security group.
func (s *Service) SecurityGroupARN(owner, groupID string) string {
	return s.ec2ARN(owner, "security-group", groupID)
}

// SecurityGroupRuleARN is the ARN of a security group rule.
func (s *Service) SecurityGroupRuleARN(owner, ruleID string) string {
	return s.ec2ARN(owner, "security-group-rule", ruleID)
}

func (s *Service) ec2ARN(owner, resourceType, id string) string {
	return "arn:aws:ec2:" + s.region + ":" + owner + ":" + resourceType + "/" + id
}

// errNoDefaultVpc is AWS's answer to a call that needs a default VPC: a
// missing VpcId, or a security group named instead of given by id. privlink
// never has a default VPC, like an account whose default VPC was deleted.
func errNoDefaultVpc() error {
	return awsapi.Errorf("VPCIdNotSpecified", "No default VPC for this user")
}

// CreateSecurityGroup creates a group in one of the caller's VPCs with AWS's
// default egress rule (all traffic to 0.0.0.0/0) and no ingress rule.
func (s *Service) CreateSecurityGroup(ctx context.Context, account string, in CreateSecurityGroupInput) (*model.SecurityGroup, error) {
	var out *model.SecurityGroup
	err := s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if in.GroupName == "" {
			return awsapi.ErrMissingParameter("groupName")
		}
		if in.Description == "" {
			return awsapi.ErrMissingParameter("groupDescription")
		}
		if err := validateSecurityGroupText("GroupName", in.GroupName); err != nil {
			return err
		}
		if strings.HasPrefix(strings.ToLower(in.GroupName), model.PrefixSecurityGroup+"-") {
			return awsapi.ErrInvalidParameterValue("Group names may not be in the format sg-*")
		}
		if err := validateSecurityGroupText("GroupDescription", in.Description); err != nil {
			return err
		}
		if in.VpcID == "" {
			return errNoDefaultVpc()
		}
		vpc, err := loadVpc(tx, account, in.VpcID)
		if err != nil {
			return err
		}
		tags, err := applyTagSpecs("security-group", in.TagSpecs)
		if err != nil {
			return err
		}
		groups, err := listSecurityGroups(tx, account)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if g.VpcID == vpc.ID && strings.EqualFold(g.Name, in.GroupName) {
				return awsapi.Errorf("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", in.GroupName, vpc.ID)
			}
		}
		g := &model.SecurityGroup{
			ID:          model.NewID(model.PrefixSecurityGroup),
			OwnerID:     account,
			VpcID:       vpc.ID,
			Name:        in.GroupName,
			Description: in.Description,
			Egress:      []model.SecurityGroupRule{allTrafficTo("0.0.0.0/0")},
			Tags:        tags,
		}
		out = g
		return putRecord(tx, securityGroupKey(account, g.ID), g)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// validateSecurityGroupText checks a group name or description (param is its
// wire name) against AWS's length and character set.
func validateSecurityGroupText(param, v string) error {
	for _, r := range v {
		if r > 0x7f {
			return awsapi.ErrInvalidParameterValue("Value (%s) for parameter %s is invalid. Character sets beyond ASCII are not supported.", v, param)
		}
	}
	if len(v) > maxSecurityGroupTextLen {
		return awsapi.ErrInvalidParameterValue("Value (%s) for parameter %s is invalid. Length exceeds maximum of %d characters.", v, param, maxSecurityGroupTextLen)
	}
	if !securityGroupTextOK(v) {
		return awsapi.ErrInvalidParameterValue("Value (%s) for parameter %s is invalid. Valid characters are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*", v, param)
	}
	return nil
}

func securityGroupTextOK(v string) bool {
	for _, r := range v {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(securityGroupTextChars, r):
		default:
			return false
		}
	}
	return true
}

// allTrafficTo is the rule "all protocols, all ports, to/from cidr" that AWS
// puts in every new group's egress.
func allTrafficTo(cidr string) model.SecurityGroupRule {
	return model.SecurityGroupRule{
		ID:       model.NewID(model.PrefixSecurityGroupRule),
		Protocol: model.ProtocolAll,
		FromPort: -1,
		ToPort:   -1,
		CidrIPv4: cidr,
	}
}

// DescribeSecurityGroups lists the caller's groups, sorted by id. GroupId.N
// must all exist; GroupName.N needs a default VPC, which privlink never has.
func (s *Service) DescribeSecurityGroups(ctx context.Context, account string, in DescribeSecurityGroupsInput) (DescribeSecurityGroupsOutput, error) {
	var out DescribeSecurityGroupsOutput
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if len(in.GroupNames) > 0 {
			return errNoDefaultVpc()
		}
		if err := idSecurityGroup.checkDescribe(in.GroupIDs, in.Page, "groupIdSet"); err != nil {
			return err
		}
		groups, err := listSecurityGroups(tx, account)
		if err != nil {
			return err
		}
		all := groups
		if len(in.GroupIDs) > 0 {
			if groups, err = selectByID(groups, func(g *model.SecurityGroup) string { return g.ID }, in.GroupIDs, idSecurityGroup); err != nil {
				return err
			}
		}
		items, err := securityGroupFilters(all).apply(groups, in.Filters)
		if err != nil {
			return err
		}
		out.SecurityGroups, out.NextToken, err = paginate(items, func(g *model.SecurityGroup) string { return g.ID }, in.Page, 5, 1000)
		return err
	})
	return out, err
}

// securityGroupFilters are the DescribeSecurityGroups filters. names maps
// the id of every group in groups to its name, for ip-permission.group-name.
func securityGroupFilters(groups []*model.SecurityGroup) filterDefs[*model.SecurityGroup] {
	names := make(map[string]string, len(groups))
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	one := func(f func(g *model.SecurityGroup) string) func(*model.SecurityGroup) []string {
		return func(g *model.SecurityGroup) []string { return []string{f(g)} }
	}
	fields := map[string]func(*model.SecurityGroup) []string{
		"description": one(func(g *model.SecurityGroup) string { return g.Description }),
		"group-id":    one(func(g *model.SecurityGroup) string { return g.ID }),
		"group-name":  one(func(g *model.SecurityGroup) string { return g.Name }),
		"owner-id":    one(func(g *model.SecurityGroup) string { return g.OwnerID }),
		"vpc-id":      one(func(g *model.SecurityGroup) string { return g.VpcID }),
	}
	ruleFields := map[string]func(r model.SecurityGroupRule) []string{
		"cidr":           func(r model.SecurityGroupRule) []string { return nonEmpty(r.CidrIPv4) },
		"ipv6-cidr":      func(r model.SecurityGroupRule) []string { return nonEmpty(r.CidrIPv6) },
		"prefix-list-id": func(r model.SecurityGroupRule) []string { return nonEmpty(r.PrefixList) },
		"group-id":       func(r model.SecurityGroupRule) []string { return nonEmpty(r.GroupID) },
		"group-name": func(r model.SecurityGroupRule) []string {
			if r.GroupID == "" {
				return nil
			}
			return nonEmpty(names[r.GroupID])
		},
		"user-id": func(r model.SecurityGroupRule) []string {
			if r.GroupID == "" {
				return nil
			}
			return nonEmpty(r.GroupOwner)
		},
		"protocol": protocolFilterValues,
		"from-port": func(r model.SecurityGroupRule) []string {
			if !r.HasPorts() {
				return nil
			}
			return []string{strconv.Itoa(int(r.FromPort))}
		},
		"to-port": func(r model.SecurityGroupRule) []string {
			if !r.HasPorts() {
				return nil
			}
			return []string{strconv.Itoa(int(r.ToPort))}
		},
	}
	for name, f := range ruleFields {
		fields["ip-permission."+name] = rulesValues(false, f)
		fields["egress.ip-permission."+name] = rulesValues(true, f)
	}
	return filterDefs[*model.SecurityGroup]{fields: fields, tags: tagFilterValues[*model.SecurityGroup]}
}

// rulesValues collects f over a group's ingress or egress rules.
func rulesValues(egress bool, f func(model.SecurityGroupRule) []string) func(*model.SecurityGroup) []string {
	return func(g *model.SecurityGroup) []string {
		rules := g.Ingress
		if egress {
			rules = g.Egress
		}
		var out []string
		for _, r := range rules {
			out = append(out, f(r)...)
		}
		return out
	}
}

// protocolFilterValues lets a protocol filter match a rule by name or by
// number ("tcp" or "6"), as the filter documentation allows both.
func protocolFilterValues(r model.SecurityGroupRule) []string {
	if n := model.IPProtocolNumber(r.Protocol); strconv.Itoa(n) != r.Protocol {
		return []string{r.Protocol, strconv.Itoa(n)}
	}
	return []string{r.Protocol}
}

func nonEmpty(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

// DeleteSecurityGroup deletes one of the caller's groups and returns its id.
// The default group cannot be deleted, nor a group that another group's
// rule references.
func (s *Service) DeleteSecurityGroup(ctx context.Context, account string, in DeleteSecurityGroupInput) (string, error) {
	var id string
	err := s.update(ctx, in.DryRun, func(tx store.Tx) error {
		g, err := s.securityGroupByIDOrName(tx, account, in.GroupID, in.GroupName)
		if err != nil {
			return err
		}
		if g.Name == defaultGroupName {
			return awsapi.Errorf("CannotDelete", "the specified group: \"%s\" name: \"%s\" cannot be deleted by a user", g.ID, g.Name)
		}
		groups, err := listSecurityGroups(tx, account)
		if err != nil {
			return err
		}
		for _, o := range groups {
			if o.ID != g.ID && referencesGroup(o, g.ID) {
				return awsapi.Errorf("DependencyViolation", "resource %s has a dependent object", g.ID)
			}
		}
		if err := s.checkGroupUnused(tx, g); err != nil {
			return err
		}
		id = g.ID
		return tx.Delete(securityGroupKey(account, g.ID))
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// referencesGroup reports whether any rule of g names group id as its peer.
func referencesGroup(g *model.SecurityGroup, id string) bool {
	for _, rules := range [][]model.SecurityGroupRule{g.Ingress, g.Egress} {
		for _, r := range rules {
			if r.GroupID == id {
				return true
			}
		}
	}
	return false
}

// securityGroupByIDOrName resolves the GroupId/GroupName pair of a call
// that acts on one group. A name alone needs a default VPC.
func (s *Service) securityGroupByIDOrName(tx store.ReadTx, account, id, name string) (*model.SecurityGroup, error) {
	if id == "" {
		if name == "" {
			return nil, awsapi.ErrMissingParameter("groupName or groupId")
		}
		return nil, errNoDefaultVpc()
	}
	return loadSecurityGroup(tx, account, id)
}

// loadSecurityGroup reads one of the caller's groups.
func loadSecurityGroup(tx store.ReadTx, account, id string) (*model.SecurityGroup, error) {
	return loadOwned[model.SecurityGroup](tx, idSecurityGroup, account, id)
}

// listSecurityGroups reads every group of account, sorted by id.
func listSecurityGroups(tx store.ReadTx, account string) ([]*model.SecurityGroup, error) {
	return listOwned[model.SecurityGroup](tx, idSecurityGroup, account)
}

func securityGroupKey(account, id string) string {
	return store.Key(store.KindSecurityGroup, account, id)
}
