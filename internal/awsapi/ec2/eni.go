package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
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
	out := make([]GroupIdentifier, 0, len(in))
	for _, g := range in {
		out = append(out, GroupIdentifier{GroupId: ptr(g.GroupID), GroupName: ptr(g.GroupName)})
	}
	return out
}

// eniOut converts a network interface to its DescribeNetworkInterfaces
// form. AWS always sends description, groupSet, tagSet and
// ipv6AddressesSet, empty or not.
func eniOut(e controlplane.NetworkInterface) NetworkInterface {
	out := NetworkInterface{
		NetworkInterfaceId: ptr(e.ID),
		OwnerId:            ptr(e.OwnerID),
		VpcId:              ptr(e.VpcID),
		SubnetId:           ptr(e.SubnetID),
		AvailabilityZone:   ptr(e.AvailabilityZone),
		AvailabilityZoneId: optStr(e.AvailabilityZoneID),
		Description:        ptr(e.Description),
		InterfaceType:      ptr(e.InterfaceType),
		Status:             ptr(e.Status),
		MacAddress:         ptr(e.MacAddress),
		PrivateIpAddress:   ptr(e.PrivateIP),
		PrivateDnsName:     optStr(e.PrivateDNSName),
		PrivateIpAddresses: []NetworkInterfacePrivateIpAddress{{
			PrivateIpAddress: ptr(e.PrivateIP),
			PrivateDnsName:   optStr(e.PrivateDNSName),
			Primary:          ptr(true),
		}},
		Ipv6Addresses:    []NetworkInterfaceIpv6Address{},
		RequesterManaged: ptr(e.RequesterManaged),
		RequesterId:      optStr(e.RequesterID),
		SourceDestCheck:  ptr(e.SourceDestCheck),
		Groups:           groupsOut(e.GroupSet),
		TagSet:           append([]Tag{}, tagsOut(e.Tags)...),
	}
	if e.AttachmentID != "" {
		out.Attachment = &NetworkInterfaceAttachment{
			AttachmentId:        ptr(e.AttachmentID),
			InstanceId:          optStr(e.InstanceID),
			InstanceOwnerId:     ptr(e.AttachmentOwner),
			DeviceIndex:         ptr(e.DeviceIndex),
			Status:              ptr(model.AttachmentAttached),
			AttachTime:          ptr(e.AttachTime),
			DeleteOnTermination: ptr(e.DeleteOnTermination),
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
		IncludeManagedResources: deref(in.IncludeManagedResources),
		DryRun:                  deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeNetworkInterfacesOutput{NetworkInterfaces: convertAll(res.NetworkInterfaces, eniOut), NextToken: optStr(res.NextToken)}, nil
}

// ModifyNetworkInterfaceAttribute implements
// ModifyNetworkInterfaceAttributeAPI. Attributes the control plane does not
// model (Attachment, EnaSrdSpecification, …) are not passed on.
func (a *API) ModifyNetworkInterfaceAttribute(ctx context.Context, req *awsapi.Request, in *ModifyNetworkInterfaceAttributeInput) (*ModifyNetworkInterfaceAttributeOutput, error) {
	var description *string
	if in.Description != nil {
		description = ptr(deref(in.Description.Value))
	}
	err := a.cp.ModifyNetworkInterfaceAttribute(ctx, req.Caller.AccountID, controlplane.ModifyNetworkInterfaceAttributeInput{
		NetworkInterfaceID: deref(in.NetworkInterfaceId),
		Description:        description,
		SourceDestCheck:    boolAttr(in.SourceDestCheck),
		Groups:             in.Groups,
		DryRun:             deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &ModifyNetworkInterfaceAttributeOutput{}, nil
}
