package model

import "time"

// Id prefixes of PrivateLink resources.
const (
	PrefixVpcEndpoint           = "vpce"
	PrefixVpcEndpointService    = "vpce-svc"
	PrefixVpcEndpointConnection = "vpce-conn"
	PrefixServicePermission     = "vpce-svc-perm"
)

// Endpoint service states (ServiceConfiguration.serviceState): capitalised
// on the wire, unlike endpoint states.
const (
	ServicePending   = "Pending"
	ServiceAvailable = "Available"
	ServiceDeleting  = "Deleting"
	ServiceDeleted   = "Deleted"
	ServiceFailed    = "Failed"
)

// Interface endpoint states (VpcEndpoint.state and the provider's
// VpcEndpointConnection.vpcEndpointState): lower camel case on the wire.
const (
	EndpointPendingAcceptance = "pendingAcceptance"
	EndpointPending           = "pending"
	EndpointAvailable         = "available"
	EndpointRejected          = "rejected"
	EndpointDeleting          = "deleting"
	EndpointDeleted           = "deleted"
	EndpointFailed            = "failed"
)

// Private DNS name verification states (PrivateDnsNameConfiguration.state).
const (
	DNSPendingVerification = "pendingVerification"
	DNSVerified            = "verified"
	DNSFailed              = "failed"
)

// Endpoint and service types.
const (
	EndpointTypeInterface = "Interface"
	EndpointTypeGateway   = "Gateway"
)

// Principal types of an allowed principal.
const (
	PrincipalAll     = "All"
	PrincipalAccount = "Account"
	PrincipalUser    = "User"
	PrincipalRole    = "Role"
)

// EndpointService is an endpoint service: one or more NLBs of the owner
// published under Name, "com.amazonaws.vpce.<region>.<ID>".
type EndpointService struct {
	ID                      string   `json:"id"`
	OwnerID                 string   `json:"ownerId"`
	Name                    string   `json:"name"`
	State                   string   `json:"state"` // ServicePending, ServiceAvailable, ...
	AcceptanceRequired      bool     `json:"acceptanceRequired"`
	NetworkLoadBalancerARNs []string `json:"networkLoadBalancerArns"`
	SupportedIPAddressTypes []string `json:"supportedIpAddressTypes"`
	// PrivateDNSName is the name consumers' endpoints may answer inside
	// their VPCs once verified; PrivateDNS is its verification.
	PrivateDNSName      string               `json:"privateDnsName,omitempty"`
	PrivateDNS          *PrivateDNSNameState `json:"privateDns,omitempty"`
	PayerResponsibility string               `json:"payerResponsibility,omitempty"`
	Principals          []AllowedPrincipal   `json:"principals,omitempty"`
	ClientToken         string               `json:"clientToken,omitempty"`
	Tags                []Tag                `json:"tags,omitempty"`
	Created             time.Time            `json:"created"`
}

// PrivateDNSNameState is the TXT record that proves ownership of a
// service's private DNS name, and how far the proof got.
type PrivateDNSNameState struct {
	State string `json:"state"` // DNSPendingVerification, DNSVerified, DNSFailed
	Type  string `json:"type"`  // "TXT"
	Name  string `json:"name"`  // "_<random>": the record is at Name + "." + the private DNS name
	Value string `json:"value"` // "vpce:<random>"
}

// AllowedPrincipal is one entry of a service's permissions.
type AllowedPrincipal struct {
	ID        string `json:"id"` // servicePermissionId
	Principal string `json:"principal"`
	Type      string `json:"type"` // PrincipalAll, PrincipalAccount, ...
	// Account is the account the principal belongs to ("" for "*").
	Account string `json:"account,omitempty"`
	Tags    []Tag  `json:"tags,omitempty"`
}

// VpcEndpoint is an interface endpoint: one requester-managed ENI
// (InterfaceTypeVpcEndpoint) per subnet, each with a namespace of its own
// in which the forwarder listens on the service's listener ports. The
// endpoint belongs to the consumer; the provider sees it as a connection.
type VpcEndpoint struct {
	ID             string `json:"id"`
	OwnerID        string `json:"ownerId"`
	VpcID          string `json:"vpcId"`
	Type           string `json:"type"` // EndpointTypeInterface
	ServiceID      string `json:"serviceId"`
	ServiceOwnerID string `json:"serviceOwnerId"`
	ServiceName    string `json:"serviceName"`
	State          string `json:"state"` // EndpointPendingAcceptance, ...
	// ConnectionID is the provider's vpce-conn- id of the connection.
	ConnectionID      string        `json:"connectionId"`
	ENIs              []EndpointENI `json:"enis"`   // in subnet order
	Groups            []string      `json:"groups"` // security groups of every ENI
	PrivateDNSEnabled bool          `json:"privateDnsEnabled"`
	PolicyDocument    string        `json:"policyDocument,omitempty"`
	IPAddressType     string        `json:"ipAddressType"`
	DNSRecordIPType   string        `json:"dnsRecordIpType"`
	// DNSLabel is the first label of the endpoint's names:
	// "<ID>-<8 random lowercase alphanumerics>".
	DNSLabel    string    `json:"dnsLabel"`
	LastError   string    `json:"lastError,omitempty"`
	ClientToken string    `json:"clientToken,omitempty"`
	Tags        []Tag     `json:"tags,omitempty"`
	Created     time.Time `json:"created"`
	// DeletedAt is when the consumer deleted the endpoint: it stays
	// "deleting" until the controllers have torn it down.
	DeletedAt time.Time `json:"deletedAt,omitzero"`
	// ClientTokenRequest fingerprints the CreateVpcEndpoint request that
	// ClientToken came with, so that a retry with other parameters is
	// IdempotentParameterMismatch.
	ClientTokenRequest string `json:"clientTokenRequest,omitempty"`
	// LastErrorCode is the code of LastError (lastError.code on the
	// wire); "" with a LastError reports InternalError.
	LastErrorCode string `json:"lastErrorCode,omitempty"`
}

// EndpointENI is an endpoint's network interface in one subnet.
type EndpointENI struct {
	SubnetID           string `json:"subnetId"`
	AvailabilityZone   string `json:"availabilityZone"`
	AvailabilityZoneID string `json:"availabilityZoneId"`
	ENIID              string `json:"eniId"`
	PrivateIP          string `json:"privateIp"`
}

// TagsRef returns the resource's tag list for in-place edits.
func (s *EndpointService) TagsRef() *[]Tag { return &s.Tags }

// TagsRef returns the resource's tag list for in-place edits.
func (e *VpcEndpoint) TagsRef() *[]Tag { return &e.Tags }

// EndpointServiceName is "com.amazonaws.vpce.<region>.<service id>".
func EndpointServiceName(region, serviceID string) string {
	return "com.amazonaws.vpce." + region + "." + serviceID
}

// EndpointServiceBaseDNSName is "<service id>.<region>.vpce.amazonaws.com".
func EndpointServiceBaseDNSName(region, serviceID string) string {
	return serviceID + "." + region + ".vpce.amazonaws.com"
}

// EndpointRegionalDNSName is "<label>.<service id>.<region>.vpce.amazonaws.com".
func EndpointRegionalDNSName(region, label, serviceID string) string {
	return label + "." + EndpointServiceBaseDNSName(region, serviceID)
}

// EndpointZonalDNSName is "<label>-<zone>.<service id>.<region>.vpce.amazonaws.com".
func EndpointZonalDNSName(region, label, zone, serviceID string) string {
	return label + "-" + zone + "." + EndpointServiceBaseDNSName(region, serviceID)
}

// NewEndpointDNSLabel returns "<endpoint id>-<8 random lowercase
// alphanumerics>", as AWS labels endpoint names.
func NewEndpointDNSLabel(endpointID string) string {
	return endpointID + "-" + RandomLabel(8)
}

// RandomLabel returns n random lowercase alphanumerics.
func RandomLabel(n int) string {
	return randString("abcdefghijklmnopqrstuvwxyz0123456789", n)
}

// RandomAlnum returns n random letters (either case) and digits.
func RandomAlnum(n int) string {
	return randString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", n)
}
