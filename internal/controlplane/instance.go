package controlplane

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// Fixed properties of every privlink instance, as DescribeInstances reports
// them and its filters match them.
const (
	InstanceArchitecture       = "x86_64"
	InstanceHypervisor         = "xen"
	InstanceVirtualizationType = "hvm"
	InstanceRootDeviceType     = "ebs"
	InstanceRootDeviceName     = "/dev/xvda"
	InstancePlatformDetails    = "Linux/UNIX"
	InstanceUsageOperation     = "RunInstances"
	InstanceTenancy            = "default"
	InstanceMonitoringState    = "disabled"
)

// Instance status values of DescribeInstanceStatus.
const (
	StatusOK            = "ok"
	StatusNotApplicable = "not-applicable"
	ReachabilityPassed  = "passed"
)

const (
	maxUserDataBytes  = 16384 // decoded
	maxClientTokenLen = 64
	maxConsoleOutput  = 64 << 10 // GetConsoleOutput returns the last 64 KiB
)

// RunInstancesInput is the input of RunInstances. There is no default VPC,
// so SubnetId is required and SecurityGroup.N (names) is refused, as AWS
// answers an account without one.
type RunInstancesInput struct {
	ImageID          string
	InstanceType     string // "" means model.DefaultInstanceType
	MinCount         *int32
	MaxCount         *int32
	SubnetID         string
	SecurityGroupIDs []string // SecurityGroupId.N; none means the VPC's default group
	SecurityGroups   []string // SecurityGroup.N (names)
	PrivateIPAddress string
	// NetworkInterfaces is NetworkInterface.N, which gives the subnet,
	// groups and address in place of the instance-level ones.
	NetworkInterfaces []RunNetworkInterface
	UserData          string // base64
	TagSpecs          []TagSpec
	ClientToken       string
	DryRun            bool
}

// RunNetworkInterface is one NetworkInterface.N of RunInstances, as the
// AWS CLI's --network-interfaces and Terraform's network_interface send
// it. Of what an instance here cannot have, it says only whether it was
// given.
type RunNetworkInterface struct {
	DeviceIndex         *int32
	NetworkCardIndex    *int32
	NetworkInterfaceID  string
	SubnetID            string
	GroupIDs            []string // SecurityGroupId.N
	PrivateIPAddress    string
	Description         string
	InterfaceType       string
	DeleteOnTermination *bool
	PublicIP            bool // AssociatePublicIpAddress or AssociateCarrierIpAddress true
	SecondaryIPv4       bool // PrivateIpAddresses.N, SecondaryPrivateIpAddressCount, Ipv4PrefixCount or Ipv4Prefix.N
	IPv6                bool // Ipv6AddressCount, Ipv6Addresses.N, Ipv6PrefixCount, Ipv6Prefix.N or PrimaryIpv6 true
}

// primaryInterface moves NetworkInterface.N into in's subnet, groups and
// address. AWS refuses the instance-level subnet, groups and address beside
// it, with these messages; what an instance here cannot have (a second
// interface, an existing one attached, public or IPv6 addresses, secondary
// addresses, an interface kept after termination) is UnsupportedOperation
// rather than ignored.
func (in *RunInstancesInput) primaryInterface() error {
	if len(in.NetworkInterfaces) == 0 {
		return nil
	}
	switch {
	case in.SubnetID != "":
		return awsapi.Errorf("InvalidParameterCombination", "Network interfaces and an instance-level subnet ID may not be specified on the same request")
	case len(in.SecurityGroupIDs) > 0 || len(in.SecurityGroups) > 0:
		return awsapi.Errorf("InvalidParameterCombination", "Network interfaces and an instance-level security groups may not be specified on the same request")
	case in.PrivateIPAddress != "":
		return awsapi.Errorf("InvalidParameterCombination", "Network interfaces and an instance-level private IP address should not be specified on the same request")
	case len(in.NetworkInterfaces) > 1:
		return awsapi.Errorf("UnsupportedOperation", "An instance here has one network interface: give NetworkInterface.1 only, with DeviceIndex 0.")
	}
	ni := in.NetworkInterfaces[0]
	switch {
	case ni.DeviceIndex == nil && ni.NetworkCardIndex == nil:
		return awsapi.Errorf("InvalidParameterValue", "Each network interface requires a device index.")
	case ni.DeviceIndex != nil && *ni.DeviceIndex != 0 || ni.NetworkCardIndex != nil && *ni.NetworkCardIndex != 0:
		return awsapi.Errorf("UnsupportedOperation", "An instance here has one network interface, at DeviceIndex 0 on NetworkCardIndex 0.")
	case ni.NetworkInterfaceID != "":
		return awsapi.Errorf("UnsupportedOperation", "Attaching an existing network interface at launch is not supported; give SubnetId and Groups instead.")
	case ni.SubnetID == "":
		return awsapi.ErrMissingParameter("NetworkInterface.1.SubnetId")
	case ni.PublicIP:
		return awsapi.Errorf("UnsupportedOperation", "Public IP addresses are not supported: VPCs here have no internet path.")
	case ni.DeleteOnTermination != nil && !*ni.DeleteOnTermination:
		return awsapi.Errorf("UnsupportedOperation", "The primary network interface is deleted with its instance; DeleteOnTermination=false is not supported.")
	case ni.SecondaryIPv4:
		return awsapi.Errorf("UnsupportedOperation", "Secondary private IPv4 addresses and prefixes are not supported; give PrivateIpAddress.")
	case ni.IPv6:
		return awsapi.Errorf("UnsupportedOperation", "IPv6 addresses are not supported.")
	case ni.InterfaceType != "" && ni.InterfaceType != model.InterfaceTypeInterface:
		return awsapi.Errorf("UnsupportedOperation", "Network interface type %s is not supported.", ni.InterfaceType)
	}
	in.SubnetID, in.SecurityGroupIDs, in.PrivateIPAddress = ni.SubnetID, ni.GroupIDs, ni.PrivateIPAddress
	return nil
}

// eniDescription is the description of the primary network interface:
// NetworkInterface.1.Description, or none.
func (in RunInstancesInput) eniDescription() string {
	if len(in.NetworkInterfaces) == 0 {
		return ""
	}
	return in.NetworkInterfaces[0].Description
}

// Instance is an instance as the API describes it. A terminated instance
// has left its subnet: it has no VPC, subnet, address, groups or network
// interfaces any more, as in AWS.
type Instance struct {
	model.Instance
	StateCode         int32
	PrivateDNSName    string
	SourceDestCheck   bool
	Groups            []GroupIdentifier
	NetworkInterfaces []NetworkInterface // the primary ENI, while attached
}

// Reservation is one RunInstances launch: its instances in launch order.
// Its own groupSet is always empty in a VPC, so it has none here.
type Reservation struct {
	ReservationID string
	OwnerID       string
	Instances     []Instance
}

// DescribeInstancesInput is the input of DescribeInstances.
type DescribeInstancesInput struct {
	InstanceIDs             []string
	Filters                 []Filter
	Page                    Page
	IncludeManagedResources bool
	DryRun                  bool
}

// DescribeInstancesOutput is one page of DescribeInstances. A page holds
// up to MaxResults instances, grouped by reservation.
type DescribeInstancesOutput struct {
	Reservations []Reservation
	NextToken    string
}

// InstanceStateChange is one item of TerminateInstances, StopInstances and
// StartInstances. The codes are model.InstanceStateCode of the names.
type InstanceStateChange struct {
	InstanceID    string
	PreviousState string
	CurrentState  string
}

// TerminateInstancesInput is the input of TerminateInstances.
type TerminateInstancesInput struct {
	InstanceIDs    []string
	Force          bool
	SkipOsShutdown bool
	DryRun         bool
}

// StopInstancesInput is the input of StopInstances. No privlink instance is
// enabled for hibernation.
type StopInstancesInput struct {
	InstanceIDs    []string
	Force          bool
	Hibernate      bool
	SkipOsShutdown bool
	DryRun         bool
}

// StartInstancesInput is the input of StartInstances.
type StartInstancesInput struct {
	InstanceIDs []string
	DryRun      bool
}

// DescribeInstanceStatusInput is the input of DescribeInstanceStatus.
type DescribeInstanceStatusInput struct {
	InstanceIDs             []string
	Filters                 []Filter
	Page                    Page
	IncludeAllInstances     bool
	IncludeManagedResources bool
	DryRun                  bool
}

// StatusSummary is an instanceStatus, systemStatus or attachedEbsStatus.
// Reachability is the status of its one detail ("reachability"), or ""
// when it has no details.
type StatusSummary struct {
	Status       string
	Reachability string
}

// InstanceStatus is one item of DescribeInstanceStatus.
type InstanceStatus struct {
	InstanceID         string
	AvailabilityZone   string
	AvailabilityZoneID string
	State              string
	StateCode          int32
	InstanceStatus     StatusSummary
	SystemStatus       StatusSummary
	AttachedEBSStatus  StatusSummary
}

// DescribeInstanceStatusOutput is one page of DescribeInstanceStatus.
type DescribeInstanceStatusOutput struct {
	InstanceStatuses []InstanceStatus
	NextToken        string
}

// GetConsoleOutputInput is the input of GetConsoleOutput.
type GetConsoleOutputInput struct {
	InstanceID string
	Latest     bool
	DryRun     bool
}

// ConsoleOutput is the answer of GetConsoleOutput. Output is the last 64 KiB
// of the console log, base64-encoded; "" when there is none.
type ConsoleOutput struct {
	InstanceID string
	Output     string
	Timestamp  time.Time
}

func instanceKey(account, id string) string { return store.Key(store.KindInstance, account, id) }

// runToken is the record a RunInstances ClientToken leaves, so that a retry
// returns the reservation the first call launched.
type runToken struct {
	ReservationID string          `json:"reservationId"`
	InstanceIDs   []string        `json:"instanceIds"`
	Request       json.RawMessage `json:"request"`
}

func runTokenKey(account, token string) string {
	return store.KindIndex + "/runinstances-client-token/" + account + "/" + token
}

// expired reports whether a terminated instance has outlived its time in
// DescribeInstances. Expired records are invisible everywhere and removed by
// PurgeTerminatedInstances.
func (s *Service) expired(i *model.Instance) bool {
	return i.State == model.InstanceTerminated && !i.TerminatedAt.IsZero() &&
		s.now().Sub(i.TerminatedAt) >= model.TerminatedInstanceVisibility
}

// loadInstance reads one of the caller's instances that is still visible.
func (s *Service) loadInstance(tx store.ReadTx, account, id string) (*model.Instance, error) {
	i, err := loadOwned[model.Instance](tx, idInstance, account, id)
	if err != nil {
		return nil, err
	}
	if s.expired(i) {
		return nil, idInstance.notFound(id)
	}
	return i, nil
}

// selectInstances returns the caller's visible instances: all of them, or
// exactly those named (deduplicated, in request order). Any id that is not
// a visible instance of the caller is InvalidInstanceID.NotFound naming
// every such id.
func (s *Service) selectInstances(tx store.ReadTx, account string, ids []string) ([]*model.Instance, error) {
	if len(ids) == 0 {
		all, err := listOwned[model.Instance](tx, idInstance, account)
		if err != nil {
			return nil, err
		}
		out := all[:0]
		for _, i := range all {
			if !s.expired(i) {
				out = append(out, i)
			}
		}
		return out, nil
	}
	var out []*model.Instance
	var missing []string
	for _, id := range dedupe(ids) {
		i, found, err := getRecord[model.Instance](tx, instanceKey(account, id))
		if err != nil {
			return nil, err
		}
		if !found || s.expired(i) {
			missing = append(missing, id)
			continue
		}
		out = append(out, i)
	}
	if len(missing) > 0 {
		return nil, idInstance.notFound(missing...)
	}
	return out, nil
}

// decodeUserData checks RunInstances' UserData: base64 (line breaks are
// ignored) of at most 16 KiB once decoded.
func decodeUserData(v string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, v)
	b, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(clean); err != nil {
			return nil, awsapi.ErrInvalidParameterValue("Invalid BASE64 encoding of user data")
		}
	}
	if len(b) > maxUserDataBytes {
		return nil, awsapi.ErrInvalidParameterValue("User data is limited to %d bytes", maxUserDataBytes)
	}
	return b, nil
}

// runTagSpecs splits RunInstances' TagSpecifications into the tags of the
// instances and of their network interfaces. Volume and Spot request tags
// are checked and dropped: privlink instances have neither.
func runTagSpecs(specs []TagSpec) (instance, eni []model.Tag, err error) {
	var forInstance, forENI []TagSpec
	for _, sp := range specs {
		switch sp.ResourceType {
		case "instance":
			forInstance = append(forInstance, sp)
		case "network-interface":
			forENI = append(forENI, sp)
		case "volume", "spot-instances-request":
			if _, err := applyTagSpecs(sp.ResourceType, []TagSpec{sp}); err != nil {
				return nil, nil, err
			}
		default:
			if _, err := applyTagSpecs("instance", []TagSpec{sp}); err != nil {
				return nil, nil, err
			}
		}
	}
	if instance, err = applyTagSpecs("instance", forInstance); err != nil {
		return nil, nil, err
	}
	if eni, err = applyTagSpecs("network-interface", forENI); err != nil {
		return nil, nil, err
	}
	return instance, eni, nil
}

// activeInstances counts the account's instances that hold capacity:
// pending, running or stopping (AWS's On-Demand limit counts running
// instances; stopped and terminated ones do not count).
func activeInstances(tx store.ReadTx, account string) (int, error) {
	all, err := listOwned[model.Instance](tx, idInstance, account)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, i := range all {
		switch i.State {
		case model.InstancePending, model.InstanceRunning, model.InstanceStopping:
			n++
		}
	}
	return n, nil
}

func (s *Service) errInstanceLimit(requested int) error {
	return awsapi.Errorf("InstanceLimitExceeded",
		"You have requested more instances (%d) than your current instance limit of %d allows for the specified instance type. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.",
		requested, s.quota)
}

// RunInstances launches between MinCount and MaxCount instances into a
// subnet, in one transaction: a reservation (r-…), its instances (i-…,
// pending) and each instance's primary ENI (eni-…, in-use) with the lowest
// free addresses of the subnet or the one asked for. It launches as many as
// the instance quota and the subnet's free addresses allow, and nothing if
// that is fewer than MinCount. The controller moves them to running once
// their namespaces are up.
//
// A retry with the same ClientToken and parameters returns the first
// launch's reservation as it is now; the same token with other parameters
// is IdempotentParameterMismatch, and a token whose instance was terminated
// is IdempotentInstanceTerminated, as EC2 answers since 2025.
//
// NetworkInterface.N gives the subnet, groups, address and description of
// the primary interface instead; see primaryInterface.
func (s *Service) RunInstances(ctx context.Context, account string, in RunInstancesInput) (Reservation, error) {
	if err := in.primaryInterface(); err != nil {
		return Reservation{}, err
	}
	var out Reservation
	err := s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if in.MaxCount == nil {
			return awsapi.ErrMissingParameter("MaxCount")
		}
		if in.MinCount == nil {
			return awsapi.ErrMissingParameter("MinCount")
		}
		if in.ImageID == "" {
			return awsapi.ErrMissingParameter("ImageId")
		}
		request, err := json.Marshal(struct {
			ImageID, InstanceType      string
			MinCount, MaxCount         int32
			SubnetID                   string
			SecurityGroupIDs, Groups   []string
			PrivateIPAddress, UserData string
			TagSpecs                   []TagSpec
		}{in.ImageID, in.InstanceType, *in.MinCount, *in.MaxCount, in.SubnetID, in.SecurityGroupIDs, in.SecurityGroups,
			in.PrivateIPAddress, in.UserData, in.TagSpecs})
		if err != nil {
			return err
		}
		if in.ClientToken != "" {
			if len(in.ClientToken) > maxClientTokenLen {
				return awsapi.ErrInvalidParameterValue("Value (%s) for parameter clientToken is invalid. Length exceeds maximum of %d characters.", in.ClientToken, maxClientTokenLen)
			}
			done, err := s.replayRun(tx, account, in.ClientToken, request, &out)
			if done || err != nil {
				return err
			}
		}
		minCount, maxCount := *in.MinCount, *in.MaxCount
		switch {
		case maxCount < 1:
			return awsapi.ErrInvalidParameterValue("Maximum instance count must be greater than zero")
		case minCount < 1:
			return awsapi.ErrInvalidParameterValue("Minimum instance count must be greater than zero")
		case minCount > maxCount:
			return awsapi.ErrInvalidParameterValue("Minimum instance count must be less than or equal to the maximum instance count")
		}
		if _, err := decodeUserData(in.UserData); err != nil {
			return err
		}
		instanceTags, eniTags, err := runTagSpecs(in.TagSpecs)
		if err != nil {
			return err
		}
		if in.SubnetID == "" {
			return errNoDefaultVpc()
		}
		if len(in.SecurityGroups) > 0 {
			return awsapi.Errorf("InvalidParameterCombination", "The parameter groupName cannot be used with the parameter subnet")
		}
		sn, err := loadSubnet(tx, account, in.SubnetID)
		if err != nil {
			return err
		}
		vpc, err := loadVpc(tx, account, sn.VpcID)
		if err != nil {
			return err
		}
		groupIDs := in.SecurityGroupIDs
		if len(groupIDs) == 0 {
			groupIDs = []string{vpc.DefaultGroupID}
		}
		groups, err := resolveENIGroups(tx, account, vpc.ID, sn.ID, groupIDs)
		if err != nil {
			return err
		}
		var requested netip.Addr
		if in.PrivateIPAddress != "" {
			if maxCount > 1 {
				return awsapi.Errorf("InvalidParameterCombination", "Cannot specify a private IP address when launching more than one instance.")
			}
			if requested, err = parsePrivateIP(in.PrivateIPAddress); err != nil {
				return err
			}
			if err := checkRequestedAddress(tx, sn, requested); err != nil {
				return err
			}
		}
		active, err := activeInstances(tx, account)
		if err != nil {
			return err
		}
		room := s.quota - active
		if int(minCount) > room {
			return s.errInstanceLimit(active + int(minCount))
		}
		n := min(int(maxCount), room)
		addrs := []netip.Addr{requested}
		if !requested.IsValid() {
			if addrs, err = freeAddresses(tx, sn, n); err != nil {
				return err
			}
			if len(addrs) < int(minCount) {
				return awsapi.Errorf("InsufficientFreeAddressesInSubnet", "There are not enough free addresses in subnet '%s' to satisfy the requested number of instances.", sn.ID)
			}
		}
		out, err = s.launch(tx, account, in, sn, groups, addrs, instanceTags, eniTags)
		if err != nil {
			return err
		}
		if in.ClientToken != "" {
			tok := runToken{ReservationID: out.ReservationID, Request: request}
			for _, i := range out.Instances {
				tok.InstanceIDs = append(tok.InstanceIDs, i.ID)
			}
			return putRecord(tx, runTokenKey(account, in.ClientToken), tok)
		}
		return nil
	})
	if err != nil {
		return Reservation{}, err
	}
	return out, nil
}

// replayRun answers a RunInstances retry: done is true if token was used
// before and out is set (or err says why the retry fails).
func (s *Service) replayRun(tx store.ReadTx, account, token string, request []byte, out *Reservation) (done bool, err error) {
	tok, found, err := getRecord[runToken](tx, runTokenKey(account, token))
	if err != nil || !found {
		return false, err
	}
	if !bytes.Equal(tok.Request, request) {
		return true, awsapi.Errorf("IdempotentParameterMismatch", "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).")
	}
	var instances []*model.Instance
	for _, id := range tok.InstanceIDs {
		i, found, err := getRecord[model.Instance](tx, instanceKey(account, id))
		if err != nil {
			return true, err
		}
		if !found {
			continue
		}
		if i.State == model.InstanceTerminated {
			return true, awsapi.Errorf("IdempotentInstanceTerminated", "The client token you have provided is associated with a terminated instance. Please use a different client token.")
		}
		instances = append(instances, i)
	}
	if len(instances) == 0 {
		return false, nil // purged: the token is free again
	}
	views, err := s.describeInstances(tx, account, instances)
	if err != nil {
		return true, err
	}
	*out = Reservation{ReservationID: tok.ReservationID, OwnerID: account, Instances: views}
	return true, nil
}

// launch stores one reservation: an instance and its primary ENI for each
// address.
func (s *Service) launch(tx store.Tx, account string, in RunInstancesInput, sn *model.Subnet, groups []*model.SecurityGroup,
	addrs []netip.Addr, instanceTags, eniTags []model.Tag) (Reservation, error) {
	groupIDs := make([]string, 0, len(groups))
	names := make(map[string]string, len(groups))
	for _, g := range groups {
		groupIDs = append(groupIDs, g.ID)
		names[g.ID] = g.Name
	}
	instanceType := in.InstanceType
	if instanceType == "" {
		instanceType = model.DefaultInstanceType
	}
	now := s.now().UTC().Truncate(time.Second)
	res := Reservation{ReservationID: model.NewID(model.PrefixReservation), OwnerID: account}
	for n, addr := range addrs {
		id := model.NewID(model.PrefixInstance)
		eni, err := s.createENI(tx, eniParams{
			Subnet:              sn,
			PrivateIP:           addr,
			Groups:              groupIDs,
			InterfaceType:       model.InterfaceTypeInterface,
			Description:         in.eniDescription(),
			InstanceID:          id,
			DeleteOnTermination: true,
			Tags:                slices.Clone(eniTags),
		})
		if err != nil {
			return Reservation{}, err
		}
		inst := &model.Instance{
			ID:                 id,
			OwnerID:            account,
			ReservationID:      res.ReservationID,
			ImageID:            in.ImageID,
			InstanceType:       instanceType,
			VpcID:              sn.VpcID,
			SubnetID:           sn.ID,
			AvailabilityZone:   sn.AvailabilityZone,
			AvailabilityZoneID: sn.AvailabilityZoneID,
			PrimaryENI:         eni.ID,
			PrivateIP:          eni.PrivateIP,
			State:              model.InstancePending,
			StateReason:        model.StateReasonPending,
			StateReasonMessage: model.StateReasonPending,
			UserData:           in.UserData,
			ClientToken:        in.ClientToken,
			LaunchTime:         now,
			AmiLaunchIndex:     int32(n),
			Tags:               slices.Clone(instanceTags),
		}
		if err := putRecord(tx, instanceKey(account, id), inst); err != nil {
			return Reservation{}, err
		}
		res.Instances = append(res.Instances, s.describeInstance(inst, eni, names))
	}
	return res, nil
}

// describeInstance derives the API view of a stored instance. eni is its
// primary ENI (nil once it is gone); names maps group ids to names.
func (s *Service) describeInstance(i *model.Instance, eni *model.NetworkInterface, names map[string]string) Instance {
	out := Instance{Instance: *i, StateCode: model.InstanceStateCode[i.State], Groups: []GroupIdentifier{}}
	if i.State == model.InstanceTerminated {
		out.VpcID, out.SubnetID, out.PrivateIP = "", "", ""
		return out
	}
	out.PrivateDNSName = model.PrivateDNSName(s.region, i.PrivateIP)
	if eni != nil {
		d := s.describeENI(eni, names)
		out.Groups = d.GroupSet
		out.SourceDestCheck = eni.SourceDestCheck
		out.NetworkInterfaces = []NetworkInterface{d}
	}
	return out
}

// describeInstances derives the API views of some of the caller's
// instances, in the order given.
func (s *Service) describeInstances(tx store.ReadTx, account string, instances []*model.Instance) ([]Instance, error) {
	enis, err := listENIs(tx, account)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*model.NetworkInterface, len(enis))
	for _, e := range enis {
		byID[e.ID] = e
	}
	names, err := groupNames(tx, account)
	if err != nil {
		return nil, err
	}
	out := make([]Instance, 0, len(instances))
	for _, i := range instances {
		out = append(out, s.describeInstance(i, byID[i.PrimaryENI], names))
	}
	return out, nil
}

// instancePageKey orders DescribeInstances' items: by reservation, then
// launch index, so that a reservation's instances stay together.
func instancePageKey(i Instance) string {
	return fmt.Sprintf("%s/%010d/%s", i.ReservationID, i.AmiLaunchIndex, i.ID)
}

// instanceFilters are the DescribeInstances filters. Those about features
// privlink instances do not have (public addresses, EBS, Spot, …) are
// accepted and match nothing; those about fixed properties match the fixed
// value.
var instanceFilters = func() filterDefs[Instance] {
	str := func(f func(Instance) string) func(Instance) []string {
		return func(i Instance) []string { return nonEmpty(f(i)) }
	}
	fixed := func(v string) func(Instance) []string { return func(Instance) []string { return one(v) } }
	fields := map[string]func(Instance) []string{
		"architecture":                   fixed(InstanceArchitecture),
		"availability-zone":              str(func(i Instance) string { return i.AvailabilityZone }),
		"availability-zone-id":           str(func(i Instance) string { return i.AvailabilityZoneID }),
		"client-token":                   str(func(i Instance) string { return i.ClientToken }),
		"ebs-optimized":                  fixed("false"),
		"ena-support":                    fixed("true"),
		"enclave-options.enabled":        fixed("false"),
		"hibernation-options.configured": fixed("false"),
		"hypervisor":                     fixed(InstanceHypervisor),
		"image-id":                       str(func(i Instance) string { return i.ImageID }),
		"instance-id":                    str(func(i Instance) string { return i.ID }),
		"instance-state-code":            func(i Instance) []string { return one(strconv.Itoa(int(i.StateCode))) },
		"instance-state-name":            str(func(i Instance) string { return i.State }),
		"instance-type":                  str(func(i Instance) string { return i.InstanceType }),
		"instance.group-id": func(i Instance) []string {
			var out []string
			for _, g := range i.Groups {
				out = append(out, g.GroupID)
			}
			return out
		},
		"instance.group-name": func(i Instance) []string {
			var out []string
			for _, g := range i.Groups {
				out = append(out, g.GroupName)
			}
			return out
		},
		"launch-index":       func(i Instance) []string { return one(strconv.Itoa(int(i.AmiLaunchIndex))) },
		"launch-time":        func(i Instance) []string { return one(awsTime(i.LaunchTime)) },
		"monitoring-state":   fixed(InstanceMonitoringState),
		"operator.managed":   fixed("false"),
		"owner-id":           str(func(i Instance) string { return i.OwnerID }),
		"platform-details":   fixed(InstancePlatformDetails),
		"private-dns-name":   str(func(i Instance) string { return i.PrivateDNSName }),
		"private-ip-address": str(func(i Instance) string { return i.PrivateIP }),
		"reason":             str(func(i Instance) string { return i.StateTransitionReason }),
		"reservation-id":     str(func(i Instance) string { return i.ReservationID }),
		"root-device-name":   fixed(InstanceRootDeviceName),
		"root-device-type":   fixed(InstanceRootDeviceType),
		"source-dest-check": func(i Instance) []string {
			if len(i.NetworkInterfaces) == 0 {
				return nil
			}
			return one(strconv.FormatBool(i.SourceDestCheck))
		},
		"state-reason-code":                      str(func(i Instance) string { return i.StateReason }),
		"state-reason-message":                   str(func(i Instance) string { return i.StateReasonMessage }),
		"subnet-id":                              str(func(i Instance) string { return i.SubnetID }),
		"tenancy":                                fixed(InstanceTenancy),
		"usage-operation":                        fixed(InstanceUsageOperation),
		"virtualization-type":                    fixed(InstanceVirtualizationType),
		"vpc-id":                                 str(func(i Instance) string { return i.VpcID }),
		"private-dns-name-options.hostname-type": fixed(HostnameTypeIPName),
		"private-dns-name-options.enable-resource-name-dns-a-record":    fixed("false"),
		"private-dns-name-options.enable-resource-name-dns-aaaa-record": fixed("false"),
	}
	for _, name := range []string{
		"affinity", "block-device-mapping.attach-time", "block-device-mapping.delete-on-termination",
		"block-device-mapping.device-name", "block-device-mapping.status", "block-device-mapping.volume-id",
		"boot-mode", "capacity-reservation-id", "capacity-reservation-specification.capacity-reservation-preference",
		"capacity-reservation-specification.capacity-reservation-target.capacity-reservation-id",
		"capacity-reservation-specification.capacity-reservation-target.capacity-reservation-resource-group-arn",
		"current-instance-boot-mode", "dns-name", "host-id", "iam-instance-profile.arn", "iam-instance-profile.id",
		"instance-lifecycle", "ip-address", "ipv6-address", "kernel-id", "key-name", "maintenance-options.auto-recovery",
		"metadata-options.http-endpoint", "metadata-options.http-protocol-ipv4", "metadata-options.http-protocol-ipv6",
		"metadata-options.http-put-response-hop-limit", "metadata-options.http-tokens",
		"metadata-options.instance-metadata-tags", "metadata-options.state",
		"network-performance-options.bandwidth-weighting", "operator.principal", "outpost-arn",
		"placement-group-name", "placement-partition-number", "platform", "product-code", "product-code.type",
		"ramdisk-id", "requester-id", "spot-instance-request-id", "tpm-support", "usage-operation-update-time",
	} {
		fields[name] = none[Instance]
	}
	// network-interface.*: the instance's ENIs matched by the ENI filters.
	eniFields := eniFilterFields()
	eniFields["addresses.private-dns-name"] = func(e NetworkInterface) []string { return one(e.PrivateDNSName) }
	eniFields["attachment.network-card-index"] = func(e NetworkInterface) []string { return one("0") }
	eniFields["deny-all-igw-traffic"] = func(NetworkInterface) []string { return one("false") }
	eniFields["ipv6-native"] = func(NetworkInterface) []string { return one("false") }
	eniFields["tag-key"] = func(e NetworkInterface) []string { return tagKeys(e.Tags) }
	eniFields["tag-value"] = func(e NetworkInterface) []string { return tagValues(e.Tags) }
	for _, name := range []string{
		"addresses.association.allocation-id", "addresses.association.association-id",
		"addresses.association.carrier-ip", "addresses.association.customer-owned-ip",
		"addresses.association.ip-owner-id", "addresses.association.public-dns-name",
		"addresses.association.public-ip", "association.carrier-ip", "association.customer-owned-ip",
		"ipv4-prefixes.ipv4-prefix", "ipv6-address", "ipv6-addresses.is-primary-ipv6", "ipv6-prefixes.ipv6-prefix",
		"outpost-arn", "public-dns-name",
	} {
		eniFields[name] = none[NetworkInterface]
	}
	for _, name := range []string{
		"addresses.association.owner-id", "availability-zone-id", "interface-type",
	} {
		delete(eniFields, name) // documented for DescribeNetworkInterfaces only
	}
	for name, f := range eniFields {
		fields["network-interface."+name] = func(i Instance) []string {
			var out []string
			for _, e := range i.NetworkInterfaces {
				out = append(out, f(e)...)
			}
			return out
		}
	}
	return filterDefs[Instance]{fields: fields, tags: func(i Instance) []model.Tag { return i.Tags }}
}()

func tagKeys(tags []model.Tag) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		out = append(out, t.Key)
	}
	return out
}

func tagValues(tags []model.Tag) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		out = append(out, t.Value)
	}
	return out
}

// DescribeInstances describes the caller's instances, terminated ones for
// an hour after their termination: those named (every one must exist, else
// InvalidInstanceID.NotFound) or all, narrowed by Filters, grouped by
// reservation, MaxResults (5-1000, not together with ids) instances a page.
func (s *Service) DescribeInstances(ctx context.Context, account string, in DescribeInstancesInput) (DescribeInstancesOutput, error) {
	var out DescribeInstancesOutput
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if err := idInstance.checkDescribe(in.InstanceIDs, in.Page, "instancesSet"); err != nil {
			return err
		}
		if err := instanceFilters.validate(in.Filters); err != nil {
			return err
		}
		stored, err := s.selectInstances(tx, account, in.InstanceIDs)
		if err != nil {
			return err
		}
		all, err := s.describeInstances(tx, account, stored)
		if err != nil {
			return err
		}
		var items []Instance
		for _, i := range all {
			if instanceFilters.match(i, in.Filters) {
				items = append(items, i)
			}
		}
		sort.Slice(items, func(a, b int) bool { return instancePageKey(items[a]) < instancePageKey(items[b]) })
		page, next, err := paginate(items, instancePageKey, in.Page, 5, 1000)
		if err != nil {
			return err
		}
		for _, i := range page {
			if n := len(out.Reservations); n > 0 && out.Reservations[n-1].ReservationID == i.ReservationID {
				out.Reservations[n-1].Instances = append(out.Reservations[n-1].Instances, i)
				continue
			}
			out.Reservations = append(out.Reservations, Reservation{ReservationID: i.ReservationID, OwnerID: i.OwnerID, Instances: []Instance{i}})
		}
		out.NextToken = next
		return nil
	})
	if err != nil {
		return DescribeInstancesOutput{}, err
	}
	return out, nil
}

// userInitiated is the stateTransitionReason of a stop or terminate call.
func userInitiated(t time.Time) string {
	return "User initiated (" + t.UTC().Format("2006-01-02 15:04:05") + " GMT)"
}

// stateStep changes one instance's state in place and reports whether it
// did, or fails the whole call.
type stateStep func(tx store.Tx, i *model.Instance) (changed bool, err error)

// changeStates runs one state-changing call on the caller's instances, all
// of them or none. newStep makes the step for one transaction attempt.
// Instances are reported in request order.
func (s *Service) changeStates(ctx context.Context, account string, ids []string, dryRun bool, newStep func() stateStep) ([]InstanceStateChange, error) {
	var out []InstanceStateChange
	err := s.update(ctx, dryRun, func(tx store.Tx) error {
		out = nil
		step := newStep()
		if len(ids) == 0 {
			return awsapi.ErrMissingParameter("InstanceId")
		}
		if err := idInstance.checkAll(ids); err != nil {
			return err
		}
		instances, err := s.selectInstances(tx, account, ids)
		if err != nil {
			return err
		}
		for _, i := range instances {
			prev := i.State
			changed, err := step(tx, i)
			if err != nil {
				return err
			}
			if changed {
				if err := putRecord(tx, instanceKey(account, i.ID), i); err != nil {
					return err
				}
			}
			out = append(out, InstanceStateChange{InstanceID: i.ID, PreviousState: prev, CurrentState: i.State})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// goDown records a user-initiated stop or terminate.
func (s *Service) goDown(i *model.Instance, state string, force bool) {
	now := s.now().UTC().Truncate(time.Second)
	i.State = state
	i.StateReason = model.StateReasonUserShutdown
	i.StateReasonMessage = model.StateReasonUserShutdownMsg
	i.StateTransitionReason = userInitiated(now)
	i.StopRequestedAt = now
	i.ForceStop = i.ForceStop || force
}

// TerminateInstances moves the caller's instances to shutting-down; the
// controller removes each namespace, then releases the ENI and marks the
// instance terminated. Terminating an instance that is already going or
// gone succeeds and changes nothing.
func (s *Service) TerminateInstances(ctx context.Context, account string, in TerminateInstancesInput) ([]InstanceStateChange, error) {
	return s.changeStates(ctx, account, in.InstanceIDs, in.DryRun, func() stateStep {
		return func(_ store.Tx, i *model.Instance) (bool, error) {
			switch i.State {
			case model.InstanceShuttingDown, model.InstanceTerminated:
				return false, nil
			}
			s.goDown(i, model.InstanceShuttingDown, in.Force || in.SkipOsShutdown)
			return true, nil
		}
	})
}

// StopInstances moves running instances to stopping; the controller kills
// their processes and marks them stopped, keeping their ENIs. Stopping a
// stopping or stopped instance changes nothing (Force escalates a stop that
// is under way). A pending instance cannot be stopped yet, nor one that is
// shutting down or terminated.
func (s *Service) StopInstances(ctx context.Context, account string, in StopInstancesInput) ([]InstanceStateChange, error) {
	return s.changeStates(ctx, account, in.InstanceIDs, in.DryRun, func() stateStep { return s.stopStep(in) })
}

func (s *Service) stopStep(in StopInstancesInput) stateStep {
	return func(_ store.Tx, i *model.Instance) (bool, error) {
		if in.Hibernate {
			return false, awsapi.Errorf("UnsupportedHibernationConfiguration", "The instance '%s' is not enabled for hibernation.", i.ID)
		}
		force := in.Force || in.SkipOsShutdown
		switch i.State {
		case model.InstanceRunning:
			s.goDown(i, model.InstanceStopping, force)
			return true, nil
		case model.InstanceStopping:
			if force && !i.ForceStop {
				i.ForceStop = true
				return true, nil
			}
			return false, nil
		case model.InstanceStopped:
			return false, nil
		case model.InstancePending:
			return false, awsapi.Errorf("IncorrectInstanceState", "Instance '%s' cannot be stopped as it has never reached the 'running' state.", i.ID)
		}
		return false, awsapi.Errorf("IncorrectInstanceState", "This instance '%s' is not in a state from which it can be stopped.", i.ID)
	}
}

// StartInstances moves stopped instances to pending; the controller brings
// their namespaces' processes back and marks them running. Starting a
// pending or running instance changes nothing; one that is stopping,
// shutting down or terminated is IncorrectInstanceState. Started instances
// count against the instance quota again.
func (s *Service) StartInstances(ctx context.Context, account string, in StartInstancesInput) ([]InstanceStateChange, error) {
	return s.changeStates(ctx, account, in.InstanceIDs, in.DryRun, s.startStep)
}

// startStep makes the step of one StartInstances attempt, which counts the
// instances it starts against the quota.
func (s *Service) startStep() stateStep {
	active := -1
	return func(tx store.Tx, i *model.Instance) (bool, error) {
		switch i.State {
		case model.InstancePending, model.InstanceRunning:
			return false, nil
		case model.InstanceStopped:
		default:
			return false, awsapi.Errorf("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be started.", i.ID)
		}
		if active < 0 {
			n, err := activeInstances(tx, i.OwnerID)
			if err != nil {
				return false, err
			}
			active = n
		}
		if active+1 > s.quota {
			return false, s.errInstanceLimit(active + 1)
		}
		active++
		i.State = model.InstancePending
		i.StateReason = model.StateReasonPending
		i.StateReasonMessage = model.StateReasonPending
		i.StateTransitionReason = ""
		i.StopRequestedAt = time.Time{}
		i.ForceStop = false
		return true, nil
	}
}

func summary(running bool) StatusSummary {
	if running {
		return StatusSummary{Status: StatusOK, Reachability: ReachabilityPassed}
	}
	return StatusSummary{Status: StatusNotApplicable}
}

var instanceStatusFilters = func() filterDefs[InstanceStatus] {
	str := func(f func(InstanceStatus) string) func(InstanceStatus) []string {
		return func(st InstanceStatus) []string { return nonEmpty(f(st)) }
	}
	return filterDefs[InstanceStatus]{fields: map[string]func(InstanceStatus) []string{
		"availability-zone":            str(func(st InstanceStatus) string { return st.AvailabilityZone }),
		"availability-zone-id":         str(func(st InstanceStatus) string { return st.AvailabilityZoneID }),
		"event.code":                   none[InstanceStatus],
		"event.description":            none[InstanceStatus],
		"event.instance-event-id":      none[InstanceStatus],
		"event.not-after":              none[InstanceStatus],
		"event.not-before":             none[InstanceStatus],
		"event.not-before-deadline":    none[InstanceStatus],
		"instance-state-code":          func(st InstanceStatus) []string { return one(strconv.Itoa(int(st.StateCode))) },
		"instance-state-name":          str(func(st InstanceStatus) string { return st.State }),
		"instance-status.reachability": str(func(st InstanceStatus) string { return st.InstanceStatus.Reachability }),
		"instance-status.status":       str(func(st InstanceStatus) string { return st.InstanceStatus.Status }),
		"operator.managed":             func(InstanceStatus) []string { return one("false") },
		"operator.principal":           none[InstanceStatus],
		"system-status.reachability":   str(func(st InstanceStatus) string { return st.SystemStatus.Reachability }),
		"system-status.status":         str(func(st InstanceStatus) string { return st.SystemStatus.Status }),
		"attached-ebs-status.status":   str(func(st InstanceStatus) string { return st.AttachedEBSStatus.Status }),
	}}
}()

// DescribeInstanceStatus reports the health of the caller's running
// instances (ok, reachability passed), or with IncludeAllInstances of all
// of them (not-applicable unless running), sorted by id, MaxResults (5-1000,
// not together with ids) a page.
func (s *Service) DescribeInstanceStatus(ctx context.Context, account string, in DescribeInstanceStatusInput) (DescribeInstanceStatusOutput, error) {
	var out DescribeInstanceStatusOutput
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if err := idInstance.checkDescribe(in.InstanceIDs, in.Page, "instancesSet"); err != nil {
			return err
		}
		if err := instanceStatusFilters.validate(in.Filters); err != nil {
			return err
		}
		stored, err := s.selectInstances(tx, account, in.InstanceIDs)
		if err != nil {
			return err
		}
		var items []InstanceStatus
		for _, i := range stored {
			running := i.State == model.InstanceRunning
			if !running && !in.IncludeAllInstances {
				continue
			}
			st := InstanceStatus{
				InstanceID:         i.ID,
				AvailabilityZone:   i.AvailabilityZone,
				AvailabilityZoneID: i.AvailabilityZoneID,
				State:              i.State,
				StateCode:          model.InstanceStateCode[i.State],
				InstanceStatus:     summary(running),
				SystemStatus:       summary(running),
				AttachedEBSStatus:  summary(running),
			}
			if instanceStatusFilters.match(st, in.Filters) {
				items = append(items, st)
			}
		}
		sort.Slice(items, func(a, b int) bool { return items[a].InstanceID < items[b].InstanceID })
		out.InstanceStatuses, out.NextToken, err = paginate(items, func(st InstanceStatus) string { return st.InstanceID }, in.Page, 5, 1000)
		return err
	})
	if err != nil {
		return DescribeInstanceStatusOutput{}, err
	}
	return out, nil
}

// GetConsoleOutput returns the last 64 KiB of one of the caller's
// instances' console log, base64-encoded, with the time of the answer.
func (s *Service) GetConsoleOutput(ctx context.Context, account string, in GetConsoleOutputInput) (ConsoleOutput, error) {
	var inst *model.Instance
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if in.InstanceID == "" {
			return awsapi.ErrMissingParameter("InstanceId")
		}
		var err error
		inst, err = s.loadInstance(tx, account, in.InstanceID)
		return err
	})
	if err != nil {
		return ConsoleOutput{}, err
	}
	out := ConsoleOutput{InstanceID: inst.ID, Timestamp: s.now().UTC().Truncate(time.Second)}
	if s.logs == nil {
		return out, nil
	}
	log, err := s.logs.ConsoleLog(ctx, inst.ID)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return ConsoleOutput{}, fmt.Errorf("console log of %s: %w", inst.ID, err)
	}
	if len(log) > maxConsoleOutput {
		log = log[len(log)-maxConsoleOutput:]
	}
	if len(log) > 0 {
		out.Output = base64.StdEncoding.EncodeToString(log)
	}
	return out, nil
}
