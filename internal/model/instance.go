package model

import (
	"net/netip"
	"strings"
	"time"
)

// Instance states, with the codes EC2 reports beside them.
const (
	InstancePending      = "pending"
	InstanceRunning      = "running"
	InstanceShuttingDown = "shutting-down"
	InstanceTerminated   = "terminated"
	InstanceStopping     = "stopping"
	InstanceStopped      = "stopped"
)

// InstanceStateCode is the numeric code EC2 sends with each state name.
var InstanceStateCode = map[string]int32{
	InstancePending: 0, InstanceRunning: 16, InstanceShuttingDown: 32,
	InstanceTerminated: 48, InstanceStopping: 64, InstanceStopped: 80,
}

// State reasons EC2 reports (stateReason code and message).
const (
	StateReasonPending         = "pending"
	StateReasonUserShutdown    = "Client.UserInitiatedShutdown"
	StateReasonUserShutdownMsg = "Client.UserInitiatedShutdown: User initiated shutdown"
)

// DefaultInstanceType is the instance type of a RunInstances call that names
// none, as EC2 has always defaulted it.
const DefaultInstanceType = "m1.small"

// TerminatedInstanceVisibility is how long a terminated instance stays in
// DescribeInstances: "approximately one hour", AWS documents.
const TerminatedInstanceVisibility = time.Hour

// Instance is a VM stand-in: a network namespace NamespaceName(ID) whose
// eth0 is the primary ENI, in which UserData runs as a supervised process.
// Its security groups are those of its primary ENI.
type Instance struct {
	ID                    string    `json:"id"`
	OwnerID               string    `json:"ownerId"`
	ReservationID         string    `json:"reservationId"`
	ImageID               string    `json:"imageId"`
	InstanceType          string    `json:"instanceType"`
	VpcID                 string    `json:"vpcId"`
	SubnetID              string    `json:"subnetId"`
	AvailabilityZone      string    `json:"availabilityZone"`
	AvailabilityZoneID    string    `json:"availabilityZoneId"`
	PrimaryENI            string    `json:"primaryEni"`
	PrivateIP             string    `json:"privateIp"`
	State                 string    `json:"state"`
	StateReason           string    `json:"stateReason,omitempty"`        // stateReason code, e.g. StateReasonUserShutdown
	StateReasonMessage    string    `json:"stateReasonMessage,omitempty"` // stateReason message
	StateTransitionReason string    `json:"stateTransitionReason,omitempty"`
	UserData              string    `json:"userData,omitempty"` // base64, as sent
	UserDataRan           bool      `json:"userDataRan,omitempty"`
	ClientToken           string    `json:"clientToken,omitempty"`
	LaunchTime            time.Time `json:"launchTime"`
	TerminatedAt          time.Time `json:"terminatedAt,omitzero"`
	AmiLaunchIndex        int32     `json:"amiLaunchIndex"`
	Tags                  []Tag     `json:"tags,omitempty"`
	ConsoleLogFile        string    `json:"consoleLogFile,omitempty"` // relative to the data dir
	// StopRequestedAt is when the last StopInstances or TerminateInstances
	// asked the instance to go down; the supervisor escalates from it.
	StopRequestedAt time.Time `json:"stopRequestedAt,omitzero"`
	// ForceStop is set by StopInstances with Force: kill at once, no grace.
	ForceStop bool `json:"forceStop,omitempty"`
}

// ENI interface types, as EC2 names them.
const (
	InterfaceTypeInterface           = "interface"
	InterfaceTypeVpcEndpoint         = "vpc_endpoint"
	InterfaceTypeNetworkLoadBalancer = "network_load_balancer"
)

// ENI statuses and attachment statuses, as EC2 names them.
const (
	ENIStatusInUse     = "in-use"
	ENIStatusAvailable = "available"
	AttachmentAttached = "attached"
)

// NetworkInterface is an address in a subnet with security groups: an
// instance's eth0, an endpoint ENI or an NLB node. Its link is a veth whose
// peer (BridgePort) sits on the subnet bridge; the other end lives in the
// instance's namespace, or for a requester-managed ENI in NamespaceName(ID).
type NetworkInterface struct {
	ID                 string   `json:"id"`
	OwnerID            string   `json:"ownerId"`
	VpcID              string   `json:"vpcId"`
	SubnetID           string   `json:"subnetId"`
	AvailabilityZone   string   `json:"availabilityZone"`
	AvailabilityZoneID string   `json:"availabilityZoneId,omitempty"`
	PrivateIP          string   `json:"privateIp"`
	MacAddress         string   `json:"macAddress"`
	Groups             []string `json:"groups"`
	InterfaceType      string   `json:"interfaceType"`
	Description        string   `json:"description,omitempty"`
	Status             string   `json:"status"` // ENIStatusInUse, ENIStatusAvailable
	RequesterManaged   bool     `json:"requesterManaged"`
	RequesterID        string   `json:"requesterId,omitempty"`
	// Attachment: InstanceID is the attached instance (empty for a
	// requester-managed ENI, whose attachment names InstanceOwnerID only).
	InstanceID          string    `json:"instanceId,omitempty"`
	InstanceOwnerID     string    `json:"instanceOwnerId,omitempty"`
	AttachmentID        string    `json:"attachmentId,omitempty"`
	AttachTime          time.Time `json:"attachTime,omitzero"`
	DeviceIndex         int32     `json:"deviceIndex"`
	DeleteOnTermination bool      `json:"deleteOnTermination,omitempty"`
	SourceDestCheck     bool      `json:"sourceDestCheck"`
	BridgePort          string    `json:"bridgePort"` // recorded link name of the bridge-side veth
	Tags                []Tag     `json:"tags,omitempty"`
}

// TagsRef returns the resource's tag list for in-place edits.
func (i *Instance) TagsRef() *[]Tag { return &i.Tags }

// TagsRef returns the resource's tag list for in-place edits.
func (n *NetworkInterface) TagsRef() *[]Tag { return &n.Tags }

// PrivateDNSName is the private IPv4 DNS name EC2 gives an address:
// "ip-10-0-1-5.ec2.internal" in us-east-1 and
// "ip-10-0-1-5.<region>.compute.internal" elsewhere. It is "" for anything
// but an IPv4 address.
func PrivateDNSName(region, ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return ""
	}
	host := "ip-" + strings.ReplaceAll(a.String(), ".", "-")
	if region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + region + ".compute.internal"
}
