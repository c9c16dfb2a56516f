package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
)

// The provider's PrivateLink actions: endpoint service configurations,
// their permissions, payer responsibility and private DNS verification, and
// the connections of consumers' endpoints to them.

var (
	_ CreateVpcEndpointServiceConfigurationAPI         = (*API)(nil)
	_ DescribeVpcEndpointServiceConfigurationsAPI      = (*API)(nil)
	_ ModifyVpcEndpointServiceConfigurationAPI         = (*API)(nil)
	_ DeleteVpcEndpointServiceConfigurationsAPI        = (*API)(nil)
	_ ModifyVpcEndpointServicePermissionsAPI           = (*API)(nil)
	_ DescribeVpcEndpointServicePermissionsAPI         = (*API)(nil)
	_ ModifyVpcEndpointServicePayerResponsibilityAPI   = (*API)(nil)
	_ StartVpcEndpointServicePrivateDnsVerificationAPI = (*API)(nil)
	_ DescribeVpcEndpointConnectionsAPI                = (*API)(nil)
	_ AcceptVpcEndpointConnectionsAPI                  = (*API)(nil)
	_ RejectVpcEndpointConnectionsAPI                  = (*API)(nil)
)

// serviceConfigurationOut converts a service configuration to its wire
// form. privateDnsNameConfiguration is always there, empty when the
// service has no private DNS name, as AWS sends it.
func serviceConfigurationOut(c controlplane.ServiceConfiguration) ServiceConfiguration {
	dns := &PrivateDnsNameConfiguration{}
	if c.PrivateDNS != nil {
		dns = &PrivateDnsNameConfiguration{
			Name:  new(c.PrivateDNS.Name),
			State: new(c.PrivateDNS.State),
			Type:  new(c.PrivateDNS.Type),
			Value: new(c.PrivateDNS.Value),
		}
	}
	return ServiceConfiguration{
		AcceptanceRequired:          new(c.AcceptanceRequired),
		AvailabilityZoneIds:         append([]string{}, c.AvailabilityZoneIDs...),
		AvailabilityZones:           append([]string{}, c.AvailabilityZones...),
		BaseEndpointDnsNames:        append([]string{}, c.BaseEndpointDNSNames...),
		ManagesVpcEndpoints:         new(false),
		NetworkLoadBalancerArns:     append([]string{}, c.NetworkLoadBalancerARNs...),
		PayerResponsibility:         wireconv.OptString(c.PayerResponsibility),
		PrivateDnsName:              wireconv.OptString(c.PrivateDNSName),
		PrivateDnsNameConfiguration: dns,
		RemoteAccessEnabled:         new(false),
		ServiceId:                   new(c.ID),
		ServiceName:                 new(c.Name),
		ServiceState:                new(c.State),
		ServiceType:                 []ServiceTypeDetail{{ServiceType: new(model.EndpointTypeInterface)}},
		SupportedIpAddressTypes:     append([]string{}, c.SupportedIPAddressTypes...),
		SupportedRegions: wireconv.All(c.SupportedRegions, func(r controlplane.SupportedRegion) SupportedRegionDetail {
			return SupportedRegionDetail{Region: new(r.Region), ServiceState: new(r.ServiceState)}
		}),
		Tags: tagsOut(c.Tags),
	}
}

// unsuccessfulItemsFromCP converts the items a batch call did not act on.
func unsuccessfulItemsFromCP(in []controlplane.UnsuccessfulItem) []UnsuccessfulItem {
	return wireconv.All(in, func(u controlplane.UnsuccessfulItem) UnsuccessfulItem {
		return UnsuccessfulItem{
			ResourceId: new(u.ResourceID),
			Error:      &UnsuccessfulItemError{Code: new(u.Code), Message: new(u.Message)},
		}
	})
}

// CreateVpcEndpointServiceConfiguration implements
// CreateVpcEndpointServiceConfigurationAPI.
func (a *API) CreateVpcEndpointServiceConfiguration(ctx context.Context, req *awsapi.Request, in *CreateVpcEndpointServiceConfigurationInput) (*CreateVpcEndpointServiceConfigurationOutput, error) {
	res, err := a.cp.CreateVpcEndpointServiceConfiguration(ctx, req.Caller.AccountID, controlplane.CreateVpcEndpointServiceConfigurationInput{
		AcceptanceRequired:      in.AcceptanceRequired,
		PrivateDNSName:          wireconv.Deref(in.PrivateDnsName),
		NetworkLoadBalancerARNs: in.NetworkLoadBalancerArns,
		GatewayLoadBalancerARNs: in.GatewayLoadBalancerArns,
		SupportedIPAddressTypes: in.SupportedIpAddressTypes,
		SupportedRegions:        in.SupportedRegions,
		ClientToken:             wireconv.Deref(in.ClientToken),
		TagSpecs:                tagSpecsIn(in.TagSpecifications),
		DryRun:                  wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &CreateVpcEndpointServiceConfigurationOutput{
		ClientToken:          wireconv.OptString(res.ClientToken),
		ServiceConfiguration: new(serviceConfigurationOut(res.ServiceConfiguration)),
	}, nil
}

// DescribeVpcEndpointServiceConfigurations implements
// DescribeVpcEndpointServiceConfigurationsAPI.
func (a *API) DescribeVpcEndpointServiceConfigurations(ctx context.Context, req *awsapi.Request, in *DescribeVpcEndpointServiceConfigurationsInput) (*DescribeVpcEndpointServiceConfigurationsOutput, error) {
	res, err := a.cp.DescribeVpcEndpointServiceConfigurations(ctx, req.Caller.AccountID, controlplane.DescribeVpcEndpointServiceConfigurationsInput{
		ServiceIDs: in.ServiceIds,
		Filters:    filtersIn(in.Filters),
		Page:       pageIn(in.MaxResults, in.NextToken),
		DryRun:     wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeVpcEndpointServiceConfigurationsOutput{
		ServiceConfigurations: wireconv.All(res.ServiceConfigurations, serviceConfigurationOut),
		NextToken:             wireconv.OptString(res.NextToken),
	}, nil
}

// ModifyVpcEndpointServiceConfiguration implements
// ModifyVpcEndpointServiceConfigurationAPI.
func (a *API) ModifyVpcEndpointServiceConfiguration(ctx context.Context, req *awsapi.Request, in *ModifyVpcEndpointServiceConfigurationInput) (*ModifyVpcEndpointServiceConfigurationOutput, error) {
	err := a.cp.ModifyVpcEndpointServiceConfiguration(ctx, req.Caller.AccountID, controlplane.ModifyVpcEndpointServiceConfigurationInput{
		ServiceID:                     wireconv.Deref(in.ServiceId),
		PrivateDNSName:                in.PrivateDnsName,
		RemovePrivateDNSName:          wireconv.Deref(in.RemovePrivateDnsName),
		AcceptanceRequired:            in.AcceptanceRequired,
		AddNetworkLoadBalancerARNs:    in.AddNetworkLoadBalancerArns,
		RemoveNetworkLoadBalancerARNs: in.RemoveNetworkLoadBalancerArns,
		AddGatewayLoadBalancerARNs:    in.AddGatewayLoadBalancerArns,
		RemoveGatewayLoadBalancerARNs: in.RemoveGatewayLoadBalancerArns,
		AddSupportedIPAddressTypes:    in.AddSupportedIpAddressTypes,
		RemoveSupportedIPAddressTypes: in.RemoveSupportedIpAddressTypes,
		AddSupportedRegions:           in.AddSupportedRegions,
		RemoveSupportedRegions:        in.RemoveSupportedRegions,
		DryRun:                        wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &ModifyVpcEndpointServiceConfigurationOutput{Return: new(true)}, nil
}

// DeleteVpcEndpointServiceConfigurations implements
// DeleteVpcEndpointServiceConfigurationsAPI.
func (a *API) DeleteVpcEndpointServiceConfigurations(ctx context.Context, req *awsapi.Request, in *DeleteVpcEndpointServiceConfigurationsInput) (*DeleteVpcEndpointServiceConfigurationsOutput, error) {
	res, err := a.cp.DeleteVpcEndpointServiceConfigurations(ctx, req.Caller.AccountID, controlplane.DeleteVpcEndpointServiceConfigurationsInput{
		ServiceIDs: in.ServiceIds,
		DryRun:     wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DeleteVpcEndpointServiceConfigurationsOutput{Unsuccessful: unsuccessfulItemsFromCP(res)}, nil
}

// ModifyVpcEndpointServicePermissions implements
// ModifyVpcEndpointServicePermissionsAPI.
func (a *API) ModifyVpcEndpointServicePermissions(ctx context.Context, req *awsapi.Request, in *ModifyVpcEndpointServicePermissionsInput) (*ModifyVpcEndpointServicePermissionsOutput, error) {
	added, err := a.cp.ModifyVpcEndpointServicePermissions(ctx, req.Caller.AccountID, controlplane.ModifyVpcEndpointServicePermissionsInput{
		ServiceID:               wireconv.Deref(in.ServiceId),
		AddAllowedPrincipals:    in.AddAllowedPrincipals,
		RemoveAllowedPrincipals: in.RemoveAllowedPrincipals,
		DryRun:                  wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &ModifyVpcEndpointServicePermissionsOutput{
		ReturnValue: new(true),
		AddedPrincipals: wireconv.AllOrNil(added, func(p controlplane.AddedPrincipal) AddedPrincipal {
			return AddedPrincipal{
				Principal:           new(p.Principal),
				PrincipalType:       new(p.PrincipalType),
				ServiceId:           new(p.ServiceID),
				ServicePermissionId: new(p.ServicePermissionID),
			}
		}),
	}, nil
}

// DescribeVpcEndpointServicePermissions implements
// DescribeVpcEndpointServicePermissionsAPI.
func (a *API) DescribeVpcEndpointServicePermissions(ctx context.Context, req *awsapi.Request, in *DescribeVpcEndpointServicePermissionsInput) (*DescribeVpcEndpointServicePermissionsOutput, error) {
	res, err := a.cp.DescribeVpcEndpointServicePermissions(ctx, req.Caller.AccountID, controlplane.DescribeVpcEndpointServicePermissionsInput{
		ServiceID: wireconv.Deref(in.ServiceId),
		Filters:   filtersIn(in.Filters),
		Page:      pageIn(in.MaxResults, in.NextToken),
		DryRun:    wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeVpcEndpointServicePermissionsOutput{
		AllowedPrincipals: wireconv.All(res.AllowedPrincipals, func(p controlplane.ServicePermission) AllowedPrincipal {
			return AllowedPrincipal{
				Principal:           new(p.Principal),
				PrincipalType:       new(p.Type),
				ServiceId:           new(p.ServiceID),
				ServicePermissionId: new(p.ID),
				Tags:                tagsOut(p.Tags),
			}
		}),
		NextToken: wireconv.OptString(res.NextToken),
	}, nil
}

// ModifyVpcEndpointServicePayerResponsibility implements
// ModifyVpcEndpointServicePayerResponsibilityAPI.
func (a *API) ModifyVpcEndpointServicePayerResponsibility(ctx context.Context, req *awsapi.Request, in *ModifyVpcEndpointServicePayerResponsibilityInput) (*ModifyVpcEndpointServicePayerResponsibilityOutput, error) {
	err := a.cp.ModifyVpcEndpointServicePayerResponsibility(ctx, req.Caller.AccountID, controlplane.ModifyVpcEndpointServicePayerResponsibilityInput{
		ServiceID:           wireconv.Deref(in.ServiceId),
		PayerResponsibility: wireconv.Deref(in.PayerResponsibility),
		DryRun:              wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &ModifyVpcEndpointServicePayerResponsibilityOutput{ReturnValue: new(true)}, nil
}

// StartVpcEndpointServicePrivateDnsVerification implements
// StartVpcEndpointServicePrivateDnsVerificationAPI.
func (a *API) StartVpcEndpointServicePrivateDnsVerification(ctx context.Context, req *awsapi.Request, in *StartVpcEndpointServicePrivateDnsVerificationInput) (*StartVpcEndpointServicePrivateDnsVerificationOutput, error) {
	err := a.cp.StartVpcEndpointServicePrivateDNSVerification(ctx, req.Caller.AccountID, controlplane.StartVpcEndpointServicePrivateDNSVerificationInput{
		ServiceID: wireconv.Deref(in.ServiceId),
		DryRun:    wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &StartVpcEndpointServicePrivateDnsVerificationOutput{ReturnValue: new(true)}, nil
}

// vpcEndpointConnectionOut converts a connection to its wire form.
func vpcEndpointConnectionOut(c controlplane.VpcEndpointConnection) VpcEndpointConnection {
	return VpcEndpointConnection{
		CreationTimestamp:       new(c.Created),
		DnsEntries:              wireconv.All(c.DNSEntries, dnsEntryOut),
		IpAddressType:           wireconv.OptString(c.IPAddressType),
		NetworkLoadBalancerArns: append([]string{}, c.NetworkLoadBalancerARNs...),
		ServiceId:               new(c.ServiceID),
		VpcEndpointConnectionId: wireconv.OptString(c.ConnectionID),
		VpcEndpointId:           new(c.VpcEndpointID),
		VpcEndpointOwner:        new(c.VpcEndpointOwner),
		VpcEndpointRegion:       wireconv.OptString(c.VpcEndpointRegion),
		VpcEndpointState:        new(c.VpcEndpointState),
	}
}

// DescribeVpcEndpointConnections implements DescribeVpcEndpointConnectionsAPI.
func (a *API) DescribeVpcEndpointConnections(ctx context.Context, req *awsapi.Request, in *DescribeVpcEndpointConnectionsInput) (*DescribeVpcEndpointConnectionsOutput, error) {
	res, err := a.cp.DescribeVpcEndpointConnections(ctx, req.Caller.AccountID, controlplane.DescribeVpcEndpointConnectionsInput{
		Filters: filtersIn(in.Filters),
		Page:    pageIn(in.MaxResults, in.NextToken),
		DryRun:  wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeVpcEndpointConnectionsOutput{
		VpcEndpointConnections: wireconv.All(res.VpcEndpointConnections, vpcEndpointConnectionOut),
		NextToken:              wireconv.OptString(res.NextToken),
	}, nil
}

// AcceptVpcEndpointConnections implements AcceptVpcEndpointConnectionsAPI.
func (a *API) AcceptVpcEndpointConnections(ctx context.Context, req *awsapi.Request, in *AcceptVpcEndpointConnectionsInput) (*AcceptVpcEndpointConnectionsOutput, error) {
	res, err := a.cp.AcceptVpcEndpointConnections(ctx, req.Caller.AccountID, controlplane.VpcEndpointConnectionsInput{
		ServiceID:      wireconv.Deref(in.ServiceId),
		VpcEndpointIDs: in.VpcEndpointIds,
		DryRun:         wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &AcceptVpcEndpointConnectionsOutput{Unsuccessful: unsuccessfulItemsFromCP(res)}, nil
}

// RejectVpcEndpointConnections implements RejectVpcEndpointConnectionsAPI.
func (a *API) RejectVpcEndpointConnections(ctx context.Context, req *awsapi.Request, in *RejectVpcEndpointConnectionsInput) (*RejectVpcEndpointConnectionsOutput, error) {
	res, err := a.cp.RejectVpcEndpointConnections(ctx, req.Caller.AccountID, controlplane.VpcEndpointConnectionsInput{
		ServiceID:      wireconv.Deref(in.ServiceId),
		VpcEndpointIDs: in.VpcEndpointIds,
		DryRun:         wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &RejectVpcEndpointConnectionsOutput{Unsuccessful: unsuccessfulItemsFromCP(res)}, nil
}
