package model

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Load balancer types and schemes, as ELBv2 names them.
const (
	LoadBalancerTypeNetwork = "network"
	SchemeInternal          = "internal"
	SchemeInternetFacing    = "internet-facing"
	IPAddressTypeIPv4       = "ipv4"
)

// Load balancer states (LoadBalancerState.Code).
const (
	LBProvisioning   = "provisioning"
	LBActive         = "active"
	LBActiveImpaired = "active_impaired"
	LBFailed         = "failed"
)

// Target types and the protocols privlink carries.
const (
	TargetTypeInstance = "instance"
	TargetTypeIP       = "ip"
	ELBProtocolTCP     = "TCP"
	ELBProtocolHTTP    = "HTTP"
	ELBProtocolHTTPS   = "HTTPS"
	TrafficPort        = "traffic-port"
)

// Target health states and the reason codes ELBv2 reports with them.
const (
	TargetInitial   = "initial"
	TargetHealthy   = "healthy"
	TargetUnhealthy = "unhealthy"
	// TargetUnhealthyDraining is an unhealthy target whose flows the load
	// balancer keeps for the group's AttrUnhealthyDraining interval.
	TargetUnhealthyDraining = "unhealthy.draining"
	TargetUnused            = "unused"
	TargetDraining          = "draining"

	ReasonRegistrationInProgress   = "Elb.RegistrationInProgress"
	ReasonInitialHealthChecking    = "Elb.InitialHealthChecking"
	ReasonTimeout                  = "Target.Timeout"
	ReasonFailedHealthChecks       = "Target.FailedHealthChecks"
	ReasonResponseCodeMismatch     = "Target.ResponseCodeMismatch"
	ReasonNotRegistered            = "Target.NotRegistered"
	ReasonNotInUse                 = "Target.NotInUse"
	ReasonInvalidState             = "Target.InvalidState"
	ReasonDeregistrationInProgress = "Target.DeregistrationInProgress"
)

// Attribute keys privlink acts on. Every attribute is kept as the string
// AWS sends ("true", "300").
const (
	AttrCrossZone           = "load_balancing.cross_zone.enabled"
	AttrDeletionProtection  = "deletion_protection.enabled"
	AttrProxyProtocolV2     = "proxy_protocol_v2.enabled"
	AttrDeregistrationDelay = "deregistration_delay.timeout_seconds"
	AttrPreserveClientIP    = "preserve_client_ip.enabled"
	AttrStickinessEnabled   = "stickiness.enabled"
	AttrStickinessType      = "stickiness.type"
	// AttrConnTermOnDeregistration: "true" resets a deregistered target's
	// flows at the end of its deregistration delay; with "false" (the
	// default) they go on until they end.
	AttrConnTermOnDeregistration = "deregistration_delay.connection_termination.enabled"
	// AttrUnhealthyConnTerm: "true" (the default) resets an unhealthy
	// target's flows; with "false" they drain for AttrUnhealthyDraining
	// seconds (0 to 360000, default 0).
	AttrUnhealthyConnTerm = "target_health_state.unhealthy.connection_termination.enabled"
	AttrUnhealthyDraining = "target_health_state.unhealthy.draining_interval_seconds"
)

// LoadBalancer is a Network Load Balancer: one node per subnet mapping,
// each a requester-managed ENI (InterfaceTypeNetworkLoadBalancer) whose
// namespace NamespaceName(ENIID) holds the listeners' sockets.
type LoadBalancer struct {
	ARN            string   `json:"arn"`
	Name           string   `json:"name"`
	OwnerID        string   `json:"ownerId"`
	VpcID          string   `json:"vpcId"`
	Type           string   `json:"type"`   // LoadBalancerTypeNetwork
	Scheme         string   `json:"scheme"` // SchemeInternal, SchemeInternetFacing
	IPAddressType  string   `json:"ipAddressType"`
	State          string   `json:"state"` // LBProvisioning, LBActive, ...
	StateReason    string   `json:"stateReason,omitempty"`
	DNSName        string   `json:"dnsName"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	// Nodes are the subnet mappings, in availability zone order.
	Nodes []LBNode `json:"nodes"`
	// Attributes holds every attribute the load balancer has, defaults
	// included, by key.
	Attributes map[string]string `json:"attributes"`
	Tags       []Tag             `json:"tags,omitempty"`
	Created    time.Time         `json:"created"`
	// EnforceSGOnPrivateLink is EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic:
	// "on" or "off" while the load balancer has security groups, "" when
	// it has none. With "off" the groups' inbound rules do not apply to
	// traffic that arrives through PrivateLink.
	EnforceSGOnPrivateLink string `json:"enforceSgOnPrivateLink,omitempty"`
}

// LBNode is one node of a load balancer: its ENI in one subnet.
type LBNode struct {
	SubnetID           string `json:"subnetId"`
	AvailabilityZone   string `json:"availabilityZone"`
	AvailabilityZoneID string `json:"availabilityZoneId"`
	ENIID              string `json:"eniId"`
	PrivateIP          string `json:"privateIp"`
	// RequestedIP reports whether the address was asked for
	// (SubnetMapping.PrivateIPv4Address); DescribeLoadBalancers then shows
	// it as PrivateIPv4Address.
	RequestedIP bool `json:"requestedIp,omitempty"`
}

// TargetGroup is a set of targets with one health check.
type TargetGroup struct {
	ARN           string      `json:"arn"`
	Name          string      `json:"name"`
	OwnerID       string      `json:"ownerId"`
	VpcID         string      `json:"vpcId"`
	Protocol      string      `json:"protocol"` // ELBProtocolTCP
	Port          int32       `json:"port"`
	TargetType    string      `json:"targetType"` // TargetTypeInstance, TargetTypeIP
	IPAddressType string      `json:"ipAddressType"`
	HealthCheck   HealthCheck `json:"healthCheck"`
	// Attributes holds every attribute the group has, defaults included.
	Attributes map[string]string `json:"attributes"`
	// Targets are the registered targets, draining ones included, in
	// registration order.
	Targets []Target  `json:"targets,omitempty"`
	Tags    []Tag     `json:"tags,omitempty"`
	Created time.Time `json:"created"`
}

// HealthCheck is a target group's health check.
type HealthCheck struct {
	Enabled            bool   `json:"enabled"`
	Protocol           string `json:"protocol"` // ELBProtocolTCP, ELBProtocolHTTP, ELBProtocolHTTPS
	Port               string `json:"port"`     // TrafficPort or a port number
	Path               string `json:"path,omitempty"`
	IntervalSeconds    int32  `json:"intervalSeconds"`
	TimeoutSeconds     int32  `json:"timeoutSeconds"`
	HealthyThreshold   int32  `json:"healthyThreshold"`
	UnhealthyThreshold int32  `json:"unhealthyThreshold"`
	Matcher            string `json:"matcher,omitempty"` // HttpCode, e.g. "200-399"
}

// Target is one registered target. ID is an instance id or an IP address;
// IP is the address traffic goes to, resolved at registration.
type Target struct {
	ID               string `json:"id"`
	Port             int32  `json:"port"`
	AvailabilityZone string `json:"availabilityZone,omitempty"` // as registered ("all" or a zone), for ip targets
	// Zone is the target's availability zone: the instance's or the zone
	// of the subnet holding the ip.
	Zone       string    `json:"zone"`
	IP         string    `json:"ip"`
	Registered time.Time `json:"registered"`
	// DrainUntil is set by DeregisterTargets: the target drains until then
	// and is gone afterwards.
	DrainUntil time.Time `json:"drainUntil,omitzero"`
}

// Key identifies a target within its group: "<id>:<port>".
func (t Target) Key() string { return fmt.Sprintf("%s:%d", t.ID, t.Port) }

// Draining reports whether the target is deregistered but still draining
// at now.
func (t Target) Draining(now time.Time) bool {
	return !t.DrainUntil.IsZero() && now.Before(t.DrainUntil)
}

// Gone reports whether the target was deregistered and its drain is over.
func (t Target) Gone(now time.Time) bool { return !t.DrainUntil.IsZero() && !now.Before(t.DrainUntil) }

// Listener is a TCP listener of a load balancer that forwards to one target
// group.
type Listener struct {
	ARN             string `json:"arn"`
	OwnerID         string `json:"ownerId"`
	LoadBalancerARN string `json:"loadBalancerArn"`
	Protocol        string `json:"protocol"`
	Port            int32  `json:"port"`
	// TargetGroupARN is the default action's forward target.
	TargetGroupARN string `json:"targetGroupArn"`
	// Attributes holds the listener attributes set so far; an absent one
	// has its default (listeners stored before attributes existed have
	// none).
	Attributes map[string]string `json:"attributes,omitempty"`
	Tags       []Tag             `json:"tags,omitempty"`
	Created    time.Time         `json:"created"`
}

// ListenerAttrTCPIdleTimeout is a TCP listener's idle timeout in seconds
// (60 to 6000), DefaultTCPIdleTimeout when unset, as on AWS.
const ListenerAttrTCPIdleTimeout = "tcp.idle_timeout.seconds"

// DefaultTCPIdleTimeout is AWS's idle timeout of NLB TCP flows, and of
// PrivateLink flows.
const DefaultTCPIdleTimeout = 350 * time.Second

// TCPIdleTimeout is how long a flow of the listener may stay idle before
// the load balancer drops it.
func (l Listener) TCPIdleTimeout() time.Duration {
	var s int
	if _, err := fmt.Sscan(l.Attributes[ListenerAttrTCPIdleTimeout], &s); err != nil || s <= 0 {
		return DefaultTCPIdleTimeout
	}
	return time.Duration(s) * time.Second
}

// UnhealthyDrain says what becomes of an unhealthy target's flows: with
// reset, they are reset drain after the checks found it unhealthy (0, AWS's
// default, for at once); without, never. AWS documents the draining
// interval as how long it waits before it closes the flows, and
// termination off with no interval, which is what the attribute meant
// before the interval existed (and is still its default), leaves them
// open.
func (g TargetGroup) UnhealthyDrain() (drain time.Duration, reset bool) {
	if g.Attributes[AttrUnhealthyConnTerm] != "false" {
		return 0, true
	}
	var secs int
	if _, err := fmt.Sscan(g.Attributes[AttrUnhealthyDraining], &secs); err != nil || secs <= 0 {
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}

// TargetHealthSet is what the health checks found for one target group,
// written by the controllers: one entry per target key (Target.Key).
type TargetHealthSet struct {
	TargetGroupARN string                        `json:"targetGroupArn"`
	Targets        map[string]TargetHealthStatus `json:"targets"`
}

// TargetHealthStatus is one target's checked health.
type TargetHealthStatus struct {
	State       string    `json:"state"` // TargetInitial, TargetHealthy, TargetUnhealthy
	Reason      string    `json:"reason,omitempty"`
	Description string    `json:"description,omitempty"`
	Since       time.Time `json:"since"`
}

// TagsRef returns the resource's tag list for in-place edits.
func (l *LoadBalancer) TagsRef() *[]Tag { return &l.Tags }

// TagsRef returns the resource's tag list for in-place edits.
func (g *TargetGroup) TagsRef() *[]Tag { return &g.Tags }

// TagsRef returns the resource's tag list for in-place edits.
func (l *Listener) TagsRef() *[]Tag { return &l.Tags }

// NewELBSuffix returns the 16 lowercase hex digits that end an ELBv2 ARN.
func NewELBSuffix() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // rand.Read never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

func elbARN(region, account, resource string) string {
	return "arn:aws:elasticloadbalancing:" + region + ":" + account + ":" + resource
}

// LoadBalancerARN is "arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/net/<name>/<suffix>".
func LoadBalancerARN(region, account, name, suffix string) string {
	return elbARN(region, account, "loadbalancer/net/"+name+"/"+suffix)
}

// TargetGroupARN is "arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<suffix>".
func TargetGroupARN(region, account, name, suffix string) string {
	return elbARN(region, account, "targetgroup/"+name+"/"+suffix)
}

// ListenerARN is the load balancer's ARN with "loadbalancer/" replaced by
// "listener/" and "/<suffix>" appended, as ELBv2 forms it.
func ListenerARN(lbARN, suffix string) string {
	return strings.Replace(lbARN, ":loadbalancer/", ":listener/", 1) + "/" + suffix
}

// LoadBalancerDNSName is "<name>-<suffix>.elb.<region>.amazonaws.com".
func LoadBalancerDNSName(region, name, suffix string) string {
	return strings.ToLower(name) + "-" + suffix + ".elb." + region + ".amazonaws.com"
}

// ELBResource is an ELBv2 ARN taken apart.
type ELBResource struct {
	Region, Account string
	Kind            string // "loadbalancer", "targetgroup", "listener"
	// ID is the last path element, the 16-hex suffix: unique per kind
	// and account.
	ID string
}

// ParseELBARN takes an ELBv2 ARN of a network load balancer, a target
// group or a network listener apart. ok is false for anything else.
func ParseELBARN(arn string) (r ELBResource, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "elasticloadbalancing" {
		return ELBResource{}, false
	}
	r.Region, r.Account = parts[3], parts[4]
	path := strings.Split(parts[5], "/")
	var n int
	switch path[0] {
	case "loadbalancer":
		n = 4 // loadbalancer/net/<name>/<id>
	case "targetgroup":
		n = 3 // targetgroup/<name>/<id>
	case "listener":
		n = 5 // listener/net/<lb name>/<lb id>/<id>
	default:
		return ELBResource{}, false
	}
	if len(path) != n || (n != 3 && path[1] != "net") || !isHex16(path[n-1]) || r.Account == "" {
		return ELBResource{}, false
	}
	r.Kind, r.ID = path[0], path[n-1]
	return r, true
}

func isHex16(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
