package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
)

var (
	_ CreateSecurityGroupAPI           = (*API)(nil)
	_ DescribeSecurityGroupsAPI        = (*API)(nil)
	_ DeleteSecurityGroupAPI           = (*API)(nil)
	_ AuthorizeSecurityGroupIngressAPI = (*API)(nil)
	_ AuthorizeSecurityGroupEgressAPI  = (*API)(nil)
	_ RevokeSecurityGroupIngressAPI    = (*API)(nil)
	_ RevokeSecurityGroupEgressAPI     = (*API)(nil)
	_ DescribeSecurityGroupRulesAPI    = (*API)(nil)
)

// CreateSecurityGroup implements CreateSecurityGroupAPI.
func (a *API) CreateSecurityGroup(ctx context.Context, req *awsapi.Request, in *CreateSecurityGroupInput) (*CreateSecurityGroupOutput, error) {
	g, err := a.cp.CreateSecurityGroup(ctx, req.Caller.AccountID, controlplane.CreateSecurityGroupInput{
		GroupName:   deref(in.GroupName),
		Description: deref(in.Description),
		VpcID:       deref(in.VpcId),
		TagSpecs:    tagSpecsIn(in.TagSpecifications),
		DryRun:      deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &CreateSecurityGroupOutput{
		GroupId:          ptr(g.ID),
		SecurityGroupArn: ptr(a.cp.SecurityGroupARN(g.OwnerID, g.ID)),
		Tags:             tagsOut(g.Tags),
	}, nil
}

// DescribeSecurityGroups implements DescribeSecurityGroupsAPI.
func (a *API) DescribeSecurityGroups(ctx context.Context, req *awsapi.Request, in *DescribeSecurityGroupsInput) (*DescribeSecurityGroupsOutput, error) {
	res, err := a.cp.DescribeSecurityGroups(ctx, req.Caller.AccountID, controlplane.DescribeSecurityGroupsInput{
		GroupIDs:   in.GroupIds,
		GroupNames: in.GroupNames,
		Filters:    filtersIn(in.Filters),
		Page:       pageIn(in.MaxResults, in.NextToken),
		DryRun:     deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	out := &DescribeSecurityGroupsOutput{SecurityGroups: make([]SecurityGroup, 0, len(res.SecurityGroups)), NextToken: optStr(res.NextToken)}
	for _, g := range res.SecurityGroups {
		out.SecurityGroups = append(out.SecurityGroups, SecurityGroup{
			GroupId:             ptr(g.ID),
			GroupName:           ptr(g.Name),
			Description:         ptr(g.Description),
			OwnerId:             ptr(g.OwnerID),
			VpcId:               ptr(g.VpcID),
			SecurityGroupArn:    ptr(a.cp.SecurityGroupARN(g.OwnerID, g.ID)),
			IpPermissions:       ipPermissionsOut(controlplane.GroupIPPermissions(g.Ingress)),
			IpPermissionsEgress: ipPermissionsOut(controlplane.GroupIPPermissions(g.Egress)),
			Tags:                tagsOut(g.Tags),
		})
	}
	return out, nil
}

// DeleteSecurityGroup implements DeleteSecurityGroupAPI.
func (a *API) DeleteSecurityGroup(ctx context.Context, req *awsapi.Request, in *DeleteSecurityGroupInput) (*DeleteSecurityGroupOutput, error) {
	id, err := a.cp.DeleteSecurityGroup(ctx, req.Caller.AccountID, controlplane.DeleteSecurityGroupInput{
		GroupID:   deref(in.GroupId),
		GroupName: deref(in.GroupName),
		DryRun:    deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DeleteSecurityGroupOutput{GroupId: ptr(id), Return: ptr(true)}, nil
}

// AuthorizeSecurityGroupIngress implements AuthorizeSecurityGroupIngressAPI.
func (a *API) AuthorizeSecurityGroupIngress(ctx context.Context, req *awsapi.Request, in *AuthorizeSecurityGroupIngressInput) (*AuthorizeSecurityGroupIngressOutput, error) {
	rules, err := a.cp.AuthorizeSecurityGroupIngress(ctx, req.Caller.AccountID, controlplane.AuthorizeSecurityGroupInput{
		GroupID:       deref(in.GroupId),
		GroupName:     deref(in.GroupName),
		IPPermissions: ipPermissionsIn(in.IpPermissions),
		Legacy:        legacyIn(in.IpProtocol, in.FromPort, in.ToPort, in.CidrIp, in.SourceSecurityGroupName, in.SourceSecurityGroupOwnerId),
		TagSpecs:      tagSpecsIn(in.TagSpecifications),
		DryRun:        deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &AuthorizeSecurityGroupIngressOutput{Return: ptr(true), SecurityGroupRules: securityGroupRulesOut(rules)}, nil
}

// AuthorizeSecurityGroupEgress implements AuthorizeSecurityGroupEgressAPI.
// The flat parameters are documented as not supported for egress and are
// not passed on.
func (a *API) AuthorizeSecurityGroupEgress(ctx context.Context, req *awsapi.Request, in *AuthorizeSecurityGroupEgressInput) (*AuthorizeSecurityGroupEgressOutput, error) {
	rules, err := a.cp.AuthorizeSecurityGroupEgress(ctx, req.Caller.AccountID, controlplane.AuthorizeSecurityGroupInput{
		GroupID:       deref(in.GroupId),
		IPPermissions: ipPermissionsIn(in.IpPermissions),
		TagSpecs:      tagSpecsIn(in.TagSpecifications),
		DryRun:        deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &AuthorizeSecurityGroupEgressOutput{Return: ptr(true), SecurityGroupRules: securityGroupRulesOut(rules)}, nil
}

// RevokeSecurityGroupIngress implements RevokeSecurityGroupIngressAPI.
func (a *API) RevokeSecurityGroupIngress(ctx context.Context, req *awsapi.Request, in *RevokeSecurityGroupIngressInput) (*RevokeSecurityGroupIngressOutput, error) {
	rules, err := a.cp.RevokeSecurityGroupIngress(ctx, req.Caller.AccountID, controlplane.RevokeSecurityGroupInput{
		GroupID:              deref(in.GroupId),
		GroupName:            deref(in.GroupName),
		IPPermissions:        ipPermissionsIn(in.IpPermissions),
		Legacy:               legacyIn(in.IpProtocol, in.FromPort, in.ToPort, in.CidrIp, in.SourceSecurityGroupName, in.SourceSecurityGroupOwnerId),
		SecurityGroupRuleIDs: in.SecurityGroupRuleIds,
		DryRun:               deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &RevokeSecurityGroupIngressOutput{Return: ptr(true), RevokedSecurityGroupRules: revokedRulesOut(rules)}, nil
}

// RevokeSecurityGroupEgress implements RevokeSecurityGroupEgressAPI.
func (a *API) RevokeSecurityGroupEgress(ctx context.Context, req *awsapi.Request, in *RevokeSecurityGroupEgressInput) (*RevokeSecurityGroupEgressOutput, error) {
	rules, err := a.cp.RevokeSecurityGroupEgress(ctx, req.Caller.AccountID, controlplane.RevokeSecurityGroupInput{
		GroupID:              deref(in.GroupId),
		IPPermissions:        ipPermissionsIn(in.IpPermissions),
		SecurityGroupRuleIDs: in.SecurityGroupRuleIds,
		DryRun:               deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &RevokeSecurityGroupEgressOutput{Return: ptr(true), RevokedSecurityGroupRules: revokedRulesOut(rules)}, nil
}

// DescribeSecurityGroupRules implements DescribeSecurityGroupRulesAPI.
func (a *API) DescribeSecurityGroupRules(ctx context.Context, req *awsapi.Request, in *DescribeSecurityGroupRulesInput) (*DescribeSecurityGroupRulesOutput, error) {
	res, err := a.cp.DescribeSecurityGroupRules(ctx, req.Caller.AccountID, controlplane.DescribeSecurityGroupRulesInput{
		SecurityGroupRuleIDs: in.SecurityGroupRuleIds,
		Filters:              filtersIn(in.Filters),
		Page:                 pageIn(in.MaxResults, in.NextToken),
		DryRun:               deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeSecurityGroupRulesOutput{SecurityGroupRules: securityGroupRulesOut(res.SecurityGroupRules), NextToken: optStr(res.NextToken)}, nil
}

// ipPermissionsIn converts IpPermissions.N.
func ipPermissionsIn(in []IpPermission) []controlplane.IPPermission {
	if len(in) == 0 {
		return nil
	}
	out := make([]controlplane.IPPermission, 0, len(in))
	for _, p := range in {
		cp := controlplane.IPPermission{IPProtocol: deref(p.IpProtocol), FromPort: p.FromPort, ToPort: p.ToPort}
		for _, r := range p.IpRanges {
			cp.IPRanges = append(cp.IPRanges, controlplane.IPRange{CidrIP: deref(r.CidrIp), Description: deref(r.Description)})
		}
		for _, r := range p.Ipv6Ranges {
			cp.IPv6Ranges = append(cp.IPv6Ranges, controlplane.IPv6Range{CidrIPv6: deref(r.CidrIpv6), Description: deref(r.Description)})
		}
		for _, r := range p.PrefixListIds {
			cp.PrefixListIDs = append(cp.PrefixListIDs, controlplane.PrefixListID{PrefixListID: deref(r.PrefixListId), Description: deref(r.Description)})
		}
		for _, g := range p.UserIdGroupPairs {
			cp.UserIDGroupPairs = append(cp.UserIDGroupPairs, controlplane.UserIDGroupPair{
				GroupID: deref(g.GroupId), GroupName: deref(g.GroupName), UserID: deref(g.UserId), Description: deref(g.Description),
			})
		}
		out = append(out, cp)
	}
	return out
}

// legacyIn converts the flat IpProtocol/FromPort/ToPort/CidrIp/
// SourceSecurityGroup* parameters.
func legacyIn(protocol *string, from, to *int32, cidr, sourceName, sourceOwner *string) controlplane.LegacyPermission {
	return controlplane.LegacyPermission{
		IPProtocol:                 deref(protocol),
		FromPort:                   from,
		ToPort:                     to,
		CidrIP:                     deref(cidr),
		SourceSecurityGroupName:    deref(sourceName),
		SourceSecurityGroupOwnerID: deref(sourceOwner),
	}
}

// ipPermissionsOut converts a group's folded rules to ipPermissions.
// AWS always sends the permission lists and their peer lists, empty or not,
// so they are never nil here.
func ipPermissionsOut(in []controlplane.IPPermission) []IpPermission {
	out := make([]IpPermission, 0, len(in))
	for _, p := range in {
		w := IpPermission{
			IpProtocol: ptr(p.IPProtocol), FromPort: p.FromPort, ToPort: p.ToPort,
			IpRanges: []IpRange{}, Ipv6Ranges: []Ipv6Range{}, PrefixListIds: []PrefixListId{}, UserIdGroupPairs: []UserIdGroupPair{},
		}
		for _, r := range p.IPRanges {
			w.IpRanges = append(w.IpRanges, IpRange{CidrIp: ptr(r.CidrIP), Description: optStr(r.Description)})
		}
		for _, r := range p.IPv6Ranges {
			w.Ipv6Ranges = append(w.Ipv6Ranges, Ipv6Range{CidrIpv6: ptr(r.CidrIPv6), Description: optStr(r.Description)})
		}
		for _, r := range p.PrefixListIDs {
			w.PrefixListIds = append(w.PrefixListIds, PrefixListId{PrefixListId: ptr(r.PrefixListID), Description: optStr(r.Description)})
		}
		for _, g := range p.UserIDGroupPairs {
			w.UserIdGroupPairs = append(w.UserIdGroupPairs, UserIdGroupPair{GroupId: ptr(g.GroupID), UserId: optStr(g.UserID), Description: optStr(g.Description)})
		}
		out = append(out, w)
	}
	return out
}

// securityGroupRulesOut converts rules to securityGroupRuleSet items. A rule
// reports fromPort/toPort -1 when its protocol has no ports, as AWS does here
// (unlike in ipPermissions).
func securityGroupRulesOut(in []controlplane.SecurityGroupRuleInfo) []SecurityGroupRule {
	out := make([]SecurityGroupRule, 0, len(in))
	for _, r := range in {
		w := SecurityGroupRule{
			SecurityGroupRuleId:  ptr(r.Rule.ID),
			GroupId:              ptr(r.GroupID),
			GroupOwnerId:         ptr(r.GroupOwnerID),
			IsEgress:             ptr(r.IsEgress),
			IpProtocol:           ptr(r.Rule.Protocol),
			FromPort:             ptr(r.Rule.FromPort),
			ToPort:               ptr(r.Rule.ToPort),
			CidrIpv4:             optStr(r.Rule.CidrIPv4),
			CidrIpv6:             optStr(r.Rule.CidrIPv6),
			PrefixListId:         optStr(r.Rule.PrefixList),
			Description:          optStr(r.Rule.Description),
			Tags:                 tagsOut(r.Rule.Tags),
			SecurityGroupRuleArn: ptr(r.ARN),
		}
		if r.Rule.GroupID != "" {
			w.ReferencedGroupInfo = referencedGroupOut(r.Rule)
		}
		out = append(out, w)
	}
	return out
}

func referencedGroupOut(r model.SecurityGroupRule) *ReferencedSecurityGroup {
	return &ReferencedSecurityGroup{GroupId: ptr(r.GroupID), UserId: optStr(r.GroupOwner)}
}

// revokedRulesOut converts revoked rules to revokedSecurityGroupRuleSet items.
func revokedRulesOut(in []controlplane.SecurityGroupRuleInfo) []RevokedSecurityGroupRule {
	if len(in) == 0 {
		return nil
	}
	out := make([]RevokedSecurityGroupRule, 0, len(in))
	for _, r := range in {
		out = append(out, RevokedSecurityGroupRule{
			SecurityGroupRuleId: ptr(r.Rule.ID),
			GroupId:             ptr(r.GroupID),
			IsEgress:            ptr(r.IsEgress),
			IpProtocol:          ptr(r.Rule.Protocol),
			FromPort:            ptr(r.Rule.FromPort),
			ToPort:              ptr(r.Rule.ToPort),
			CidrIpv4:            optStr(r.Rule.CidrIPv4),
			CidrIpv6:            optStr(r.Rule.CidrIPv6),
			PrefixListId:        optStr(r.Rule.PrefixList),
			ReferencedGroupId:   optStr(r.Rule.GroupID),
			Description:         optStr(r.Rule.Description),
		})
	}
	return out
}
