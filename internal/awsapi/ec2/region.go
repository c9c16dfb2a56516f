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
	out := &DescribeRegionsOutput{Regions: make([]Region, 0, len(regions))}
	for _, r := range regions {
		out.Regions = append(out.Regions, Region{
			RegionName:  new(r.RegionName),
			Endpoint:    new(r.Endpoint),
			OptInStatus: new(r.OptInStatus),
		})
	}
	return out, nil
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
	out := &DescribeAvailabilityZonesOutput{AvailabilityZones: make([]AvailabilityZone, 0, len(zones))}
	for _, z := range zones {
		out.AvailabilityZones = append(out.AvailabilityZones, AvailabilityZone{
			ZoneName:           new(z.ZoneName),
			ZoneId:             new(z.ZoneID),
			State:              new(z.State),
			RegionName:         new(z.RegionName),
			ZoneType:           new(z.ZoneType),
			GroupName:          new(z.GroupName),
			NetworkBorderGroup: new(z.NetworkBorderGroup),
			OptInStatus:        new(z.OptInStatus),
		})
	}
	return out, nil
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
	out := &DescribeAccountAttributesOutput{AccountAttributes: make([]AccountAttribute, 0, len(attrs))}
	for _, at := range attrs {
		vals := make([]AccountAttributeValue, 0, len(at.Values))
		for _, v := range at.Values {
			vals = append(vals, AccountAttributeValue{AttributeValue: new(v)})
		}
		out.AccountAttributes = append(out.AccountAttributes, AccountAttribute{AttributeName: new(at.Name), AttributeValues: vals})
	}
	return out, nil
}
