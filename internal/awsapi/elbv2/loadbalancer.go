package elbv2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
)

var (
	_ CreateLoadBalancerAPI             = (*API)(nil)
	_ DescribeLoadBalancersAPI          = (*API)(nil)
	_ DeleteLoadBalancerAPI             = (*API)(nil)
	_ DescribeLoadBalancerAttributesAPI = (*API)(nil)
	_ ModifyLoadBalancerAttributesAPI   = (*API)(nil)
	_ SetSecurityGroupsAPI              = (*API)(nil)
	_ SetSubnetsAPI                     = (*API)(nil)
)

// azOut converts a load balancer's node to its AvailabilityZone. The node's
// address is listed (as PrivateIPv4Address) only when it was asked for, as
// AWS does for internal load balancers; otherwise LoadBalancerAddresses is
// empty.
func azOut(n model.LBNode) AvailabilityZone {
	addrs := []LoadBalancerAddress{}
	if n.RequestedIP {
		addrs = append(addrs, LoadBalancerAddress{PrivateIPv4Address: new(n.PrivateIP)})
	}
	return AvailabilityZone{ZoneName: new(n.AvailabilityZone), SubnetId: new(n.SubnetID), LoadBalancerAddresses: addrs}
}

// loadBalancerOut converts a load balancer to its wire form.
func loadBalancerOut(lb controlplane.LoadBalancer) LoadBalancer {
	out := LoadBalancer{
		LoadBalancerArn:       new(lb.ARN),
		DNSName:               new(lb.DNSName),
		CanonicalHostedZoneId: new(lb.CanonicalHostedZoneID),
		CreatedTime:           new(lb.Created),
		LoadBalancerName:      new(lb.Name),
		Scheme:                new(lb.Scheme),
		VpcId:                 new(lb.VpcID),
		State:                 &LoadBalancerState{Code: new(lb.State), Reason: wireconv.OptString(lb.StateReason)},
		Type:                  new(lb.Type),
		AvailabilityZones:     wireconv.All(lb.Nodes, azOut),
		IpAddressType:         new(lb.IPAddressType),
		EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: wireconv.OptString(lb.EnforceSGOnPrivateLink),
	}
	if len(lb.SecurityGroups) > 0 {
		out.SecurityGroups = lb.SecurityGroups
	}
	return out
}

// subnetMappingsIn converts SubnetMappings.member.N.
func subnetMappingsIn(in []SubnetMapping) []controlplane.SubnetMapping {
	return wireconv.AllOrNil(in, func(m SubnetMapping) controlplane.SubnetMapping {
		return controlplane.SubnetMapping{
			SubnetID:            wireconv.Deref(m.SubnetId),
			AllocationID:        wireconv.Deref(m.AllocationId),
			PrivateIPv4Address:  wireconv.Deref(m.PrivateIPv4Address),
			IPv6Address:         wireconv.Deref(m.IPv6Address),
			SourceNatIPv6Prefix: wireconv.Deref(m.SourceNatIpv6Prefix),
		}
	})
}

// lbAttributeOut converts a load balancer attribute.
func lbAttributeOut(a controlplane.LoadBalancerAttribute) LoadBalancerAttribute {
	return LoadBalancerAttribute{Key: new(a.Key), Value: new(a.Value)}
}

// lbAttributeIn converts Attributes.member.N of ModifyLoadBalancerAttributes.
func lbAttributeIn(a LoadBalancerAttribute) controlplane.LoadBalancerAttribute {
	return controlplane.LoadBalancerAttribute{Key: wireconv.Deref(a.Key), Value: wireconv.Deref(a.Value)}
}

// CreateLoadBalancer implements CreateLoadBalancerAPI.
func (a *API) CreateLoadBalancer(ctx context.Context, req *awsapi.Request, in *CreateLoadBalancerInput) (*CreateLoadBalancerOutput, error) {
	var ipam string
	if in.IpamPools != nil {
		ipam = wireconv.Deref(in.IpamPools.Ipv4IpamPoolId)
	}
	lb, err := a.cp.CreateLoadBalancer(ctx, req.Caller.AccountID, controlplane.CreateLoadBalancerInput{
		Name:                         wireconv.Deref(in.Name),
		Type:                         wireconv.Deref(in.Type),
		Scheme:                       wireconv.Deref(in.Scheme),
		IPAddressType:                wireconv.Deref(in.IpAddressType),
		Subnets:                      in.Subnets,
		SubnetMappings:               subnetMappingsIn(in.SubnetMappings),
		SecurityGroups:               in.SecurityGroups,
		Tags:                         wireconv.Tags(in.Tags),
		CustomerOwnedIPv4Pool:        wireconv.Deref(in.CustomerOwnedIpv4Pool),
		IPv4IpamPoolID:               ipam,
		EnablePrefixForIPv6SourceNat: wireconv.Deref(in.EnablePrefixForIpv6SourceNat),
	})
	if err != nil {
		return nil, err
	}
	return &CreateLoadBalancerOutput{LoadBalancers: []LoadBalancer{loadBalancerOut(lb)}}, nil
}

// DescribeLoadBalancers implements DescribeLoadBalancersAPI.
func (a *API) DescribeLoadBalancers(ctx context.Context, req *awsapi.Request, in *DescribeLoadBalancersInput) (*DescribeLoadBalancersOutput, error) {
	res, err := a.cp.DescribeLoadBalancers(ctx, req.Caller.AccountID, controlplane.DescribeLoadBalancersInput{
		LoadBalancerARNs: in.LoadBalancerArns,
		Names:            in.Names,
		Marker:           wireconv.Deref(in.Marker),
		PageSize:         wireconv.Deref(in.PageSize),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeLoadBalancersOutput{LoadBalancers: wireconv.All(res.LoadBalancers, loadBalancerOut), NextMarker: wireconv.OptString(res.NextMarker)}, nil
}

// DeleteLoadBalancer implements DeleteLoadBalancerAPI.
func (a *API) DeleteLoadBalancer(ctx context.Context, req *awsapi.Request, in *DeleteLoadBalancerInput) (*DeleteLoadBalancerOutput, error) {
	err := a.cp.DeleteLoadBalancer(ctx, req.Caller.AccountID, controlplane.DeleteLoadBalancerInput{LoadBalancerARN: wireconv.Deref(in.LoadBalancerArn)})
	if err != nil {
		return nil, err
	}
	return &DeleteLoadBalancerOutput{}, nil
}

// DescribeLoadBalancerAttributes implements DescribeLoadBalancerAttributesAPI.
func (a *API) DescribeLoadBalancerAttributes(ctx context.Context, req *awsapi.Request, in *DescribeLoadBalancerAttributesInput) (*DescribeLoadBalancerAttributesOutput, error) {
	attrs, err := a.cp.DescribeLoadBalancerAttributes(ctx, req.Caller.AccountID, controlplane.DescribeLoadBalancerAttributesInput{LoadBalancerARN: wireconv.Deref(in.LoadBalancerArn)})
	if err != nil {
		return nil, err
	}
	return &DescribeLoadBalancerAttributesOutput{Attributes: wireconv.All(attrs, lbAttributeOut)}, nil
}

// ModifyLoadBalancerAttributes implements ModifyLoadBalancerAttributesAPI.
func (a *API) ModifyLoadBalancerAttributes(ctx context.Context, req *awsapi.Request, in *ModifyLoadBalancerAttributesInput) (*ModifyLoadBalancerAttributesOutput, error) {
	res, err := a.cp.ModifyLoadBalancerAttributes(ctx, req.Caller.AccountID, controlplane.ModifyLoadBalancerAttributesInput{
		LoadBalancerARN: wireconv.Deref(in.LoadBalancerArn),
		Attributes:      wireconv.All(in.Attributes, lbAttributeIn),
	})
	if err != nil {
		return nil, err
	}
	return &ModifyLoadBalancerAttributesOutput{Attributes: wireconv.All(res, lbAttributeOut)}, nil
}

// SetSecurityGroups implements SetSecurityGroupsAPI.
func (a *API) SetSecurityGroups(ctx context.Context, req *awsapi.Request, in *SetSecurityGroupsInput) (*SetSecurityGroupsOutput, error) {
	res, err := a.cp.SetSecurityGroups(ctx, req.Caller.AccountID, controlplane.SetSecurityGroupsInput{
		LoadBalancerARN:        wireconv.Deref(in.LoadBalancerArn),
		SecurityGroups:         in.SecurityGroups,
		EnforceSGOnPrivateLink: wireconv.Deref(in.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic),
	})
	if err != nil {
		return nil, err
	}
	return &SetSecurityGroupsOutput{
		SecurityGroupIds: res.SecurityGroupIDs,
		EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: wireconv.OptString(res.EnforceSGOnPrivateLink),
	}, nil
}

// SetSubnets implements SetSubnetsAPI.
func (a *API) SetSubnets(ctx context.Context, req *awsapi.Request, in *SetSubnetsInput) (*SetSubnetsOutput, error) {
	res, err := a.cp.SetSubnets(ctx, req.Caller.AccountID, controlplane.SetSubnetsInput{
		LoadBalancerARN: wireconv.Deref(in.LoadBalancerArn),
		Subnets:         in.Subnets,
		SubnetMappings:  subnetMappingsIn(in.SubnetMappings),
		IPAddressType:   wireconv.Deref(in.IpAddressType),

		EnablePrefixForIPv6SourceNat: wireconv.Deref(in.EnablePrefixForIpv6SourceNat),
	})
	if err != nil {
		return nil, err
	}
	return &SetSubnetsOutput{AvailabilityZones: wireconv.All(res.Nodes, azOut), IpAddressType: new(res.IPAddressType)}, nil
}
