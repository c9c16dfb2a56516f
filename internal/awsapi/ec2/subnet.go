package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
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
		SubnetId:                    new(sn.ID),
		SubnetArn:                   new(sn.SubnetArn),
		OwnerId:                     new(sn.OwnerID),
		VpcId:                       new(sn.VpcID),
		State:                       new(sn.State),
		CidrBlock:                   new(sn.CidrBlock),
		AvailabilityZone:            new(sn.AvailabilityZone),
		AvailabilityZoneId:          new(sn.AvailabilityZoneID),
		AvailableIpAddressCount:     new(sn.AvailableIPAddressCount),
		DefaultForAz:                new(false),
		MapPublicIpOnLaunch:         new(sn.MapPublicIPOnLaunch),
		MapCustomerOwnedIpOnLaunch:  new(false),
		AssignIpv6AddressOnCreation: new(false),
		EnableDns64:                 new(false),
		Ipv6Native:                  new(false),
		PrivateDnsNameOptionsOnLaunch: &PrivateDnsNameOptionsOnLaunch{
			HostnameType:                    new(sn.HostnameType),
			EnableResourceNameDnsARecord:    new(false),
			EnableResourceNameDnsAAAARecord: new(false),
		},
		BlockPublicAccessStates: blockPublicAccessOff(),
		Tags:                    tagsOut(sn.Tags),
	}
}

// CreateSubnet implements CreateSubnetAPI.
func (a *API) CreateSubnet(ctx context.Context, req *awsapi.Request, in *CreateSubnetInput) (*CreateSubnetOutput, error) {
	sn, err := a.cp.CreateSubnet(ctx, req.Caller.AccountID, controlplane.CreateSubnetInput{
		VpcID:              wireconv.Deref(in.VpcId),
		CidrBlock:          wireconv.Deref(in.CidrBlock),
		AvailabilityZone:   wireconv.Deref(in.AvailabilityZone),
		AvailabilityZoneID: wireconv.Deref(in.AvailabilityZoneId),
		Ipv6CidrBlock:      wireconv.Deref(in.Ipv6CidrBlock),
		Ipv6Native:         wireconv.Deref(in.Ipv6Native),
		Ipv4IpamPoolID:     wireconv.Deref(in.Ipv4IpamPoolId),
		Ipv6IpamPoolID:     wireconv.Deref(in.Ipv6IpamPoolId),
		OutpostArn:         wireconv.Deref(in.OutpostArn),
		TagSpecs:           tagSpecsIn(in.TagSpecifications),
		DryRun:             wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &CreateSubnetOutput{Subnet: new(subnetOut(sn))}, nil
}

// DescribeSubnets implements DescribeSubnetsAPI.
func (a *API) DescribeSubnets(ctx context.Context, req *awsapi.Request, in *DescribeSubnetsInput) (*DescribeSubnetsOutput, error) {
	res, err := a.cp.DescribeSubnets(ctx, req.Caller.AccountID, controlplane.DescribeSubnetsInput{
		SubnetIDs: in.SubnetIds,
		Filters:   filtersIn(in.Filters),
		Page:      pageIn(in.MaxResults, in.NextToken),
		DryRun:    wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeSubnetsOutput{Subnets: wireconv.All(res.Subnets, subnetOut), NextToken: wireconv.OptString(res.NextToken)}, nil
}

// DeleteSubnet implements DeleteSubnetAPI.
func (a *API) DeleteSubnet(ctx context.Context, req *awsapi.Request, in *DeleteSubnetInput) (*DeleteSubnetOutput, error) {
	err := a.cp.DeleteSubnet(ctx, req.Caller.AccountID, controlplane.DeleteSubnetInput{SubnetID: wireconv.Deref(in.SubnetId), DryRun: wireconv.Deref(in.DryRun)})
	if err != nil {
		return nil, err
	}
	return &DeleteSubnetOutput{}, nil
}
