package controlplane

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

const (
	netAcctA = "111111111111"
	netAcctB = "222222222222"
)

// newNetTestService returns a Service over a fresh bbolt store in
// t.TempDir(), in us-east-1 with zones a, b and c, and a clock stopped at
// testEpoch.
func newNetTestService(t *testing.T) (*Service, store.Store) {
	t.Helper()
	s, st, _ := newInstanceTestService(t, nil)
	return s, st
}

func netRev(t *testing.T, st store.Store) int64 {
	t.Helper()
	rev, err := st.Rev(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// wantNetErr fails unless err is an *awsapi.Error with code and status.
func wantNetErr(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want AWS error %s", err, code)
	}
	if ae.Code != code || ae.HTTPStatus() != status {
		t.Fatalf("error = %s (%d) %q, want %s (%d)", ae.Code, ae.HTTPStatus(), ae.Message, code, status)
	}
}

func mustVpc(t *testing.T, s *Service, account, cidr string, tags ...model.Tag) model.Vpc {
	t.Helper()
	in := CreateVpcInput{CidrBlock: cidr}
	if len(tags) > 0 {
		in.TagSpecs = []TagSpec{{ResourceType: "vpc", Tags: tags}}
	}
	v, err := s.CreateVpc(t.Context(), account, in)
	if err != nil {
		t.Fatalf("CreateVpc(%s, %s): %v", account, cidr, err)
	}
	return v
}

func mustSubnet(t *testing.T, s *Service, account, vpcID, cidr string) Subnet {
	t.Helper()
	sn, err := s.CreateSubnet(t.Context(), account, CreateSubnetInput{VpcID: vpcID, CidrBlock: cidr})
	if err != nil {
		t.Fatalf("CreateSubnet(%s, %s): %v", vpcID, cidr, err)
	}
	return sn
}

func describeVpcIDs(t *testing.T, s *Service, account string, in DescribeVpcsInput) []string {
	t.Helper()
	out, err := s.DescribeVpcs(t.Context(), account, in)
	if err != nil {
		t.Fatalf("DescribeVpcs: %v", err)
	}
	ids := []string{}
	for _, v := range out.Vpcs {
		ids = append(ids, v.ID)
	}
	return ids
}

func TestCreateVpc(t *testing.T) {
	s, _ := newNetTestService(t)
	v, err := s.CreateVpc(t.Context(), netAcctA, CreateVpcInput{
		CidrBlock: "100.68.0.18/18",
		TagSpecs:  []TagSpec{{ResourceType: "vpc", Tags: []model.Tag{{Key: "Name", Value: "main"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !model.ValidID("vpc", v.ID) || len(v.ID) != len("vpc-")+17 {
		t.Errorf("VpcId = %q, want vpc-<17 hex>", v.ID)
	}
	if !model.ValidID("vpc-cidr-assoc", v.CidrAssociationID) {
		t.Errorf("CidrAssociationID = %q, want vpc-cidr-assoc-<hex>", v.CidrAssociationID)
	}
	if !model.ValidID("dopt", v.DhcpOptionsID) {
		t.Errorf("DhcpOptionsID = %q, want dopt-<hex>", v.DhcpOptionsID)
	}
	want := model.Vpc{
		ID: v.ID, OwnerID: netAcctA, CidrBlock: "100.68.0.0/18", CidrAssociationID: v.CidrAssociationID,
		State: "pending", DhcpOptionsID: v.DhcpOptionsID, InstanceTenancy: "default",
		EnableDnsSupport: true, DefaultGroupID: v.DefaultGroupID, DefaultNetworkAclID: v.DefaultNetworkAclID,
		Tags: []model.Tag{{Key: "Name", Value: "main"}}, Created: time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC),
	}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("CreateVpc() mismatch (-want +got):\n%s", diff)
	}
	got := describeVpcIDs(t, s, netAcctA, DescribeVpcsInput{VpcIDs: []string{v.ID}})
	if diff := cmp.Diff([]string{v.ID}, got); diff != "" {
		t.Errorf("DescribeVpcs() mismatch (-want +got):\n%s", diff)
	}
	// The DHCP option set is one per account.
	v2 := mustVpc(t, s, netAcctA, "10.1.0.0/16")
	vb := mustVpc(t, s, netAcctB, "10.1.0.0/16")
	if v2.DhcpOptionsID != v.DhcpOptionsID || vb.DhcpOptionsID == v.DhcpOptionsID {
		t.Errorf("dhcp options ids %s %s %s: want one per account", v.DhcpOptionsID, v2.DhcpOptionsID, vb.DhcpOptionsID)
	}
	if v.DefaultGroupID == "" || v.DefaultNetworkAclID == "" {
		t.Errorf("default group %q / acl %q not recorded", v.DefaultGroupID, v.DefaultNetworkAclID)
	}
}

// TestBadInputs runs every bad input against one populated store and checks
// the AWS code, the HTTP status, and that nothing was written.
func TestBadInputs(t *testing.T) {
	s, st := newNetTestService(t)
	vpcA := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	subA := mustSubnet(t, s, netAcctA, vpcA.ID, "10.0.1.0/24")
	vpcB := mustVpc(t, s, netAcctB, "10.0.0.0/16")
	subB := mustSubnet(t, s, netAcctB, vpcB.ID, "10.0.1.0/24")
	noDNS := mustVpc(t, s, netAcctA, "10.9.0.0/16")
	if err := s.ModifyVpcAttribute(t.Context(), netAcctA, ModifyVpcAttributeInput{VpcID: noDNS.ID, EnableDnsSupport: new(false)}); err != nil {
		t.Fatal(err)
	}
	withHostnames := mustVpc(t, s, netAcctA, "10.8.0.0/16")
	if err := s.ModifyVpcAttribute(t.Context(), netAcctA, ModifyVpcAttributeInput{VpcID: withHostnames.ID, EnableDnsHostnames: new(true)}); err != nil {
		t.Fatal(err)
	}
	full := mustVpc(t, s, netAcctA, "10.7.0.0/16")
	var fifty []model.Tag
	for i := range 50 {
		fifty = append(fifty, model.Tag{Key: fmt.Sprintf("k%02d", i), Value: "v"})
	}
	if err := s.CreateTags(t.Context(), netAcctA, CreateTagsInput{ResourceIDs: []string{full.ID}, Tags: fifty}); err != nil {
		t.Fatal(err)
	}
	fiftyOne := append(append([]model.Tag(nil), fifty...), model.Tag{Key: "one-more"})

	ctx := t.Context()
	const bad = http.StatusBadRequest
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"CreateVpc without CIDR", func() error { _, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{}); return err }, "MissingParameter"},
		{"CreateVpc CIDR not a CIDR", func() error { _, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "10.0.0.0"}); return err }, "InvalidParameterValue"},
		{"CreateVpc garbage CIDR", func() error { _, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "foo/16"}); return err }, "InvalidParameterValue"},
		{"CreateVpc IPv6 CIDR", func() error { _, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "fd00::/56"}); return err }, "InvalidParameterValue"},
		{"CreateVpc /8", func() error {
			_, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "10.0.0.0/8"})
			return err
		}, "InvalidVpc.Range"},
		{"CreateVpc /29", func() error {
			_, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "10.0.0.0/29"})
			return err
		}, "InvalidVpc.Range"},
		{"CreateVpc host tenancy", func() error {
			_, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "10.0.0.0/16", InstanceTenancy: "host"})
			return err
		}, "InvalidParameterValue"},
		{"CreateVpc unknown tenancy", func() error {
			_, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "10.0.0.0/16", InstanceTenancy: "shared"})
			return err
		}, "InvalidParameterValue"},
		{"CreateVpc IPv6 requested", func() error {
			_, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "10.0.0.0/16", AmazonProvidedIpv6CidrBlock: true})
			return err
		}, "UnsupportedOperation"},
		{"CreateVpc tag spec for a subnet", func() error {
			_, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "10.0.0.0/16", TagSpecs: []TagSpec{{ResourceType: "subnet", Tags: []model.Tag{{Key: "a"}}}}})
			return err
		}, "InvalidParameterValue"},
		{"CreateVpc tag spec without type", func() error {
			_, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "10.0.0.0/16", TagSpecs: []TagSpec{{Tags: []model.Tag{{Key: "a"}}}}})
			return err
		}, "InvalidParameter"},
		{"CreateVpc tag spec without tags", func() error {
			_, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "10.0.0.0/16", TagSpecs: []TagSpec{{ResourceType: "vpc"}}})
			return err
		}, "InvalidTagKey.Malformed"},
		{"CreateVpc aws: tag", func() error {
			_, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "10.0.0.0/16", TagSpecs: []TagSpec{{ResourceType: "vpc", Tags: []model.Tag{{Key: "aws:x"}}}}})
			return err
		}, "InvalidParameterValue"},
		{"CreateVpc 51 tags", func() error {
			_, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "10.0.0.0/16", TagSpecs: []TagSpec{{ResourceType: "vpc", Tags: fiftyOne}}})
			return err
		}, "TagLimitExceeded"},
		{"CreateVpc DryRun with a bad CIDR", func() error {
			_, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "10.0.0.0/8", DryRun: true})
			return err
		}, "InvalidVpc.Range"},
		{"DescribeVpcs malformed id", func() error {
			_, err := s.DescribeVpcs(ctx, netAcctA, DescribeVpcsInput{VpcIDs: []string{"vpc-xyz"}})
			return err
		}, "InvalidVpcID.Malformed"},
		{"DescribeVpcs unknown id", func() error {
			_, err := s.DescribeVpcs(ctx, netAcctA, DescribeVpcsInput{VpcIDs: []string{vpcA.ID, "vpc-0123456789abcdef0"}})
			return err
		}, "InvalidVpcID.NotFound"},
		{"DescribeVpcs other account's id", func() error {
			_, err := s.DescribeVpcs(ctx, netAcctA, DescribeVpcsInput{VpcIDs: []string{vpcB.ID}})
			return err
		}, "InvalidVpcID.NotFound"},
		{"DescribeVpcs ids with MaxResults", func() error {
			_, err := s.DescribeVpcs(ctx, netAcctA, DescribeVpcsInput{VpcIDs: []string{vpcA.ID}, Page: Page{MaxResults: 5}})
			return err
		}, "InvalidParameterCombination"},
		{"DescribeVpcs MaxResults 4", func() error {
			_, err := s.DescribeVpcs(ctx, netAcctA, DescribeVpcsInput{Page: Page{MaxResults: 4}})
			return err
		}, "InvalidParameterValue"},
		{"DescribeVpcs unknown filter", func() error {
			_, err := s.DescribeVpcs(ctx, netAcctA, DescribeVpcsInput{Filters: []Filter{{Name: "vpc-name", Values: []string{"x"}}}})
			return err
		}, "InvalidParameterValue"},
		{"DescribeVpcs bad NextToken", func() error {
			_, err := s.DescribeVpcs(ctx, netAcctA, DescribeVpcsInput{Page: Page{NextToken: "!!"}})
			return err
		}, "InvalidParameterValue"},
		{"DeleteVpc with a subnet", func() error { return s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: vpcA.ID}) }, "DependencyViolation"},
		{"DeleteVpc with a subnet, DryRun", func() error { return s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: vpcA.ID, DryRun: true}) }, "DependencyViolation"},
		{"DeleteVpc other account's", func() error { return s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: vpcB.ID}) }, "InvalidVpcID.NotFound"},
		{"DeleteVpc malformed", func() error { return s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: "vpc-1"}) }, "InvalidVpcID.Malformed"},
		{"DeleteVpc without id", func() error { return s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{}) }, "MissingParameter"},
		{"ModifyVpcAttribute two attributes", func() error {
			return s.ModifyVpcAttribute(ctx, netAcctA, ModifyVpcAttributeInput{VpcID: vpcA.ID, EnableDnsSupport: new(true), EnableDnsHostnames: new(true)})
		}, "InvalidParameterCombination"},
		{"ModifyVpcAttribute no attribute", func() error { return s.ModifyVpcAttribute(ctx, netAcctA, ModifyVpcAttributeInput{VpcID: vpcA.ID}) }, "MissingParameter"},
		{"ModifyVpcAttribute hostnames without DNS support", func() error {
			return s.ModifyVpcAttribute(ctx, netAcctA, ModifyVpcAttributeInput{VpcID: noDNS.ID, EnableDnsHostnames: new(true)})
		}, "InvalidParameterValue"},
		{"ModifyVpcAttribute DNS support off under hostnames", func() error {
			return s.ModifyVpcAttribute(ctx, netAcctA, ModifyVpcAttributeInput{VpcID: withHostnames.ID, EnableDnsSupport: new(false)})
		}, "InvalidParameterValue"},
		{"ModifyVpcAttribute other account's", func() error {
			return s.ModifyVpcAttribute(ctx, netAcctA, ModifyVpcAttributeInput{VpcID: vpcB.ID, EnableDnsHostnames: new(true)})
		}, "InvalidVpcID.NotFound"},
		{"DescribeVpcAttribute unknown attribute", func() error {
			_, err := s.DescribeVpcAttribute(ctx, netAcctA, DescribeVpcAttributeInput{VpcID: vpcA.ID, Attribute: "enableDns"})
			return err
		}, "InvalidParameterValue"},
		{"DescribeVpcAttribute without attribute", func() error {
			_, err := s.DescribeVpcAttribute(ctx, netAcctA, DescribeVpcAttributeInput{VpcID: vpcA.ID})
			return err
		}, "MissingParameter"},
		{"CreateSubnet outside the VPC", func() error {
			_, err := s.CreateSubnet(ctx, netAcctA, CreateSubnetInput{VpcID: vpcA.ID, CidrBlock: "10.1.0.0/24"})
			return err
		}, "InvalidSubnet.Range"},
		{"CreateSubnet larger than the VPC", func() error {
			_, err := s.CreateSubnet(ctx, netAcctA, CreateSubnetInput{VpcID: vpcA.ID, CidrBlock: "10.0.0.0/15"})
			return err
		}, "InvalidSubnet.Range"},
		{"CreateSubnet /29", func() error {
			_, err := s.CreateSubnet(ctx, netAcctA, CreateSubnetInput{VpcID: vpcA.ID, CidrBlock: "10.0.2.0/29"})
			return err
		}, "InvalidSubnet.Range"},
		{"CreateSubnet overlapping", func() error {
			_, err := s.CreateSubnet(ctx, netAcctA, CreateSubnetInput{VpcID: vpcA.ID, CidrBlock: "10.0.1.128/25"})
			return err
		}, "InvalidSubnet.Conflict"},
		{"CreateSubnet covering another", func() error {
			_, err := s.CreateSubnet(ctx, netAcctA, CreateSubnetInput{VpcID: vpcA.ID, CidrBlock: "10.0.0.0/20"})
			return err
		}, "InvalidSubnet.Conflict"},
		{"CreateSubnet bad CIDR", func() error {
			_, err := s.CreateSubnet(ctx, netAcctA, CreateSubnetInput{VpcID: vpcA.ID, CidrBlock: "10.0.300.0/24"})
			return err
		}, "InvalidParameterValue"},
		{"CreateSubnet unknown zone", func() error {
			_, err := s.CreateSubnet(ctx, netAcctA, CreateSubnetInput{VpcID: vpcA.ID, CidrBlock: "10.0.2.0/24", AvailabilityZone: "us-east-1z"})
			return err
		}, "InvalidParameterValue"},
		{"CreateSubnet unknown zone id", func() error {
			_, err := s.CreateSubnet(ctx, netAcctA, CreateSubnetInput{VpcID: vpcA.ID, CidrBlock: "10.0.2.0/24", AvailabilityZoneID: "use1-az9"})
			return err
		}, "InvalidParameterValue"},
		{"CreateSubnet zone and zone id", func() error {
			_, err := s.CreateSubnet(ctx, netAcctA, CreateSubnetInput{VpcID: vpcA.ID, CidrBlock: "10.0.2.0/24", AvailabilityZone: "us-east-1a", AvailabilityZoneID: "use1-az1"})
			return err
		}, "InvalidParameterCombination"},
		{"CreateSubnet in another account's VPC", func() error {
			_, err := s.CreateSubnet(ctx, netAcctA, CreateSubnetInput{VpcID: vpcB.ID, CidrBlock: "10.0.2.0/24"})
			return err
		}, "InvalidVpcID.NotFound"},
		{"CreateSubnet malformed VPC id", func() error {
			_, err := s.CreateSubnet(ctx, netAcctA, CreateSubnetInput{VpcID: "vpc-XYZ", CidrBlock: "10.0.2.0/24"})
			return err
		}, "InvalidVpcID.Malformed"},
		{"CreateSubnet tag spec for a vpc", func() error {
			_, err := s.CreateSubnet(ctx, netAcctA, CreateSubnetInput{VpcID: vpcA.ID, CidrBlock: "10.0.2.0/24", TagSpecs: []TagSpec{{ResourceType: "vpc", Tags: []model.Tag{{Key: "a"}}}}})
			return err
		}, "InvalidParameterValue"},
		{"DescribeSubnets other account's id", func() error {
			_, err := s.DescribeSubnets(ctx, netAcctA, DescribeSubnetsInput{SubnetIDs: []string{subB.ID}})
			return err
		}, "InvalidSubnetID.NotFound"},
		{"DescribeSubnets malformed id", func() error {
			_, err := s.DescribeSubnets(ctx, netAcctA, DescribeSubnetsInput{SubnetIDs: []string{"subnet-1"}})
			return err
		}, "InvalidSubnetID.Malformed"},
		{"DescribeSubnets unknown filter", func() error {
			_, err := s.DescribeSubnets(ctx, netAcctA, DescribeSubnetsInput{Filters: []Filter{{Name: "zone", Values: []string{"x"}}}})
			return err
		}, "InvalidParameterValue"},
		{"DeleteSubnet other account's", func() error { return s.DeleteSubnet(ctx, netAcctA, DeleteSubnetInput{SubnetID: subB.ID}) }, "InvalidSubnetID.NotFound"},
		{"CreateTags unknown prefix", func() error {
			return s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{"foo-12345678"}, Tags: []model.Tag{{Key: "a"}}})
		}, "InvalidID"},
		{"CreateTags malformed id", func() error {
			return s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{"vpc-zz"}, Tags: []model.Tag{{Key: "a"}}})
		}, "InvalidID"},
		{"CreateTags other account's VPC", func() error {
			return s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{vpcA.ID, vpcB.ID}, Tags: []model.Tag{{Key: "a"}}})
		}, "InvalidVpcID.NotFound"},
		{"CreateTags other account's subnet", func() error {
			return s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{subB.ID}, Tags: []model.Tag{{Key: "a"}}})
		}, "InvalidSubnetID.NotFound"},
		{"CreateTags without tags", func() error { return s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{vpcA.ID}}) }, "InvalidParameterValue"},
		{"CreateTags without resources", func() error { return s.CreateTags(ctx, netAcctA, CreateTagsInput{Tags: []model.Tag{{Key: "a"}}}) }, "MissingParameter"},
		{"CreateTags empty key", func() error {
			return s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{vpcA.ID}, Tags: []model.Tag{{Key: ""}}})
		}, "InvalidParameterValue"},
		{"CreateTags 129-character key", func() error {
			return s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{vpcA.ID}, Tags: []model.Tag{{Key: strings.Repeat("k", 129)}}})
		}, "InvalidParameterValue"},
		{"CreateTags 257-character value", func() error {
			return s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{vpcA.ID}, Tags: []model.Tag{{Key: "k", Value: strings.Repeat("v", 257)}}})
		}, "InvalidParameterValue"},
		{"CreateTags aws: key", func() error {
			return s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{vpcA.ID}, Tags: []model.Tag{{Key: "aws:cloudformation:stack-name"}}})
		}, "InvalidParameterValue"},
		{"CreateTags 51st tag", func() error {
			return s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{vpcA.ID, full.ID}, Tags: []model.Tag{{Key: "new"}}})
		}, "TagLimitExceeded"},
		{"DeleteTags other account's", func() error { return s.DeleteTags(ctx, netAcctA, DeleteTagsInput{ResourceIDs: []string{vpcB.ID}}) }, "InvalidVpcID.NotFound"},
		{"DeleteTags aws: key", func() error {
			return s.DeleteTags(ctx, netAcctA, DeleteTagsInput{ResourceIDs: []string{subA.ID}, Tags: []TagDeletion{{Key: "aws:x"}}})
		}, "InvalidParameterValue"},
		{"DescribeTags MaxResults 4", func() error {
			_, err := s.DescribeTags(ctx, netAcctA, DescribeTagsInput{Page: Page{MaxResults: 4}})
			return err
		}, "InvalidParameterValue"},
		{"DescribeTags unknown filter", func() error {
			_, err := s.DescribeTags(ctx, netAcctA, DescribeTagsInput{Filters: []Filter{{Name: "tag-key", Values: []string{"x"}}}})
			return err
		}, "InvalidParameterValue"},
		{"DescribeRegions unknown region", func() error {
			_, err := s.DescribeRegions(ctx, netAcctA, DescribeRegionsInput{RegionNames: []string{"eu-west-1"}})
			return err
		}, "InvalidParameterValue"},
		{"DescribeRegions tag filter", func() error {
			_, err := s.DescribeRegions(ctx, netAcctA, DescribeRegionsInput{Filters: []Filter{{Name: "tag:Name", Values: []string{"x"}}}})
			return err
		}, "InvalidParameterValue"},
		{"DescribeAvailabilityZones unknown zone", func() error {
			_, err := s.DescribeAvailabilityZones(ctx, netAcctA, DescribeAvailabilityZonesInput{ZoneNames: []string{"us-east-1z"}})
			return err
		}, "InvalidParameterValue"},
		{"DescribeAvailabilityZones unknown zone id", func() error {
			_, err := s.DescribeAvailabilityZones(ctx, netAcctA, DescribeAvailabilityZonesInput{ZoneIDs: []string{"use1-az9"}})
			return err
		}, "InvalidParameterValue"},
		{"DescribeAccountAttributes unknown", func() error {
			_, err := s.DescribeAccountAttributes(ctx, netAcctA, DescribeAccountAttributesInput{AttributeNames: []string{"max-cats"}})
			return err
		}, "InvalidParameterValue"},
	}
	if len(tests) < 25 {
		t.Fatalf("only %d bad inputs", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := netRev(t, st)
			wantNetErr(t, tt.call(), tt.code, bad)
			if after := netRev(t, st); after != before {
				t.Errorf("store revision %d → %d: a failed call wrote", before, after)
			}
		})
	}
}

func TestDryRun(t *testing.T) {
	s, st := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.0.0/24")
	empty := mustVpc(t, s, netAcctA, "10.1.0.0/16")
	calls := []struct {
		name string
		call func() error
	}{
		{"CreateVpc", func() error {
			_, err := s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "10.2.0.0/16", DryRun: true})
			return err
		}},
		{"DeleteVpc", func() error { return s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: empty.ID, DryRun: true}) }},
		{"DescribeVpcs", func() error { _, err := s.DescribeVpcs(ctx, netAcctA, DescribeVpcsInput{DryRun: true}); return err }},
		{"DescribeVpcAttribute", func() error {
			_, err := s.DescribeVpcAttribute(ctx, netAcctA, DescribeVpcAttributeInput{VpcID: vpc.ID, Attribute: AttrEnableDnsSupport, DryRun: true})
			return err
		}},
		{"CreateSubnet", func() error {
			_, err := s.CreateSubnet(ctx, netAcctA, CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.0.1.0/24", DryRun: true})
			return err
		}},
		{"DescribeSubnets", func() error {
			_, err := s.DescribeSubnets(ctx, netAcctA, DescribeSubnetsInput{DryRun: true})
			return err
		}},
		{"DeleteSubnet", func() error { return s.DeleteSubnet(ctx, netAcctA, DeleteSubnetInput{SubnetID: sn.ID, DryRun: true}) }},
		{"CreateTags", func() error {
			return s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{vpc.ID}, Tags: []model.Tag{{Key: "a"}}, DryRun: true})
		}},
		{"DeleteTags", func() error {
			return s.DeleteTags(ctx, netAcctA, DeleteTagsInput{ResourceIDs: []string{vpc.ID}, DryRun: true})
		}},
		{"DescribeTags", func() error { _, err := s.DescribeTags(ctx, netAcctA, DescribeTagsInput{DryRun: true}); return err }},
		{"DescribeRegions", func() error {
			_, err := s.DescribeRegions(ctx, netAcctA, DescribeRegionsInput{DryRun: true})
			return err
		}},
		{"DescribeAvailabilityZones", func() error {
			_, err := s.DescribeAvailabilityZones(ctx, netAcctA, DescribeAvailabilityZonesInput{DryRun: true})
			return err
		}},
		{"DescribeAccountAttributes", func() error {
			_, err := s.DescribeAccountAttributes(ctx, netAcctA, DescribeAccountAttributesInput{DryRun: true})
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			before := netRev(t, st)
			wantNetErr(t, c.call(), "DryRunOperation", http.StatusPreconditionFailed)
			if after := netRev(t, st); after != before {
				t.Errorf("store revision %d → %d: a dry run wrote", before, after)
			}
		})
	}
	got := describeVpcIDs(t, s, netAcctA, DescribeVpcsInput{})
	if len(got) != 2 {
		t.Errorf("after dry runs DescribeVpcs = %v, want the 2 VPCs", got)
	}
}

func TestAccountIsolation(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	a := mustVpc(t, s, netAcctA, "10.0.0.0/16", model.Tag{Key: "Name", Value: "a"})
	b := mustVpc(t, s, netAcctB, "10.0.0.0/16", model.Tag{Key: "Name", Value: "b"})
	sa := mustSubnet(t, s, netAcctA, a.ID, "10.0.1.0/24")
	sb := mustSubnet(t, s, netAcctB, b.ID, "10.0.1.0/24") // same CIDRs: VPCs are separate worlds

	if diff := cmp.Diff([]string{a.ID}, describeVpcIDs(t, s, netAcctA, DescribeVpcsInput{})); diff != "" {
		t.Errorf("DescribeVpcs(A) mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{b.ID}, describeVpcIDs(t, s, netAcctB, DescribeVpcsInput{})); diff != "" {
		t.Errorf("DescribeVpcs(B) mismatch (-want +got):\n%s", diff)
	}
	subs, err := s.DescribeSubnets(ctx, netAcctB, DescribeSubnetsInput{})
	if err != nil || len(subs.Subnets) != 1 || subs.Subnets[0].ID != sb.ID {
		t.Errorf("DescribeSubnets(B) = %+v, %v; want only %s", subs, err, sb.ID)
	}
	tags, err := s.DescribeTags(ctx, netAcctA, DescribeTagsInput{})
	if err != nil {
		t.Fatal(err)
	}
	want := []TagDescription{{ResourceID: a.ID, ResourceType: "vpc", Key: "Name", Value: "a"}}
	if diff := cmp.Diff(want, tags.Tags); diff != "" {
		t.Errorf("DescribeTags(A) mismatch (-want +got):\n%s", diff)
	}

	_, err = s.DescribeVpcs(ctx, netAcctA, DescribeVpcsInput{VpcIDs: []string{b.ID}})
	wantNetErr(t, err, "InvalidVpcID.NotFound", 400)
	wantNetErr(t, s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: b.ID}), "InvalidVpcID.NotFound", 400)
	wantNetErr(t, s.DeleteSubnet(ctx, netAcctA, DeleteSubnetInput{SubnetID: sb.ID}), "InvalidSubnetID.NotFound", 400)
	wantNetErr(t, s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{b.ID}, Tags: []model.Tag{{Key: "x"}}}), "InvalidVpcID.NotFound", 400)
	wantNetErr(t, s.DeleteTags(ctx, netAcctA, DeleteTagsInput{ResourceIDs: []string{sb.ID}}), "InvalidSubnetID.NotFound", 400)
	_, err = s.DescribeVpcAttribute(ctx, netAcctA, DescribeVpcAttributeInput{VpcID: b.ID, Attribute: AttrEnableDnsSupport})
	wantNetErr(t, err, "InvalidVpcID.NotFound", 400)

	// A's own deletes work and leave B untouched.
	if err := s.DeleteSubnet(ctx, netAcctA, DeleteSubnetInput{SubnetID: sa.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: a.ID}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{b.ID}, describeVpcIDs(t, s, netAcctB, DescribeVpcsInput{VpcIDs: []string{b.ID}})); diff != "" {
		t.Errorf("DescribeVpcs(B) after A's delete mismatch (-want +got):\n%s", diff)
	}
}

func TestDescribeVpcsFilters(t *testing.T) {
	s, _ := newNetTestService(t)
	web := mustVpc(t, s, netAcctA, "10.0.0.0/16", model.Tag{Key: "Name", Value: "web-prod"}, model.Tag{Key: "Team", Value: "a"})
	db := mustVpc(t, s, netAcctA, "10.1.0.0/16", model.Tag{Key: "Name", Value: "db-prod"})
	dev := mustVpc(t, s, netAcctA, "192.168.0.0/24", model.Tag{Key: "Name", Value: "web-dev"})
	if err := s.MarkAvailable(t.Context(), []Ref{{Owner: netAcctA, ID: dev.ID}}, nil); err != nil {
		t.Fatal(err)
	}
	sorted := func(ids ...string) []string {
		out := append([]string(nil), ids...)
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				if out[j] < out[i] {
					out[i], out[j] = out[j], out[i]
				}
			}
		}
		return out
	}
	f := func(name string, values ...string) Filter { return Filter{Name: name, Values: values} }
	tests := []struct {
		name    string
		filters []Filter
		want    []string
	}{
		{"none", nil, sorted(web.ID, db.ID, dev.ID)},
		{"tag:Name exact", []Filter{f("tag:Name", "db-prod")}, []string{db.ID}},
		{"tag:Name wildcard", []Filter{f("tag:Name", "web-*")}, sorted(web.ID, dev.ID)},
		{"tag:Name ? wildcard", []Filter{f("tag:Name", "???-prod")}, []string{web.ID}},
		{"values are OR'ed", []Filter{f("tag:Name", "db-prod", "web-dev")}, sorted(db.ID, dev.ID)},
		{"filters are AND'ed", []Filter{f("tag:Name", "*-prod"), f("cidr", "10.1.0.0/16")}, []string{db.ID}},
		{"tag-key", []Filter{f("tag-key", "Team")}, []string{web.ID}},
		{"tag-value", []Filter{f("tag-value", "a")}, []string{web.ID}},
		{"cidr", []Filter{f("cidr", "192.168.0.0/24")}, []string{dev.ID}},
		{"cidr-block-association.cidr-block", []Filter{f("cidr-block-association.cidr-block", "10.*")}, sorted(web.ID, db.ID)},
		{"cidr-block-association.state", []Filter{f("cidr-block-association.state", "associated")}, sorted(web.ID, db.ID, dev.ID)},
		{"cidr-block-association.association-id", []Filter{f("cidr-block-association.association-id", db.CidrAssociationID)}, []string{db.ID}},
		{"state", []Filter{f("state", "available")}, []string{dev.ID}},
		{"state pending", []Filter{f("state", "pending")}, sorted(web.ID, db.ID)},
		{"is-default", []Filter{f("is-default", "false")}, sorted(web.ID, db.ID, dev.ID)},
		{"is-default true", []Filter{f("is-default", "true")}, []string{}},
		{"owner-id", []Filter{f("owner-id", netAcctA)}, sorted(web.ID, db.ID, dev.ID)},
		{"vpc-id", []Filter{f("vpc-id", web.ID)}, []string{web.ID}},
		{"dhcp-options-id", []Filter{f("dhcp-options-id", "dopt-*")}, sorted(web.ID, db.ID, dev.ID)},
		{"ipv6 association matches nothing", []Filter{f("ipv6-cidr-block-association.state", "*")}, []string{}},
		{"filter with ids", nil, nil},
	}
	for _, tt := range tests[:len(tests)-1] {
		t.Run(tt.name, func(t *testing.T) {
			got := describeVpcIDs(t, s, netAcctA, DescribeVpcsInput{Filters: tt.filters})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DescribeVpcs(%v) mismatch (-want +got):\n%s", tt.filters, diff)
			}
		})
	}
	got := describeVpcIDs(t, s, netAcctA, DescribeVpcsInput{VpcIDs: []string{web.ID, db.ID}, Filters: []Filter{f("tag:Name", "web-*")}})
	if diff := cmp.Diff([]string{web.ID}, got); diff != "" {
		t.Errorf("DescribeVpcs(ids and filter) mismatch (-want +got):\n%s", diff)
	}
}

func TestDescribeVpcsPaging(t *testing.T) {
	s, _ := newNetTestService(t)
	var all []string
	for i := range 12 {
		all = append(all, mustVpc(t, s, netAcctA, fmt.Sprintf("10.%d.0.0/16", i)).ID)
	}
	mustVpc(t, s, netAcctB, "10.0.0.0/16") // another account's VPC never shows up
	seen := map[string]bool{}
	var sizes []int
	token := ""
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("paging does not end")
		}
		out, err := s.DescribeVpcs(t.Context(), netAcctA, DescribeVpcsInput{Page: Page{MaxResults: 5, NextToken: token}})
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(out.Vpcs))
		for _, v := range out.Vpcs {
			if seen[v.ID] {
				t.Errorf("page %d repeats %s", page, v.ID)
			}
			seen[v.ID] = true
		}
		if token = out.NextToken; token == "" {
			break
		}
	}
	if diff := cmp.Diff([]int{5, 5, 2}, sizes); diff != "" {
		t.Errorf("page sizes mismatch (-want +got):\n%s", diff)
	}
	if len(seen) != len(all) {
		t.Errorf("saw %d VPCs over all pages, want %d", len(seen), len(all))
	}
	for _, id := range all {
		if !seen[id] {
			t.Errorf("%s never returned", id)
		}
	}
}

func TestDeleteVpc(t *testing.T) {
	s, st := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.0.0/24")
	err := s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: vpc.ID})
	wantNetErr(t, err, "DependencyViolation", 400)
	if want := fmt.Sprintf("The vpc '%s' has dependencies and cannot be deleted.", vpc.ID); err.(*awsapi.Error).Message != want {
		t.Errorf("message = %q, want %q", err.(*awsapi.Error).Message, want)
	}
	if err := s.DeleteSubnet(ctx, netAcctA, DeleteSubnetInput{SubnetID: sn.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: vpc.ID}); err != nil {
		t.Fatal(err)
	}
	_, err = s.DescribeVpcs(ctx, netAcctA, DescribeVpcsInput{VpcIDs: []string{vpc.ID}})
	wantNetErr(t, err, "InvalidVpcID.NotFound", 400)
	wantNetErr(t, s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: vpc.ID}), "InvalidVpcID.NotFound", 400)
	// Nothing of the VPC is left behind: no default group, no ACL.
	for _, kind := range []string{store.KindVpc, store.KindSubnet, store.KindSecurityGroup, store.KindNetworkAcl} {
		kvs, err := st.List(ctx, store.AccountPrefix(kind, netAcctA))
		if err != nil {
			t.Fatal(err)
		}
		if len(kvs) != 0 {
			t.Errorf("%d %s records left after DeleteVpc", len(kvs), kind)
		}
	}
}

func TestNotFoundMessages(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	_, err := s.DescribeVpcs(ctx, netAcctA, DescribeVpcsInput{VpcIDs: []string{"vpc-0123456789abcdef0"}})
	wantMessage(t, err, "The vpc ID 'vpc-0123456789abcdef0' does not exist")
	_, err = s.DescribeVpcs(ctx, netAcctA, DescribeVpcsInput{VpcIDs: []string{"vpc-0123456789abcdef0", "vpc-12345678", "vpc-0123456789abcdef0"}})
	wantMessage(t, err, "The vpc IDs 'vpc-0123456789abcdef0, vpc-12345678' do not exist")
	_, err = s.DescribeVpcs(ctx, netAcctA, DescribeVpcsInput{VpcIDs: []string{"vpc-nope"}})
	wantMessage(t, err, `Invalid id: "vpc-nope" (expecting "vpc-...")`)
	_, err = s.DescribeSubnets(ctx, netAcctA, DescribeSubnetsInput{SubnetIDs: []string{"subnet-12345678"}})
	wantMessage(t, err, "The subnet ID 'subnet-12345678' does not exist")
	err = s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{"i-zz"}, Tags: []model.Tag{{Key: "a"}}})
	wantMessage(t, err, "The ID 'i-zz' is not valid")
	_, err = s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "10.0.0.0/8"})
	wantMessage(t, err, "The CIDR '10.0.0.0/8' is invalid.")
	_, err = s.CreateVpc(ctx, netAcctA, CreateVpcInput{CidrBlock: "bogus"})
	wantMessage(t, err, "Value (bogus) for parameter cidrBlock is invalid. This is not a valid CIDR block.")
	err = s.ModifyVpcAttribute(ctx, netAcctA, ModifyVpcAttributeInput{VpcID: "vpc-12345678", EnableDnsSupport: new(true), EnableDnsHostnames: new(false)})
	wantMessage(t, err, "Fields for multiple attribute types specified: enableDnsHostnames, enableDnsSupport")
}

func wantMessage(t *testing.T, err error, msg string) {
	t.Helper()
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want AWS error %q", err, msg)
	}
	if ae.Message != msg {
		t.Errorf("message = %q, want %q", ae.Message, msg)
	}
}

func TestVpcAttributes(t *testing.T) {
	s, st := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	get := func(attr string) bool {
		t.Helper()
		a, err := s.DescribeVpcAttribute(ctx, netAcctA, DescribeVpcAttributeInput{VpcID: vpc.ID, Attribute: attr})
		if err != nil {
			t.Fatal(err)
		}
		if a.VpcID != vpc.ID || a.Attribute != attr {
			t.Errorf("DescribeVpcAttribute = %+v", a)
		}
		return a.Value
	}
	if !get(AttrEnableDnsSupport) || get(AttrEnableDnsHostnames) || get(AttrEnableNetworkAddressUsageMetrics) {
		t.Fatal("defaults: want DNS support on, hostnames and NAU metrics off")
	}
	for _, in := range []ModifyVpcAttributeInput{
		{VpcID: vpc.ID, EnableDnsHostnames: new(true)},
		{VpcID: vpc.ID, EnableNetworkAddressUsageMetrics: new(true)},
	} {
		if err := s.ModifyVpcAttribute(ctx, netAcctA, in); err != nil {
			t.Fatal(err)
		}
	}
	if !get(AttrEnableDnsHostnames) || !get(AttrEnableNetworkAddressUsageMetrics) {
		t.Error("attributes not set")
	}
	before := netRev(t, st)
	if err := s.ModifyVpcAttribute(ctx, netAcctA, ModifyVpcAttributeInput{VpcID: vpc.ID, EnableDnsHostnames: new(true)}); err != nil {
		t.Fatal(err)
	}
	if netRev(t, st) != before {
		t.Error("setting an attribute to its value wrote")
	}
	if err := s.ModifyVpcAttribute(ctx, netAcctA, ModifyVpcAttributeInput{VpcID: vpc.ID, EnableDnsHostnames: new(false)}); err != nil {
		t.Fatal(err)
	}
	if err := s.ModifyVpcAttribute(ctx, netAcctA, ModifyVpcAttributeInput{VpcID: vpc.ID, EnableDnsSupport: new(false)}); err != nil {
		t.Fatal(err)
	}
	if get(AttrEnableDnsSupport) || get(AttrEnableDnsHostnames) {
		t.Error("DNS support and hostnames should now be off")
	}
}

func TestControllerAPI(t *testing.T) {
	s, st := newNetTestService(t)
	ctx := t.Context()
	a := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	b := mustVpc(t, s, netAcctB, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctB, b.ID, "10.0.0.0/24")

	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Vpcs) != 2 || len(snap.Subnets) != 1 || snap.Rev != netRev(t, st) {
		t.Fatalf("Snapshot = %d vpcs, %d subnets, rev %d", len(snap.Vpcs), len(snap.Subnets), snap.Rev)
	}
	refs := []Ref{{Owner: netAcctA, ID: a.ID}, {Owner: netAcctB, ID: b.ID}}
	subRefs := []Ref{{Owner: netAcctB, ID: sn.ID}}
	if err := s.MarkAvailable(ctx, refs, subRefs); err != nil {
		t.Fatal(err)
	}
	before := netRev(t, st)
	if err := s.MarkAvailable(ctx, refs, subRefs); err != nil {
		t.Fatal(err)
	}
	if netRev(t, st) != before {
		t.Error("marking what is already available wrote")
	}
	vpcs, err := s.ListAllVpcs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vpcs {
		if v.State != model.StateAvailable {
			t.Errorf("vpc %s state %s, want available", v.ID, v.State)
		}
	}
	subs, err := s.ListAllSubnets(ctx)
	if err != nil || len(subs) != 1 || subs[0].State != model.StateAvailable || subs[0].BridgeName != model.LinkName("br", sn.ID) {
		t.Errorf("ListAllSubnets = %+v, %v", subs, err)
	}
	// A resource deleted while the controller worked, or named under the
	// wrong owner, is not an error and changes nothing.
	before = netRev(t, st)
	if err := s.MarkAvailable(ctx, []Ref{{Owner: netAcctA, ID: "vpc-0123456789abcdef0"}, {Owner: netAcctB, ID: a.ID}}, []Ref{{Owner: netAcctA, ID: "subnet-0123456789abcdef0"}}); err != nil {
		t.Errorf("MarkAvailable(deleted) = %v, want nil", err)
	}
	if netRev(t, st) != before {
		t.Error("MarkAvailable of missing resources wrote")
	}
}
