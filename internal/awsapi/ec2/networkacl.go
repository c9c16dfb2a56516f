package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
)

var (
	_ CreateNetworkAclAPI             = (*API)(nil)
	_ DeleteNetworkAclAPI             = (*API)(nil)
	_ CreateNetworkAclEntryAPI        = (*API)(nil)
	_ ReplaceNetworkAclEntryAPI       = (*API)(nil)
	_ DeleteNetworkAclEntryAPI        = (*API)(nil)
	_ ReplaceNetworkAclAssociationAPI = (*API)(nil)
	_ DescribeNetworkAclsAPI          = (*API)(nil)
)

// CreateNetworkAcl implements CreateNetworkAclAPI.
func (a *API) CreateNetworkAcl(ctx context.Context, req *awsapi.Request, in *CreateNetworkAclInput) (*CreateNetworkAclOutput, error) {
	acl, err := a.cp.CreateNetworkAcl(ctx, req.Caller.AccountID, controlplane.CreateNetworkAclInput{
		VpcID:       wireconv.Deref(in.VpcId),
		TagSpecs:    tagSpecsIn(in.TagSpecifications),
		ClientToken: wireconv.Deref(in.ClientToken),
		DryRun:      wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &CreateNetworkAclOutput{NetworkAcl: new(networkAclOut(acl)), ClientToken: in.ClientToken}, nil
}

// DeleteNetworkAcl implements DeleteNetworkAclAPI.
func (a *API) DeleteNetworkAcl(ctx context.Context, req *awsapi.Request, in *DeleteNetworkAclInput) (*DeleteNetworkAclOutput, error) {
	err := a.cp.DeleteNetworkAcl(ctx, req.Caller.AccountID, controlplane.DeleteNetworkAclInput{
		NetworkAclID: wireconv.Deref(in.NetworkAclId),
		DryRun:       wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DeleteNetworkAclOutput{}, nil
}

// CreateNetworkAclEntry implements CreateNetworkAclEntryAPI.
func (a *API) CreateNetworkAclEntry(ctx context.Context, req *awsapi.Request, in *CreateNetworkAclEntryInput) (*CreateNetworkAclEntryOutput, error) {
	err := a.cp.CreateNetworkAclEntry(ctx, req.Caller.AccountID, networkAclEntryIn(
		in.NetworkAclId, in.RuleNumber, in.Protocol, in.RuleAction, in.Egress, in.CidrBlock, in.Ipv6CidrBlock, in.IcmpTypeCode, in.PortRange, in.DryRun))
	if err != nil {
		return nil, err
	}
	return &CreateNetworkAclEntryOutput{}, nil
}

// ReplaceNetworkAclEntry implements ReplaceNetworkAclEntryAPI.
func (a *API) ReplaceNetworkAclEntry(ctx context.Context, req *awsapi.Request, in *ReplaceNetworkAclEntryInput) (*ReplaceNetworkAclEntryOutput, error) {
	err := a.cp.ReplaceNetworkAclEntry(ctx, req.Caller.AccountID, networkAclEntryIn(
		in.NetworkAclId, in.RuleNumber, in.Protocol, in.RuleAction, in.Egress, in.CidrBlock, in.Ipv6CidrBlock, in.IcmpTypeCode, in.PortRange, in.DryRun))
	if err != nil {
		return nil, err
	}
	return &ReplaceNetworkAclEntryOutput{}, nil
}

// DeleteNetworkAclEntry implements DeleteNetworkAclEntryAPI.
func (a *API) DeleteNetworkAclEntry(ctx context.Context, req *awsapi.Request, in *DeleteNetworkAclEntryInput) (*DeleteNetworkAclEntryOutput, error) {
	err := a.cp.DeleteNetworkAclEntry(ctx, req.Caller.AccountID, controlplane.DeleteNetworkAclEntryInput{
		NetworkAclID: wireconv.Deref(in.NetworkAclId),
		RuleNumber:   in.RuleNumber,
		Egress:       wireconv.Deref(in.Egress),
		DryRun:       wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DeleteNetworkAclEntryOutput{}, nil
}

// ReplaceNetworkAclAssociation implements ReplaceNetworkAclAssociationAPI.
func (a *API) ReplaceNetworkAclAssociation(ctx context.Context, req *awsapi.Request, in *ReplaceNetworkAclAssociationInput) (*ReplaceNetworkAclAssociationOutput, error) {
	id, err := a.cp.ReplaceNetworkAclAssociation(ctx, req.Caller.AccountID, controlplane.ReplaceNetworkAclAssociationInput{
		AssociationID: wireconv.Deref(in.AssociationId),
		NetworkAclID:  wireconv.Deref(in.NetworkAclId),
		DryRun:        wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &ReplaceNetworkAclAssociationOutput{NewAssociationId: new(id)}, nil
}

// DescribeNetworkAcls implements DescribeNetworkAclsAPI.
func (a *API) DescribeNetworkAcls(ctx context.Context, req *awsapi.Request, in *DescribeNetworkAclsInput) (*DescribeNetworkAclsOutput, error) {
	res, err := a.cp.DescribeNetworkAcls(ctx, req.Caller.AccountID, controlplane.DescribeNetworkAclsInput{
		NetworkAclIDs: in.NetworkAclIds,
		Filters:       filtersIn(in.Filters),
		Page:          pageIn(in.MaxResults, in.NextToken),
		DryRun:        wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeNetworkAclsOutput{NetworkAcls: wireconv.All(res.NetworkAcls, networkAclOut), NextToken: wireconv.OptString(res.NextToken)}, nil
}

// networkAclEntryIn converts the shared parameters of CreateNetworkAclEntry
// and ReplaceNetworkAclEntry.
func networkAclEntryIn(aclID *string, ruleNumber *int32, protocol, action *string, egress *bool, cidr, ipv6 *string,
	icmp *IcmpTypeCode, ports *PortRange, dryRun *bool) controlplane.NetworkAclEntryInput {
	in := controlplane.NetworkAclEntryInput{
		NetworkAclID:  wireconv.Deref(aclID),
		RuleNumber:    ruleNumber,
		Protocol:      wireconv.Deref(protocol),
		RuleAction:    wireconv.Deref(action),
		Egress:        wireconv.Deref(egress),
		CidrBlock:     wireconv.Deref(cidr),
		Ipv6CidrBlock: wireconv.Deref(ipv6),
		DryRun:        wireconv.Deref(dryRun),
	}
	if icmp != nil {
		in.Icmp = &controlplane.IcmpTypeCode{Type: icmp.Type, Code: icmp.Code}
	}
	if ports != nil {
		in.PortRange = &controlplane.PortRange{From: ports.From, To: ports.To}
	}
	return in
}

// networkAclOut converts an ACL to its wire form.
func networkAclOut(acl *model.NetworkAcl) NetworkAcl {
	return NetworkAcl{
		NetworkAclId: new(acl.ID),
		VpcId:        new(acl.VpcID),
		OwnerId:      new(acl.OwnerID),
		IsDefault:    new(acl.IsDefault),
		Tags:         tagsOut(acl.Tags),
		// AWS always sends both sets, so a new ACL shows "Associations": [].
		Associations: wireconv.All(acl.Associations, func(as model.NetworkAclAssociation) NetworkAclAssociation {
			return NetworkAclAssociation{
				NetworkAclAssociationId: new(as.ID),
				NetworkAclId:            new(acl.ID),
				SubnetId:                new(as.SubnetID),
			}
		}),
		Entries: wireconv.All(acl.Entries, networkAclEntryOut),
	}
}

// networkAclEntryOut converts one rule of an ACL.
func networkAclEntryOut(e model.NetworkAclEntry) NetworkAclEntry {
	w := NetworkAclEntry{
		RuleNumber:    new(e.RuleNumber),
		Egress:        new(e.Egress),
		Protocol:      new(e.Protocol),
		RuleAction:    new(e.RuleAction),
		CidrBlock:     wireconv.OptString(e.CidrBlock),
		Ipv6CidrBlock: wireconv.OptString(e.Ipv6CidrBlock),
	}
	if e.IcmpType != nil || e.IcmpCode != nil {
		w.IcmpTypeCode = &IcmpTypeCode{Type: e.IcmpType, Code: e.IcmpCode}
	}
	if e.PortFrom != nil || e.PortTo != nil {
		w.PortRange = &PortRange{From: e.PortFrom, To: e.PortTo}
	}
	return w
}
