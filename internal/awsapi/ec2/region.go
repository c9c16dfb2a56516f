package ec2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
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
		AllRegions:  deref(in.AllRegions),
		Filters:     filtersIn(in.Filters),
		DryRun:      deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	out := &DescribeRegionsOutput{Regions: make([]Region, 0, len(regions))}
	for _, r := range regions {
		out.Regions = append(out.Regions, Region{
			RegionName:  ptr(r.RegionName),
			Endpoint:    ptr(r.Endpoint),
			OptInStatus: ptr(r.OptInStatus),
		})
	}
	return out, nil
}

// DescribeAvailabilityZones implements DescribeAvailabilityZonesAPI.
func (a *API) DescribeAvailabilityZones(ctx context.Context, req *awsapi.Request, in *DescribeAvailabilityZonesInput) (*DescribeAvailabilityZonesOutput, error) {
	zones, err := a.cp.DescribeAvailabilityZones(ctx, req.Caller.AccountID, controlplane.DescribeAvailabilityZonesInput{
		ZoneNames:            in.ZoneNames,
		ZoneIDs:              in.ZoneIds,
		AllAvailabilityZones: deref(in.AllAvailabilityZones),
		Filters:              filtersIn(in.Filters),
		DryRun:               deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	out := &DescribeAvailabilityZonesOutput{AvailabilityZones: make([]AvailabilityZone, 0, len(zones))}
	for _, z := range zones {
		out.AvailabilityZones = append(out.AvailabilityZones, AvailabilityZone{
			ZoneName:           ptr(z.ZoneName),
			ZoneId:             ptr(z.ZoneID),
			State:              ptr(z.State),
			RegionName:         ptr(z.RegionName),
			ZoneType:           ptr(z.ZoneType),
			GroupName:          ptr(z.GroupName),
			NetworkBorderGroup: ptr(z.NetworkBorderGroup),
			OptInStatus:        ptr(z.OptInStatus),
		})
	}
	return out, nil
}

// DescribeAccountAttributes implements DescribeAccountAttributesAPI.
func (a *API) DescribeAccountAttributes(ctx context.Context, req *awsapi.Request, in *DescribeAccountAttributesInput) (*DescribeAccountAttributesOutput, error) {
	attrs, err := a.cp.DescribeAccountAttributes(ctx, req.Caller.AccountID, controlplane.DescribeAccountAttributesInput{
		AttributeNames: in.AttributeNames,
		DryRun:         deref(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	out := &DescribeAccountAttributesOutput{AccountAttributes: make([]AccountAttribute, 0, len(attrs))}
	for _, at := range attrs {
		vals := make([]AccountAttributeValue, 0, len(at.Values))
		for _, v := range at.Values {
			vals = append(vals, AccountAttributeValue{AttributeValue: ptr(v)})
		}
		out.AccountAttributes = append(out.AccountAttributes, AccountAttribute{AttributeName: ptr(at.Name), AttributeValues: vals})
	}
	return out, nil
}
