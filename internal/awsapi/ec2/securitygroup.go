package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
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
		GroupName:   wireconv.Deref(in.GroupName),
		Description: wireconv.Deref(in.Description),
		VpcID:       wireconv.Deref(in.VpcId),
		TagSpecs:    tagSpecsIn(in.TagSpecifications),
		DryRun:      wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &CreateSecurityGroupOutput{
		GroupId:          new(g.ID),
		SecurityGroupArn: new(a.cp.SecurityGroupARN(g.OwnerID, g.ID)),
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
		DryRun:     wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	groups := wireconv.All(res.SecurityGroups, func(g *model.SecurityGroup) SecurityGroup {
		return SecurityGroup{
			GroupId:             new(g.ID),
			GroupName:           new(g.Name),
			Description:         new(g.Description),
			OwnerId:             new(g.OwnerID),
			VpcId:               new(g.VpcID),
			SecurityGroupArn:    new(a.cp.SecurityGroupARN(g.OwnerID, g.ID)),
			IpPermissions:       ipPermissionsOut(controlplane.GroupIPPermissions(g.Ingress)),
			IpPermissionsEgress: ipPermissionsOut(controlplane.GroupIPPermissions(g.Egress)),
			Tags:                tagsOut(g.Tags),
		}
	})
	return &DescribeSecurityGroupsOutput{SecurityGroups: groups, NextToken: wireconv.OptString(res.NextToken)}, nil
}

// DeleteSecurityGroup implements DeleteSecurityGroupAPI.
func (a *API) DeleteSecurityGroup(ctx context.Context, req *awsapi.Request, in *DeleteSecurityGroupInput) (*DeleteSecurityGroupOutput, error) {
	id, err := a.cp.DeleteSecurityGroup(ctx, req.Caller.AccountID, controlplane.DeleteSecurityGroupInput{
		GroupID:   wireconv.Deref(in.GroupId),
		GroupName: wireconv.Deref(in.GroupName),
		DryRun:    wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DeleteSecurityGroupOutput{GroupId: new(id), Return: new(true)}, nil
}

// AuthorizeSecurityGroupIngress implements AuthorizeSecurityGroupIngressAPI.
func (a *API) AuthorizeSecurityGroupIngress(ctx context.Context, req *awsapi.Request, in *AuthorizeSecurityGroupIngressInput) (*AuthorizeSecurityGroupIngressOutput, error) {
	rules, err := a.cp.AuthorizeSecurityGroupIngress(ctx, req.Caller.AccountID, controlplane.AuthorizeSecurityGroupInput{
		GroupID:       wireconv.Deref(in.GroupId),
		GroupName:     wireconv.Deref(in.GroupName),
		IPPermissions: ipPermissionsIn(in.IpPermissions),
		Legacy:        legacyIn(in.IpProtocol, in.FromPort, in.ToPort, in.CidrIp, in.SourceSecurityGroupName, in.SourceSecurityGroupOwnerId),
		TagSpecs:      tagSpecsIn(in.TagSpecifications),
		DryRun:        wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &AuthorizeSecurityGroupIngressOutput{Return: new(true), SecurityGroupRules: securityGroupRulesOut(rules)}, nil
}

// AuthorizeSecurityGroupEgress implements AuthorizeSecurityGroupEgressAPI.
// The flat parameters are documented as not supported for egress and are
// not passed on.
func (a *API) AuthorizeSecurityGroupEgress(ctx context.Context, req *awsapi.Request, in *AuthorizeSecurityGroupEgressInput) (*AuthorizeSecurityGroupEgressOutput, error) {
	rules, err := a.cp.AuthorizeSecurityGroupEgress(ctx, req.Caller.AccountID, controlplane.AuthorizeSecurityGroupInput{
		GroupID:       wireconv.Deref(in.GroupId),
		IPPermissions: ipPermissionsIn(in.IpPermissions),
		TagSpecs:      tagSpecsIn(in.TagSpecifications),
		DryRun:        wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &AuthorizeSecurityGroupEgressOutput{Return: new(true), SecurityGroupRules: securityGroupRulesOut(rules)}, nil
}

// RevokeSecurityGroupIngress implements RevokeSecurityGroupIngressAPI.
func (a *API) RevokeSecurityGroupIngress(ctx context.Context, req *awsapi.Request, in *RevokeSecurityGroupIngressInput) (*RevokeSecurityGroupIngressOutput, error) {
	rules, err := a.cp.RevokeSecurityGroupIngress(ctx, req.Caller.AccountID, controlplane.RevokeSecurityGroupInput{
		GroupID:              wireconv.Deref(in.GroupId),
		GroupName:            wireconv.Deref(in.GroupName),
		IPPermissions:        ipPermissionsIn(in.IpPermissions),
		Legacy:               legacyIn(in.IpProtocol, in.FromPort, in.ToPort, in.CidrIp, in.SourceSecurityGroupName, in.SourceSecurityGroupOwnerId),
		SecurityGroupRuleIDs: in.SecurityGroupRuleIds,
		DryRun:               wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &RevokeSecurityGroupIngressOutput{Return: new(true), RevokedSecurityGroupRules: revokedRulesOut(rules)}, nil
}

// RevokeSecurityGroupEgress implements RevokeSecurityGroupEgressAPI.
func (a *API) RevokeSecurityGroupEgress(ctx context.Context, req *awsapi.Request, in *RevokeSecurityGroupEgressInput) (*RevokeSecurityGroupEgressOutput, error) {
	rules, err := a.cp.RevokeSecurityGroupEgress(ctx, req.Caller.AccountID, controlplane.RevokeSecurityGroupInput{
		GroupID:              wireconv.Deref(in.GroupId),
		IPPermissions:        ipPermissionsIn(in.IpPermissions),
		SecurityGroupRuleIDs: in.SecurityGroupRuleIds,
		DryRun:               wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &RevokeSecurityGroupEgressOutput{Return: new(true), RevokedSecurityGroupRules: revokedRulesOut(rules)}, nil
}

// DescribeSecurityGroupRules implements DescribeSecurityGroupRulesAPI.
func (a *API) DescribeSecurityGroupRules(ctx context.Context, req *awsapi.Request, in *DescribeSecurityGroupRulesInput) (*DescribeSecurityGroupRulesOutput, error) {
	res, err := a.cp.DescribeSecurityGroupRules(ctx, req.Caller.AccountID, controlplane.DescribeSecurityGroupRulesInput{
		SecurityGroupRuleIDs: in.SecurityGroupRuleIds,
		Filters:              filtersIn(in.Filters),
		Page:                 pageIn(in.MaxResults, in.NextToken),
		DryRun:               wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeSecurityGroupRulesOutput{SecurityGroupRules: securityGroupRulesOut(res.SecurityGroupRules), NextToken: wireconv.OptString(res.NextToken)}, nil
}

// ipPermissionsIn converts IpPermissions.N.
func ipPermissionsIn(in []IpPermission) []controlplane.IPPermission {
	return wireconv.AllOrNil(in, func(p IpPermission) controlplane.IPPermission {
		return controlplane.IPPermission{
			IPProtocol: wireconv.Deref(p.IpProtocol), FromPort: p.FromPort, ToPort: p.ToPort,
			IPRanges: wireconv.AllOrNil(p.IpRanges, func(r IpRange) controlplane.IPRange {
				return controlplane.IPRange{CidrIP: wireconv.Deref(r.CidrIp), Description: wireconv.Deref(r.Description)}
			}),
			IPv6Ranges: wireconv.AllOrNil(p.Ipv6Ranges, func(r Ipv6Range) controlplane.IPv6Range {
				return controlplane.IPv6Range{CidrIPv6: wireconv.Deref(r.CidrIpv6), Description: wireconv.Deref(r.Description)}
			}),
			PrefixListIDs: wireconv.AllOrNil(p.PrefixListIds, func(r PrefixListId) controlplane.PrefixListID {
				return controlplane.PrefixListID{PrefixListID: wireconv.Deref(r.PrefixListId), Description: wireconv.Deref(r.Description)}
			}),
			UserIDGroupPairs: wireconv.AllOrNil(p.UserIdGroupPairs, func(g UserIdGroupPair) controlplane.UserIDGroupPair {
				return controlplane.UserIDGroupPair{
					GroupID: wireconv.Deref(g.GroupId), GroupName: wireconv.Deref(g.GroupName), UserID: wireconv.Deref(g.UserId), Description: wireconv.Deref(g.Description),
				}
			}),
		}
	})
}

// legacyIn converts the flat IpProtocol/FromPort/ToPort/CidrIp/
// SourceSecurityGroup* parameters.
func legacyIn(protocol *string, from, to *int32, cidr, sourceName, sourceOwner *string) controlplane.LegacyPermission {
	return controlplane.LegacyPermission{
		IPProtocol:                 wireconv.Deref(protocol),
		FromPort:                   from,
		ToPort:                     to,
		CidrIP:                     wireconv.Deref(cidr),
		SourceSecurityGroupName:    wireconv.Deref(sourceName),
		SourceSecurityGroupOwnerID: wireconv.Deref(sourceOwner),
	}
}

// ipPermissionsOut converts a group's folded rules to ipPermissions.
// AWS always sends the permission lists and their peer lists, empty or not,
// so they are never nil here.
func ipPermissionsOut(in []controlplane.IPPermission) []IpPermission {
	return wireconv.All(in, func(p controlplane.IPPermission) IpPermission {
		return IpPermission{
			IpProtocol: new(p.IPProtocol), FromPort: p.FromPort, ToPort: p.ToPort,
			IpRanges: wireconv.All(p.IPRanges, func(r controlplane.IPRange) IpRange {
				return IpRange{CidrIp: new(r.CidrIP), Description: wireconv.OptString(r.Description)}
			}),
			Ipv6Ranges: wireconv.All(p.IPv6Ranges, func(r controlplane.IPv6Range) Ipv6Range {
				return Ipv6Range{CidrIpv6: new(r.CidrIPv6), Description: wireconv.OptString(r.Description)}
			}),
			PrefixListIds: wireconv.All(p.PrefixListIDs, func(r controlplane.PrefixListID) PrefixListId {
				return PrefixListId{PrefixListId: new(r.PrefixListID), Description: wireconv.OptString(r.Description)}
			}),
			UserIdGroupPairs: wireconv.All(p.UserIDGroupPairs, func(g controlplane.UserIDGroupPair) UserIdGroupPair {
				return UserIdGroupPair{GroupId: new(g.GroupID), UserId: wireconv.OptString(g.UserID), Description: wireconv.OptString(g.Description)}
			}),
		}
	})
}

// securityGroupRulesOut converts rules to securityGroupRuleSet items. A rule
// reports fromPort/toPort -1 when its protocol has no ports, as AWS does here
// (unlike in ipPermissions).
func securityGroupRulesOut(in []controlplane.SecurityGroupRuleInfo) []SecurityGroupRule {
	return wireconv.All(in, func(r controlplane.SecurityGroupRuleInfo) SecurityGroupRule {
		w := SecurityGroupRule{
			SecurityGroupRuleId:  new(r.Rule.ID),
			GroupId:              new(r.GroupID),
			GroupOwnerId:         new(r.GroupOwnerID),
			IsEgress:             new(r.IsEgress),
			IpProtocol:           new(r.Rule.Protocol),
			FromPort:             new(r.Rule.FromPort),
			ToPort:               new(r.Rule.ToPort),
			CidrIpv4:             wireconv.OptString(r.Rule.CidrIPv4),
			CidrIpv6:             wireconv.OptString(r.Rule.CidrIPv6),
			PrefixListId:         wireconv.OptString(r.Rule.PrefixList),
			Description:          wireconv.OptString(r.Rule.Description),
			Tags:                 tagsOut(r.Rule.Tags),
			SecurityGroupRuleArn: new(r.ARN),
		}
		if r.Rule.GroupID != "" {
			w.ReferencedGroupInfo = referencedGroupOut(r.Rule)
		}
		return w
	})
}

func referencedGroupOut(r model.SecurityGroupRule) *ReferencedSecurityGroup {
	return &ReferencedSecurityGroup{GroupId: new(r.GroupID), UserId: wireconv.OptString(r.GroupOwner)}
}

// revokedRulesOut converts revoked rules to revokedSecurityGroupRuleSet items.
func revokedRulesOut(in []controlplane.SecurityGroupRuleInfo) []RevokedSecurityGroupRule {
	return wireconv.AllOrNil(in, func(r controlplane.SecurityGroupRuleInfo) RevokedSecurityGroupRule {
		return RevokedSecurityGroupRule{
			SecurityGroupRuleId: new(r.Rule.ID),
			GroupId:             new(r.GroupID),
			IsEgress:            new(r.IsEgress),
			IpProtocol:          new(r.Rule.Protocol),
			FromPort:            new(r.Rule.FromPort),
			ToPort:              new(r.Rule.ToPort),
			CidrIpv4:            wireconv.OptString(r.Rule.CidrIPv4),
			CidrIpv6:            wireconv.OptString(r.Rule.CidrIPv6),
			PrefixListId:        wireconv.OptString(r.Rule.PrefixList),
			ReferencedGroupId:   wireconv.OptString(r.Rule.GroupID),
			Description:         wireconv.OptString(r.Rule.Description),
		}
	})
}
