package controlplane

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDescribeRegions(t *testing.T) {
	s, _ := newNetTestService(t)
	us := Region{RegionName: "us-east-1", Endpoint: "ec2.us-east-1.amazonaws.com", OptInStatus: "opt-in-not-required"}
	tests := []struct {
		name string
		in   DescribeRegionsInput
		want []Region
	}{
		{"all", DescribeRegionsInput{}, []Region{us}},
		{"by name", DescribeRegionsInput{RegionNames: []string{"us-east-1"}, AllRegions: true}, []Region{us}},
		{"region-name", DescribeRegionsInput{Filters: []Filter{{Name: "region-name", Values: []string{"us-*"}}}}, []Region{us}},
		{"endpoint", DescribeRegionsInput{Filters: []Filter{{Name: "endpoint", Values: []string{"*.amazonaws.com"}}}}, []Region{us}},
		{"opt-in-status mismatch", DescribeRegionsInput{Filters: []Filter{{Name: "opt-in-status", Values: []string{"opted-in"}}}}, []Region{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.DescribeRegions(t.Context(), netAcctA, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DescribeRegions() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	_, err := s.DescribeRegions(t.Context(), netAcctA, DescribeRegionsInput{RegionNames: []string{"us-east-1", "mars-1"}})
	wantMessage(t, err, "Invalid region: [mars-1]")
}

func TestDescribeAvailabilityZones(t *testing.T) {
	s, _ := newNetTestService(t)
	zone := func(name, id string) AvailabilityZone {
		return AvailabilityZone{
			ZoneName: name, ZoneID: id, State: "available", RegionName: "us-east-1", ZoneType: "availability-zone",
			GroupName: "us-east-1", NetworkBorderGroup: "us-east-1", OptInStatus: "opt-in-not-required",
		}
	}
	a, b, c := zone("us-east-1a", "use1-az1"), zone("us-east-1b", "use1-az2"), zone("us-east-1c", "use1-az3")
	f := func(name string, values ...string) []Filter { return []Filter{{Name: name, Values: values}} }
	tests := []struct {
		name string
		in   DescribeAvailabilityZonesInput
		want []AvailabilityZone
	}{
		{"all", DescribeAvailabilityZonesInput{}, []AvailabilityZone{a, b, c}},
		{"by name", DescribeAvailabilityZonesInput{ZoneNames: []string{"us-east-1c"}}, []AvailabilityZone{c}},
		{"by id", DescribeAvailabilityZonesInput{ZoneIDs: []string{"use1-az2"}}, []AvailabilityZone{b}},
		{"by name and id", DescribeAvailabilityZonesInput{ZoneNames: []string{"us-east-1a"}, ZoneIDs: []string{"use1-az3"}}, []AvailabilityZone{a, c}},
		{"zone-name", DescribeAvailabilityZonesInput{Filters: f("zone-name", "*b")}, []AvailabilityZone{b}},
		{"zone-id", DescribeAvailabilityZonesInput{Filters: f("zone-id", "use1-az1", "use1-az3")}, []AvailabilityZone{a, c}},
		{"state", DescribeAvailabilityZonesInput{Filters: f("state", "available")}, []AvailabilityZone{a, b, c}},
		{"state unavailable", DescribeAvailabilityZonesInput{Filters: f("state", "unavailable")}, []AvailabilityZone{}},
		{"region-name", DescribeAvailabilityZonesInput{Filters: f("region-name", "us-east-1")}, []AvailabilityZone{a, b, c}},
		{"group-name", DescribeAvailabilityZonesInput{Filters: f("group-name", "us-east-1")}, []AvailabilityZone{a, b, c}},
		{"zone-type", DescribeAvailabilityZonesInput{Filters: f("zone-type", "local-zone")}, []AvailabilityZone{}},
		{"opt-in-status", DescribeAvailabilityZonesInput{Filters: f("opt-in-status", "opt-in-not-required")}, []AvailabilityZone{a, b, c}},
		{"parent-zone-id matches nothing", DescribeAvailabilityZonesInput{Filters: f("parent-zone-id", "*")}, []AvailabilityZone{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.DescribeAvailabilityZones(t.Context(), netAcctA, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DescribeAvailabilityZones() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	_, err := s.DescribeAvailabilityZones(t.Context(), netAcctA, DescribeAvailabilityZonesInput{ZoneNames: []string{"us-east-1a", "us-east-1q"}})
	wantMessage(t, err, "Invalid availability zone: [us-east-1q]")
	_, err = s.DescribeAvailabilityZones(t.Context(), netAcctA, DescribeAvailabilityZonesInput{Filters: f("network-border-group", "x")})
	wantMessage(t, err, "The filter 'network-border-group' is invalid")
}

func TestDescribeAccountAttributes(t *testing.T) {
	s, _ := newNetTestService(t)
	all, err := s.DescribeAccountAttributes(t.Context(), netAcctA, DescribeAccountAttributesInput{})
	if err != nil {
		t.Fatal(err)
	}
	want := []AccountAttribute{
		{Name: "supported-platforms", Values: []string{"VPC"}},
		{Name: "vpc-max-security-groups-per-interface", Values: []string{"5"}},
		{Name: "max-elastic-ips", Values: []string{"5"}},
		{Name: "max-instances", Values: []string{"20"}},
		{Name: "vpc-max-elastic-ips", Values: []string{"5"}},
		{Name: "default-vpc", Values: []string{"none"}},
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("DescribeAccountAttributes() mismatch (-want +got):\n%s", diff)
	}
	some, err := s.DescribeAccountAttributes(t.Context(), netAcctA, DescribeAccountAttributesInput{AttributeNames: []string{"default-vpc", "supported-platforms"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]AccountAttribute{want[0], want[5]}, some); diff != "" {
		t.Errorf("DescribeAccountAttributes(names) mismatch (-want +got):\n%s", diff)
	}
}
