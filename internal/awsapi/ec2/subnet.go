package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/controlplane"
)

var (
	_ CreateSubnetAPI    = (*API)(nil)
	_ DescribeSubnetsAPI = (*API)(nil)
	_ DeleteSubnetAPI    = (*API)(nil)
)

// subnetOut converts a subnet to its wire form.
func subnetOut(sn controlplane.Subnet) Subnet {
	return Subnet{
		SubnetId:                    ptr(sn.ID),
		SubnetArn:                   ptr(sn.SubnetArn),
		OwnerId:                     ptr(sn.OwnerID),
		VpcId:                       ptr(sn.VpcID),
		State:                       ptr(sn.State),
		CidrBlock:                   ptr(sn.CidrBlock),
		AvailabilityZone:            ptr(sn.AvailabilityZone),
		AvailabilityZoneId:          ptr(sn.AvailabilityZoneID),
		AvailableIpAddressCount:     ptr(sn.AvailableIPAddressCount),
		DefaultForAz:                ptr(false),
		MapPublicIpOnLaunch:         ptr(sn.MapPublicIPOnLaunch),
		MapCustomerOwnedIpOnLaunch:  ptr(false),
		AssignIpv6AddressOnCreation: ptr(false),
		EnableDns64:                 ptr(false),
		Ipv6Native:                  ptr(false),
		PrivateDnsNameOptionsOnLaunch: &PrivateDnsNameOptionsOnLaunch{
			HostnameType:                    ptr(sn.HostnameType),
			EnableResourceNameDnsARecord:    ptr(false),
			EnableResourceNameDnsAAAARecord: ptr(false),
		},
		BlockPublicAccessStates: blockPublicAccessOff(),
		Tags:                    tagsOut(sn.Tags),
	}
}

// CreateSubnet implements CreateSubnetAPI.
func (a *API) CreateSubnet(ctx context.Context, req *awsapi.Request, in *CreateSubnetInput) (*CreateSubnetOutput, error) {
	sn, err := a.cp.CreateSubnet(ctx, req.Caller.AccountID, controlplane.CreateSubnetInput{
		VpcID:              deref(in.VpcId),
		CidrBlock:          deref(in.CidrBlock),
		AvailabilityZone:   deref(in.AvailabilityZone),
		AvailabilityZoneID: deref(in.AvailabilityZoneId),
		Ipv6CidrBlock:      deref(in.Ipv6CidrBlock),
		Ipv6Native:         deref(in.Ipv6Native),
		Ipv4IpamPoolID:     deref(in.Ipv4IpamPoolId),
		Ipv6IpamPoolID:     deref(in.Ipv6IpamPoolId),
		OutpostArn:         deref(in.OutpostArn),
		TagSpecs:           tagSpecsIn(in.TagSpecifications),
		DryRun:             deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &CreateSubnetOutput{Subnet: ptr(subnetOut(sn))}, nil
}

// DescribeSubnets implements DescribeSubnetsAPI.
func (a *API) DescribeSubnets(ctx context.Context, req *awsapi.Request, in *DescribeSubnetsInput) (*DescribeSubnetsOutput, error) {
	res, err := a.cp.DescribeSubnets(ctx, req.Caller.AccountID, controlplane.DescribeSubnetsInput{
		SubnetIDs: in.SubnetIds,
		Filters:   filtersIn(in.Filters),
		Page:      pageIn(in.MaxResults, in.NextToken),
		DryRun:    deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeSubnetsOutput{Subnets: convertAll(res.Subnets, subnetOut), NextToken: optStr(res.NextToken)}, nil
}

// DeleteSubnet implements DeleteSubnetAPI.
func (a *API) DeleteSubnet(ctx context.Context, req *awsapi.Request, in *DeleteSubnetInput) (*DeleteSubnetOutput, error) {
	err := a.cp.DeleteSubnet(ctx, req.Caller.AccountID, controlplane.DeleteSubnetInput{SubnetID: deref(in.SubnetId), DryRun: deref(in.DryRun)})
	if err != nil {
		return nil, err
	}
	return &DeleteSubnetOutput{}, nil
}
