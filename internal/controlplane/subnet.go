package controlplane

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// reservedPerSubnet is how many IPv4 addresses AWS keeps in every subnet:
// the network address, .1 (the VPC router), .2 (DNS), .3 (reserved) and the
// broadcast address.
const reservedPerSubnet = 5

// HostnameTypeIPName is the hostname type of every subnet and instance:
// names derived from the private IPv4 address (ip-10-0-1-5.ec2.internal).
const HostnameTypeIPName = "ip-name"

// CreateSubnetInput is the input of CreateSubnet. IPv6, IPAM and Outposts are
// not supported; asking for them is UnsupportedOperation.
type CreateSubnetInput struct {
	VpcID              string
	CidrBlock          string
	AvailabilityZone   string
	AvailabilityZoneID string
	Ipv6CidrBlock      string
	Ipv6Native         bool
	Ipv4IpamPoolID     string
	Ipv6IpamPoolID     string
	OutpostArn         string
	TagSpecs           []TagSpec
	DryRun             bool
}

// Subnet is a subnet as the API describes it: the stored subnet and what the
// control plane derives from it.
type Subnet struct {
	model.Subnet
	AvailableIPAddressCount int32
	SubnetArn               string
	HostnameType            string // privateDnsNameOptionsOnLaunch.hostnameType: "ip-name"
}

// DescribeSubnetsInput is the input of DescribeSubnets.
type DescribeSubnetsInput struct {
	SubnetIDs []string
	Filters   []Filter
	Page      Page
	DryRun    bool
}

// DescribeSubnetsOutput is one page of DescribeSubnets.
type DescribeSubnetsOutput struct {
	Subnets   []Subnet
	NextToken string
}

// DeleteSubnetInput is the input of DeleteSubnet.
type DeleteSubnetInput struct {
	SubnetID string
	DryRun   bool
}

// loadSubnet returns the caller's subnet id.
func loadSubnet(tx store.ReadTx, account, id string) (*model.Subnet, error) {
	return loadOwned[model.Subnet](tx, idSubnet, account, id)
}

// listSubnets returns the caller's subnets sorted by id.
func listSubnets(tx store.ReadTx, account string) ([]*model.Subnet, error) {
	return listOwned[model.Subnet](tx, idSubnet, account)
}

// vpcSubnets returns the subnets of one of the caller's VPCs, sorted by id.
func vpcSubnets(tx store.ReadTx, account, vpcID string) ([]*model.Subnet, error) {
	all, err := listSubnets(tx, account)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, sn := range all {
		if sn.VpcID == vpcID {
			out = append(out, sn)
		}
	}
	return out, nil
}

// describeSubnet derives the API view of a stored subnet.
func (s *Service) describeSubnet(tx store.ReadTx, sn *model.Subnet) (Subnet, error) {
	p, err := netip.ParsePrefix(sn.CidrBlock)
	if err != nil {
		return Subnet{}, fmt.Errorf("subnet %s: stored cidr %q: %w", sn.ID, sn.CidrBlock, err)
	}
	used, err := s.subnetAddressesInUse(tx, sn)
	if err != nil {
		return Subnet{}, err
	}
	return Subnet{
		Subnet:                  *sn,
		AvailableIPAddressCount: int32(1<<(32-p.Bits()) - reservedPerSubnet - used),
		SubnetArn:               fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", s.region, sn.OwnerID, sn.ID),
		HostnameType:            HostnameTypeIPName,
	}, nil
}

// pickZone resolves CreateSubnet's AvailabilityZone / AvailabilityZoneId.
// With neither it picks the zone with the fewest of the VPC's subnets, the
// first such zone in configuration order.
func (s *Service) pickZone(name, id string, siblings []*model.Subnet) (model.Zone, error) {
	switch {
	case name != "" && id != "":
		return model.Zone{}, awsapi.Errorf("InvalidParameterCombination", "Only one of availabilityZone and availabilityZoneId can be specified.")
	case name != "":
		for _, z := range s.zones {
			if z.Name == name {
				return z, nil
			}
		}
		return model.Zone{}, awsapi.ErrInvalidParameterValue("Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.", name, s.zoneList(func(z model.Zone) string { return z.Name }))
	case id != "":
		for _, z := range s.zones {
			if z.ID == id {
				return z, nil
			}
		}
		return model.Zone{}, awsapi.ErrInvalidParameterValue("Value (%s) for parameter availabilityZoneId is invalid. Subnets can currently only be created in the following availability zones: %s.", id, s.zoneList(func(z model.Zone) string { return z.ID }))
	}
	count := map[string]int{}
	for _, sn := range siblings {
		count[sn.AvailabilityZone]++
	}
	best := s.zones[0]
	for _, z := range s.zones[1:] {
		if count[z.Name] < count[best.Name] {
			best = z
		}
	}
	return best, nil
}

func (s *Service) zoneList(f func(model.Zone) string) string {
	names := make([]string, 0, len(s.zones))
	for _, z := range s.zones {
		names = append(names, f(z))
	}
	return strings.Join(names, ", ")
}

// CreateSubnet creates a subnet in state pending, associated with its VPC's
// default network ACL, in one transaction. The controller moves it to
// available (MarkAvailable) once its bridge exists.
func (s *Service) CreateSubnet(ctx context.Context, account string, in CreateSubnetInput) (Subnet, error) {
	var out Subnet
	err := s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if in.VpcID == "" {
			return awsapi.ErrMissingParameter("vpcId")
		}
		if in.Ipv6CidrBlock != "" || in.Ipv6Native || in.Ipv6IpamPoolID != "" {
			return awsapi.Errorf("UnsupportedOperation", "IPv6 subnets are not supported.")
		}
		if in.Ipv4IpamPoolID != "" {
			return awsapi.Errorf("UnsupportedOperation", "IPAM pools are not supported.")
		}
		if in.OutpostArn != "" {
			return awsapi.Errorf("UnsupportedOperation", "Outposts are not supported.")
		}
		if in.CidrBlock == "" {
			return awsapi.ErrMissingParameter("cidrBlock")
		}
		cidr, err := parseIPv4CIDR("cidrBlock", in.CidrBlock)
		if err != nil {
			return err
		}
		tags, err := applyTagSpecs("subnet", in.TagSpecs)
		if err != nil {
			return err
		}
		vpc, err := loadVpc(tx, account, in.VpcID)
		if err != nil {
			return err
		}
		siblings, err := vpcSubnets(tx, account, vpc.ID)
		if err != nil {
			return err
		}
		zone, err := s.pickZone(in.AvailabilityZone, in.AvailabilityZoneID, siblings)
		if err != nil {
			return err
		}
		vpcCIDR, err := netip.ParsePrefix(vpc.CidrBlock)
		if err != nil {
			return fmt.Errorf("vpc %s: stored cidr %q: %w", vpc.ID, vpc.CidrBlock, err)
		}
		if cidr.Bits() < minCIDRPrefix || cidr.Bits() > maxCIDRPrefix ||
			cidr.Bits() < vpcCIDR.Bits() || !vpcCIDR.Contains(cidr.Addr()) {
			return awsapi.Errorf("InvalidSubnet.Range", "The CIDR '%s' is invalid.", in.CidrBlock)
		}
		for _, sib := range siblings {
			other, err := netip.ParsePrefix(sib.CidrBlock)
			if err != nil {
				return fmt.Errorf("subnet %s: stored cidr %q: %w", sib.ID, sib.CidrBlock, err)
			}
			if other.Overlaps(cidr) {
				return awsapi.Errorf("InvalidSubnet.Conflict", "The CIDR '%s' conflicts with another subnet", in.CidrBlock)
			}
		}
		id := model.NewID(model.PrefixSubnet)
		sn := model.Subnet{
			ID:                 id,
			OwnerID:            account,
			VpcID:              vpc.ID,
			CidrBlock:          cidr.String(),
			AvailabilityZone:   zone.Name,
			AvailabilityZoneID: zone.ID,
			State:              model.StatePending,
			BridgeName:         model.LinkName("br", id),
			Tags:               tags,
			Created:            s.now().UTC(),
		}
		if err := putRecord(tx, store.Key(store.KindSubnet, account, sn.ID), sn); err != nil {
			return err
		}
		if err := s.associateDefaultNetworkAcl(tx, vpc, &sn); err != nil {
			return err
		}
		out, err = s.describeSubnet(tx, &sn)
		return err
	})
	if err != nil {
		return Subnet{}, err
	}
	return out, nil
}

func subnetFalse(Subnet) []string { return []string{"false"} }
func subnetNone(Subnet) []string  { return nil }

var subnetFilters = func() filterDefs[Subnet] {
	az := func(sn Subnet) []string { return []string{sn.AvailabilityZone} }
	azID := func(sn Subnet) []string { return []string{sn.AvailabilityZoneID} }
	cidr := func(sn Subnet) []string { return []string{sn.CidrBlock} }
	return filterDefs[Subnet]{
		fields: map[string]func(Subnet) []string{
			"availability-zone":    az,
			"availabilityZone":     az,
			"availability-zone-id": azID,
			"availabilityZoneId":   azID,
			"available-ip-address-count": func(sn Subnet) []string {
				return []string{strconv.Itoa(int(sn.AvailableIPAddressCount))}
			},
			"cidr-block":                 cidr,
			"cidr":                       cidr,
			"cidrBlock":                  cidr,
			"customer-owned-ipv4-pool":   subnetNone,
			"default-for-az":             subnetFalse,
			"defaultForAz":               subnetFalse,
			"enable-dns64":               subnetFalse,
			"enable-lni-at-device-index": subnetNone,
			"ipv6-cidr-block-association.ipv6-cidr-block": subnetNone,
			"ipv6-cidr-block-association.association-id":  subnetNone,
			"ipv6-cidr-block-association.state":           subnetNone,
			"ipv6-native":                                 subnetFalse,
			"map-customer-owned-ip-on-launch":             subnetFalse,
			"map-public-ip-on-launch": func(sn Subnet) []string {
				return []string{strconv.FormatBool(sn.MapPublicIPOnLaunch)}
			},
			"outpost-arn": subnetNone,
			"owner-id":    func(sn Subnet) []string { return []string{sn.OwnerID} },
			"private-dns-name-options-on-launch.hostname-type": func(sn Subnet) []string {
				return []string{sn.HostnameType}
			},
			"private-dns-name-options-on-launch.enable-resource-name-dns-a-record":    subnetFalse,
			"private-dns-name-options-on-launch.enable-resource-name-dns-aaaa-record": subnetFalse,
			"state":      func(sn Subnet) []string { return []string{sn.State} },
			"subnet-arn": func(sn Subnet) []string { return []string{sn.SubnetArn} },
			"subnet-id":  func(sn Subnet) []string { return []string{sn.ID} },
			"vpc-id":     func(sn Subnet) []string { return []string{sn.VpcID} },
		},
		tags: func(sn Subnet) []model.Tag { return sn.Tags },
	}
}()

// DescribeSubnets describes the caller's subnets: those named by SubnetIDs
// (every one must exist, else InvalidSubnetID.NotFound naming the missing
// ones) or all, narrowed by Filters, one page at a time (MaxResults 5-1000,
// not together with SubnetIDs).
func (s *Service) DescribeSubnets(ctx context.Context, account string, in DescribeSubnetsInput) (DescribeSubnetsOutput, error) {
	var out DescribeSubnetsOutput
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if err := idSubnet.checkDescribe(in.SubnetIDs, in.Page, "subnetIdSet"); err != nil {
			return err
		}
		stored, err := selectOwned[model.Subnet](tx, idSubnet, account, in.SubnetIDs)
		if err != nil {
			return err
		}
		if err := subnetFilters.validate(in.Filters); err != nil {
			return err
		}
		var subnets []Subnet
		for _, sn := range stored {
			d, err := s.describeSubnet(tx, sn)
			if err != nil {
				return err
			}
			if subnetFilters.match(d, in.Filters) {
				subnets = append(subnets, d)
			}
		}
		out.Subnets, out.NextToken, err = paginate(subnets, func(sn Subnet) string { return sn.ID }, in.Page, 5, 1000)
		return err
	})
	if err != nil {
		return DescribeSubnetsOutput{}, err
	}
	return out, nil
}

// DeleteSubnet deletes a subnet and its network ACL association.
func (s *Service) DeleteSubnet(ctx context.Context, account string, in DeleteSubnetInput) error {
	return s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if in.SubnetID == "" {
			return awsapi.ErrMissingParameter("subnetId")
		}
		sn, err := loadSubnet(tx, account, in.SubnetID)
		if err != nil {
			return err
		}
		if err := s.checkSubnetDeletable(tx, sn); err != nil {
			return err
		}
		if err := s.removeNetworkAclAssociation(tx, sn); err != nil {
			return err
		}
		if err := tx.Delete(store.Key(store.KindSubnet, account, sn.ID)); err != nil {
			return fmt.Errorf("delete subnet %s: %w", sn.ID, err)
		}
		return nil
	})
}
