package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// VPC and subnet IPv4 CIDRs are /16 to /28, as in AWS.
const (
	minCIDRPrefix = 16
	maxCIDRPrefix = 28
)

// CidrStateAssociated is the state of a VPC's primary CIDR block association.
const CidrStateAssociated = "associated"

// VPC attribute names, as DescribeVpcAttribute takes them.
const (
	AttrEnableDnsSupport                 = "enableDnsSupport"
	AttrEnableDnsHostnames               = "enableDnsHostnames"
	AttrEnableNetworkAddressUsageMetrics = "enableNetworkAddressUsageMetrics"
)

// CreateVpcInput is the input of CreateVpc. IPv6 and IPAM are not
// supported; asking for them is UnsupportedOperation.
type CreateVpcInput struct {
	CidrBlock                   string
	InstanceTenancy             string // "", "default" or "dedicated"
	AmazonProvidedIpv6CidrBlock bool
	Ipv6CidrBlock               string
	Ipv6Pool                    string
	Ipv4IpamPoolID              string
	Ipv6IpamPoolID              string
	TagSpecs                    []TagSpec
	DryRun                      bool
}

// DescribeVpcsInput is the input of DescribeVpcs.
type DescribeVpcsInput struct {
	VpcIDs  []string
	Filters []Filter
	Page    Page
	DryRun  bool
}

// DescribeVpcsOutput is one page of DescribeVpcs.
type DescribeVpcsOutput struct {
	Vpcs      []model.Vpc
	NextToken string
}

// DeleteVpcInput is the input of DeleteVpc.
type DeleteVpcInput struct {
	VpcID  string
	DryRun bool
}

// ModifyVpcAttributeInput is the input of ModifyVpcAttribute: exactly one of
// the attributes must be set. (The operation has no DryRun.)
type ModifyVpcAttributeInput struct {
	VpcID                            string
	EnableDnsSupport                 *bool
	EnableDnsHostnames               *bool
	EnableNetworkAddressUsageMetrics *bool
}

// DescribeVpcAttributeInput is the input of DescribeVpcAttribute.
type DescribeVpcAttributeInput struct {
	VpcID     string
	Attribute string // one of the Attr* constants
	DryRun    bool
}

// VpcAttribute is the answer of DescribeVpcAttribute: one attribute's value.
type VpcAttribute struct {
	VpcID     string
	Attribute string
	Value     bool
}

// parseIPv4CIDR parses an IPv4 CIDR and returns it in canonical form
// (100.68.0.18/18 becomes 100.68.0.0/18, as AWS documents). param is the
// wire parameter named in the error.
func parseIPv4CIDR(param, s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, awsapi.ErrInvalidParameterValue("Value (%s) for parameter %s is invalid. This is not a valid CIDR block.", s, param)
	}
	return p.Masked(), nil
}

// dhcpOptionsID is the id of the account's one DHCP option set
// (AmazonProvidedDNS). It is derived from the account id, so it is stable and
// needs no record of its own.
func dhcpOptionsID(account string) string {
	sum := sha256.Sum256([]byte("privlink/dhcp-options/" + account))
	return model.PrefixDhcpOptions + "-" + hex.EncodeToString(sum[:])[:17]
}

// loadVpc returns the caller's VPC id.
func loadVpc(tx store.ReadTx, account, id string) (*model.Vpc, error) {
	return loadOwned[model.Vpc](tx, idVpc, account, id)
}

// CreateVpc creates a VPC in state pending, with its default security group
// and default network ACL, in one transaction. The controller moves it to
// available (MarkAvailable) once its router namespace exists.
func (s *Service) CreateVpc(ctx context.Context, account string, in CreateVpcInput) (model.Vpc, error) {
	var out model.Vpc
	err := s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if in.AmazonProvidedIpv6CidrBlock || in.Ipv6CidrBlock != "" || in.Ipv6Pool != "" || in.Ipv6IpamPoolID != "" {
			return awsapi.Errorf("UnsupportedOperation", "IPv6 CIDR blocks are not supported.")
		}
		if in.Ipv4IpamPoolID != "" {
			return awsapi.Errorf("UnsupportedOperation", "IPAM pools are not supported.")
		}
		if in.CidrBlock == "" {
			return awsapi.Errorf("MissingParameter", "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.")
		}
		cidr, err := parseIPv4CIDR("cidrBlock", in.CidrBlock)
		if err != nil {
			return err
		}
		if cidr.Bits() < minCIDRPrefix || cidr.Bits() > maxCIDRPrefix {
			return awsapi.Errorf("InvalidVpc.Range", "The CIDR '%s' is invalid.", in.CidrBlock)
		}
		tenancy := in.InstanceTenancy
		switch tenancy {
		case "":
			tenancy = "default"
		case "default", "dedicated":
		case "host":
			return awsapi.ErrInvalidParameterValue("The host value cannot be used with this parameter. Use the default or dedicated values only.")
		default:
			return awsapi.ErrInvalidParameterValue("Value (%s) for parameter instanceTenancy is invalid. Valid values: default, dedicated.", tenancy)
		}
		tags, err := applyTagSpecs("vpc", in.TagSpecs)
		if err != nil {
			return err
		}
		vpc := model.Vpc{
			ID:                model.NewID(model.PrefixVpc),
			OwnerID:           account,
			CidrBlock:         cidr.String(),
			CidrAssociationID: model.NewID(model.PrefixVpcCidrAssoc),
			State:             model.StatePending,
			DhcpOptionsID:     dhcpOptionsID(account),
			InstanceTenancy:   tenancy,
			EnableDnsSupport:  true,
			Tags:              tags,
			Created:           s.now().UTC(),
		}
		if err := s.createVpcDefaults(tx, &vpc); err != nil {
			return err
		}
		if err := putRecord(tx, store.Key(store.KindVpc, account, vpc.ID), vpc); err != nil {
			return err
		}
		out = vpc
		return nil
	})
	if err != nil {
		return model.Vpc{}, err
	}
	return out, nil
}

var vpcFilters = filterDefs[*model.Vpc]{
	fields: map[string]func(*model.Vpc) []string{
		"cidr":                              func(v *model.Vpc) []string { return []string{v.CidrBlock} },
		"cidr-block-association.cidr-block": func(v *model.Vpc) []string { return []string{v.CidrBlock} },
		"cidr-block-association.association-id": func(v *model.Vpc) []string {
			return []string{v.CidrAssociationID}
		},
		"cidr-block-association.state":                func(*model.Vpc) []string { return []string{CidrStateAssociated} },
		"dhcp-options-id":                             func(v *model.Vpc) []string { return []string{v.DhcpOptionsID} },
		"ipv6-cidr-block-association.ipv6-cidr-block": func(*model.Vpc) []string { return nil },
		"ipv6-cidr-block-association.ipv6-pool":       func(*model.Vpc) []string { return nil },
		"ipv6-cidr-block-association.association-id":  func(*model.Vpc) []string { return nil },
		"ipv6-cidr-block-association.state":           func(*model.Vpc) []string { return nil },
		"is-default":                                  func(v *model.Vpc) []string { return []string{strconv.FormatBool(v.IsDefault)} },
		"owner-id":                                    func(v *model.Vpc) []string { return []string{v.OwnerID} },
		"state":                                       func(v *model.Vpc) []string { return []string{v.State} },
		"vpc-id":                                      func(v *model.Vpc) []string { return []string{v.ID} },
	},
	tags: tagFilterValues[*model.Vpc],
}

// DescribeVpcs describes the caller's VPCs: those named by VpcIDs (every one
// must exist, else InvalidVpcID.NotFound naming the missing ones) or all,
// narrowed by Filters, one page at a time (MaxResults 5-1000, not together
// with VpcIDs).
func (s *Service) DescribeVpcs(ctx context.Context, account string, in DescribeVpcsInput) (DescribeVpcsOutput, error) {
	var out DescribeVpcsOutput
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if err := idVpc.checkDescribe(in.VpcIDs, in.Page, "vpcIdSet"); err != nil {
			return err
		}
		vpcs, err := selectOwned[model.Vpc](tx, idVpc, account, in.VpcIDs)
		if err != nil {
			return err
		}
		if vpcs, err = vpcFilters.apply(vpcs, in.Filters); err != nil {
			return err
		}
		page, next, err := paginate(vpcs, func(v *model.Vpc) string { return v.ID }, in.Page, 5, 1000)
		if err != nil {
			return err
		}
		out.Vpcs = make([]model.Vpc, 0, len(page))
		for _, v := range page {
			out.Vpcs = append(out.Vpcs, *v)
		}
		out.NextToken = next
		return nil
	})
	if err != nil {
		return DescribeVpcsOutput{}, err
	}
	return out, nil
}

// selectByID keeps the items (sorted by id) whose id is in ids. Any id with
// no item is the kind's NotFound error naming every missing id.
func selectByID[T any](items []T, id func(T) string, ids []string, kind idKind) ([]T, error) {
	want := dedupe(ids)
	have := make(map[string]T, len(items))
	for _, it := range items {
		have[id(it)] = it
	}
	var missing []string
	for _, w := range want {
		if _, ok := have[w]; !ok {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return nil, kind.notFound(missing...)
	}
	wanted := make(map[string]bool, len(want))
	for _, w := range want {
		wanted[w] = true
	}
	out := items[:0:0]
	for _, it := range items {
		if wanted[id(it)] {
			out = append(out, it)
		}
	}
	return out, nil
}

// DeleteVpc deletes a VPC with its default security group and network ACL.
// While it has subnets or other groups or ACLs it is DependencyViolation.
func (s *Service) DeleteVpc(ctx context.Context, account string, in DeleteVpcInput) error {
	return s.update(ctx, in.DryRun, func(tx store.Tx) error {
		if in.VpcID == "" {
			return awsapi.ErrMissingParameter("vpcId")
		}
		vpc, err := loadVpc(tx, account, in.VpcID)
		if err != nil {
			return err
		}
		subnets, err := vpcSubnets(tx, account, vpc.ID)
		if err != nil {
			return err
		}
		if len(subnets) > 0 {
			return errVpcDependencies(vpc.ID)
		}
		if err := s.checkVpcDeletable(tx, vpc); err != nil {
			return err
		}
		if err := s.deleteVpcDefaults(tx, vpc); err != nil {
			return err
		}
		if err := tx.Delete(store.Key(store.KindVpc, account, vpc.ID)); err != nil {
			return fmt.Errorf("delete vpc %s: %w", vpc.ID, err)
		}
		return nil
	})
}

// errVpcDependencies is AWS's answer to deleting a VPC that still has
// resources in it.
func errVpcDependencies(vpcID string) error {
	return awsapi.Errorf("DependencyViolation", "The vpc '%s' has dependencies and cannot be deleted.", vpcID)
}

// ModifyVpcAttribute sets one attribute of a VPC. DNS hostnames need DNS
// support: enabling hostnames without support, or disabling support while
// hostnames are on, is InvalidParameterValue.
func (s *Service) ModifyVpcAttribute(ctx context.Context, account string, in ModifyVpcAttributeInput) error {
	return s.update(ctx, false, func(tx store.Tx) error {
		if in.VpcID == "" {
			return awsapi.ErrMissingParameter("vpcId")
		}
		var set []string
		if in.EnableDnsHostnames != nil {
			set = append(set, AttrEnableDnsHostnames)
		}
		if in.EnableDnsSupport != nil {
			set = append(set, AttrEnableDnsSupport)
		}
		if in.EnableNetworkAddressUsageMetrics != nil {
			set = append(set, AttrEnableNetworkAddressUsageMetrics)
		}
		switch {
		case len(set) == 0:
			return awsapi.Errorf("MissingParameter", "The request must contain one of the parameters %s, %s or %s",
				AttrEnableDnsHostnames, AttrEnableDnsSupport, AttrEnableNetworkAddressUsageMetrics)
		case len(set) > 1:
			return awsapi.Errorf("InvalidParameterCombination", "Fields for multiple attribute types specified: %s", strings.Join(set, ", "))
		}
		vpc, err := loadVpc(tx, account, in.VpcID)
		if err != nil {
			return err
		}
		switch {
		case in.EnableDnsHostnames != nil:
			if *in.EnableDnsHostnames && !vpc.EnableDnsSupport {
				return awsapi.ErrInvalidParameterValue("Cannot enable DNS hostnames for vpc '%s' while DNS support is disabled.", vpc.ID)
			}
			if vpc.EnableDnsHostnames == *in.EnableDnsHostnames {
				return nil
			}
			vpc.EnableDnsHostnames = *in.EnableDnsHostnames
		case in.EnableDnsSupport != nil:
			if !*in.EnableDnsSupport && vpc.EnableDnsHostnames {
				return awsapi.ErrInvalidParameterValue("Cannot disable DNS support for vpc '%s' while DNS hostnames are enabled.", vpc.ID)
			}
			if vpc.EnableDnsSupport == *in.EnableDnsSupport {
				return nil
			}
			vpc.EnableDnsSupport = *in.EnableDnsSupport
		default:
			if vpc.EnableNauMetrics == *in.EnableNetworkAddressUsageMetrics {
				return nil
			}
			vpc.EnableNauMetrics = *in.EnableNetworkAddressUsageMetrics
		}
		return putRecord(tx, store.Key(store.KindVpc, account, vpc.ID), vpc)
	})
}

// DescribeVpcAttribute returns one attribute of a VPC.
func (s *Service) DescribeVpcAttribute(ctx context.Context, account string, in DescribeVpcAttributeInput) (VpcAttribute, error) {
	var out VpcAttribute
	err := s.view(ctx, in.DryRun, func(tx store.ReadTx) error {
		if in.VpcID == "" {
			return awsapi.ErrMissingParameter("vpcId")
		}
		if in.Attribute == "" {
			return awsapi.ErrMissingParameter("attribute")
		}
		switch in.Attribute {
		case AttrEnableDnsSupport, AttrEnableDnsHostnames, AttrEnableNetworkAddressUsageMetrics:
		default:
			return awsapi.ErrInvalidParameterValue("Value (%s) for parameter attribute is invalid. Unknown attribute.", in.Attribute)
		}
		vpc, err := loadVpc(tx, account, in.VpcID)
		if err != nil {
			return err
		}
		out = VpcAttribute{VpcID: vpc.ID, Attribute: in.Attribute}
		switch in.Attribute {
		case AttrEnableDnsSupport:
			out.Value = vpc.EnableDnsSupport
		case AttrEnableDnsHostnames:
			out.Value = vpc.EnableDnsHostnames
		default:
			out.Value = vpc.EnableNauMetrics
		}
		return nil
	})
	if err != nil {
		return VpcAttribute{}, err
	}
	return out, nil
}
