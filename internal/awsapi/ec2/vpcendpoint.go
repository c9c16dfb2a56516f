package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
	"github.com/privlink/privlink/internal/controlplane"
)

// The consumer's PrivateLink actions: discovering services and managing
// interface endpoints.

var (
	_ DescribeVpcEndpointServicesAPI = (*API)(nil)
	_ CreateVpcEndpointAPI           = (*API)(nil)
	_ DescribeVpcEndpointsAPI        = (*API)(nil)
	_ ModifyVpcEndpointAPI           = (*API)(nil)
	_ DeleteVpcEndpointsAPI          = (*API)(nil)
)

// serviceDetailOut converts a service as a consumer sees it.
func serviceDetailOut(d controlplane.ServiceDetail) ServiceDetail {
	out := ServiceDetail{
		ServiceName:                new(d.ServiceName),
		ServiceId:                  new(d.ServiceID),
		ServiceType:                []ServiceTypeDetail{{ServiceType: new(d.ServiceType)}},
		ServiceRegion:              new(d.ServiceRegion),
		AvailabilityZones:          d.AvailabilityZones,
		AvailabilityZoneIds:        d.AvailabilityZoneIDs,
		Owner:                      new(d.Owner),
		BaseEndpointDnsNames:       d.BaseEndpointDNSNames,
		VpcEndpointPolicySupported: new(d.VpcEndpointPolicySupported),
		AcceptanceRequired:         new(d.AcceptanceRequired),
		ManagesVpcEndpoints:        new(d.ManagesVpcEndpoints),
		PayerResponsibility:        wireconv.OptString(d.PayerResponsibility),
		Tags:                       wireconv.All(d.Tags, tagOut), // [] when none, as AWS sends it
		SupportedIpAddressTypes:    d.SupportedIPAddressTypes,
	}
	if d.PrivateDNSName != "" {
		out.PrivateDnsName = new(d.PrivateDNSName)
		out.PrivateDnsNames = []PrivateDnsDetails{{PrivateDnsName: new(d.PrivateDNSName)}}
		out.PrivateDnsNameVerificationState = wireconv.OptString(d.PrivateDNSNameVerificationState)
	}
	return out
}

// DescribeVpcEndpointServices implements DescribeVpcEndpointServicesAPI.
func (a *API) DescribeVpcEndpointServices(ctx context.Context, req *awsapi.Request, in *DescribeVpcEndpointServicesInput) (*DescribeVpcEndpointServicesOutput, error) {
	res, err := a.cp.DescribeVpcEndpointServices(ctx, req.Caller.AccountID, controlplane.DescribeVpcEndpointServicesInput{
		ServiceNames:   in.ServiceNames,
		ServiceRegions: in.ServiceRegions,
		Filters:        filtersIn(in.Filters),
		Page:           pageIn(in.MaxResults, in.NextToken),
		DryRun:         wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeVpcEndpointServicesOutput{
		ServiceNames:   res.ServiceNames,
		ServiceDetails: wireconv.All(res.ServiceDetails, serviceDetailOut),
		NextToken:      wireconv.OptString(res.NextToken),
	}, nil
}

// subnetConfigsIn converts SubnetConfiguration.N.
func subnetConfigsIn(in []SubnetConfiguration) []controlplane.SubnetConfiguration {
	return wireconv.AllOrNil(in, func(c SubnetConfiguration) controlplane.SubnetConfiguration {
		return controlplane.SubnetConfiguration{
			SubnetID: wireconv.Deref(c.SubnetId),
			IPv4:     wireconv.Deref(c.Ipv4),
			IPv6:     wireconv.Deref(c.Ipv6),
		}
	})
}

// dnsOptionsIn converts DnsOptions.*.
func dnsOptionsIn(in *DnsOptionsSpecification) *controlplane.EndpointDNSOptions {
	if in == nil {
		return nil
	}
	return &controlplane.EndpointDNSOptions{
		DNSRecordIPType:                          wireconv.Deref(in.DnsRecordIpType),
		PrivateDNSOnlyForInboundResolverEndpoint: in.PrivateDnsOnlyForInboundResolverEndpoint,
		PrivateDNSPreference:                     wireconv.Deref(in.PrivateDnsPreference),
		PrivateDNSSpecifiedDomains:               in.PrivateDnsSpecifiedDomains,
	}
}

// dnsEntryOut converts one DNS name of an endpoint or an endpoint
// connection.
func dnsEntryOut(d controlplane.EndpointDNSEntry) DnsEntry {
	return DnsEntry{DnsName: new(d.DNSName), HostedZoneId: new(d.HostedZoneID)}
}

// endpointGroupOut converts one security group of an endpoint.
func endpointGroupOut(g controlplane.GroupIdentifier) SecurityGroupIdentifier {
	return SecurityGroupIdentifier{GroupId: new(g.GroupID), GroupName: new(g.GroupName)}
}

// vpcEndpointOut converts an interface endpoint. AWS always sends the
// lists of an interface endpoint, empty or not.
func vpcEndpointOut(e controlplane.VpcEndpoint) VpcEndpoint {
	out := VpcEndpoint{
		VpcEndpointId:       new(e.ID),
		VpcEndpointType:     new(e.Type),
		VpcId:               new(e.VpcID),
		ServiceName:         new(e.ServiceName),
		ServiceRegion:       new(e.ServiceRegion),
		State:               new(e.State),
		PolicyDocument:      wireconv.OptString(e.PolicyDocument),
		RouteTableIds:       []string{},
		SubnetIds:           e.SubnetIDs,
		Groups:              wireconv.All(e.GroupSet, endpointGroupOut),
		IpAddressType:       new(e.IPAddressType),
		DnsOptions:          &DnsOptions{DnsRecordIpType: wireconv.OptString(e.DNSRecordIPType)},
		PrivateDnsEnabled:   new(e.PrivateDNSEnabled),
		RequesterManaged:    new(false),
		NetworkInterfaceIds: e.NetworkInterfaceIDs,
		DnsEntries:          wireconv.All(e.DNSEntries, dnsEntryOut),
		CreationTimestamp:   new(e.Created),
		Tags:                wireconv.All(e.Tags, tagOut),
		OwnerId:             new(e.OwnerID),
	}
	if e.LastError != "" {
		code := e.LastErrorCode
		if code == "" {
			code = "InternalError"
		}
		out.LastError = &LastError{Code: new(code), Message: new(e.LastError)}
	}
	return out
}

// CreateVpcEndpoint implements CreateVpcEndpointAPI.
func (a *API) CreateVpcEndpoint(ctx context.Context, req *awsapi.Request, in *CreateVpcEndpointInput) (*CreateVpcEndpointOutput, error) {
	res, err := a.cp.CreateVpcEndpoint(ctx, req.Caller.AccountID, controlplane.CreateVpcEndpointInput{
		VpcEndpointType:          wireconv.Deref(in.VpcEndpointType),
		VpcID:                    wireconv.Deref(in.VpcId),
		ServiceName:              wireconv.Deref(in.ServiceName),
		ServiceRegion:            wireconv.Deref(in.ServiceRegion),
		SubnetIDs:                in.SubnetIds,
		SubnetConfigurations:     subnetConfigsIn(in.SubnetConfigurations),
		SecurityGroupIDs:         in.SecurityGroupIds,
		RouteTableIDs:            in.RouteTableIds,
		PrivateDNSEnabled:        in.PrivateDnsEnabled,
		PolicyDocument:           in.PolicyDocument,
		IPAddressType:            wireconv.Deref(in.IpAddressType),
		DNSOptions:               dnsOptionsIn(in.DnsOptions),
		ServiceNetworkARN:        wireconv.Deref(in.ServiceNetworkArn),
		ResourceConfigurationARN: wireconv.Deref(in.ResourceConfigurationArn),
		ClientToken:              wireconv.Deref(in.ClientToken),
		TagSpecs:                 tagSpecsIn(in.TagSpecifications),
		DryRun:                   wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &CreateVpcEndpointOutput{VpcEndpoint: new(vpcEndpointOut(res.VpcEndpoint)), ClientToken: wireconv.OptString(res.ClientToken)}, nil
}

// DescribeVpcEndpoints implements DescribeVpcEndpointsAPI.
func (a *API) DescribeVpcEndpoints(ctx context.Context, req *awsapi.Request, in *DescribeVpcEndpointsInput) (*DescribeVpcEndpointsOutput, error) {
	res, err := a.cp.DescribeVpcEndpoints(ctx, req.Caller.AccountID, controlplane.DescribeVpcEndpointsInput{
		VpcEndpointIDs: in.VpcEndpointIds,
		Filters:        filtersIn(in.Filters),
		Page:           pageIn(in.MaxResults, in.NextToken),
		DryRun:         wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeVpcEndpointsOutput{
		VpcEndpoints: wireconv.All(res.VpcEndpoints, vpcEndpointOut),
		NextToken:    wireconv.OptString(res.NextToken),
	}, nil
}

// ModifyVpcEndpoint implements ModifyVpcEndpointAPI.
func (a *API) ModifyVpcEndpoint(ctx context.Context, req *awsapi.Request, in *ModifyVpcEndpointInput) (*ModifyVpcEndpointOutput, error) {
	err := a.cp.ModifyVpcEndpoint(ctx, req.Caller.AccountID, controlplane.ModifyVpcEndpointInput{
		VpcEndpointID:          wireconv.Deref(in.VpcEndpointId),
		AddSubnetIDs:           in.AddSubnetIds,
		RemoveSubnetIDs:        in.RemoveSubnetIds,
		SubnetConfigurations:   subnetConfigsIn(in.SubnetConfigurations),
		AddSecurityGroupIDs:    in.AddSecurityGroupIds,
		RemoveSecurityGroupIDs: in.RemoveSecurityGroupIds,
		AddRouteTableIDs:       in.AddRouteTableIds,
		RemoveRouteTableIDs:    in.RemoveRouteTableIds,
		PrivateDNSEnabled:      in.PrivateDnsEnabled,
		PolicyDocument:         in.PolicyDocument,
		ResetPolicy:            wireconv.Deref(in.ResetPolicy),
		IPAddressType:          wireconv.Deref(in.IpAddressType),
		DNSOptions:             dnsOptionsIn(in.DnsOptions),
		DryRun:                 wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &ModifyVpcEndpointOutput{Return: new(true)}, nil
}

// DeleteVpcEndpoints implements DeleteVpcEndpointsAPI. The unsuccessful
// list is always sent, empty when every endpoint was deleted.
func (a *API) DeleteVpcEndpoints(ctx context.Context, req *awsapi.Request, in *DeleteVpcEndpointsInput) (*DeleteVpcEndpointsOutput, error) {
	res, err := a.cp.DeleteVpcEndpoints(ctx, req.Caller.AccountID, controlplane.DeleteVpcEndpointsInput{
		VpcEndpointIDs: in.VpcEndpointIds,
		DryRun:         wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DeleteVpcEndpointsOutput{Unsuccessful: unsuccessfulItemsFromCP(res.Unsuccessful)}, nil
}
