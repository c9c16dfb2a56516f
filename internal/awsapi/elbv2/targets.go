package elbv2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
	"github.com/privlink/privlink/internal/controlplane"
)

var (
	_ RegisterTargetsAPI      = (*API)(nil)
	_ DeregisterTargetsAPI    = (*API)(nil)
	_ DescribeTargetHealthAPI = (*API)(nil)
)

// targetsIn converts Targets.member.N.
func targetsIn(in []TargetDescription) []controlplane.TargetDescription {
	return wireconv.AllOrNil(in, func(t TargetDescription) controlplane.TargetDescription {
		return controlplane.TargetDescription{
			ID:               wireconv.Deref(t.Id),
			Port:             wireconv.Deref(t.Port),
			AvailabilityZone: wireconv.Deref(t.AvailabilityZone),
			QuicServerID:     wireconv.Deref(t.QuicServerId),
		}
	})
}

// targetHealthOut converts one target's health. Target.AvailabilityZone is
// sent only when the target was registered with one; TargetHealth.Reason
// and Description are absent for a healthy target. AdministrativeOverride
// is always "no override", as AWS sends it for every target: privlink has
// no zonal shift or other override.
func targetHealthOut(h controlplane.TargetHealthReport) TargetHealthDescription {
	return TargetHealthDescription{
		Target: &TargetDescription{
			Id:               new(h.ID),
			Port:             new(h.Port),
			AvailabilityZone: wireconv.OptString(h.AvailabilityZone),
		},
		HealthCheckPort: new(h.HealthCheckPort),
		TargetHealth: &TargetHealth{
			State:       new(h.State),
			Reason:      wireconv.OptString(h.Reason),
			Description: wireconv.OptString(h.Description),
		},
		AdministrativeOverride: &AdministrativeOverride{
			State:       new("no_override"),
			Reason:      new("AdministrativeOverride.NoOverride"),
			Description: new("No override is currently active on target"),
		},
	}
}

// RegisterTargets implements RegisterTargetsAPI.
func (a *API) RegisterTargets(ctx context.Context, req *awsapi.Request, in *RegisterTargetsInput) (*RegisterTargetsOutput, error) {
	err := a.cp.RegisterTargets(ctx, req.Caller.AccountID, controlplane.RegisterTargetsInput{
		TargetGroupARN: wireconv.Deref(in.TargetGroupArn),
		Targets:        targetsIn(in.Targets),
	})
	if err != nil {
		return nil, err
	}
	return &RegisterTargetsOutput{}, nil
}

// DeregisterTargets implements DeregisterTargetsAPI.
func (a *API) DeregisterTargets(ctx context.Context, req *awsapi.Request, in *DeregisterTargetsInput) (*DeregisterTargetsOutput, error) {
	err := a.cp.DeregisterTargets(ctx, req.Caller.AccountID, controlplane.DeregisterTargetsInput{
		TargetGroupARN: wireconv.Deref(in.TargetGroupArn),
		Targets:        targetsIn(in.Targets),
	})
	if err != nil {
		return nil, err
	}
	return &DeregisterTargetsOutput{}, nil
}

// DescribeTargetHealth implements DescribeTargetHealthAPI.
func (a *API) DescribeTargetHealth(ctx context.Context, req *awsapi.Request, in *DescribeTargetHealthInput) (*DescribeTargetHealthOutput, error) {
	res, err := a.cp.DescribeTargetHealth(ctx, req.Caller.AccountID, controlplane.DescribeTargetHealthInput{
		TargetGroupARN: wireconv.Deref(in.TargetGroupArn),
		Targets:        targetsIn(in.Targets),
		Include:        in.Include,
	})
	if err != nil {
		return nil, err
	}
	return &DescribeTargetHealthOutput{TargetHealthDescriptions: wireconv.All(res, targetHealthOut)}, nil
}
