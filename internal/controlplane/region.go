package controlplane

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/store"
)

// Fixed values of the one region a daemon serves and of its zones.
const (
	optInNotRequired = "opt-in-not-required"
	zoneTypeAZ       = "availability-zone"
)

// Region is one item of DescribeRegions.
type Region struct {
	RegionName  string
	Endpoint    string // "ec2.<region>.amazonaws.com"
	OptInStatus string
}

// DescribeRegionsInput is the input of DescribeRegions.
type DescribeRegionsInput struct {
	RegionNames []string
	AllRegions  bool
	Filters     []Filter
	DryRun      bool
}

var regionFilters = filterDefs[Region]{
	fields: map[string]func(Region) []string{
		"endpoint":      func(r Region) []string { return []string{r.Endpoint} },
		"opt-in-status": func(r Region) []string { return []string{r.OptInStatus} },
		"region-name":   func(r Region) []string { return []string{r.RegionName} },
	},
}

// DescribeRegions describes the one region this daemon serves. Any other
// name in RegionNames is InvalidParameterValue "Invalid region: [x]", as AWS
// answers for a name it does not know.
func (s *Service) DescribeRegions(ctx context.Context, account string, in DescribeRegionsInput) ([]Region, error) {
	var out []Region
	err := s.view(ctx, in.DryRun, func(store.ReadTx) error {
		for _, name := range in.RegionNames {
			if name != s.region {
				return awsapi.ErrInvalidParameterValue("Invalid region: [%s]", name)
			}
		}
		all := []Region{{RegionName: s.region, Endpoint: "ec2." + s.region + ".amazonaws.com", OptInStatus: optInNotRequired}}
		var err error
		out, err = regionFilters.apply(all, in.Filters)
		return err
	})
	return out, err
}

// AvailabilityZone is one item of DescribeAvailabilityZones.
type AvailabilityZone struct {
	ZoneName           string
	ZoneID             string
	State              string // "available"
	RegionName         string
	ZoneType           string // "availability-zone"
	GroupName          string // the region, as for every AZ of a standard region
	NetworkBorderGroup string // the region
	OptInStatus        string // "opt-in-not-required"
}

// DescribeAvailabilityZonesInput is the input of DescribeAvailabilityZones.
type DescribeAvailabilityZonesInput struct {
	ZoneNames            []string
	ZoneIDs              []string
	AllAvailabilityZones bool
	Filters              []Filter
	DryRun               bool
}

var zoneFilters = filterDefs[AvailabilityZone]{
	fields: map[string]func(AvailabilityZone) []string{
		"group-long-name":  func(AvailabilityZone) []string { return nil },
		"group-name":       func(z AvailabilityZone) []string { return []string{z.GroupName} },
		"message":          func(AvailabilityZone) []string { return nil },
		"opt-in-status":    func(z AvailabilityZone) []string { return []string{z.OptInStatus} },
		"parent-zone-id":   func(AvailabilityZone) []string { return nil },
		"parent-zone-name": func(AvailabilityZone) []string { return nil },
		"region-name":      func(z AvailabilityZone) []string { return []string{z.RegionName} },
		"state":            func(z AvailabilityZone) []string { return []string{z.State} },
		"zone-id":          func(z AvailabilityZone) []string { return []string{z.ZoneID} },
		"zone-name":        func(z AvailabilityZone) []string { return []string{z.ZoneName} },
		"zone-type":        func(z AvailabilityZone) []string { return []string{z.ZoneType} },
	},
}

// availabilityZones returns the region's zones in configuration order.
func (s *Service) availabilityZones() []AvailabilityZone {
	out := make([]AvailabilityZone, 0, len(s.zones))
	for _, z := range s.zones {
		out = append(out, AvailabilityZone{
			ZoneName:           z.Name,
			ZoneID:             z.ID,
			State:              "available",
			RegionName:         s.region,
			ZoneType:           zoneTypeAZ,
			GroupName:          s.region,
			NetworkBorderGroup: s.region,
			OptInStatus:        optInNotRequired,
		})
	}
	return out
}

// DescribeAvailabilityZones describes the configured zones. ZoneName.N and
// ZoneId.N select zones (either may match); an unknown one is
// InvalidParameterValue "Invalid availability zone: [x]" (or
// "Invalid availability zone-id: [x]").
func (s *Service) DescribeAvailabilityZones(ctx context.Context, account string, in DescribeAvailabilityZonesInput) ([]AvailabilityZone, error) {
	var out []AvailabilityZone
	err := s.view(ctx, in.DryRun, func(store.ReadTx) error {
		all := s.availabilityZones()
		byName, byID := map[string]bool{}, map[string]bool{}
		for _, z := range all {
			byName[z.ZoneName], byID[z.ZoneID] = true, true
		}
		for _, n := range in.ZoneNames {
			if !byName[n] {
				return awsapi.ErrInvalidParameterValue("Invalid availability zone: [%s]", n)
			}
		}
		for _, id := range in.ZoneIDs {
			if !byID[id] {
				return awsapi.ErrInvalidParameterValue("Invalid availability zone-id: [%s]", id)
			}
		}
		if len(in.ZoneNames)+len(in.ZoneIDs) > 0 {
			want := map[string]bool{}
			for _, n := range in.ZoneNames {
				want[n] = true
			}
			for _, id := range in.ZoneIDs {
				want[id] = true
			}
			var sel []AvailabilityZone
			for _, z := range all {
				if want[z.ZoneName] || want[z.ZoneID] {
					sel = append(sel, z)
				}
			}
			all = sel
		}
		var err error
		out, err = zoneFilters.apply(all, in.Filters)
		return err
	})
	return out, err
}

// AccountAttribute is one item of DescribeAccountAttributes.
type AccountAttribute struct {
	Name   string
	Values []string
}

// accountAttributes are the attributes of every account, in the order AWS
// lists them. privlink is VPC-only and has no default VPC.
var accountAttributes = []AccountAttribute{
	{Name: "supported-platforms", Values: []string{"VPC"}},
	{Name: "vpc-max-security-groups-per-interface", Values: []string{"5"}},
	{Name: "max-elastic-ips", Values: []string{"5"}},
	{Name: "max-instances", Values: []string{"20"}},
	{Name: "vpc-max-elastic-ips", Values: []string{"5"}},
	{Name: "default-vpc", Values: []string{"none"}},
}

// DescribeAccountAttributesInput is the input of DescribeAccountAttributes.
type DescribeAccountAttributesInput struct {
	AttributeNames []string
	DryRun         bool
}

// DescribeAccountAttributes describes the account's attributes, all of them
// or those named.
func (s *Service) DescribeAccountAttributes(ctx context.Context, account string, in DescribeAccountAttributesInput) ([]AccountAttribute, error) {
	var out []AccountAttribute
	err := s.view(ctx, in.DryRun, func(store.ReadTx) error {
		out = nil
		known := map[string]bool{}
		for _, a := range accountAttributes {
			known[a.Name] = true
		}
		want := map[string]bool{}
		for _, n := range in.AttributeNames {
			if !known[n] {
				return awsapi.ErrInvalidParameterValue("Value (%s) for parameter attributeName is invalid. Unknown attribute.", n)
			}
			want[n] = true
		}
		for _, a := range accountAttributes {
			if len(want) == 0 || want[a.Name] {
				out = append(out, AccountAttribute{Name: a.Name, Values: append([]string(nil), a.Values...)})
			}
		}
		return nil
	})
	return out, err
}
