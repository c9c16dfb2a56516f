package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
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
		VpcId:           ptr(v.ID),
		OwnerId:         ptr(v.OwnerID),
		State:           ptr(v.State),
		CidrBlock:       ptr(v.CidrBlock),
		DhcpOptionsId:   ptr(v.DhcpOptionsID),
		InstanceTenancy: ptr(v.InstanceTenancy),
		IsDefault:       ptr(v.IsDefault),
		CidrBlockAssociationSet: []VpcCidrBlockAssociation{{
			AssociationId:  ptr(v.CidrAssociationID),
			CidrBlock:      ptr(v.CidrBlock),
			CidrBlockState: &VpcCidrBlockState{State: ptr(controlplane.CidrStateAssociated)},
		}},
		BlockPublicAccessStates: blockPublicAccessOff(),
		Tags:                    tagsOut(v.Tags),
	}
}

// CreateVpc implements CreateVpcAPI.
func (a *API) CreateVpc(ctx context.Context, req *awsapi.Request, in *CreateVpcInput) (*CreateVpcOutput, error) {
	v, err := a.cp.CreateVpc(ctx, req.Caller.AccountID, controlplane.CreateVpcInput{
		CidrBlock:                   deref(in.CidrBlock),
		InstanceTenancy:             deref(in.InstanceTenancy),
		AmazonProvidedIpv6CidrBlock: deref(in.AmazonProvidedIpv6CidrBlock),
		Ipv6CidrBlock:               deref(in.Ipv6CidrBlock),
		Ipv6Pool:                    deref(in.Ipv6Pool),
		Ipv4IpamPoolID:              deref(in.Ipv4IpamPoolId),
		Ipv6IpamPoolID:              deref(in.Ipv6IpamPoolId),
		TagSpecs:                    tagSpecsIn(in.TagSpecifications),
		DryRun:                      deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &CreateVpcOutput{Vpc: ptr(vpcOut(v))}, nil
}

// DescribeVpcs implements DescribeVpcsAPI.
func (a *API) DescribeVpcs(ctx context.Context, req *awsapi.Request, in *DescribeVpcsInput) (*DescribeVpcsOutput, error) {
	res, err := a.cp.DescribeVpcs(ctx, req.Caller.AccountID, controlplane.DescribeVpcsInput{
		VpcIDs:  in.VpcIds,
		Filters: filtersIn(in.Filters),
		Page:    pageIn(in.MaxResults, in.NextToken),
		DryRun:  deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeVpcsOutput{Vpcs: convertAll(res.Vpcs, vpcOut), NextToken: optStr(res.NextToken)}, nil
}

// DeleteVpc implements DeleteVpcAPI.
func (a *API) DeleteVpc(ctx context.Context, req *awsapi.Request, in *DeleteVpcInput) (*DeleteVpcOutput, error) {
	err := a.cp.DeleteVpc(ctx, req.Caller.AccountID, controlplane.DeleteVpcInput{VpcID: deref(in.VpcId), DryRun: deref(in.DryRun)})
	if err != nil {
		return nil, err
	}
	return &DeleteVpcOutput{}, nil
}

// ModifyVpcAttribute implements ModifyVpcAttributeAPI.
func (a *API) ModifyVpcAttribute(ctx context.Context, req *awsapi.Request, in *ModifyVpcAttributeInput) (*ModifyVpcAttributeOutput, error) {
	err := a.cp.ModifyVpcAttribute(ctx, req.Caller.AccountID, controlplane.ModifyVpcAttributeInput{
		VpcID:                            deref(in.VpcId),
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
		VpcID:     deref(in.VpcId),
		Attribute: deref(in.Attribute),
		DryRun:    deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	out := &DescribeVpcAttributeOutput{VpcId: ptr(attr.VpcID)}
	value := &AttributeBooleanValue{Value: ptr(attr.Value)}
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
