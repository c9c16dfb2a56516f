package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// This file is the consumer's side of PrivateLink: interface endpoints
// (CreateVpcEndpoint, DescribeVpcEndpoints, ModifyVpcEndpoint,
// DeleteVpcEndpoints). An endpoint lives under its consumer's account; its
// service, of any account, is reached through the service-name index.
//
// Choices where AWS's behaviour is not documented:
//   - PrivateDnsEnabled defaults to false when omitted (AWS turns it on by
//     default for AWS services only; privlink has none).
//   - An endpoint without a PolicyDocument gets AWS's default full-access
//     policy. Policies are stored and returned, never evaluated: NLB-backed
//     services report VpcEndpointPolicySupported false.
//   - The endpoint starts pendingAcceptance when its service requires
//     acceptance (its owner's own endpoints included), pending otherwise.
//   - ModifyVpcEndpoint leaves the state as it is: the controllers set up
//     added network interfaces whatever the state, and moving an available
//     endpoint back to pending would stop its traffic meanwhile.
//   - A rejected or deleting endpoint cannot be modified (IncorrectState).

// Endpoint types CreateVpcEndpoint knows, besides model.EndpointType*.
const (
	endpointTypeGatewayLoadBalancer = "GatewayLoadBalancer"
	endpointTypeResource            = "Resource"
	endpointTypeServiceNetwork      = "ServiceNetwork"
)

const (
	// vpceRequesterID is the requesterId of every endpoint network
	// interface, as AWS shows them; vpceAttachmentOwner is their
	// attachment's instanceOwnerId.
	vpceRequesterID     = "727180483921"
	vpceAttachmentOwner = "amazon-aws"
	// maxInterfaceEndpointsPerVpc is AWS's default quota of interface
	// (and Gateway Load Balancer) endpoints per VPC.
	maxInterfaceEndpointsPerVpc = 50
	// maxPolicyDocumentLen is the (fixed) size limit of an endpoint
	// policy, whitespace included.
	maxPolicyDocumentLen = 20480
	// dnsRecordIPTypeServiceDefined lets the service choose the DNS
	// records' address family: IPv4 here.
	dnsRecordIPTypeServiceDefined = "service-defined"
)

// DefaultEndpointPolicy is the policy AWS attaches to an endpoint created
// without one, byte for byte as AWS returns it.
const DefaultEndpointPolicy = "{\n  \"Statement\": [\n    {\n      \"Action\": \"*\", \n      \"Effect\": \"Allow\", \n      \"Principal\": \"*\", \n      \"Resource\": \"*\"\n    }\n  ]\n}"

// SubnetConfiguration is one SubnetConfiguration.N: a subnet and the
// address its endpoint network interface takes ("" for the lowest free).
// IPv6 addresses are not supported.
type SubnetConfiguration struct {
	SubnetID string
	IPv4     string
	IPv6     string
}

// EndpointDNSOptions is DnsOptions.* of CreateVpcEndpoint and
// ModifyVpcEndpoint. Only IPv4 records are supported; the other options
// belong to gateway, Resource and ServiceNetwork endpoints.
type EndpointDNSOptions struct {
	DNSRecordIPType                          string
	PrivateDNSOnlyForInboundResolverEndpoint *bool
	PrivateDNSPreference                     string
	PrivateDNSSpecifiedDomains               []string
}

// CreateVpcEndpointInput is the input of CreateVpcEndpoint.
type CreateVpcEndpointInput struct {
	VpcEndpointType          string // "" means Gateway, AWS's default
	VpcID                    string
	ServiceName              string
	ServiceRegion            string
	SubnetIDs                []string
	SubnetConfigurations     []SubnetConfiguration
	SecurityGroupIDs         []string
	RouteTableIDs            []string
	PrivateDNSEnabled        *bool
	PolicyDocument           *string
	IPAddressType            string
	DNSOptions               *EndpointDNSOptions
	ServiceNetworkARN        string
	ResourceConfigurationARN string
	ClientToken              string
	TagSpecs                 []TagSpec
	DryRun                   bool
}

// VpcEndpoint is an interface endpoint as the API describes it: the stored
// endpoint and what the control plane derives from it.
type VpcEndpoint struct {
	model.VpcEndpoint
	SubnetIDs           []string // of the ENIs, in ENI order
	NetworkInterfaceIDs []string
	GroupSet            []GroupIdentifier // in the order of Groups
	DNSEntries          []EndpointDNSEntry
	ServiceRegion       string
}

// CreateVpcEndpointOutput is the result of CreateVpcEndpoint.
type CreateVpcEndpointOutput struct {
	VpcEndpoint VpcEndpoint
	ClientToken string
}

// DescribeVpcEndpointsInput is the input of DescribeVpcEndpoints.
type DescribeVpcEndpointsInput struct {
	VpcEndpointIDs []string
	Filters        []Filter
	Page           Page
	DryRun         bool
}

// DescribeVpcEndpointsOutput is one page of DescribeVpcEndpoints.
type DescribeVpcEndpointsOutput struct {
	VpcEndpoints []VpcEndpoint
	NextToken    string
}

// ModifyVpcEndpointInput is the input of ModifyVpcEndpoint.
type ModifyVpcEndpointInput struct {
	VpcEndpointID          string
	AddSubnetIDs           []string
	RemoveSubnetIDs        []string
	SubnetConfigurations   []SubnetConfiguration
	AddSecurityGroupIDs    []string
	RemoveSecurityGroupIDs []string
	AddRouteTableIDs       []string
	RemoveRouteTableIDs    []string
	PrivateDNSEnabled      *bool
	PolicyDocument         *string
	ResetPolicy            bool
	IPAddressType          string
	DNSOptions             *EndpointDNSOptions
	DryRun                 bool
}

// DeleteVpcEndpointsInput is the input of DeleteVpcEndpoints.
type DeleteVpcEndpointsInput struct {
	VpcEndpointIDs []string
	DryRun         bool
}

// DeleteVpcEndpointsOutput is the result of DeleteVpcEndpoints: the ids
// that could not be deleted. The call itself succeeds.
type DeleteVpcEndpointsOutput struct {
	Unsuccessful []UnsuccessfulItem
}

// errInvalidParameter is EC2's InvalidParameter.
func errInvalidParameter(format string, args ...any) error {
	return awsapi.Errorf("InvalidParameter", format, args...)
}

// checkEndpointSubnetID answers a malformed subnet id as EC2's endpoint
// calls do (a code spelt "Id", unlike InvalidSubnetID.NotFound).
func checkEndpointSubnetID(id string) error {
	if model.ValidID(model.PrefixSubnet, id) {
		return nil
	}
	return awsapi.Errorf("InvalidSubnetId.Malformed", "Invalid Subnet Id: '%s' (expecting 'subnet-...; the Id may only contain lowercase alphanumeric characters and a single dash')", id)
}

// checkEndpointType validates VpcEndpointType ("" is Gateway) against
// the other parameters that depend on it; only Interface gets further.
func checkEndpointType(in *CreateVpcEndpointInput) (string, error) {
	typ := in.VpcEndpointType
	if typ == "" {
		typ = model.EndpointTypeGateway
	}
	switch typ {
	case model.EndpointTypeInterface, model.EndpointTypeGateway, endpointTypeGatewayLoadBalancer:
	case endpointTypeResource, endpointTypeServiceNetwork:
		return "", awsapi.Errorf("UnsupportedOperation", "VPC endpoints of type %s are not supported.", typ)
	default:
		return "", awsapi.ErrInvalidParameterValue("Value (%s) for parameter vpcEndpointType is invalid. Valid values: Interface, Gateway, GatewayLoadBalancer, Resource, ServiceNetwork.", typ)
	}
	hasSubnets := len(in.SubnetIDs) > 0 || len(in.SubnetConfigurations) > 0
	switch {
	case typ == model.EndpointTypeGateway && hasSubnets:
		return "", errInvalidParameter("Subnet IDs are only supported for Interface and GatewayLoadBalancer type VPC Endpoints.")
	case typ == model.EndpointTypeGateway && len(in.SecurityGroupIDs) > 0:
		return "", errInvalidParameter("Security group IDs are only supported for Interface type VPC Endpoints.")
	case typ != model.EndpointTypeGateway && len(in.RouteTableIDs) > 0:
		return "", errInvalidParameter("Route table IDs are only supported for Gateway type VPC Endpoint.")
	case in.ServiceNetworkARN != "":
		return "", errInvalidParameter("ServiceNetworkArn is only supported for ServiceNetwork type VPC Endpoints.")
	case in.ResourceConfigurationARN != "":
		return "", errInvalidParameter("ResourceConfigurationArn is only supported for Resource type VPC Endpoints.")
	}
	return typ, nil
}

// checkAddressOptions validates IpAddressType and DnsOptions: privlink's
// endpoints are IPv4 only. It returns the DNS record type to store ("" when
// dns leaves it as it is).
func checkAddressOptions(serviceName, ipType string, dns *EndpointDNSOptions) (string, error) {
	switch ipType {
	case "", model.IPAddressTypeIPv4:
	case "dualstack", "ipv6":
		return "", errInvalidParameter("The VPC endpoint service %s does not support the IP address type %s.", serviceName, ipType)
	default:
		return "", awsapi.ErrInvalidParameterValue("Value (%s) for parameter ipAddressType is invalid. Valid values: ipv4, dualstack, ipv6.", ipType)
	}
	if dns == nil {
		return "", nil
	}
	if dns.PrivateDNSOnlyForInboundResolverEndpoint != nil && *dns.PrivateDNSOnlyForInboundResolverEndpoint {
		return "", errInvalidParameter("PrivateDnsOnlyForInboundResolverEndpoint can only be set for services that support both gateway and interface endpoints.")
	}
	if dns.PrivateDNSPreference != "" || len(dns.PrivateDNSSpecifiedDomains) > 0 {
		return "", errInvalidParameter("PrivateDnsPreference and PrivateDnsSpecifiedDomains are only supported for ServiceNetwork and Resource type VPC Endpoints.")
	}
	switch dns.DNSRecordIPType {
	case "", model.IPAddressTypeIPv4, dnsRecordIPTypeServiceDefined:
		return dns.DNSRecordIPType, nil
	case "dualstack", "ipv6":
		return "", errInvalidParameter("DnsRecordIpType %s is not supported for an endpoint of IP address type ipv4.", dns.DNSRecordIPType)
	default:
		return "", awsapi.ErrInvalidParameterValue("Value (%s) for parameter dnsRecordIpType is invalid. Valid values: ipv4, dualstack, ipv6, service-defined.", dns.DNSRecordIPType)
	}
}

// checkPolicyDocument validates an endpoint policy: JSON, one object, at
// most maxPolicyDocumentLen characters. Errors are InvalidPolicyDocument,
// with the 1-based line and column of a syntax error as AWS reports it.
func checkPolicyDocument(doc string) error {
	if n := utf8.RuneCountInString(doc); n > maxPolicyDocumentLen {
		return awsapi.Errorf("InvalidPolicyDocument", "The Policy Document is not valid. Its length of %d characters exceeds the maximum of %d.", n, maxPolicyDocumentLen)
	}
	var v any
	err := json.Unmarshal([]byte(doc), &v)
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read, the offending one included; at
		// the end of the input the position is just past it.
		before := doc[:max(0, min(int(syn.Offset)-1, len(doc)))]
		if strings.HasPrefix(syn.Error(), "unexpected end") {
			before = doc
		}
		line := 1 + strings.Count(before, "\n")
		col := len(before) - strings.LastIndexByte(before, '\n')
		return awsapi.Errorf("InvalidPolicyDocument", "The Policy Document is not valid. Syntax error at position (%d,%d)", line, col)
	case err != nil:
		return awsapi.Errorf("InvalidPolicyDocument", "The Policy Document is not valid.")
	}
	if _, ok := v.(map[string]any); !ok {
		return awsapi.Errorf("InvalidPolicyDocument", "The Policy Document is not valid. It must be a JSON object.")
	}
	return nil
}

// endpointSubnet is a subnet an endpoint is to get a network interface in.
type endpointSubnet struct {
	subnet *model.Subnet
	ip     netip.Addr // requested; the zero Addr means the lowest free one
}

// subnetConfigs merges SubnetId.N (or AddSubnetId.N) and
// SubnetConfiguration.N: the subnets in request order, each with its
// requested IPv4 address ("" for none).
func subnetConfigs(ids []string, configs []SubnetConfiguration) (order []string, addrs map[string]string, err error) {
	addrs = map[string]string{}
	for _, id := range ids {
		if _, ok := addrs[id]; !ok {
			addrs[id] = ""
			order = append(order, id)
		}
	}
	for _, c := range configs {
		if c.SubnetID == "" {
			return nil, nil, errInvalidParameter("Each subnet configuration must specify a subnet ID.")
		}
		if c.IPv6 != "" {
			return nil, nil, errInvalidParameter("IPv6 address %s cannot be assigned: the endpoint's IP address type is ipv4.", c.IPv6)
		}
		prev, seen := addrs[c.SubnetID]
		if seen && prev != "" && c.IPv4 != "" && prev != c.IPv4 {
			return nil, nil, errInvalidParameter("Subnet %s has more than one subnet configuration.", c.SubnetID)
		}
		if !seen {
			order = append(order, c.SubnetID)
		}
		if c.IPv4 != "" || !seen {
			addrs[c.SubnetID] = c.IPv4
		}
	}
	return order, addrs, nil
}

// parseEndpointIPv4 parses SubnetConfiguration.N.Ipv4.
func parseEndpointIPv4(v string) (netip.Addr, error) {
	if v == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil || !a.Is4() {
		return netip.Addr{}, awsapi.ErrInvalidParameterValue("Value (%s) for parameter Ipv4 is invalid. This is not a valid IPv4 address.", v)
	}
	return a, nil
}

// resolveEndpointSubnets validates the subnets an endpoint is to get
// network interfaces in: each the caller's (InvalidSubnetID.NotFound), in
// the endpoint's VPC, in a zone the service offers, and no two (counting
// the zones the endpoint already has, taken) in one zone.
func resolveEndpointSubnets(tx store.ReadTx, account, vpcID, serviceName string, zones []serviceZone, taken map[string]bool, order []string, addrs map[string]string) ([]endpointSubnet, error) {
	offered := map[string]bool{}
	for _, z := range zones {
		offered[z.Name] = true
	}
	taken = maps.Clone(taken)
	if taken == nil {
		taken = map[string]bool{}
	}
	out := make([]endpointSubnet, 0, len(order))
	for _, id := range order {
		if err := checkEndpointSubnetID(id); err != nil {
			return nil, err
		}
		sn, err := loadSubnet(tx, account, id)
		if err != nil {
			return nil, err
		}
		if sn.VpcID != vpcID {
			return nil, errInvalidParameter("The subnet ID '%s' does not belong to the VPC '%s'.", id, vpcID)
		}
		if !offered[sn.AvailabilityZone] {
			return nil, errInvalidParameter("The VPC endpoint service %s does not support the availability zone of the subnet: %s.", serviceName, id)
		}
		if taken[sn.AvailabilityZone] {
			return nil, awsapi.Errorf("DuplicateSubnetsInSameZone", "Found another VPC endpoint subnet in the availability zone of %s. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service.", id)
		}
		taken[sn.AvailabilityZone] = true
		ip, err := parseEndpointIPv4(addrs[id])
		if err != nil {
			return nil, err
		}
		if ip.IsValid() {
			if err := checkRequestedAddress(tx, sn, ip); err != nil {
				return nil, err
			}
		}
		out = append(out, endpointSubnet{subnet: sn, ip: ip})
	}
	return out, nil
}

// resolveEndpointGroups validates security groups of an endpoint in vpcID:
// the caller's (InvalidGroup.NotFound) and in that VPC. It returns their
// ids without repeats, in request order.
func resolveEndpointGroups(tx store.ReadTx, account, vpcID string, ids []string) ([]string, error) {
	ids = dedupe(ids)
	if err := idSecurityGroup.checkAll(ids); err != nil {
		return nil, err
	}
	for _, id := range ids {
		g, found, err := getRecord[model.SecurityGroup](tx, securityGroupKey(account, id))
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, awsapi.Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", id, vpcID)
		}
		if g.VpcID != vpcID {
			return nil, errInvalidParameter("The security group '%s' does not belong to the VPC '%s'.", id, vpcID)
		}
	}
	return ids, nil
}

// checkGroupCount enforces the per-interface quota of security groups on
// an endpoint's groups (every one of its interfaces carries all of them).
func checkGroupCount(groups []string) error {
	if len(groups) > maxGroupsPerENI {
		return awsapi.Errorf("SecurityGroupsPerInterfaceLimitExceeded", "The maximum number of security groups per interface has been reached.")
	}
	return nil
}

// loadEndpointServiceOf reads the service an endpoint is connected to; nil
// if it is gone.
func loadEndpointServiceOf(tx store.ReadTx, e *model.VpcEndpoint) (*model.EndpointService, error) {
	svc, found, err := getRecord[model.EndpointService](tx, endpointServiceKey(e.ServiceOwnerID, e.ServiceID))
	if err != nil || !found {
		return nil, err
	}
	return svc, nil
}

// endpointGone reports whether an endpoint is on its way out: it counts
// towards no quota and holds no DNS name.
func endpointGone(e *model.VpcEndpoint) bool {
	return e.State == model.EndpointDeleting || e.State == model.EndpointDeleted
}

// checkPrivateDNS checks that an endpoint of vpc (selfID, "" for a new one)
// may turn private DNS on for svc: the service has a private DNS name, it
// is verified, the VPC resolves and names hosts, and no other endpoint of
// the VPC has private DNS on for the same name.
func checkPrivateDNS(tx store.ReadTx, account string, vpc *model.Vpc, svc *model.EndpointService, selfID string) error {
	if svc.PrivateDNSName == "" {
		return errInvalidParameter("Private DNS can't be enabled because the service %s does not provide a private DNS name.", svc.Name)
	}
	name := verifiedPrivateDNSName(svc)
	if name == "" {
		return errInvalidParameter("Private DNS can't be enabled because the private DNS name %s of the service %s has not been verified.", svc.PrivateDNSName, svc.Name)
	}
	if !vpc.EnableDnsSupport || !vpc.EnableDnsHostnames {
		return errInvalidParameter("Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for %s", vpc.ID)
	}
	others, err := listOwned[model.VpcEndpoint](tx, idVpcEndpoint, account)
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.ID == selfID || o.VpcID != vpc.ID || !o.PrivateDNSEnabled || endpointGone(o) {
			continue
		}
		osvc, err := loadEndpointServiceOf(tx, o)
		if err != nil {
			return err
		}
		if strings.EqualFold(verifiedPrivateDNSName(osvc), name) {
			return errInvalidParameter("private-dns-enabled cannot be set because there is already a conflicting DNS domain for %s in the VPC %s", name, vpc.ID)
		}
	}
	return nil
}

// createEndpointENI creates the requester-managed network interface of
// endpoint id in one subnet.
func (s *Service) createEndpointENI(tx store.Tx, id string, sn endpointSubnet, groups []string) (model.EndpointENI, error) {
	eni, err := s.createENI(tx, eniParams{
		Subnet:           sn.subnet,
		PrivateIP:        sn.ip,
		Groups:           groups,
		InterfaceType:    model.InterfaceTypeVpcEndpoint,
		Description:      "VPC Endpoint Interface " + id,
		RequesterManaged: true,
		RequesterID:      vpceRequesterID,
		InstanceOwnerID:  vpceAttachmentOwner,
		DeviceIndex:      1,
	})
	if err != nil {
		return model.EndpointENI{}, err
	}
	return model.EndpointENI{
		SubnetID:           eni.SubnetID,
		AvailabilityZone:   eni.AvailabilityZone,
		AvailabilityZoneID: eni.AvailabilityZoneID,
		ENIID:              eni.ID,
		PrivateIP:          eni.PrivateIP,
	}, nil
}

// deleteEndpointENI deletes an endpoint's network interface, if it is
// still there.
func (s *Service) deleteEndpointENI(tx store.Tx, owner string, en model.EndpointENI) error {
	eni, found, err := getRecord[model.NetworkInterface](tx, eniKey(owner, en.ENIID))
	if err != nil || !found {
		return err
	}
	return s.deleteENI(tx, eni)
}

// describeVpcEndpoint derives the API view of a stored endpoint. svc is
// its service (nil when gone), names maps the owner's group ids to names.
func (s *Service) describeVpcEndpoint(e *model.VpcEndpoint, svc *model.EndpointService, names map[string]string) VpcEndpoint {
	out := VpcEndpoint{
		VpcEndpoint:         *e,
		SubnetIDs:           make([]string, 0, len(e.ENIs)),
		NetworkInterfaceIDs: make([]string, 0, len(e.ENIs)),
		GroupSet:            make([]GroupIdentifier, 0, len(e.Groups)),
		DNSEntries:          s.vpcEndpointDNSEntries(e, svc),
		ServiceRegion:       s.region,
	}
	for _, en := range e.ENIs {
		out.SubnetIDs = append(out.SubnetIDs, en.SubnetID)
		out.NetworkInterfaceIDs = append(out.NetworkInterfaceIDs, en.ENIID)
	}
	for _, g := range e.Groups {
		out.GroupSet = append(out.GroupSet, GroupIdentifier{GroupID: g, GroupName: names[g]})
	}
	return out
}

// describeStoredEndpoint reads what describeVpcEndpoint needs for e.
func (s *Service) describeStoredEndpoint(tx store.ReadTx, e *model.VpcEndpoint) (VpcEndpoint, error) {
	svc, err := loadEndpointServiceOf(tx, e)
	if err != nil {
		return VpcEndpoint{}, err
	}
	names, err := groupNames(tx, e.OwnerID)
	if err != nil {
		return VpcEndpoint{}, err
	}
	return s.describeVpcEndpoint(e, svc, names), nil
}

// createRequestFingerprint identifies a CreateVpcEndpoint request for its
// ClientToken: everything but the token and DryRun.
func createRequestFingerprint(in CreateVpcEndpointInput) (string, error) {
	in.ClientToken, in.DryRun = "", false
	b, err := json.Marshal(in)
	if err != nil {
		return "", fmt.Errorf("fingerprint request: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// endpointByClientToken returns the caller's endpoint created with token,
// if any.
func endpointByClientToken(tx store.ReadTx, account, token string) (*model.VpcEndpoint, error) {
	all, err := listOwned[model.VpcEndpoint](tx, idVpcEndpoint, account)
	if err != nil {
		return nil, err
	}
	for _, e := range all {
		if e.ClientToken == token {
			return e, nil
		}
	}
	return nil, nil
}

// CreateVpcEndpoint creates an interface endpoint in one of the caller's
// VPCs to a service the caller may use, in one transaction: one
// requester-managed network interface per subnet (one subnet per zone the
// service offers), the endpoint in state pendingAcceptance (the service
// requires acceptance) or pending, and the service's index entry through
// which its provider sees the connection. The controllers move a pending
// endpoint to available once its interfaces listen.
//
// VpcEndpointType defaults to Gateway, as in AWS; privlink has no gateway or
// Gateway Load Balancer services, so only Interface endpoints can be
// created. A retry with the same ClientToken and parameters returns the
// endpoint the first call created; other parameters are
// IdempotentParameterMismatch.
func (s *Service) CreateVpcEndpoint(ctx context.Context, account string, in CreateVpcEndpointInput) (CreateVpcEndpointOutput, error) {
	var out CreateVpcEndpointOutput
	err := s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if in.VpcID == "" {
			return awsapi.ErrMissingParameter("VpcId")
		}
		typ, err := checkEndpointType(&in)
		if err != nil {
			return err
		}
		if in.ServiceName == "" {
			return awsapi.ErrMissingParameter("ServiceName")
		}
		fingerprint := ""
		if in.ClientToken != "" {
			if len(in.ClientToken) > maxClientTokenLen {
				return awsapi.ErrInvalidParameterValue("Value (%s) for parameter clientToken is invalid. Length exceeds maximum of %d characters.", in.ClientToken, maxClientTokenLen)
			}
			if fingerprint, err = createRequestFingerprint(in); err != nil {
				return err
			}
			prev, err := endpointByClientToken(tx, account, in.ClientToken)
			if err != nil {
				return err
			}
			if prev != nil {
				if prev.ClientTokenRequest != fingerprint {
					return awsapi.Errorf("IdempotentParameterMismatch", "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).")
				}
				out.ClientToken = in.ClientToken
				out.VpcEndpoint, err = s.describeStoredEndpoint(tx, prev)
				return err
			}
		}
		dnsType, err := checkAddressOptions(in.ServiceName, in.IPAddressType, in.DNSOptions)
		if err != nil {
			return err
		}
		if dnsType == "" {
			dnsType = model.IPAddressTypeIPv4
		}
		policy := DefaultEndpointPolicy
		if in.PolicyDocument != nil {
			if err := checkPolicyDocument(*in.PolicyDocument); err != nil {
				return err
			}
			policy = *in.PolicyDocument
		}
		tags, err := applyTagSpecs("vpc-endpoint", in.TagSpecs)
		if err != nil {
			return err
		}
		vpc, err := loadVpc(tx, account, in.VpcID)
		if err != nil {
			return err
		}
		if in.ServiceRegion != "" && in.ServiceRegion != s.region {
			return errInvalidServiceName(in.ServiceName)
		}
		svc, err := usableService(tx, account, in.ServiceName)
		if err != nil {
			return err
		}
		if typ != model.EndpointTypeInterface {
			// AWS's wording since 2020 (hashicorp/terraform#24478).
			return errInvalidParameter("Endpoint type (%s) does not match available service types ([%s]).", typ, model.EndpointTypeInterface)
		}
		zones, err := s.serviceZones(tx, svc)
		if err != nil {
			return err
		}
		order, addrs, err := subnetConfigs(in.SubnetIDs, in.SubnetConfigurations)
		if err != nil {
			return err
		}
		if len(order) == 0 {
			return errInvalidParameter("At least one subnet must be specified for an Interface type VPC Endpoint.")
		}
		subnets, err := resolveEndpointSubnets(tx, account, vpc.ID, svc.Name, zones, nil, order, addrs)
		if err != nil {
			return err
		}
		groups := []string{vpc.DefaultGroupID}
		if len(in.SecurityGroupIDs) > 0 {
			if groups, err = resolveEndpointGroups(tx, account, vpc.ID, in.SecurityGroupIDs); err != nil {
				return err
			}
		}
		if err := checkGroupCount(groups); err != nil {
			return err
		}
		privateDNS := in.PrivateDNSEnabled != nil && *in.PrivateDNSEnabled
		if privateDNS {
			if err := checkPrivateDNS(tx, account, vpc, svc, ""); err != nil {
				return err
			}
		}
		existing, err := listOwned[model.VpcEndpoint](tx, idVpcEndpoint, account)
		if err != nil {
			return err
		}
		n := 0
		for _, o := range existing {
			if o.VpcID == vpc.ID && !endpointGone(o) {
				n++
			}
		}
		if n >= maxInterfaceEndpointsPerVpc {
			return awsapi.Errorf("VpcEndpointLimitExceeded", "The maximum number of VPC endpoints (%d) for VPC %s has been reached.", maxInterfaceEndpointsPerVpc, vpc.ID)
		}
		id := model.NewID(model.PrefixVpcEndpoint)
		state := model.EndpointPending
		if svc.AcceptanceRequired {
			state = model.EndpointPendingAcceptance
		}
		e := &model.VpcEndpoint{
			ID:                 id,
			OwnerID:            account,
			VpcID:              vpc.ID,
			Type:               model.EndpointTypeInterface,
			ServiceID:          svc.ID,
			ServiceOwnerID:     svc.OwnerID,
			ServiceName:        svc.Name,
			State:              state,
			ConnectionID:       model.NewID(model.PrefixVpcEndpointConnection),
			ENIs:               make([]model.EndpointENI, 0, len(subnets)),
			Groups:             groups,
			PrivateDNSEnabled:  privateDNS,
			PolicyDocument:     policy,
			IPAddressType:      model.IPAddressTypeIPv4,
			DNSRecordIPType:    dnsType,
			DNSLabel:           model.NewEndpointDNSLabel(id),
			ClientToken:        in.ClientToken,
			ClientTokenRequest: fingerprint,
			Tags:               tags,
			Created:            s.now().UTC(),
		}
		for _, sn := range subnets {
			en, err := s.createEndpointENI(tx, id, sn, groups)
			if err != nil {
				return err
			}
			e.ENIs = append(e.ENIs, en)
		}
		if err := putVpcEndpoint(tx, e); err != nil {
			return err
		}
		names, err := groupNames(tx, account)
		if err != nil {
			return err
		}
		out.VpcEndpoint = s.describeVpcEndpoint(e, svc, names)
		out.ClientToken = in.ClientToken
		return nil
	})
	if err != nil {
		return CreateVpcEndpointOutput{}, err
	}
	return out, nil
}

var vpcEndpointFilters = filterDefs[VpcEndpoint]{
	fields: map[string]func(VpcEndpoint) []string{
		"ip-address-type":    func(e VpcEndpoint) []string { return one(e.IPAddressType) },
		"service-name":       func(e VpcEndpoint) []string { return one(e.ServiceName) },
		"service-region":     func(e VpcEndpoint) []string { return one(e.ServiceRegion) },
		"vpc-endpoint-id":    func(e VpcEndpoint) []string { return one(e.ID) },
		"vpc-endpoint-state": func(e VpcEndpoint) []string { return one(e.State) },
		"vpc-endpoint-type":  func(e VpcEndpoint) []string { return one(e.Type) },
		"vpc-id":             func(e VpcEndpoint) []string { return one(e.VpcID) },
	},
	tags: func(e VpcEndpoint) []model.Tag { return e.Tags },
}

// DescribeVpcEndpoints describes the caller's endpoints in every state,
// rejected and deleting included: those named (every one must be the
// caller's, else InvalidVpcEndpointId.NotFound) or all, narrowed by
// Filters, one page at a time (MaxResults 1-1000, more is capped).
func (s *Service) DescribeVpcEndpoints(ctx context.Context, account string, in DescribeVpcEndpointsInput) (DescribeVpcEndpointsOutput, error) {
	var out DescribeVpcEndpointsOutput
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if err := idVpcEndpoint.checkAll(in.VpcEndpointIDs); err != nil {
			return err
		}
		if err := vpcEndpointFilters.validate(in.Filters); err != nil {
			return err
		}
		stored, err := selectOwned[model.VpcEndpoint](tx, idVpcEndpoint, account, in.VpcEndpointIDs)
		if err != nil {
			return err
		}
		names, err := groupNames(tx, account)
		if err != nil {
			return err
		}
		services := map[string]*model.EndpointService{}
		var items []VpcEndpoint
		for _, e := range stored {
			svc, ok := services[e.ServiceID]
			if !ok {
				if svc, err = loadEndpointServiceOf(tx, e); err != nil {
					return err
				}
				services[e.ServiceID] = svc
			}
			if d := s.describeVpcEndpoint(e, svc, names); vpcEndpointFilters.match(d, in.Filters) {
				items = append(items, d)
			}
		}
		out.VpcEndpoints, out.NextToken, err = paginate(items, func(e VpcEndpoint) string { return e.ID }, in.Page, 1, 1000)
		return err
	})
	if err != nil {
		return DescribeVpcEndpointsOutput{}, err
	}
	return out, nil
}

// ModifyVpcEndpoint changes one of the caller's interface endpoints, all
// of it or none: subnets added (a new network interface each, with the
// checks of CreateVpcEndpoint) or removed (the interface deleted; at least
// one subnet must remain), SubnetConfiguration.N giving an address to an
// added subnet or replacing the interface of an existing one, security
// groups added or removed (on the endpoint and every interface; at least
// one must remain), private DNS on (with the checks of CreateVpcEndpoint)
// or off, the policy replaced or reset to the default, IPv4 address
// options. Route tables belong to gateway endpoints (InvalidParameter). A
// rejected or deleting endpoint cannot be modified (IncorrectState).
func (s *Service) ModifyVpcEndpoint(ctx context.Context, account string, in ModifyVpcEndpointInput) error {
	return s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if in.VpcEndpointID == "" {
			return awsapi.ErrMissingParameter("VpcEndpointId")
		}
		e, err := loadVpcEndpoint(tx, account, in.VpcEndpointID)
		if err != nil {
			return err
		}
		if len(in.AddRouteTableIDs) > 0 || len(in.RemoveRouteTableIDs) > 0 {
			return errInvalidParameter("Route table IDs are only supported for Gateway type VPC Endpoint.")
		}
		switch e.State {
		case model.EndpointRejected, model.EndpointDeleting, model.EndpointDeleted:
			return awsapi.Errorf("IncorrectState", "The VPC endpoint %s is in state %s and cannot be modified.", e.ID, e.State)
		}
		dnsType, err := checkAddressOptions(e.ServiceName, in.IPAddressType, in.DNSOptions)
		if err != nil {
			return err
		}
		if dnsType != "" {
			e.DNSRecordIPType = dnsType
		}
		switch {
		case in.ResetPolicy && in.PolicyDocument != nil:
			return awsapi.Errorf("InvalidParameterCombination", "PolicyDocument and ResetPolicy cannot be specified together.")
		case in.ResetPolicy:
			e.PolicyDocument = DefaultEndpointPolicy
		case in.PolicyDocument != nil:
			if err := checkPolicyDocument(*in.PolicyDocument); err != nil {
				return err
			}
			e.PolicyDocument = *in.PolicyDocument
		}
		vpc, err := loadVpc(tx, account, e.VpcID)
		if err != nil {
			return err
		}
		svc, err := loadEndpointServiceOf(tx, e)
		if err != nil {
			return err
		}
		enis, added, err := s.planEndpointSubnets(tx, account, e, svc, in)
		if err != nil {
			return err
		}
		groups, err := planEndpointGroups(tx, account, e, in.AddSecurityGroupIDs, in.RemoveSecurityGroupIDs)
		if err != nil {
			return err
		}
		if in.PrivateDNSEnabled != nil {
			if *in.PrivateDNSEnabled && !e.PrivateDNSEnabled {
				if svc == nil {
					return errInvalidServiceName(e.ServiceName)
				}
				if err := checkPrivateDNS(tx, account, vpc, svc, e.ID); err != nil {
					return err
				}
			}
			e.PrivateDNSEnabled = *in.PrivateDNSEnabled
		}
		// Every check passed: change the interfaces.
		kept := make([]model.EndpointENI, 0, len(enis)+len(added))
		for _, en := range e.ENIs {
			sn, ok := enis[en.SubnetID]
			replace := sn.subnet != nil
			if !ok || replace {
				if err := s.deleteEndpointENI(tx, e.OwnerID, en); err != nil {
					return err
				}
			}
			switch {
			case !ok:
				continue
			case replace:
				if en, err = s.createEndpointENI(tx, e.ID, sn, groups); err != nil {
					return err
				}
			case !slices.Equal(groups, e.Groups):
				if err := setENIGroups(tx, e.OwnerID, en.ENIID, groups); err != nil {
					return err
				}
			}
			kept = append(kept, en)
		}
		for _, sn := range added {
			en, err := s.createEndpointENI(tx, e.ID, sn, groups)
			if err != nil {
				return err
			}
			kept = append(kept, en)
		}
		e.ENIs = kept
		e.Groups = groups
		return putVpcEndpoint(tx, e)
	})
}

// planEndpointSubnets works out ModifyVpcEndpoint's subnet changes: the
// subnets that keep an interface (by subnet id; the zero endpointSubnet
// for an unchanged one, the subnet and new address for one whose
// interface is replaced) and the subnets that get a new one, in request
// order. Nothing is written.
func (s *Service) planEndpointSubnets(tx store.ReadTx, account string, e *model.VpcEndpoint, svc *model.EndpointService, in ModifyVpcEndpointInput) (keep map[string]endpointSubnet, added []endpointSubnet, err error) {
	current := map[string]model.EndpointENI{}
	for _, en := range e.ENIs {
		current[en.SubnetID] = en
	}
	removed := map[string]bool{}
	for _, id := range dedupe(in.RemoveSubnetIDs) {
		if err := checkEndpointSubnetID(id); err != nil {
			return nil, nil, err
		}
		if _, ok := current[id]; !ok {
			return nil, nil, errInvalidParameter("The subnet %s is not associated with the VPC endpoint %s.", id, e.ID)
		}
		removed[id] = true
	}
	order, addrs, err := subnetConfigs(in.AddSubnetIDs, in.SubnetConfigurations)
	if err != nil {
		return nil, nil, err
	}
	keep = map[string]endpointSubnet{}
	taken := map[string]bool{}
	for _, en := range e.ENIs {
		if !removed[en.SubnetID] {
			keep[en.SubnetID] = endpointSubnet{}
			taken[en.AvailabilityZone] = true
		}
	}
	var newOrder []string
	for _, id := range order {
		switch {
		case removed[id]:
			return nil, nil, errInvalidParameter("The subnet %s cannot be both added to and removed from the VPC endpoint %s.", id, e.ID)
		case current[id].ENIID == "":
			newOrder = append(newOrder, id)
			continue
		}
		// An existing subnet: a new address replaces its interface.
		ip, err := parseEndpointIPv4(addrs[id])
		if err != nil {
			return nil, nil, err
		}
		if !ip.IsValid() || ip.String() == current[id].PrivateIP {
			continue
		}
		sn, err := loadSubnet(tx, account, id)
		if err != nil {
			return nil, nil, err
		}
		if err := checkRequestedAddress(tx, sn, ip); err != nil {
			return nil, nil, err
		}
		keep[id] = endpointSubnet{subnet: sn, ip: ip}
	}
	if len(newOrder) > 0 {
		if svc == nil || svc.State != model.ServiceAvailable {
			return nil, nil, errInvalidServiceName(e.ServiceName)
		}
		zones, err := s.serviceZones(tx, svc)
		if err != nil {
			return nil, nil, err
		}
		if added, err = resolveEndpointSubnets(tx, account, e.VpcID, svc.Name, zones, taken, newOrder, addrs); err != nil {
			return nil, nil, err
		}
	}
	if len(keep)+len(added) == 0 {
		return nil, nil, errInvalidParameter("At least one subnet must be specified for an Interface type VPC Endpoint.")
	}
	return keep, added, nil
}

// planEndpointGroups returns an endpoint's groups after adding add
// (validated as on create) and removing remove (each must be the
// endpoint's); at least one must remain.
func planEndpointGroups(tx store.ReadTx, account string, e *model.VpcEndpoint, add, remove []string) ([]string, error) {
	if len(add) == 0 && len(remove) == 0 {
		return e.Groups, nil
	}
	if err := idSecurityGroup.checkAll(remove); err != nil {
		return nil, err
	}
	added, err := resolveEndpointGroups(tx, account, e.VpcID, add)
	if err != nil {
		return nil, err
	}
	drop := map[string]bool{}
	for _, id := range remove {
		if !slices.Contains(e.Groups, id) {
			return nil, errInvalidParameter("The security group %s is not associated with the VPC endpoint %s.", id, e.ID)
		}
		if slices.Contains(added, id) {
			return nil, errInvalidParameter("The security group %s cannot be both added to and removed from the VPC endpoint %s.", id, e.ID)
		}
		drop[id] = true
	}
	var out []string
	for _, g := range append(slices.Clone(e.Groups), added...) {
		if !drop[g] && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		return nil, errInvalidParameter("An Interface type VPC Endpoint must have at least one security group.")
	}
	if err := checkGroupCount(out); err != nil {
		return nil, err
	}
	return out, nil
}

// setENIGroups replaces the groups of an endpoint's network interface.
func setENIGroups(tx store.Tx, owner, eniID string, groups []string) error {
	eni, found, err := getRecord[model.NetworkInterface](tx, eniKey(owner, eniID))
	if err != nil || !found {
		return err
	}
	eni.Groups = slices.Clone(groups)
	return putRecord(tx, eniKey(owner, eniID), eni)
}

// DeleteVpcEndpoints deletes the caller's endpoints, in one transaction:
// each one's network interfaces go at once and it turns deleting (its
// service index entry stays, so that the provider sees it deleting); the
// controllers remove the record once its data plane is torn down. An
// endpoint already deleting is left as it is. An id that is not one of the
// caller's endpoints is an unsuccessful item, InvalidVpcEndpoint.NotFound
// (a malformed one InvalidVpcEndpointId.Malformed); the call succeeds.
// Only the consumer deletes endpoints: a provider rejects them.
func (s *Service) DeleteVpcEndpoints(ctx context.Context, account string, in DeleteVpcEndpointsInput) (DeleteVpcEndpointsOutput, error) {
	var out DeleteVpcEndpointsOutput
	err := s.update(ctx, in.DryRun, func(tx store.Tx) error {
		out.Unsuccessful = nil
		if len(in.VpcEndpointIDs) == 0 {
			return awsapi.ErrMissingParameter("VpcEndpointId")
		}
		now := s.now().UTC()
		for _, id := range dedupe(in.VpcEndpointIDs) {
			if err := idVpcEndpoint.check(id); err != nil {
				var ae *awsapi.Error
				if !errors.As(err, &ae) {
					return err
				}
				out.Unsuccessful = append(out.Unsuccessful, UnsuccessfulItem{ResourceID: id, Code: ae.Code, Message: ae.Message})
				continue
			}
			e, found, err := getRecord[model.VpcEndpoint](tx, vpcEndpointKey(account, id))
			if err != nil {
				return err
			}
			if !found {
				out.Unsuccessful = append(out.Unsuccessful, UnsuccessfulItem{
					ResourceID: id, Code: "InvalidVpcEndpoint.NotFound", Message: fmt.Sprintf("The VpcEndpoint Id '%s' does not exist", id),
				})
				continue
			}
			if endpointGone(e) {
				continue
			}
			for _, en := range e.ENIs {
				if err := s.deleteEndpointENI(tx, e.OwnerID, en); err != nil {
					return err
				}
			}
			e.State = model.EndpointDeleting
			e.DeletedAt = now
			if err := putVpcEndpoint(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return DeleteVpcEndpointsOutput{}, err
	}
	return out, nil
}
