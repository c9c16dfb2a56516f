package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
)

var (
	_ CreateVpcAPI            = (*API)(nil)
	_ DescribeVpcsAPI         = (*API)(nil)
	_ DeleteVpcAPI            = (*API)(nil)
	_ ModifyVpcAttributeAPI   = (*API)(nil)
	_ DescribeVpcAttributeAPI = (*API)(nil)
)

// vpcOut converts a VPC to its wire form.
func vpcOut(v model.Vpc) Vpc {
	return Vpc{
		VpcId:           new(v.ID),
		OwnerId:         new(v.OwnerID),
		State:           new(v.State),
		CidrBlock:       new(v.CidrBlock),
		DhcpOptionsId:   new(v.DhcpOptionsID),
		InstanceTenancy: new(v.InstanceTenancy),
		IsDefault:       new(v.IsDefault),
		CidrBlockAssociationSet: []VpcCidrBlockAssociation{{
			AssociationId:  new(v.CidrAssociationID),
			CidrBlock:      new(v.CidrBlock),
			CidrBlockState: &VpcCidrBlockState{State: new(controlplane.CidrStateAssociated)},
		}},
		BlockPublicAccessStates: blockPublicAccessOff(),
		Tags:                    tagsOut(v.Tags),
	}
}

// CreateVpc implements CreateVpcAPI.
func (a *API) CreateVpc(ctx context.Context, req *awsapi.Request, in *CreateVpcInput) (*CreateVpcOutput, error) {
	v, err := a.cp.CreateVpc(ctx, req.Caller.AccountID, controlplane.CreateVpcInput{
		CidrBlock:                   wireconv.Deref(in.CidrBlock),
		InstanceTenancy:             wireconv.Deref(in.InstanceTenancy),
		AmazonProvidedIpv6CidrBlock: wireconv.Deref(in.AmazonProvidedIpv6CidrBlock),
		Ipv6CidrBlock:               wireconv.Deref(in.Ipv6CidrBlock),
		Ipv6Pool:                    wireconv.Deref(in.Ipv6Pool),
		Ipv4IpamPoolID:              wireconv.Deref(in.Ipv4IpamPoolId),
		Ipv6IpamPoolID:              wireconv.Deref(in.Ipv6IpamPoolId),
		TagSpecs:                    tagSpecsIn(in.TagSpecifications),
		DryRun:                      wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &CreateVpcOutput{Vpc: new(vpcOut(v))}, nil
}

// DescribeVpcs implements DescribeVpcsAPI.
func (a *API) DescribeVpcs(ctx context.Context, req *awsapi.Request, in *DescribeVpcsInput) (*DescribeVpcsOutput, error) {
	res, err := a.cp.DescribeVpcs(ctx, req.Caller.AccountID, controlplane.DescribeVpcsInput{
		VpcIDs:  in.VpcIds,
		Filters: filtersIn(in.Filters),
		Page:    pageIn(in.MaxResults, in.NextToken),
		DryRun:  wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeVpcsOutput{Vpcs: wireconv.All(res.Vpcs, vpcOut), NextToken: wireconv.OptString(res.NextToken)}, nil
}

// DeleteVpc implements DeleteVpcAPI.
func (a *API) DeleteVpc(ctx context.Context, req *awsapi.Request, in *DeleteVpcInput) (*DeleteVpcOutput, error) {
	err := a.cp.DeleteVpc(ctx, req.Caller.AccountID, controlplane.DeleteVpcInput{VpcID: wireconv.Deref(in.VpcId), DryRun: wireconv.Deref(in.DryRun)})
	if err != nil {
		return nil, err
	}
	return &DeleteVpcOutput{}, nil
}

// ModifyVpcAttribute implements ModifyVpcAttributeAPI.
func (a *API) ModifyVpcAttribute(ctx context.Context, req *awsapi.Request, in *ModifyVpcAttributeInput) (*ModifyVpcAttributeOutput, error) {
	err := a.cp.ModifyVpcAttribute(ctx, req.Caller.AccountID, controlplane.ModifyVpcAttributeInput{
		VpcID:                            wireconv.Deref(in.VpcId),
		EnableDnsSupport:                 boolAttr(in.EnableDnsSupport),
		EnableDnsHostnames:               boolAttr(in.EnableDnsHostnames),
		EnableNetworkAddressUsageMetrics: boolAttr(in.EnableNetworkAddressUsageMetrics),
	})
	if err != nil {
		return nil, err
	}
	return &ModifyVpcAttributeOutput{}, nil
}

// DescribeVpcAttribute implements DescribeVpcAttributeAPI.
func (a *API) DescribeVpcAttribute(ctx context.Context, req *awsapi.Request, in *DescribeVpcAttributeInput) (*DescribeVpcAttributeOutput, error) {
	attr, err := a.cp.DescribeVpcAttribute(ctx, req.Caller.AccountID, controlplane.DescribeVpcAttributeInput{
		VpcID:     wireconv.Deref(in.VpcId),
		Attribute: wireconv.Deref(in.Attribute),
		DryRun:    wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	out := &DescribeVpcAttributeOutput{VpcId: new(attr.VpcID)}
	value := &AttributeBooleanValue{Value: new(attr.Value)}
	switch attr.Attribute {
	case controlplane.AttrEnableDnsSupport:
		out.EnableDnsSupport = value
	case controlplane.AttrEnableDnsHostnames:
		out.EnableDnsHostnames = value
	case controlplane.AttrEnableNetworkAddressUsageMetrics:
		out.EnableNetworkAddressUsageMetrics = value
	}
	return out, nil
}
