package model

import "time"

// Tag is a key/value pair on a resource.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Account is one tenant. Every resource has an owner account.
type Account struct {
	ID      string    `json:"id"`
	Name    string    `json:"name,omitempty"`
	Created time.Time `json:"created"`
}

// AccessKey is a SigV4 credential of an account.
type AccessKey struct {
	AccessKeyID     string    `json:"accessKeyId"`
	SecretAccessKey string    `json:"secretAccessKey"`
	AccountID       string    `json:"accountId"`
	Created         time.Time `json:"created"`
}

// Resource states as they go on the wire.
const (
	StatePending   = "pending"
	StateAvailable = "available"
)

// Vpc is a VPC. Its router is the namespace NamespaceName(ID).
type Vpc struct {
	ID                  string    `json:"id"`
	OwnerID             string    `json:"ownerId"`
	CidrBlock           string    `json:"cidrBlock"`
	CidrAssociationID   string    `json:"cidrAssociationId"`
	State               string    `json:"state"`
	DhcpOptionsID       string    `json:"dhcpOptionsId"`
	InstanceTenancy     string    `json:"instanceTenancy"`
	IsDefault           bool      `json:"isDefault"`
	EnableDnsSupport    bool      `json:"enableDnsSupport"`
	EnableDnsHostnames  bool      `json:"enableDnsHostnames"`
	EnableNauMetrics    bool      `json:"enableNauMetrics,omitempty"`
	DefaultGroupID      string    `json:"defaultGroupId"`
	DefaultNetworkAclID string    `json:"defaultNetworkAclId"`
	Tags                []Tag     `json:"tags,omitempty"`
	Created             time.Time `json:"created"`
}

// Subnet is a subnet of a VPC: a bridge in the VPC router namespace on which
// the router holds the subnet's first usable address (.1).
type Subnet struct {
	ID                  string    `json:"id"`
	OwnerID             string    `json:"ownerId"`
	VpcID               string    `json:"vpcId"`
	CidrBlock           string    `json:"cidrBlock"`
	AvailabilityZone    string    `json:"availabilityZone"`
	AvailabilityZoneID  string    `json:"availabilityZoneId"`
	State               string    `json:"state"`
	BridgeName          string    `json:"bridgeName"` // recorded Linux link name
	MapPublicIPOnLaunch bool      `json:"mapPublicIpOnLaunch,omitempty"`
	Tags                []Tag     `json:"tags,omitempty"`
	Created             time.Time `json:"created"`
}

// SecurityGroup is a VPC security group. Rules are kept one by one, each
// with its own sgr- id, as DescribeSecurityGroupRules shows them.
type SecurityGroup struct {
	ID          string              `json:"id"`
	OwnerID     string              `json:"ownerId"`
	VpcID       string              `json:"vpcId"`
	Name        string              `json:"name"`
	Description string              `json:"description"`
	Ingress     []SecurityGroupRule `json:"ingress,omitempty"`
	Egress      []SecurityGroupRule `json:"egress,omitempty"`
	Tags        []Tag               `json:"tags,omitempty"`
}

// SecurityGroupRule is one rule: a protocol/port range and exactly one
// source or destination (IPv4 CIDR, IPv6 CIDR, prefix list or group).
type SecurityGroupRule struct {
	ID          string `json:"id"`
	Protocol    string `json:"protocol"` // "-1", "tcp", "udp", "icmp", "icmpv6" or a number
	FromPort    int32  `json:"fromPort"` // -1 when the protocol has no ports
	ToPort      int32  `json:"toPort"`
	CidrIPv4    string `json:"cidrIpv4,omitempty"`
	CidrIPv6    string `json:"cidrIpv6,omitempty"`
	PrefixList  string `json:"prefixListId,omitempty"`
	GroupID     string `json:"groupId,omitempty"` // referenced group
	GroupOwner  string `json:"groupOwner,omitempty"`
	Description string `json:"description,omitempty"`
	Tags        []Tag  `json:"tags,omitempty"`
}

// NetworkAcl is a stateless subnet ACL.
type NetworkAcl struct {
	ID           string                  `json:"id"`
	OwnerID      string                  `json:"ownerId"`
	VpcID        string                  `json:"vpcId"`
	IsDefault    bool                    `json:"isDefault"`
	Entries      []NetworkAclEntry       `json:"entries,omitempty"`
	Associations []NetworkAclAssociation `json:"associations,omitempty"`
	Tags         []Tag                   `json:"tags,omitempty"`
}

// NetworkAclEntry is one numbered rule. Rule 32767 is the implicit deny.
type NetworkAclEntry struct {
	RuleNumber    int32  `json:"ruleNumber"`
	Egress        bool   `json:"egress"`
	Protocol      string `json:"protocol"` // "-1" or a protocol number as a string
	RuleAction    string `json:"ruleAction"`
	CidrBlock     string `json:"cidrBlock,omitempty"`
	Ipv6CidrBlock string `json:"ipv6CidrBlock,omitempty"`
	IcmpType      *int32 `json:"icmpType,omitempty"`
	IcmpCode      *int32 `json:"icmpCode,omitempty"`
	PortFrom      *int32 `json:"portFrom,omitempty"`
	PortTo        *int32 `json:"portTo,omitempty"`
}

// NetworkAclAssociation ties one subnet to an ACL. Every subnet has exactly
// one association at all times.
type NetworkAclAssociation struct {
	ID       string `json:"id"`
	SubnetID string `json:"subnetId"`
}

// Tagged is a resource that carries tags.
type Tagged interface{ TagsRef() *[]Tag }

// TagsRef returns the resource's tag list for in-place edits.
func (v *Vpc) TagsRef() *[]Tag { return &v.Tags }

// TagsRef returns the resource's tag list for in-place edits.
func (s *Subnet) TagsRef() *[]Tag { return &s.Tags }

// TagsRef returns the resource's tag list for in-place edits.
func (g *SecurityGroup) TagsRef() *[]Tag { return &g.Tags }

// TagsRef returns the resource's tag list for in-place edits.
func (a *NetworkAcl) TagsRef() *[]Tag { return &a.Tags }
