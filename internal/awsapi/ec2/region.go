package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
	"github.com/privlink/privlink/internal/controlplane"
)

var (
	_ DescribeRegionsAPI           = (*API)(nil)
	_ DescribeAvailabilityZonesAPI = (*API)(nil)
	_ DescribeAccountAttributesAPI = (*API)(nil)
)

// DescribeRegions implements DescribeRegionsAPI.
func (a *API) DescribeRegions(ctx context.Context, req *awsapi.Request, in *DescribeRegionsInput) (*DescribeRegionsOutput, error) {
	regions, err := a.cp.DescribeRegions(ctx, req.Caller.AccountID, controlplane.DescribeRegionsInput{
		RegionNames: in.RegionNames,
		AllRegions:  wireconv.Deref(in.AllRegions),
		Filters:     filtersIn(in.Filters),
		DryRun:      wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeRegionsOutput{Regions: wireconv.All(regions, regionOut)}, nil
}

// regionOut converts one region.
func regionOut(r controlplane.Region) Region {
	return Region{
		RegionName:  new(r.RegionName),
		Endpoint:    new(r.Endpoint),
		OptInStatus: new(r.OptInStatus),
	}
}

// DescribeAvailabilityZones implements DescribeAvailabilityZonesAPI.
func (a *API) DescribeAvailabilityZones(ctx context.Context, req *awsapi.Request, in *DescribeAvailabilityZonesInput) (*DescribeAvailabilityZonesOutput, error) {
	zones, err := a.cp.DescribeAvailabilityZones(ctx, req.Caller.AccountID, controlplane.DescribeAvailabilityZonesInput{
		ZoneNames:            in.ZoneNames,
		ZoneIDs:              in.ZoneIds,
		AllAvailabilityZones: wireconv.Deref(in.AllAvailabilityZones),
		Filters:              filtersIn(in.Filters),
		DryRun:               wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeAvailabilityZonesOutput{AvailabilityZones: wireconv.All(zones, zoneOut)}, nil
}

// zoneOut converts one availability zone.
func zoneOut(z controlplane.AvailabilityZone) AvailabilityZone {
	return AvailabilityZone{
		ZoneName:           new(z.ZoneName),
		ZoneId:             new(z.ZoneID),
		State:              new(z.State),
		RegionName:         new(z.RegionName),
		ZoneType:           new(z.ZoneType),
		GroupName:          new(z.GroupName),
		NetworkBorderGroup: new(z.NetworkBorderGroup),
		OptInStatus:        new(z.OptInStatus),
	}
}

// DescribeAccountAttributes implements DescribeAccountAttributesAPI.
func (a *API) DescribeAccountAttributes(ctx context.Context, req *awsapi.Request, in *DescribeAccountAttributesInput) (*DescribeAccountAttributesOutput, error) {
	attrs, err := a.cp.DescribeAccountAttributes(ctx, req.Caller.AccountID, controlplane.DescribeAccountAttributesInput{
		AttributeNames: in.AttributeNames,
		DryRun:         wireconv.Deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeAccountAttributesOutput{AccountAttributes: wireconv.All(attrs, accountAttributeOut)}, nil
}

// accountAttributeOut converts one account attribute with its values.
func accountAttributeOut(at controlplane.AccountAttribute) AccountAttribute {
	values := wireconv.All(at.Values, func(v string) AccountAttributeValue { return AccountAttributeValue{AttributeValue: new(v)} })
	return AccountAttribute{AttributeName: new(at.Name), AttributeValues: values}
}
