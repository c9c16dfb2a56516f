package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
)

var (
	_ DescribeNetworkInterfacesAPI       = (*API)(nil)
	_ ModifyNetworkInterfaceAttributeAPI = (*API)(nil)
)

// groupsOut converts a groupSet. AWS always sends it on instances and
// network interfaces, so it is never nil.
func groupsOut(in []controlplane.GroupIdentifier) []GroupIdentifier {
	return wireconv.All(in, func(g controlplane.GroupIdentifier) GroupIdentifier {
		return GroupIdentifier{GroupId: new(g.GroupID), GroupName: new(g.GroupName)}
	})
}

// eniOut converts a network interface to its DescribeNetworkInterfaces
// form. AWS always sends description, groupSet, tagSet and
// ipv6AddressesSet, empty or not.
func eniOut(e controlplane.NetworkInterface) NetworkInterface {
	out := NetworkInterface{
		NetworkInterfaceId: new(e.ID),
		OwnerId:            new(e.OwnerID),
		VpcId:              new(e.VpcID),
		SubnetId:           new(e.SubnetID),
		AvailabilityZone:   new(e.AvailabilityZone),
		AvailabilityZoneId: wireconv.OptString(e.AvailabilityZoneID),
		Description:        new(e.Description),
		InterfaceType:      new(e.InterfaceType),
		Status:             new(e.Status),
		MacAddress:         new(e.MacAddress),
		PrivateIpAddress:   new(e.PrivateIP),
		PrivateDnsName:     wireconv.OptString(e.PrivateDNSName),
		PrivateIpAddresses: []NetworkInterfacePrivateIpAddress{{
			PrivateIpAddress: new(e.PrivateIP),
			PrivateDnsName:   wireconv.OptString(e.PrivateDNSName),
			Primary:          new(true),
		}},
		Ipv6Addresses:    []NetworkInterfaceIpv6Address{},
		RequesterManaged: new(e.RequesterManaged),
		RequesterId:      wireconv.OptString(e.RequesterID),
		SourceDestCheck:  new(e.SourceDestCheck),
		Groups:           groupsOut(e.GroupSet),
		TagSet:           wireconv.All(e.Tags, tagOut),
	}
	if e.AttachmentID != "" {
		out.Attachment = &NetworkInterfaceAttachment{
			AttachmentId:        new(e.AttachmentID),
			InstanceId:          wireconv.OptString(e.InstanceID),
			InstanceOwnerId:     new(e.AttachmentOwner),
			DeviceIndex:         new(e.DeviceIndex),
			Status:              new(model.AttachmentAttached),
			AttachTime:          new(e.AttachTime),
			DeleteOnTermination: new(e.DeleteOnTermination),
		}
	}
	return out
}

// DescribeNetworkInterfaces implements DescribeNetworkInterfacesAPI.
func (a *API) DescribeNetworkInterfaces(ctx context.Context, req *awsapi.Request, in *DescribeNetworkInterfacesInput) (*DescribeNetworkInterfacesOutput, error) {
	res, err := a.cp.DescribeNetworkInterfaces(ctx, req.Caller.AccountID, controlplane.DescribeNetworkInterfacesInput{
		NetworkInterfaceIDs:     in.NetworkInterfaceIds,
		Filters:                 filtersIn(in.Filters),
		Page:                    pageIn(in.MaxResults, in.NextToken),
		IncludeManagedResources: wireconv.Deref(in.IncludeManagedResources),
		DryRun:                  wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeNetworkInterfacesOutput{NetworkInterfaces: wireconv.All(res.NetworkInterfaces, eniOut), NextToken: wireconv.OptString(res.NextToken)}, nil
}

// ModifyNetworkInterfaceAttribute implements
// ModifyNetworkInterfaceAttributeAPI. Attributes the control plane does not
// model (Attachment, EnaSrdSpecification, …) are not passed on.
func (a *API) ModifyNetworkInterfaceAttribute(ctx context.Context, req *awsapi.Request, in *ModifyNetworkInterfaceAttributeInput) (*ModifyNetworkInterfaceAttributeOutput, error) {
	var description *string
	if in.Description != nil {
		description = new(wireconv.Deref(in.Description.Value))
	}
	err := a.cp.ModifyNetworkInterfaceAttribute(ctx, req.Caller.AccountID, controlplane.ModifyNetworkInterfaceAttributeInput{
		NetworkInterfaceID: wireconv.Deref(in.NetworkInterfaceId),
		Description:        description,
		SourceDestCheck:    boolAttr(in.SourceDestCheck),
		Groups:             in.Groups,
		DryRun:             wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &ModifyNetworkInterfaceAttributeOutput{}, nil
}
