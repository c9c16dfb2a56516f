package controlplane

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// maxGroupsPerENI is AWS's default quota of security groups per network
// interface.
const maxGroupsPerENI = 5

// GroupIdentifier names one security group of a groupSet.
type GroupIdentifier struct {
	GroupID   string
	GroupName string
}

// NetworkInterface is an ENI as the API describes it: the stored ENI and
// what the control plane derives from it.
type NetworkInterface struct {
	model.NetworkInterface
	PrivateDNSName string
	GroupSet       []GroupIdentifier // in the order of Groups
	// AttachmentOwner is the attachment's instanceOwnerId: the owner of
	// the attached instance, or the service owning a requester-managed
	// ENI ("" when not attached).
	AttachmentOwner string
}

// DescribeNetworkInterfacesInput is the input of DescribeNetworkInterfaces.
// IncludeManagedResources is accepted and changes nothing: requester-managed
// ENIs are always shown, as AWS shows endpoint and load balancer ENIs.
type DescribeNetworkInterfacesInput struct {
	NetworkInterfaceIDs     []string
	Filters                 []Filter
	Page                    Page
	IncludeManagedResources bool
	DryRun                  bool
}

// DescribeNetworkInterfacesOutput is one page of DescribeNetworkInterfaces.
type DescribeNetworkInterfacesOutput struct {
	NetworkInterfaces []NetworkInterface
	NextToken         string
}

// ModifyNetworkInterfaceAttributeInput is the input of
// ModifyNetworkInterfaceAttribute: exactly one of Description
// (Description.Value), SourceDestCheck (SourceDestCheck.Value) and Groups
// (SecurityGroupId.N) must be set.
type ModifyNetworkInterfaceAttributeInput struct {
	NetworkInterfaceID string
	Description        *string
	SourceDestCheck    *bool
	Groups             []string
	DryRun             bool
}

// eniParams is what createENI needs. The caller has validated Groups (the
// caller's, in the subnet's VPC, at most maxGroupsPerENI).
type eniParams struct {
	Subnet           *model.Subnet
	PrivateIP        netip.Addr // the zero Addr means the lowest free address
	Groups           []string
	InterfaceType    string // model.InterfaceType*
	Description      string
	RequesterManaged bool
	RequesterID      string
	// The attachment: an instance (InstanceID), or for a requester-managed
	// ENI the service that owns it (InstanceOwnerID, e.g. "amazon-aws").
	// With neither the ENI is unattached ("available").
	InstanceID          string
	InstanceOwnerID     string
	DeviceIndex         int32
	DeleteOnTermination bool
	Tags                []model.Tag
}

// The addresses of a subnet taken by ENIs are indexed one key each,
// "index/subnet-address/<subnet id>/<ip>" → the ENI's key, so that the
// allocator, AvailableIpAddressCount and DeleteSubnet read only that subnet.
func subnetAddressPrefix(subnetID string) string {
	return store.KindIndex + "/subnet-address/" + subnetID + "/"
}

func subnetAddressKey(subnetID string, ip netip.Addr) string {
	return subnetAddressPrefix(subnetID) + ip.String()
}

func eniKey(account, id string) string { return store.Key(store.KindENI, account, id) }

// loadENI reads one of the caller's network interfaces.
func loadENI(tx store.ReadTx, account, id string) (*model.NetworkInterface, error) {
	return loadOwned[model.NetworkInterface](tx, idENI, account, id)
}

// listENIs reads every network interface of account, sorted by id.
func listENIs(tx store.ReadTx, account string) ([]*model.NetworkInterface, error) {
	return listOwned[model.NetworkInterface](tx, idENI, account)
}

// subnetPrefix parses a stored subnet's CIDR.
func subnetPrefix(sn *model.Subnet) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(sn.CidrBlock)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("subnet %s: stored cidr %q: %v", sn.ID, sn.CidrBlock, err)
	}
	return p.Masked(), nil
}

func addrToUint(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func uintToAddr(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// usableRange returns the first and last address an ENI may take in p:
// AWS reserves the network address, .1 (the VPC router), .2 (DNS), .3 and
// the broadcast address.
func usableRange(p netip.Prefix) (first, last uint32) {
	base := addrToUint(p.Addr())
	size := uint32(1) << (32 - p.Bits())
	return base + 4, base + size - 2
}

// parsePrivateIP parses a requested private IPv4 address.
func parsePrivateIP(v string) (netip.Addr, error) {
	a, err := netip.ParseAddr(v)
	if err != nil || !a.Is4() {
		return netip.Addr{}, awsapi.ErrInvalidParameterValue("Value (%s) for parameter privateIpAddress is invalid. This is not a valid IP address.", v)
	}
	return a, nil
}

// checkRequestedAddress checks that a requested address may be given to a
// new ENI in sn: inside the subnet, not reserved, not taken.
func checkRequestedAddress(tx store.ReadTx, sn *model.Subnet, a netip.Addr) error {
	p, err := subnetPrefix(sn)
	if err != nil {
		return err
	}
	if !p.Contains(a) {
		return awsapi.ErrInvalidParameterValue("Address %s does not fall within the subnet's address range", a)
	}
	first, last := usableRange(p)
	if v := addrToUint(a); v < first || v > last {
		return awsapi.ErrInvalidParameterValue("Address %s is in subnet's reserved address range", a)
	}
	_, err = tx.Get(subnetAddressKey(sn.ID, a))
	switch {
	case err == nil:
		return awsapi.Errorf("InvalidIPAddress.InUse", "Address %s is in use.", a)
	case isNotFound(err):
		return nil
	default:
		return fmt.Errorf("get address %s of %s: %w", a, sn.ID, err)
	}
}

// usedAddresses returns the addresses of sn that ENIs hold.
func usedAddresses(tx store.ReadTx, sn *model.Subnet) (map[netip.Addr]bool, error) {
	prefix := subnetAddressPrefix(sn.ID)
	kvs, err := tx.List(prefix)
	if err != nil {
		return nil, fmt.Errorf("list addresses of %s: %w", sn.ID, err)
	}
	used := make(map[netip.Addr]bool, len(kvs))
	for _, kv := range kvs {
		a, err := netip.ParseAddr(strings.TrimPrefix(kv.Key, prefix))
		if err != nil {
			return nil, fmt.Errorf("address index %s: %w", kv.Key, err)
		}
		used[a] = true
	}
	return used, nil
}

// freeAddresses returns up to n free addresses of sn, lowest first.
func freeAddresses(tx store.ReadTx, sn *model.Subnet, n int) ([]netip.Addr, error) {
	p, err := subnetPrefix(sn)
	if err != nil {
		return nil, err
	}
	used, err := usedAddresses(tx, sn)
	if err != nil {
		return nil, err
	}
	first, last := usableRange(p)
	var out []netip.Addr
	for v := first; v <= last && len(out) < n; v++ {
		if a := uintToAddr(v); !used[a] {
			out = append(out, a)
		}
	}
	return out, nil
}

// newMAC returns a random locally administered unicast MAC address in
// EC2's form, "02:xx:xx:xx:xx:xx".
func newMAC() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b[1:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	b[0] = 0x02
	return net.HardwareAddr(b).String()
}

// createENI stores a network interface in p.Subnet (owned by the subnet's
// owner) with the requested address or the lowest free one, inside the
// caller's transaction. RunInstances uses it for primary ENIs; endpoints and
// NLB nodes use it for their requester-managed ENIs.
func (s *Service) createENI(tx store.Tx, p eniParams) (*model.NetworkInterface, error) {
	sn := p.Subnet
	addr := p.PrivateIP
	if addr.IsValid() {
		if err := checkRequestedAddress(tx, sn, addr); err != nil {
			return nil, err
		}
	} else {
		free, err := freeAddresses(tx, sn, 1)
		if err != nil {
			return nil, err
		}
		if len(free) == 0 {
			return nil, awsapi.Errorf("InsufficientFreeAddressesInSubnet", "The specified subnet does not have enough free addresses to satisfy the request.")
		}
		addr = free[0]
	}
	id := model.NewID(model.PrefixNetworkInterface)
	eni := &model.NetworkInterface{
		ID:                  id,
		OwnerID:             sn.OwnerID,
		VpcID:               sn.VpcID,
		SubnetID:            sn.ID,
		AvailabilityZone:    sn.AvailabilityZone,
		AvailabilityZoneID:  sn.AvailabilityZoneID,
		PrivateIP:           addr.String(),
		MacAddress:          newMAC(),
		Groups:              slices.Clone(p.Groups),
		InterfaceType:       p.InterfaceType,
		Description:         p.Description,
		Status:              model.ENIStatusAvailable,
		RequesterManaged:    p.RequesterManaged,
		RequesterID:         p.RequesterID,
		SourceDestCheck:     true,
		BridgePort:          model.LinkName("p", id),
		Tags:                p.Tags,
		InstanceID:          p.InstanceID,
		InstanceOwnerID:     p.InstanceOwnerID,
		DeviceIndex:         p.DeviceIndex,
		DeleteOnTermination: p.DeleteOnTermination,
	}
	if eni.InterfaceType == "" {
		eni.InterfaceType = model.InterfaceTypeInterface
	}
	if eni.Groups == nil {
		eni.Groups = []string{}
	}
	if p.InstanceID != "" || p.InstanceOwnerID != "" {
		prefix := model.PrefixENIAttachment
		if p.InstanceID == "" {
			prefix = model.PrefixELAAttachment
		}
		eni.Status = model.ENIStatusInUse
		eni.AttachmentID = model.NewID(prefix)
		eni.AttachTime = s.now().UTC().Truncate(time.Second)
	}
	if err := putRecord(tx, eniKey(eni.OwnerID, eni.ID), eni); err != nil {
		return nil, err
	}
	if err := tx.Put(subnetAddressKey(sn.ID, addr), []byte(eniKey(eni.OwnerID, eni.ID))); err != nil {
		return nil, fmt.Errorf("index address %s: %w", addr, err)
	}
	return eni, nil
}

// deleteENI removes a network interface and frees its address, inside the
// caller's transaction.
func (s *Service) deleteENI(tx store.Tx, eni *model.NetworkInterface) error {
	if err := tx.Delete(eniKey(eni.OwnerID, eni.ID)); err != nil {
		return fmt.Errorf("delete eni %s: %w", eni.ID, err)
	}
	if a, err := netip.ParseAddr(eni.PrivateIP); err == nil {
		if err := tx.Delete(subnetAddressKey(eni.SubnetID, a)); err != nil {
			return fmt.Errorf("free address %s: %w", a, err)
		}
	}
	return nil
}

// resolveENIGroups validates the security groups of a new or changed ENI
// in vpcID: the caller's, in that VPC, at most maxGroupsPerENI. subnetID
// names the ENI's subnet in the error for a group of another VPC.
func resolveENIGroups(tx store.ReadTx, account, vpcID, subnetID string, ids []string) ([]*model.SecurityGroup, error) {
	ids = dedupe(ids)
	if err := idSecurityGroup.checkAll(ids); err != nil {
		return nil, err
	}
	if err := checkGroupCount(ids); err != nil {
		return nil, err
	}
	out := make([]*model.SecurityGroup, 0, len(ids))
	for _, id := range ids {
		g, found, err := getRecord[model.SecurityGroup](tx, securityGroupKey(account, id))
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, awsapi.Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", id, vpcID)
		}
		if g.VpcID != vpcID {
			return nil, awsapi.Errorf("InvalidParameter", "Security group %s and subnet %s belong to different networks.", id, subnetID)
		}
		out = append(out, g)
	}
	return out, nil
}

// subnetAddressesInUse counts the subnet's addresses taken by network
// interfaces.
func (s *Service) subnetAddressesInUse(tx store.ReadTx, sn *model.Subnet) (int, error) {
	kvs, err := tx.List(subnetAddressPrefix(sn.ID))
	if err != nil {
		return 0, fmt.Errorf("list addresses of %s: %w", sn.ID, err)
	}
	return len(kvs), nil
}

// checkSubnetDeletable returns DependencyViolation while any network
// interface (an instance's, an endpoint's, an NLB node's) is in the subnet.
func (s *Service) checkSubnetDeletable(tx store.ReadTx, sn *model.Subnet) error {
	n, err := s.subnetAddressesInUse(tx, sn)
	if err != nil {
		return err
	}
	if n > 0 {
		return awsapi.Errorf("DependencyViolation", "The subnet '%s' has dependencies and cannot be deleted.", sn.ID)
	}
	return nil
}

// checkGroupUnused returns DependencyViolation while a network interface
// carries g.
func (s *Service) checkGroupUnused(tx store.ReadTx, g *model.SecurityGroup) error {
	enis, err := listENIs(tx, g.OwnerID)
	if err != nil {
		return err
	}
	for _, e := range enis {
		if slices.Contains(e.Groups, g.ID) {
			return awsapi.Errorf("DependencyViolation", "resource %s has a dependent object", g.ID)
		}
	}
	return nil
}

// groupNames maps the id of every group of account to its name.
func groupNames(tx store.ReadTx, account string) (map[string]string, error) {
	groups, err := listSecurityGroups(tx, account)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(groups))
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	return names, nil
}

// describeENI derives the API view of a stored ENI. names maps group ids to
// names (groupNames).
func (s *Service) describeENI(e *model.NetworkInterface, names map[string]string) NetworkInterface {
	out := NetworkInterface{NetworkInterface: *e, PrivateDNSName: model.PrivateDNSName(s.region, e.PrivateIP), AttachmentOwner: instanceOwner(*e)}
	out.GroupSet = make([]GroupIdentifier, 0, len(e.Groups))
	for _, g := range e.Groups {
		out.GroupSet = append(out.GroupSet, GroupIdentifier{GroupID: g, GroupName: names[g]})
	}
	return out
}

// awsTime formats a time as EC2's filters and timestamps write it.
func awsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func one(v string) []string { return []string{v} }

func none[T any](T) []string { return nil }

// eniFilterFields are the DescribeNetworkInterfaces filters, without the
// prefix DescribeInstances puts before them ("network-interface.").
func eniFilterFields() map[string]func(NetworkInterface) []string {
	attached := func(e NetworkInterface) bool { return e.AttachmentID != "" }
	ifAttached := func(f func(NetworkInterface) string) func(NetworkInterface) []string {
		return func(e NetworkInterface) []string {
			if !attached(e) {
				return nil
			}
			return nonEmpty(f(e))
		}
	}
	ip := func(e NetworkInterface) []string { return one(e.PrivateIP) }
	dns := func(e NetworkInterface) []string { return one(e.PrivateDNSName) }
	return map[string]func(NetworkInterface) []string{
		"addresses.association.owner-id":  none[NetworkInterface],
		"addresses.association.public-ip": none[NetworkInterface],
		"addresses.primary":               func(NetworkInterface) []string { return one("true") },
		"addresses.private-ip-address":    ip,
		"association.allocation-id":       none[NetworkInterface],
		"association.association-id":      none[NetworkInterface],
		"association.ip-owner-id":         none[NetworkInterface],
		"association.public-dns-name":     none[NetworkInterface],
		"association.public-ip":           none[NetworkInterface],
		"attachment.attach-time":          ifAttached(func(e NetworkInterface) string { return awsTime(e.AttachTime) }),
		"attachment.attachment-id":        ifAttached(func(e NetworkInterface) string { return e.AttachmentID }),
		"attachment.delete-on-termination": ifAttached(func(e NetworkInterface) string {
			return strconv.FormatBool(e.DeleteOnTermination)
		}),
		"attachment.device-index": ifAttached(func(e NetworkInterface) string {
			return strconv.Itoa(int(e.DeviceIndex))
		}),
		"attachment.instance-id":       ifAttached(func(e NetworkInterface) string { return e.InstanceID }),
		"attachment.instance-owner-id": ifAttached(func(e NetworkInterface) string { return instanceOwner(e.NetworkInterface) }),
		"attachment.status":            ifAttached(func(NetworkInterface) string { return model.AttachmentAttached }),
		"availability-zone":            func(e NetworkInterface) []string { return one(e.AvailabilityZone) },
		"availability-zone-id":         func(e NetworkInterface) []string { return one(e.AvailabilityZoneID) },
		"description":                  func(e NetworkInterface) []string { return one(e.Description) },
		"group-id":                     func(e NetworkInterface) []string { return e.Groups },
		"group-name": func(e NetworkInterface) []string {
			var out []string
			for _, g := range e.GroupSet {
				out = append(out, g.GroupName)
			}
			return out
		},
		"interface-type":              func(e NetworkInterface) []string { return one(e.InterfaceType) },
		"ipv6-addresses.ipv6-address": none[NetworkInterface],
		"mac-address":                 func(e NetworkInterface) []string { return one(e.MacAddress) },
		"network-interface-id":        func(e NetworkInterface) []string { return one(e.ID) },
		"operator.managed":            func(NetworkInterface) []string { return one("false") },
		"operator.principal":          none[NetworkInterface],
		"owner-id":                    func(e NetworkInterface) []string { return one(e.OwnerID) },
		"private-dns-name":            dns,
		"private-ip-address":          ip,
		"requester-id":                func(e NetworkInterface) []string { return nonEmpty(e.RequesterID) },
		"requester-managed":           func(e NetworkInterface) []string { return one(strconv.FormatBool(e.RequesterManaged)) },
		"source-dest-check":           func(e NetworkInterface) []string { return one(strconv.FormatBool(e.SourceDestCheck)) },
		"status":                      func(e NetworkInterface) []string { return one(e.Status) },
		"subnet-id":                   func(e NetworkInterface) []string { return one(e.SubnetID) },
		"vpc-id":                      func(e NetworkInterface) []string { return one(e.VpcID) },
	}
}

// instanceOwner is the attachment's instanceOwnerId: the owner of the
// attached instance, or the service owning a requester-managed ENI.
func instanceOwner(e model.NetworkInterface) string {
	if e.InstanceOwnerID != "" {
		return e.InstanceOwnerID
	}
	if e.InstanceID != "" {
		return e.OwnerID
	}
	return ""
}

var eniFilters = filterDefs[NetworkInterface]{
	fields: eniFilterFields(),
	tags:   func(e NetworkInterface) []model.Tag { return e.Tags },
}

// DescribeNetworkInterfaces describes the caller's network interfaces,
// requester-managed ones included: those named (every one must exist, else
// InvalidNetworkInterfaceID.NotFound) or all, narrowed by Filters, one page
// at a time (MaxResults 5-1000, not together with ids).
func (s *Service) DescribeNetworkInterfaces(ctx context.Context, account string, in DescribeNetworkInterfacesInput) (DescribeNetworkInterfacesOutput, error) {
	var out DescribeNetworkInterfacesOutput
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if err := idENI.checkDescribe(in.NetworkInterfaceIDs, in.Page, "networkInterfaceIdSet"); err != nil {
			return err
		}
		if err := eniFilters.validate(in.Filters); err != nil {
			return err
		}
		stored, err := selectOwned[model.NetworkInterface](tx, idENI, account, in.NetworkInterfaceIDs)
		if err != nil {
			return err
		}
		names, err := groupNames(tx, account)
		if err != nil {
			return err
		}
		var items []NetworkInterface
		for _, e := range stored {
			if d := s.describeENI(e, names); eniFilters.match(d, in.Filters) {
				items = append(items, d)
			}
		}
		out.NetworkInterfaces, out.NextToken, err = paginate(items, func(e NetworkInterface) string { return e.ID }, in.Page, 5, 1000)
		return err
	})
	if err != nil {
		return DescribeNetworkInterfacesOutput{}, err
	}
	return out, nil
}

// ModifyNetworkInterfaceAttribute changes one attribute of one of the
// caller's ENIs: its description, its source/destination check, or its
// security groups (replaced as a set: the caller's, in the ENI's VPC, at
// most five). A requester-managed ENI belongs to the service that made it
// and cannot be changed.
func (s *Service) ModifyNetworkInterfaceAttribute(ctx context.Context, account string, in ModifyNetworkInterfaceAttributeInput) error {
	return s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if in.NetworkInterfaceID == "" {
			return awsapi.ErrMissingParameter("networkInterfaceId")
		}
		var set []string
		if in.Description != nil {
			set = append(set, "description")
		}
		if in.SourceDestCheck != nil {
			set = append(set, "sourceDestCheck")
		}
		if len(in.Groups) > 0 {
			set = append(set, "groupSet")
		}
		switch {
		case len(set) == 0:
			return awsapi.Errorf("InvalidParameterCombination", "No attributes specified.")
		case len(set) > 1:
			return awsapi.Errorf("InvalidParameterCombination", "Fields for multiple attribute types specified: %s", strings.Join(set, ", "))
		}
		eni, err := loadENI(tx, account, in.NetworkInterfaceID)
		if err != nil {
			return err
		}
		if eni.RequesterManaged {
			return awsapi.Errorf("OperationNotPermitted", "The network interface '%s' is requester-managed and cannot be modified.", eni.ID)
		}
		switch {
		case in.Description != nil:
			if eni.Description == *in.Description {
				return nil
			}
			eni.Description = *in.Description
		case in.SourceDestCheck != nil:
			if eni.SourceDestCheck == *in.SourceDestCheck {
				return nil
			}
			eni.SourceDestCheck = *in.SourceDestCheck
		default:
			groups, err := resolveENIGroups(tx, account, eni.VpcID, eni.SubnetID, in.Groups)
			if err != nil {
				return err
			}
			ids := make([]string, 0, len(groups))
			for _, g := range groups {
				ids = append(ids, g.ID)
			}
			if slices.Equal(ids, eni.Groups) {
				return nil
			}
			eni.Groups = ids
		}
		return putRecord(tx, eniKey(account, eni.ID), eni)
	})
}
