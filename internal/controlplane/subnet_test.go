package controlplane

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/model"
)

func TestCreateSubnet(t *testing.T) {
	s, _ := newNetTestService(t)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn, err := s.CreateSubnet(t.Context(), netAcctA, CreateSubnetInput{
		VpcID:            vpc.ID,
		CidrBlock:        "10.0.1.77/24",
		AvailabilityZone: "us-east-1b",
		TagSpecs:         []TagSpec{{ResourceType: "subnet", Tags: []model.Tag{{Key: "Name", Value: "app"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !model.ValidID("subnet", sn.ID) {
		t.Errorf("SubnetId = %q", sn.ID)
	}
	want := Subnet{
		Subnet: model.Subnet{
			ID: sn.ID, OwnerID: netAcctA, VpcID: vpc.ID, CidrBlock: "10.0.1.0/24",
			AvailabilityZone: "us-east-1b", AvailabilityZoneID: "use1-az2", State: "pending",
			BridgeName: model.LinkName("br", sn.ID), Tags: []model.Tag{{Key: "Name", Value: "app"}}, Created: sn.Created,
		},
		AvailableIPAddressCount: 251,
		SubnetArn:               fmt.Sprintf("arn:aws:ec2:us-east-1:%s:subnet/%s", netAcctA, sn.ID),
		HostnameType:            "ip-name",
	}
	if diff := cmp.Diff(want, sn); diff != "" {
		t.Errorf("CreateSubnet() mismatch (-want +got):\n%s", diff)
	}
	byID, err := s.CreateSubnet(t.Context(), netAcctA, CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.0.2.0/24", AvailabilityZoneID: "use1-az3"})
	if err != nil {
		t.Fatal(err)
	}
	if byID.AvailabilityZone != "us-east-1c" || byID.AvailabilityZoneID != "use1-az3" {
		t.Errorf("zone by id = %s/%s, want us-east-1c/use1-az3", byID.AvailabilityZone, byID.AvailabilityZoneID)
	}
}

func TestAvailableIPAddressCount(t *testing.T) {
	s, _ := newNetTestService(t)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	tests := []struct {
		cidr string
		want int32
	}{
		{"10.0.1.0/24", 251},
		{"10.0.2.0/28", 11},
		{"10.0.4.0/22", 1019},
		{"10.0.128.0/17", 32763},
	}
	for _, tt := range tests {
		if got := mustSubnet(t, s, netAcctA, vpc.ID, tt.cidr).AvailableIPAddressCount; got != tt.want {
			t.Errorf("AvailableIpAddressCount(%s) = %d, want %d", tt.cidr, got, tt.want)
		}
	}
	whole := mustVpc(t, s, netAcctA, "10.1.0.0/16")
	if got := mustSubnet(t, s, netAcctA, whole.ID, "10.1.0.0/16").AvailableIPAddressCount; got != 65531 {
		t.Errorf("AvailableIpAddressCount(/16) = %d, want 65531", got)
	}
}

func TestSubnetZoneSpread(t *testing.T) {
	s, _ := newNetTestService(t)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	var got []string
	for i := range 4 {
		got = append(got, mustSubnet(t, s, netAcctA, vpc.ID, fmt.Sprintf("10.0.%d.0/24", i)).AvailabilityZone)
	}
	want := []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("zones picked mismatch (-want +got):\n%s", diff)
	}
}

func TestSubnetRangeAndOverlap(t *testing.T) {
	s, _ := newNetTestService(t)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	mustSubnet(t, s, netAcctA, vpc.ID, "10.0.16.0/20")
	other := mustVpc(t, s, netAcctA, "10.1.0.0/16")
	mustSubnet(t, s, netAcctA, other.ID, "10.1.0.0/24")
	tests := []struct {
		cidr string
		code string // "" means success
	}{
		{"10.0.0.0/20", ""},                        // adjacent below
		{"10.0.32.0/28", ""},                       // adjacent above
		{"10.0.255.240/28", ""},                    // the VPC's last /28
		{"10.0.16.0/24", "InvalidSubnet.Conflict"}, // inside an existing one
		{"10.0.31.240/28", "InvalidSubnet.Conflict"},
		{"10.0.0.0/16", "InvalidSubnet.Conflict"}, // covers everything
		{"10.1.0.0/24", "InvalidSubnet.Range"},    // another VPC's range
		{"9.255.255.0/24", "InvalidSubnet.Range"},
		{"10.0.64.0/29", "InvalidSubnet.Range"},
		{"10.0.0.0/15", "InvalidSubnet.Range"},
	}
	for _, tt := range tests {
		t.Run(tt.cidr, func(t *testing.T) {
			_, err := s.CreateSubnet(t.Context(), netAcctA, CreateSubnetInput{VpcID: vpc.ID, CidrBlock: tt.cidr})
			if tt.code == "" {
				if err != nil {
					t.Fatalf("CreateSubnet(%s) = %v", tt.cidr, err)
				}
				return
			}
			wantNetErr(t, err, tt.code, 400)
		})
	}
	// The same CIDR in another account's VPC is fine: address spaces overlap freely.
	vb := mustVpc(t, s, netAcctB, "10.0.0.0/16")
	mustSubnet(t, s, netAcctB, vb.ID, "10.0.16.0/20")
}

func TestDescribeSubnets(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	v1 := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	v2 := mustVpc(t, s, netAcctA, "10.1.0.0/16")
	a := mustSubnet(t, s, netAcctA, v1.ID, "10.0.0.0/24") // us-east-1a
	b := mustSubnet(t, s, netAcctA, v1.ID, "10.0.1.0/28") // us-east-1b
	c := mustSubnet(t, s, netAcctA, v2.ID, "10.1.0.0/24") // us-east-1a
	if err := s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{b.ID}, Tags: []model.Tag{{Key: "Name", Value: "small"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkAvailable(ctx, nil, []Ref{{Owner: netAcctA, ID: c.ID}}); err != nil {
		t.Fatal(err)
	}
	ids := func(ss ...Subnet) []string {
		var out []string
		for _, sn := range ss {
			out = append(out, sn.ID)
		}
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				if out[j] < out[i] {
					out[i], out[j] = out[j], out[i]
				}
			}
		}
		return out
	}
	f := func(name string, values ...string) []Filter { return []Filter{{Name: name, Values: values}} }
	tests := []struct {
		name string
		in   DescribeSubnetsInput
		want []string
	}{
		{"all", DescribeSubnetsInput{}, ids(a, b, c)},
		{"by ids", DescribeSubnetsInput{SubnetIDs: []string{c.ID, a.ID}}, ids(a, c)},
		{"vpc-id", DescribeSubnetsInput{Filters: f("vpc-id", v1.ID)}, ids(a, b)},
		{"availability-zone", DescribeSubnetsInput{Filters: f("availability-zone", "us-east-1a")}, ids(a, c)},
		{"availabilityZone alias", DescribeSubnetsInput{Filters: f("availabilityZone", "us-east-1b")}, ids(b)},
		{"availability-zone-id", DescribeSubnetsInput{Filters: f("availability-zone-id", "use1-az2")}, ids(b)},
		{"cidr-block", DescribeSubnetsInput{Filters: f("cidr-block", "10.0.1.0/28")}, ids(b)},
		{"cidr alias", DescribeSubnetsInput{Filters: f("cidr", "10.1.*")}, ids(c)},
		{"cidrBlock alias", DescribeSubnetsInput{Filters: f("cidrBlock", "10.0.0.0/24")}, ids(a)},
		{"available-ip-address-count", DescribeSubnetsInput{Filters: f("available-ip-address-count", "11")}, ids(b)},
		{"state", DescribeSubnetsInput{Filters: f("state", "available")}, ids(c)},
		{"default-for-az", DescribeSubnetsInput{Filters: f("default-for-az", "false")}, ids(a, b, c)},
		{"tag:Name", DescribeSubnetsInput{Filters: f("tag:Name", "sm*")}, ids(b)},
		{"tag-key", DescribeSubnetsInput{Filters: f("tag-key", "Name")}, ids(b)},
		{"owner-id", DescribeSubnetsInput{Filters: f("owner-id", netAcctB)}, nil},
		{"subnet-arn", DescribeSubnetsInput{Filters: f("subnet-arn", "*:subnet/"+a.ID)}, ids(a)},
		{"subnet-id", DescribeSubnetsInput{Filters: f("subnet-id", c.ID)}, ids(c)},
		{"hostname type", DescribeSubnetsInput{Filters: f("private-dns-name-options-on-launch.hostname-type", "ip-name")}, ids(a, b, c)},
		{"map-public-ip-on-launch", DescribeSubnetsInput{Filters: f("map-public-ip-on-launch", "true")}, nil},
		{"ids and filter", DescribeSubnetsInput{SubnetIDs: []string{a.ID, b.ID}, Filters: f("availability-zone", "us-east-1a")}, ids(a)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.DescribeSubnets(ctx, netAcctA, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(out.Subnets...)); diff != "" {
				t.Errorf("DescribeSubnets() mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// Paging: 3 subnets, 5 per page → one page, no token; 12 → 5, 5, 2.
	for i := range 9 {
		mustSubnet(t, s, netAcctA, v2.ID, fmt.Sprintf("10.1.%d.0/24", i+1))
	}
	var sizes []int
	seen := map[string]bool{}
	token := ""
	for {
		out, err := s.DescribeSubnets(ctx, netAcctA, DescribeSubnetsInput{Page: Page{MaxResults: 5, NextToken: token}})
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(out.Subnets))
		for _, sn := range out.Subnets {
			if seen[sn.ID] {
				t.Errorf("%s on two pages", sn.ID)
			}
			seen[sn.ID] = true
		}
		if token = out.NextToken; token == "" {
			break
		}
	}
	if diff := cmp.Diff([]int{5, 5, 2}, sizes); diff != "" {
		t.Errorf("page sizes mismatch (-want +got):\n%s", diff)
	}
}

func TestDeleteSubnet(t *testing.T) {
	s, _ := newNetTestService(t)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.0.0/24")
	if err := s.DeleteSubnet(ctx, netAcctA, DeleteSubnetInput{SubnetID: sn.ID}); err != nil {
		t.Fatal(err)
	}
	_, err := s.DescribeSubnets(ctx, netAcctA, DescribeSubnetsInput{SubnetIDs: []string{sn.ID}})
	wantNetErr(t, err, "InvalidSubnetID.NotFound", 400)
	wantNetErr(t, s.DeleteSubnet(ctx, netAcctA, DeleteSubnetInput{SubnetID: sn.ID}), "InvalidSubnetID.NotFound", 400)
	// The CIDR is free again.
	mustSubnet(t, s, netAcctA, vpc.ID, "10.0.0.0/24")
}
