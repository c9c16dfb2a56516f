package controlplane

import (
	"context"
	"slices"
	"strings"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// This file is the consumer's discovery of endpoint services:
// DescribeVpcEndpointServices.
//
// AWS lists its own services too (com.amazonaws.us-east-1.s3 and so on).
// privlink has none: it lists only services that accounts created with
// CreateVpcEndpointServiceConfiguration, so naming an AWS service answers
// InvalidServiceName, as a service that does not exist does.

// DescribeVpcEndpointServicesInput is the input of
// DescribeVpcEndpointServices.
type DescribeVpcEndpointServicesInput struct {
	ServiceNames   []string
	ServiceRegions []string
	Filters        []Filter
	Page           Page
	DryRun         bool
}

// ServiceDetail is an endpoint service as a consumer sees it.
type ServiceDetail struct {
	ServiceName   string
	ServiceID     string
	ServiceType   string // model.EndpointTypeInterface
	ServiceRegion string
	// AvailabilityZones and AvailabilityZoneIDs are the zones the
	// service's load balancers have nodes in, sorted by name. All accounts
	// see one region's zones under the same names, so there is no
	// intersection with the consumer's zones to compute.
	AvailabilityZones    []string
	AvailabilityZoneIDs  []string
	Owner                string // the provider's account
	BaseEndpointDNSNames []string
	// PrivateDNSName is the service's private DNS name ("" for none) and
	// PrivateDNSNameVerificationState its verification state.
	PrivateDNSName                  string
	PrivateDNSNameVerificationState string
	// VpcEndpointPolicySupported is false: an NLB-backed service does not
	// evaluate endpoint policies.
	VpcEndpointPolicySupported bool
	AcceptanceRequired         bool
	ManagesVpcEndpoints        bool
	PayerResponsibility        string
	// Tags are the service's tags for its owner, and none for every other
	// account: tags belong to the account that owns a resource.
	Tags                    []model.Tag
	SupportedIPAddressTypes []string
}

// DescribeVpcEndpointServicesOutput is one page of
// DescribeVpcEndpointServices: the services' names and their details.
type DescribeVpcEndpointServicesOutput struct {
	ServiceNames   []string
	ServiceDetails []ServiceDetail
	NextToken      string
}

var serviceDetailFilters = filterDefs[ServiceDetail]{
	fields: map[string]func(ServiceDetail) []string{
		"owner":                      func(d ServiceDetail) []string { return one(d.Owner) },
		"service-name":               func(d ServiceDetail) []string { return one(d.ServiceName) },
		"service-region":             func(d ServiceDetail) []string { return one(d.ServiceRegion) },
		"service-type":               func(d ServiceDetail) []string { return one(d.ServiceType) },
		"supported-ip-address-types": func(d ServiceDetail) []string { return d.SupportedIPAddressTypes },
	},
	tags: func(d ServiceDetail) []model.Tag { return d.Tags },
}

// errInvalidServiceName is AWS's answer for a service name that does not
// exist, and equally for one the caller may not see.
func errInvalidServiceName(name string) error {
	return awsapi.Errorf("InvalidServiceName", "The Vpc Endpoint Service '%s' does not exist", name)
}

// usableService returns the service named name if account may see and
// connect to it: it exists, is Available and its owner or its allowed
// principals cover account. Anything else is InvalidServiceName, so that a
// caller cannot tell a service it may not use from one that does not exist.
func usableService(tx store.ReadTx, account, name string) (*model.EndpointService, error) {
	svc, found, err := serviceByName(tx, name)
	if err != nil {
		return nil, err
	}
	if !found || svc.State != model.ServiceAvailable || !serviceVisibleTo(svc, account) {
		return nil, errInvalidServiceName(name)
	}
	return svc, nil
}

// serviceDetail derives the consumer's view of svc for account.
func (s *Service) serviceDetail(tx store.ReadTx, svc *model.EndpointService, account string) (ServiceDetail, error) {
	zones, err := s.serviceZones(tx, svc)
	if err != nil {
		return ServiceDetail{}, err
	}
	d := ServiceDetail{
		ServiceName:             svc.Name,
		ServiceID:               svc.ID,
		ServiceType:             model.EndpointTypeInterface,
		ServiceRegion:           s.region,
		Owner:                   svc.OwnerID,
		BaseEndpointDNSNames:    []string{model.EndpointServiceBaseDNSName(s.region, svc.ID)},
		PrivateDNSName:          svc.PrivateDNSName,
		AcceptanceRequired:      svc.AcceptanceRequired,
		PayerResponsibility:     svc.PayerResponsibility,
		SupportedIPAddressTypes: slices.Clone(svc.SupportedIPAddressTypes),
	}
	d.AvailabilityZones, d.AvailabilityZoneIDs = zoneNamesAndIDs(zones)
	if svc.PrivateDNSName != "" && svc.PrivateDNS != nil {
		d.PrivateDNSNameVerificationState = svc.PrivateDNS.State
	}
	if len(d.SupportedIPAddressTypes) == 0 {
		d.SupportedIPAddressTypes = []string{model.IPAddressTypeIPv4}
	}
	if svc.OwnerID == account {
		d.Tags = slices.Clone(svc.Tags)
	}
	return d, nil
}

// DescribeVpcEndpointServices lists the endpoint services the caller can
// create endpoints to: its own and those whose allowed principals cover it,
// in state Available, sorted by name. ServiceNames narrows the list to
// those names, each of which must be such a service (else
// InvalidServiceName, whether it does not exist or the caller may not see
// it); ServiceRegions other than this region match nothing. Filters and
// MaxResults (1-1000, more is capped) apply after.
func (s *Service) DescribeVpcEndpointServices(ctx context.Context, account string, in DescribeVpcEndpointServicesInput) (DescribeVpcEndpointServicesOutput, error) {
	var out DescribeVpcEndpointServicesOutput
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if err := serviceDetailFilters.validate(in.Filters); err != nil {
			return err
		}
		inRegion := len(in.ServiceRegions) == 0 || slices.Contains(in.ServiceRegions, s.region)
		var services []*model.EndpointService
		if len(in.ServiceNames) > 0 {
			for _, name := range dedupe(in.ServiceNames) {
				svc, err := usableService(tx, account, name)
				if err != nil {
					return err
				}
				if !inRegion {
					return errInvalidServiceName(name)
				}
				services = append(services, svc)
			}
		} else if inRegion {
			all, err := listRecords[model.EndpointService](tx, store.KindPrefix(store.KindEndpointService))
			if err != nil {
				return err
			}
			for _, svc := range all {
				if svc.State == model.ServiceAvailable && serviceVisibleTo(svc, account) {
					services = append(services, svc)
				}
			}
		}
		var items []ServiceDetail
		for _, svc := range services {
			d, err := s.serviceDetail(tx, svc, account)
			if err != nil {
				return err
			}
			if serviceDetailFilters.match(d, in.Filters) {
				items = append(items, d)
			}
		}
		slices.SortFunc(items, func(a, b ServiceDetail) int { return strings.Compare(a.ServiceName, b.ServiceName) })
		page, next, err := paginate(items, func(d ServiceDetail) string { return d.ServiceName }, in.Page, 1, 1000)
		if err != nil {
			return err
		}
		out.ServiceDetails = page
		out.ServiceNames = make([]string, 0, len(page))
		for _, d := range page {
			out.ServiceNames = append(out.ServiceNames, d.ServiceName)
		}
		out.NextToken = next
		return nil
	})
	if err != nil {
		return DescribeVpcEndpointServicesOutput{}, err
	}
	return out, nil
}
