package controlplane

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// This file holds the provider's side of endpoint services: creating,
// describing, modifying and deleting a service configuration, its allowed
// principals, its payer responsibility and the verification of its private
// DNS name. The provider's view of the consumers' endpoints (connections)
// is in endpointconnection.go.
//
// Where AWS's behaviour is not documented, these are the choices (each is
// also stated where it is made):
//   - An NLB ARN that does not parse as one is InvalidNetworkLoadBalancerArn.Malformed,
//     one the caller does not own (or that does not exist) .NotFound: the
//     codes EC2's error reference lists for exactly these cases.
//   - An NLB may back one service only; a second is InvalidParameter.
//   - Removing an NLB from a service that has endpoints attached (any
//     endpoint not rejected or deleted) is ExistingVpcEndpointConnections,
//     which EC2's error reference describes as "You cannot delete a VPC
//     endpoint service configuration or change the load balancers for the
//     endpoint service if there are endpoints attached to the service".
//   - DeleteVpcEndpointServiceConfigurations reports an unknown service as
//     an unsuccessful item (InvalidVpcEndpointServiceId.NotFound), as EC2's
//     error reference says bulk requests do, and as Terraform's resource
//     handles; a malformed id fails the whole call.
//   - A malformed principal is InvalidPrincipal.

// Services are served in one region: SupportedRegions always lists it,
// Available, and no other (cross-Region PrivateLink is not supported).

// maxPrivateDNSNameLen is the longest private DNS name (a DNS name's limit).
const maxPrivateDNSNameLen = 255

// ipAddressTypeIPv6 is the supported IP address type privlink's services
// cannot have (model.IPAddressTypeIPv4 is the one they have).
const ipAddressTypeIPv6 = "ipv6"

// PayerServiceOwner is the one PayerResponsibility a service can be given:
// the service owner pays for its endpoints.
const PayerServiceOwner = "ServiceOwner"

// ServiceConfiguration is an endpoint service as its provider sees it: the
// stored service and what follows from it now (its load balancers' zones,
// its base DNS name, its regions).
type ServiceConfiguration struct {
	model.EndpointService
	AvailabilityZones    []string
	AvailabilityZoneIDs  []string
	BaseEndpointDNSNames []string
	SupportedRegions     []SupportedRegion
}

// SupportedRegion is one region consumers may connect from, and the
// service's state there.
type SupportedRegion struct {
	Region       string
	ServiceState string
}

// CreateVpcEndpointServiceConfigurationInput is the input of
// CreateVpcEndpointServiceConfiguration.
type CreateVpcEndpointServiceConfigurationInput struct {
	AcceptanceRequired      *bool // nil means false
	PrivateDNSName          string
	NetworkLoadBalancerARNs []string
	GatewayLoadBalancerARNs []string
	SupportedIPAddressTypes []string
	SupportedRegions        []string
	ClientToken             string
	TagSpecs                []TagSpec
	DryRun                  bool
}

// CreateVpcEndpointServiceConfigurationOutput is the answer of
// CreateVpcEndpointServiceConfiguration.
type CreateVpcEndpointServiceConfigurationOutput struct {
	ServiceConfiguration ServiceConfiguration
	ClientToken          string
}

// DescribeVpcEndpointServiceConfigurationsInput is the input of
// DescribeVpcEndpointServiceConfigurations.
type DescribeVpcEndpointServiceConfigurationsInput struct {
	ServiceIDs []string
	Filters    []Filter
	Page       Page
	DryRun     bool
}

// DescribeVpcEndpointServiceConfigurationsOutput is one page of
// DescribeVpcEndpointServiceConfigurations.
type DescribeVpcEndpointServiceConfigurationsOutput struct {
	ServiceConfigurations []ServiceConfiguration
	NextToken             string
}

// ModifyVpcEndpointServiceConfigurationInput is the input of
// ModifyVpcEndpointServiceConfiguration. A nil PrivateDNSName leaves the
// name; an empty one removes it, like RemovePrivateDNSName.
type ModifyVpcEndpointServiceConfigurationInput struct {
	ServiceID                     string
	PrivateDNSName                *string
	RemovePrivateDNSName          bool
	AcceptanceRequired            *bool
	AddNetworkLoadBalancerARNs    []string
	RemoveNetworkLoadBalancerARNs []string
	AddGatewayLoadBalancerARNs    []string
	RemoveGatewayLoadBalancerARNs []string
	AddSupportedIPAddressTypes    []string
	RemoveSupportedIPAddressTypes []string
	AddSupportedRegions           []string
	RemoveSupportedRegions        []string
	DryRun                        bool
}

// DeleteVpcEndpointServiceConfigurationsInput is the input of
// DeleteVpcEndpointServiceConfigurations.
type DeleteVpcEndpointServiceConfigurationsInput struct {
	ServiceIDs []string
	DryRun     bool
}

// ModifyVpcEndpointServicePermissionsInput is the input of
// ModifyVpcEndpointServicePermissions.
type ModifyVpcEndpointServicePermissionsInput struct {
	ServiceID               string
	AddAllowedPrincipals    []string
	RemoveAllowedPrincipals []string
	DryRun                  bool
}

// AddedPrincipal is one principal ModifyVpcEndpointServicePermissions
// allowed.
type AddedPrincipal struct {
	ServiceID           string
	ServicePermissionID string
	Principal           string
	PrincipalType       string
}

// DescribeVpcEndpointServicePermissionsInput is the input of
// DescribeVpcEndpointServicePermissions.
type DescribeVpcEndpointServicePermissionsInput struct {
	ServiceID string
	Filters   []Filter
	Page      Page
	DryRun    bool
}

// ServicePermission is one allowed principal of a service.
type ServicePermission struct {
	ServiceID string
	model.AllowedPrincipal
}

// DescribeVpcEndpointServicePermissionsOutput is one page of
// DescribeVpcEndpointServicePermissions.
type DescribeVpcEndpointServicePermissionsOutput struct {
	AllowedPrincipals []ServicePermission
	NextToken         string
}

// ModifyVpcEndpointServicePayerResponsibilityInput is the input of
// ModifyVpcEndpointServicePayerResponsibility.
type ModifyVpcEndpointServicePayerResponsibilityInput struct {
	ServiceID           string
	PayerResponsibility string
	DryRun              bool
}

// StartVpcEndpointServicePrivateDNSVerificationInput is the input of
// StartVpcEndpointServicePrivateDnsVerification.
type StartVpcEndpointServicePrivateDNSVerificationInput struct {
	ServiceID string
	DryRun    bool
}

// serviceTokenKey is the key of the record a
// CreateVpcEndpointServiceConfiguration ClientToken leaves.
func serviceTokenKey(account, token string) string {
	return store.KindIndex + "/vpce-svc-client-token/" + account + "/" + token
}

// serviceToken is the record a CreateVpcEndpointServiceConfiguration
// ClientToken leaves, so that a retry returns the service the first call
// created.
type serviceToken struct {
	ServiceID string          `json:"serviceId"`
	Request   json.RawMessage `json:"request"`
}

// errUnsupportedGatewayLB answers any Gateway Load Balancer parameter.
func errUnsupportedGatewayLB() error {
	return awsapi.Errorf("InvalidParameter", "Gateway Load Balancer endpoint services are not supported: privlink supports only Network Load Balancer endpoint services.")
}

// errExactlyOneLBKind is AWS's answer to a create with neither (or both)
// kinds of load balancer.
func errExactlyOneLBKind() error {
	return awsapi.Errorf("InvalidParameter", "exactly one of network_load_balancer_arn or gateway_load_balancer_arn is a required member")
}

// serviceUsingLoadBalancer returns the service of account whose load
// balancers include arn, or nil. Only the load balancer's owner can put it
// in a service, so the owner's services are all there is to look at.
func serviceUsingLoadBalancer(tx store.ReadTx, account, arn string) (*model.EndpointService, error) {
	svcs, err := listOwned[model.EndpointService](tx, idEndpointService, account)
	if err != nil {
		return nil, err
	}
	for _, svc := range svcs {
		if slices.Contains(svc.NetworkLoadBalancerARNs, arn) {
			return svc, nil
		}
	}
	return nil, nil
}

// checkServiceLoadBalancer checks that arn names one of the caller's
// network load balancers that no service other than self (which may be
// "") uses. Any state of the load balancer will do.
func (s *Service) checkServiceLoadBalancer(tx store.ReadTx, account, arn, self string) error {
	r, ok := model.ParseELBARN(arn)
	if !ok || r.Kind != "loadbalancer" {
		return awsapi.Errorf("InvalidNetworkLoadBalancerArn.Malformed", "The Network Load Balancer ARN '%s' is malformed.", arn)
	}
	if _, err := s.loadLoadBalancer(tx, account, arn); err != nil {
		if isELBNotFound(err) {
			return awsapi.Errorf("InvalidNetworkLoadBalancerArn.NotFound", "The Network Load Balancer ARN '%s' does not exist.", arn)
		}
		return err
	}
	other, err := serviceUsingLoadBalancer(tx, account, arn)
	if err != nil {
		return err
	}
	if other != nil && other.ID != self {
		return awsapi.Errorf("InvalidParameter", "Load balancer '%s' is already associated with the VPC endpoint service %s.", arn, other.ID)
	}
	return nil
}

// checkIPAddressTypes checks SupportedIpAddressType values: ipv4, or ipv6,
// which needs dual-stack load balancers that privlink does not have.
func checkIPAddressTypes(param string, types []string) error {
	for _, t := range types {
		switch t {
		case model.IPAddressTypeIPv4:
		case ipAddressTypeIPv6:
			return awsapi.Errorf("InvalidParameter", "Supported IP address type ipv6 requires dualstack network load balancers: privlink supports ipv4 only.")
		default:
			return awsapi.ErrInvalidParameterValue("Value (%s) for parameter %s is invalid. Valid values: ipv4, ipv6.", t, param)
		}
	}
	return nil
}

// checkSupportedRegions accepts only the service's own region.
func (s *Service) checkSupportedRegions(regions []string) error {
	for _, r := range regions {
		if r != s.region {
			return awsapi.Errorf("InvalidParameter", "Cross-Region PrivateLink is not supported: the service can be reached from %s only, not from '%s'.", s.region, r)
		}
	}
	return nil
}

var dnsLabelRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// checkPrivateDNSName checks a private DNS name: at least two labels of
// letters, digits and inner hyphens, each at most 63 characters, at most
// 255 in all.
func checkPrivateDNSName(name string) error {
	bad := func() error {
		return awsapi.ErrInvalidParameterValue("The private DNS name '%s' is not a valid domain name.", name)
	}
	if len(name) > maxPrivateDNSNameLen {
		return bad()
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return bad()
	}
	for _, l := range labels {
		if !dnsLabelRE.MatchString(l) {
			return bad()
		}
	}
	return nil
}

// newPrivateDNSState returns a fresh TXT verification challenge, pending:
// the record "_<20 [a-z0-9]>.<name>" with the value "vpce:<20 [A-Za-z0-9]>".
func newPrivateDNSState() *model.PrivateDNSNameState {
	return &model.PrivateDNSNameState{
		State: model.DNSPendingVerification,
		Type:  "TXT",
		Name:  "_" + model.RandomLabel(20),
		Value: "vpce:" + model.RandomAlnum(20),
	}
}

// serviceConfiguration returns what the provider sees of svc now.
func (s *Service) serviceConfiguration(tx store.ReadTx, svc *model.EndpointService) (ServiceConfiguration, error) {
	zones, err := s.serviceZones(tx, svc)
	if err != nil {
		return ServiceConfiguration{}, err
	}
	out := ServiceConfiguration{
		EndpointService:      *svc,
		BaseEndpointDNSNames: []string{model.EndpointServiceBaseDNSName(s.region, svc.ID)},
		SupportedRegions:     []SupportedRegion{{Region: s.region, ServiceState: svc.State}},
	}
	out.AvailabilityZones, out.AvailabilityZoneIDs = zoneNamesAndIDs(zones)
	return out, nil
}

// CreateVpcEndpointServiceConfiguration creates an endpoint service of the
// caller's network load balancers, Available at once (as AWS answers). A
// retry with the same ClientToken and parameters returns the service the
// first call created; the same token with other parameters is
// IdempotentParameterMismatch.
func (s *Service) CreateVpcEndpointServiceConfiguration(ctx context.Context, account string, in CreateVpcEndpointServiceConfigurationInput) (CreateVpcEndpointServiceConfigurationOutput, error) {
	var out CreateVpcEndpointServiceConfigurationOutput
	err := s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if len(in.ClientToken) > maxClientTokenLen {
			return awsapi.ErrInvalidParameterValue("Value (%s) for parameter clientToken is invalid. Length exceeds maximum of %d characters.", in.ClientToken, maxClientTokenLen)
		}
		request, err := json.Marshal(struct {
			AcceptanceRequired                   *bool
			PrivateDNSName                       string
			NLBs, GWLBs, IPAddressTypes, Regions []string
			TagSpecs                             []TagSpec
		}{in.AcceptanceRequired, in.PrivateDNSName, in.NetworkLoadBalancerARNs, in.GatewayLoadBalancerARNs,
			in.SupportedIPAddressTypes, in.SupportedRegions, in.TagSpecs})
		if err != nil {
			return err
		}
		if in.ClientToken != "" {
			done, err := s.replayCreateService(tx, account, in.ClientToken, request, &out)
			if done || err != nil {
				return err
			}
		}
		switch {
		case len(in.NetworkLoadBalancerARNs) == 0 && len(in.GatewayLoadBalancerARNs) == 0,
			len(in.NetworkLoadBalancerARNs) > 0 && len(in.GatewayLoadBalancerARNs) > 0:
			return errExactlyOneLBKind()
		case len(in.GatewayLoadBalancerARNs) > 0:
			return errUnsupportedGatewayLB()
		}
		nlbs := dedupe(in.NetworkLoadBalancerARNs)
		for _, arn := range nlbs {
			if err := s.checkServiceLoadBalancer(tx, account, arn, ""); err != nil {
				return err
			}
		}
		if err := checkIPAddressTypes("SupportedIpAddressType", in.SupportedIPAddressTypes); err != nil {
			return err
		}
		if err := s.checkSupportedRegions(in.SupportedRegions); err != nil {
			return err
		}
		if in.PrivateDNSName != "" {
			if err := checkPrivateDNSName(in.PrivateDNSName); err != nil {
				return err
			}
		}
		tags, err := applyTagSpecs("vpc-endpoint-service", in.TagSpecs)
		if err != nil {
			return err
		}
		id := model.NewID(model.PrefixVpcEndpointService)
		svc := &model.EndpointService{
			ID:                      id,
			OwnerID:                 account,
			Name:                    model.EndpointServiceName(s.region, id),
			State:                   model.ServiceAvailable,
			AcceptanceRequired:      in.AcceptanceRequired != nil && *in.AcceptanceRequired,
			NetworkLoadBalancerARNs: nlbs,
			SupportedIPAddressTypes: []string{model.IPAddressTypeIPv4},
			ClientToken:             in.ClientToken,
			Tags:                    tags,
			Created:                 s.now().UTC(),
		}
		if in.PrivateDNSName != "" {
			svc.PrivateDNSName = in.PrivateDNSName
			svc.PrivateDNS = newPrivateDNSState()
		}
		if err := putEndpointService(tx, svc); err != nil {
			return err
		}
		if in.ClientToken != "" {
			if err := putRecord(tx, serviceTokenKey(account, in.ClientToken), serviceToken{ServiceID: id, Request: request}); err != nil {
				return err
			}
		}
		out.ClientToken = in.ClientToken
		out.ServiceConfiguration, err = s.serviceConfiguration(tx, svc)
		return err
	})
	if err != nil {
		return CreateVpcEndpointServiceConfigurationOutput{}, err
	}
	return out, nil
}

// replayCreateService answers a CreateVpcEndpointServiceConfiguration
// retry: done is true if token created a service that still exists and out
// is set, or err says why the retry fails. A token whose service was
// deleted creates a new one.
func (s *Service) replayCreateService(tx store.ReadTx, account, token string, request []byte, out *CreateVpcEndpointServiceConfigurationOutput) (done bool, err error) {
	tok, found, err := getRecord[serviceToken](tx, serviceTokenKey(account, token))
	if err != nil || !found {
		return false, err
	}
	if !bytes.Equal(tok.Request, request) {
		return true, awsapi.Errorf("IdempotentParameterMismatch", "The client token '%s' has already been used with different request parameters.", token)
	}
	svc, found, err := getRecord[model.EndpointService](tx, endpointServiceKey(account, tok.ServiceID))
	if err != nil || !found {
		return false, err
	}
	out.ClientToken = token
	out.ServiceConfiguration, err = s.serviceConfiguration(tx, svc)
	return true, err
}

var serviceConfigurationFilters = filterDefs[*model.EndpointService]{
	fields: map[string]func(*model.EndpointService) []string{
		"service-name":               func(v *model.EndpointService) []string { return []string{v.Name} },
		"service-id":                 func(v *model.EndpointService) []string { return []string{v.ID} },
		"service-state":              func(v *model.EndpointService) []string { return []string{v.State} },
		"supported-ip-address-types": func(v *model.EndpointService) []string { return v.SupportedIPAddressTypes },
	},
	tags: tagFilterValues[*model.EndpointService],
}

// DescribeVpcEndpointServiceConfigurations describes the caller's own
// services: those named by ServiceIDs (every one must exist, else
// InvalidVpcEndpointServiceId.NotFound naming the missing ones) or all,
// narrowed by Filters, one page at a time (MaxResults 5-1000).
func (s *Service) DescribeVpcEndpointServiceConfigurations(ctx context.Context, account string, in DescribeVpcEndpointServiceConfigurationsInput) (DescribeVpcEndpointServiceConfigurationsOutput, error) {
	var out DescribeVpcEndpointServiceConfigurationsOutput
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if err := idEndpointService.checkAll(in.ServiceIDs); err != nil {
			return err
		}
		svcs, err := selectOwned[model.EndpointService](tx, idEndpointService, account, in.ServiceIDs)
		if err != nil {
			return err
		}
		if svcs, err = serviceConfigurationFilters.apply(svcs, in.Filters); err != nil {
			return err
		}
		page, next, err := paginate(svcs, func(v *model.EndpointService) string { return v.ID }, in.Page, 5, 1000)
		if err != nil {
			return err
		}
		out.ServiceConfigurations = make([]ServiceConfiguration, 0, len(page))
		for _, svc := range page {
			c, err := s.serviceConfiguration(tx, svc)
			if err != nil {
				return err
			}
			out.ServiceConfigurations = append(out.ServiceConfigurations, c)
		}
		out.NextToken = next
		return nil
	})
	if err != nil {
		return DescribeVpcEndpointServiceConfigurationsOutput{}, err
	}
	return out, nil
}

// endpointAttached reports whether an endpoint in state counts as attached
// to its service, which keeps the service's load balancers in place:
// every state but rejected and deleted.
func endpointAttached(state string) bool {
	return state != model.EndpointRejected && state != model.EndpointDeleted
}

// endpointBlocksDelete reports whether an endpoint in state keeps its
// service from being deleted: AWS refuses while any connection is
// pendingAcceptance or available, and pending is on its way to available.
func endpointBlocksDelete(state string) bool {
	switch state {
	case model.EndpointPendingAcceptance, model.EndpointPending, model.EndpointAvailable:
		return true
	}
	return false
}

// ModifyVpcEndpointServiceConfiguration changes one of the caller's
// services, all of the changes or none. A new private DNS name starts a new
// verification; removing a load balancer needs the service to keep at
// least one and to have no endpoints attached.
func (s *Service) ModifyVpcEndpointServiceConfiguration(ctx context.Context, account string, in ModifyVpcEndpointServiceConfigurationInput) error {
	return s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if in.ServiceID == "" {
			return awsapi.ErrMissingParameter("serviceId")
		}
		svc, err := loadEndpointService(tx, account, in.ServiceID)
		if err != nil {
			return err
		}
		if len(in.AddGatewayLoadBalancerARNs) > 0 || len(in.RemoveGatewayLoadBalancerARNs) > 0 {
			return errUnsupportedGatewayLB()
		}
		if in.RemovePrivateDNSName && in.PrivateDNSName != nil && *in.PrivateDNSName != "" {
			return awsapi.Errorf("InvalidParameterCombination", "The parameter privateDnsName cannot be used with the parameter removePrivateDnsName")
		}
		if in.PrivateDNSName != nil && *in.PrivateDNSName != "" {
			if err := checkPrivateDNSName(*in.PrivateDNSName); err != nil {
				return err
			}
		}
		if err := s.modifyServiceLoadBalancers(tx, account, svc, dedupe(in.AddNetworkLoadBalancerARNs), dedupe(in.RemoveNetworkLoadBalancerARNs)); err != nil {
			return err
		}
		if err := modifyServiceIPAddressTypes(svc, in.AddSupportedIPAddressTypes, in.RemoveSupportedIPAddressTypes); err != nil {
			return err
		}
		if err := s.checkSupportedRegions(in.AddSupportedRegions); err != nil {
			return err
		}
		for _, r := range in.RemoveSupportedRegions {
			if r == s.region {
				return awsapi.Errorf("InvalidParameter", "The service's own Region %s cannot be removed from its supported Regions.", s.region)
			}
		}
		if err := s.checkSupportedRegions(in.RemoveSupportedRegions); err != nil {
			return err
		}
		switch {
		case in.RemovePrivateDNSName || in.PrivateDNSName != nil && *in.PrivateDNSName == "":
			svc.PrivateDNSName, svc.PrivateDNS = "", nil
		case in.PrivateDNSName != nil && *in.PrivateDNSName != svc.PrivateDNSName:
			svc.PrivateDNSName, svc.PrivateDNS = *in.PrivateDNSName, newPrivateDNSState()
		}
		if in.AcceptanceRequired != nil {
			svc.AcceptanceRequired = *in.AcceptanceRequired
		}
		return putEndpointService(tx, svc)
	})
}

// modifyServiceLoadBalancers adds and removes network load balancers of
// svc (in memory).
func (s *Service) modifyServiceLoadBalancers(tx store.ReadTx, account string, svc *model.EndpointService, add, remove []string) error {
	for _, arn := range add {
		if slices.Contains(remove, arn) {
			return awsapi.Errorf("InvalidParameterCombination", "Load balancer '%s' cannot be both added to and removed from the service.", arn)
		}
		if err := s.checkServiceLoadBalancer(tx, account, arn, svc.ID); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		for _, arn := range remove {
			if !slices.Contains(svc.NetworkLoadBalancerARNs, arn) {
				return awsapi.Errorf("InvalidParameter", "Load balancer '%s' is not associated with the VPC endpoint service %s.", arn, svc.ID)
			}
		}
		eps, err := serviceEndpoints(tx, svc.ID)
		if err != nil {
			return err
		}
		for _, e := range eps {
			if endpointAttached(e.State) {
				return awsapi.Errorf("ExistingVpcEndpointConnections", "You cannot disassociate a load balancer if there are endpoints attached to your endpoint service.")
			}
		}
	}
	var kept []string
	for _, arn := range svc.NetworkLoadBalancerARNs {
		if !slices.Contains(remove, arn) {
			kept = append(kept, arn)
		}
	}
	for _, arn := range add {
		if !slices.Contains(kept, arn) {
			kept = append(kept, arn)
		}
	}
	if len(kept) == 0 {
		return awsapi.Errorf("InvalidParameter", "The VPC endpoint service %s must keep at least one network load balancer.", svc.ID)
	}
	svc.NetworkLoadBalancerARNs = kept
	return nil
}

// modifyServiceIPAddressTypes adds and removes supported IP address types
// of svc (in memory): ipv4 is the only one there can be, and it must stay.
func modifyServiceIPAddressTypes(svc *model.EndpointService, add, remove []string) error {
	if err := checkIPAddressTypes("AddSupportedIpAddressType", add); err != nil {
		return err
	}
	for _, t := range remove {
		switch t {
		case model.IPAddressTypeIPv4:
			return awsapi.Errorf("InvalidParameter", "The VPC endpoint service %s must support at least one IP address type: ipv4 cannot be removed.", svc.ID)
		case ipAddressTypeIPv6:
			// Not supported, so never there: removing it changes nothing.
		default:
			return awsapi.ErrInvalidParameterValue("Value (%s) for parameter RemoveSupportedIpAddressType is invalid. Valid values: ipv4, ipv6.", t)
		}
	}
	return nil
}

// DeleteVpcEndpointServiceConfigurations deletes the caller's services
// named by ServiceIDs, in one transaction. The call itself succeeds; a
// service that does not exist (InvalidVpcEndpointServiceId.NotFound) or that
// has connections pendingAcceptance, pending or available
// (ExistingVpcEndpointConnections) is an unsuccessful item and stays.
// Rejected endpoints of a deleted service stay with their consumers, rejected.
func (s *Service) DeleteVpcEndpointServiceConfigurations(ctx context.Context, account string, in DeleteVpcEndpointServiceConfigurationsInput) ([]UnsuccessfulItem, error) {
	var out []UnsuccessfulItem
	err := s.update(ctx, in.DryRun, func(tx store.Tx) error {
		out = nil
		if len(in.ServiceIDs) == 0 {
			return awsapi.ErrMissingParameter("serviceId")
		}
		if err := idEndpointService.checkAll(in.ServiceIDs); err != nil {
			return err
		}
		for _, id := range dedupe(in.ServiceIDs) {
			svc, found, err := getRecord[model.EndpointService](tx, endpointServiceKey(account, id))
			if err != nil {
				return err
			}
			if !found {
				ae := idEndpointService.notFound(id).(*awsapi.Error)
				out = append(out, UnsuccessfulItem{ResourceID: id, Code: ae.Code, Message: ae.Message})
				continue
			}
			eps, err := serviceEndpoints(tx, id)
			if err != nil {
				return err
			}
			if slices.ContainsFunc(eps, func(e *model.VpcEndpoint) bool { return endpointBlocksDelete(e.State) }) {
				out = append(out, UnsuccessfulItem{
					ResourceID: id, Code: "ExistingVpcEndpointConnections",
					Message: "Service has existing active VPC Endpoint connections!",
				})
				continue
			}
			if err := deleteEndpointService(tx, svc); err != nil {
				return err
			}
			if svc.ClientToken != "" {
				if err := tx.Delete(serviceTokenKey(account, svc.ClientToken)); err != nil && !isNotFound(err) {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// principalNameRE is an IAM user or role name: 1-64 of letters, digits and
// +=,.@_- (no path).
var principalNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

var accountIDRE = regexp.MustCompile(`^[0-9]{12}$`)

// parsePrincipal parses an allowed principal: "*", or the ARN of an
// account's root, a user or a role ("arn:aws:iam::<account>:root",
// "…:user/<name>", "…:role/<name>"), without path components. Anything
// else is InvalidPrincipal. The result has no id yet.
func parsePrincipal(p string) (model.AllowedPrincipal, error) {
	if p == "*" {
		return model.AllowedPrincipal{Principal: p, Type: model.PrincipalAll}, nil
	}
	bad := func() (model.AllowedPrincipal, error) {
		return model.AllowedPrincipal{}, awsapi.Errorf("InvalidPrincipal", "Invalid Principal: '%s'", p)
	}
	rest, ok := strings.CutPrefix(p, "arn:aws:iam::")
	if !ok {
		return bad()
	}
	account, resource, ok := strings.Cut(rest, ":")
	if !ok || !accountIDRE.MatchString(account) {
		return bad()
	}
	out := model.AllowedPrincipal{Principal: p, Account: account}
	if resource == "root" {
		out.Type = model.PrincipalAccount
		return out, nil
	}
	kind, name, ok := strings.Cut(resource, "/")
	if !ok || !principalNameRE.MatchString(name) {
		return bad()
	}
	switch kind {
	case "user":
		out.Type = model.PrincipalUser
	case "role":
		out.Type = model.PrincipalRole
	default:
		return bad()
	}
	return out, nil
}

// ModifyVpcEndpointServicePermissions adds and removes allowed principals
// of one of the caller's services. Removals apply first. Adding a principal
// the service already allows changes nothing (it is reported with its
// existing permission id); removing one it does not allow changes nothing;
// removing one leaves its existing endpoints as they are.
func (s *Service) ModifyVpcEndpointServicePermissions(ctx context.Context, account string, in ModifyVpcEndpointServicePermissionsInput) ([]AddedPrincipal, error) {
	var out []AddedPrincipal
	err := s.update(ctx, in.DryRun, func(tx store.Tx) error {
		out = []AddedPrincipal{}
		if in.ServiceID == "" {
			return awsapi.ErrMissingParameter("serviceId")
		}
		svc, err := loadEndpointService(tx, account, in.ServiceID)
		if err != nil {
			return err
		}
		var add []model.AllowedPrincipal
		for _, p := range dedupe(in.AddAllowedPrincipals) {
			ap, err := parsePrincipal(p)
			if err != nil {
				return err
			}
			add = append(add, ap)
		}
		for _, p := range in.RemoveAllowedPrincipals {
			if _, err := parsePrincipal(p); err != nil {
				return err
			}
		}
		svc.Principals = slices.DeleteFunc(svc.Principals, func(ap model.AllowedPrincipal) bool {
			return slices.Contains(in.RemoveAllowedPrincipals, ap.Principal)
		})
		for _, ap := range add {
			i := slices.IndexFunc(svc.Principals, func(have model.AllowedPrincipal) bool { return have.Principal == ap.Principal })
			if i < 0 {
				ap.ID = model.NewID(model.PrefixServicePermission)
				svc.Principals = append(svc.Principals, ap)
			} else {
				ap = svc.Principals[i]
			}
			out = append(out, AddedPrincipal{ServiceID: svc.ID, ServicePermissionID: ap.ID, Principal: ap.Principal, PrincipalType: ap.Type})
		}
		return putEndpointService(tx, svc)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var servicePermissionFilters = filterDefs[ServicePermission]{
	fields: map[string]func(ServicePermission) []string{
		"principal":      func(p ServicePermission) []string { return []string{p.Principal} },
		"principal-type": func(p ServicePermission) []string { return []string{p.Type} },
	},
}

// DescribeVpcEndpointServicePermissions lists the allowed principals of
// one of the caller's services, in permission id order, narrowed by
// Filters, one page at a time (MaxResults 5-1000).
func (s *Service) DescribeVpcEndpointServicePermissions(ctx context.Context, account string, in DescribeVpcEndpointServicePermissionsInput) (DescribeVpcEndpointServicePermissionsOutput, error) {
	var out DescribeVpcEndpointServicePermissionsOutput
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if in.ServiceID == "" {
			return awsapi.ErrMissingParameter("serviceId")
		}
		svc, err := loadEndpointService(tx, account, in.ServiceID)
		if err != nil {
			return err
		}
		items := make([]ServicePermission, 0, len(svc.Principals))
		for _, ap := range svc.Principals {
			items = append(items, ServicePermission{ServiceID: svc.ID, AllowedPrincipal: ap})
		}
		slices.SortFunc(items, func(a, b ServicePermission) int { return strings.Compare(a.ID, b.ID) })
		if items, err = servicePermissionFilters.apply(items, in.Filters); err != nil {
			return err
		}
		out.AllowedPrincipals, out.NextToken, err = paginate(items, func(p ServicePermission) string { return p.ID }, in.Page, 5, 1000)
		return err
	})
	if err != nil {
		return DescribeVpcEndpointServicePermissionsOutput{}, err
	}
	return out, nil
}

// ModifyVpcEndpointServicePayerResponsibility makes the owner of one of the
// caller's services pay for its endpoints. ServiceOwner is the only value,
// and, as AWS documents, there is no way back to the endpoint owner.
func (s *Service) ModifyVpcEndpointServicePayerResponsibility(ctx context.Context, account string, in ModifyVpcEndpointServicePayerResponsibilityInput) error {
	return s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if in.ServiceID == "" {
			return awsapi.ErrMissingParameter("serviceId")
		}
		if in.PayerResponsibility == "" {
			return awsapi.ErrMissingParameter("payerResponsibility")
		}
		svc, err := loadEndpointService(tx, account, in.ServiceID)
		if err != nil {
			return err
		}
		if in.PayerResponsibility != PayerServiceOwner {
			if svc.PayerResponsibility == PayerServiceOwner {
				return awsapi.Errorf("InvalidParameter", "The payer responsibility of the VPC endpoint service %s is ServiceOwner and cannot be set back to the endpoint owner.", svc.ID)
			}
			return awsapi.ErrInvalidParameterValue("Value (%s) for parameter payerResponsibility is invalid. Valid values: ServiceOwner.", in.PayerResponsibility)
		}
		if svc.PayerResponsibility == PayerServiceOwner {
			return nil
		}
		svc.PayerResponsibility = PayerServiceOwner
		return putEndpointService(tx, svc)
	})
}

// StartVpcEndpointServicePrivateDNSVerification checks the TXT record that
// proves the caller owns the private DNS name of one of its services: at
// "<record name>.<private DNS name>", or at the private DNS name itself (AWS
// lets the underscore label be left out). A record whose value is exactly
// the challenge verifies the name; anything else (no record, another value,
// a lookup that fails) fails it. The lookup runs outside any store
// transaction; the result is written only if the name and challenge are
// still the ones looked up.
func (s *Service) StartVpcEndpointServicePrivateDNSVerification(ctx context.Context, account string, in StartVpcEndpointServicePrivateDNSVerificationInput) error {
	var name string
	var challenge model.PrivateDNSNameState
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if in.ServiceID == "" {
			return awsapi.ErrMissingParameter("serviceId")
		}
		svc, err := loadEndpointService(tx, account, in.ServiceID)
		if err != nil {
			return err
		}
		if svc.PrivateDNSName == "" || svc.PrivateDNS == nil {
			return awsapi.Errorf("InvalidParameter", "The VPC endpoint service %s has no private DNS name to verify.", svc.ID)
		}
		if s.txt == nil {
			return awsapi.Errorf("UnsupportedOperation", "Private DNS name verification is not available: no verification resolver is configured.")
		}
		name, challenge = svc.PrivateDNSName, *svc.PrivateDNS
		return nil
	})
	if err != nil {
		return err
	}
	state := model.DNSFailed
	if s.txtRecordMatches(ctx, []string{challenge.Name + "." + name, name}, challenge.Value) {
		state = model.DNSVerified
	}
	if err := ctx.Err(); err != nil {
		return err // the caller went away: the lookups say nothing about the record
	}
	return s.update(ctx, false, func(tx store.Tx) error {
		svc, err := loadEndpointService(tx, account, in.ServiceID)
		if err != nil {
			return err
		}
		if svc.PrivateDNSName != name || svc.PrivateDNS == nil || svc.PrivateDNS.Name != challenge.Name || svc.PrivateDNS.Value != challenge.Value {
			return nil // changed meanwhile: this check is about a challenge that is gone
		}
		if svc.PrivateDNS.State == state {
			return nil
		}
		svc.PrivateDNS.State = state
		return putEndpointService(tx, svc)
	})
}

// txtRecordMatches reports whether any TXT record of any of names has
// exactly value. A failed lookup is logged and counts as no match.
func (s *Service) txtRecordMatches(ctx context.Context, names []string, value string) bool {
	for _, n := range names {
		txts, err := s.txt.LookupTXT(ctx, n)
		if err != nil {
			s.log.Warn("private DNS verification lookup", "name", n, "err", err)
			continue
		}
		if slices.Contains(txts, value) {
			return true
		}
	}
	return false
}
