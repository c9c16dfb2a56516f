package elbv2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
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

// azsOut converts a load balancer's nodes to AvailabilityZones. A node's
// address is listed (as PrivateIPv4Address) only when it was asked for, as
// AWS does for internal load balancers; otherwise LoadBalancerAddresses is
// empty.
func azsOut(nodes []model.LBNode) []AvailabilityZone {
	out := make([]AvailabilityZone, 0, len(nodes))
	for _, n := range nodes {
		addrs := []LoadBalancerAddress{}
		if n.RequestedIP {
			addrs = append(addrs, LoadBalancerAddress{PrivateIPv4Address: ptr(n.PrivateIP)})
		}
		out = append(out, AvailabilityZone{ZoneName: ptr(n.AvailabilityZone), SubnetId: ptr(n.SubnetID), LoadBalancerAddresses: addrs})
	}
	return out
}

// loadBalancerOut converts a load balancer to its wire form.
func loadBalancerOut(lb controlplane.LoadBalancer) LoadBalancer {
	out := LoadBalancer{
		LoadBalancerArn:       ptr(lb.ARN),
		DNSName:               ptr(lb.DNSName),
		CanonicalHostedZoneId: ptr(lb.CanonicalHostedZoneID),
		CreatedTime:           ptr(lb.Created),
		LoadBalancerName:      ptr(lb.Name),
		Scheme:                ptr(lb.Scheme),
		VpcId:                 ptr(lb.VpcID),
		State:                 &LoadBalancerState{Code: ptr(lb.State), Reason: optStr(lb.StateReason)},
		Type:                  ptr(lb.Type),
		AvailabilityZones:     azsOut(lb.Nodes),
		IpAddressType:         ptr(lb.IPAddressType),
		EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: optStr(lb.EnforceSGOnPrivateLink),
	}
	if len(lb.SecurityGroups) > 0 {
		out.SecurityGroups = lb.SecurityGroups
	}
	return out
}

// subnetMappingsIn converts SubnetMappings.member.N.
func subnetMappingsIn(in []SubnetMapping) []controlplane.SubnetMapping {
	if len(in) == 0 {
		return nil
	}
	out := make([]controlplane.SubnetMapping, 0, len(in))
	for _, m := range in {
		out = append(out, controlplane.SubnetMapping{
			SubnetID:            deref(m.SubnetId),
			AllocationID:        deref(m.AllocationId),
			PrivateIPv4Address:  deref(m.PrivateIPv4Address),
			IPv6Address:         deref(m.IPv6Address),
			SourceNatIPv6Prefix: deref(m.SourceNatIpv6Prefix),
		})
	}
	return out
}

// lbAttributesOut converts load balancer attributes.
func lbAttributesOut(in []controlplane.LoadBalancerAttribute) []LoadBalancerAttribute {
	out := make([]LoadBalancerAttribute, 0, len(in))
	for _, a := range in {
		out = append(out, LoadBalancerAttribute{Key: ptr(a.Key), Value: ptr(a.Value)})
	}
	return out
}

// CreateLoadBalancer implements CreateLoadBalancerAPI.
func (a *API) CreateLoadBalancer(ctx context.Context, req *awsapi.Request, in *CreateLoadBalancerInput) (*CreateLoadBalancerOutput, error) {
	var ipam string
	if in.IpamPools != nil {
		ipam = deref(in.IpamPools.Ipv4IpamPoolId)
	}
	lb, err := a.cp.CreateLoadBalancer(ctx, req.Caller.AccountID, controlplane.CreateLoadBalancerInput{
		Name:                         deref(in.Name),
		Type:                         deref(in.Type),
		Scheme:                       deref(in.Scheme),
		IPAddressType:                deref(in.IpAddressType),
		Subnets:                      in.Subnets,
		SubnetMappings:               subnetMappingsIn(in.SubnetMappings),
		SecurityGroups:               in.SecurityGroups,
		Tags:                         tagsIn(in.Tags),
		CustomerOwnedIPv4Pool:        deref(in.CustomerOwnedIpv4Pool),
		IPv4IpamPoolID:               ipam,
		EnablePrefixForIPv6SourceNat: deref(in.EnablePrefixForIpv6SourceNat),
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
		Marker:           deref(in.Marker),
		PageSize:         deref(in.PageSize),
	})
	if err != nil {
		return nil, err
	}
	out := &DescribeLoadBalancersOutput{LoadBalancers: make([]LoadBalancer, 0, len(res.LoadBalancers)), NextMarker: optStr(res.NextMarker)}
	for _, lb := range res.LoadBalancers {
		out.LoadBalancers = append(out.LoadBalancers, loadBalancerOut(lb))
	}
	return out, nil
}

// DeleteLoadBalancer implements DeleteLoadBalancerAPI.
func (a *API) DeleteLoadBalancer(ctx context.Context, req *awsapi.Request, in *DeleteLoadBalancerInput) (*DeleteLoadBalancerOutput, error) {
	err := a.cp.DeleteLoadBalancer(ctx, req.Caller.AccountID, controlplane.DeleteLoadBalancerInput{LoadBalancerARN: deref(in.LoadBalancerArn)})
	if err != nil {
		return nil, err
	}
	return &DeleteLoadBalancerOutput{}, nil
}

// DescribeLoadBalancerAttributes implements DescribeLoadBalancerAttributesAPI.
func (a *API) DescribeLoadBalancerAttributes(ctx context.Context, req *awsapi.Request, in *DescribeLoadBalancerAttributesInput) (*DescribeLoadBalancerAttributesOutput, error) {
	attrs, err := a.cp.DescribeLoadBalancerAttributes(ctx, req.Caller.AccountID, controlplane.DescribeLoadBalancerAttributesInput{LoadBalancerARN: deref(in.LoadBalancerArn)})
	if err != nil {
		return nil, err
	}
	return &DescribeLoadBalancerAttributesOutput{Attributes: lbAttributesOut(attrs)}, nil
}

// ModifyLoadBalancerAttributes implements ModifyLoadBalancerAttributesAPI.
func (a *API) ModifyLoadBalancerAttributes(ctx context.Context, req *awsapi.Request, in *ModifyLoadBalancerAttributesInput) (*ModifyLoadBalancerAttributesOutput, error) {
	attrs := make([]controlplane.LoadBalancerAttribute, 0, len(in.Attributes))
	for _, at := range in.Attributes {
		attrs = append(attrs, controlplane.LoadBalancerAttribute{Key: deref(at.Key), Value: deref(at.Value)})
	}
	res, err := a.cp.ModifyLoadBalancerAttributes(ctx, req.Caller.AccountID, controlplane.ModifyLoadBalancerAttributesInput{
		LoadBalancerARN: deref(in.LoadBalancerArn),
		Attributes:      attrs,
	})
	if err != nil {
		return nil, err
	}
	return &ModifyLoadBalancerAttributesOutput{Attributes: lbAttributesOut(res)}, nil
}

// SetSecurityGroups implements SetSecurityGroupsAPI.
func (a *API) SetSecurityGroups(ctx context.Context, req *awsapi.Request, in *SetSecurityGroupsInput) (*SetSecurityGroupsOutput, error) {
	res, err := a.cp.SetSecurityGroups(ctx, req.Caller.AccountID, controlplane.SetSecurityGroupsInput{
		LoadBalancerARN:        deref(in.LoadBalancerArn),
		SecurityGroups:         in.SecurityGroups,
		EnforceSGOnPrivateLink: deref(in.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic),
	})
	if err != nil {
		return nil, err
	}
	return &SetSecurityGroupsOutput{
		SecurityGroupIds: res.SecurityGroupIDs,
		EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: optStr(res.EnforceSGOnPrivateLink),
	}, nil
}

// SetSubnets implements SetSubnetsAPI.
func (a *API) SetSubnets(ctx context.Context, req *awsapi.Request, in *SetSubnetsInput) (*SetSubnetsOutput, error) {
	res, err := a.cp.SetSubnets(ctx, req.Caller.AccountID, controlplane.SetSubnetsInput{
		LoadBalancerARN: deref(in.LoadBalancerArn),
		Subnets:         in.Subnets,
		SubnetMappings:  subnetMappingsIn(in.SubnetMappings),
		IPAddressType:   deref(in.IpAddressType),

		EnablePrefixForIPv6SourceNat: deref(in.EnablePrefixForIpv6SourceNat),
	})
	if err != nil {
		return nil, err
	}
	return &SetSubnetsOutput{AvailabilityZones: azsOut(res.Nodes), IpAddressType: ptr(res.IPAddressType)}, nil
}
