package elbv2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/controlplane"
)

var (
	_ RegisterTargetsAPI      = (*API)(nil)
	_ DeregisterTargetsAPI    = (*API)(nil)
	_ DescribeTargetHealthAPI = (*API)(nil)
)

// targetsIn converts Targets.member.N.
func targetsIn(in []TargetDescription) []controlplane.TargetDescription {
	if len(in) == 0 {
		return nil
	}
	out := make([]controlplane.TargetDescription, 0, len(in))
	for _, t := range in {
		out = append(out, controlplane.TargetDescription{
			ID:               deref(t.Id),
			Port:             deref(t.Port),
			AvailabilityZone: deref(t.AvailabilityZone),
			QuicServerID:     deref(t.QuicServerId),
		})
	}
	return out
}

// targetHealthOut converts one target's health. Target.AvailabilityZone is
// sent only when the target was registered with one; TargetHealth.Reason
// and Description are absent for a healthy target.
func targetHealthOut(h controlplane.TargetHealthReport) TargetHealthDescription {
	return TargetHealthDescription{
		Target: &TargetDescription{
			Id:               ptr(h.ID),
			Port:             ptr(h.Port),
			AvailabilityZone: optStr(h.AvailabilityZone),
		},
		HealthCheckPort: ptr(h.HealthCheckPort),
		TargetHealth: &TargetHealth{
			State:       ptr(h.State),
			Reason:      optStr(h.Reason),
			Description: optStr(h.Description),
		},
	}
}

// RegisterTargets implements RegisterTargetsAPI.
func (a *API) RegisterTargets(ctx context.Context, req *awsapi.Request, in *RegisterTargetsInput) (*RegisterTargetsOutput, error) {
	err := a.cp.RegisterTargets(ctx, req.Caller.AccountID, controlplane.RegisterTargetsInput{
		TargetGroupARN: deref(in.TargetGroupArn),
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
		TargetGroupARN: deref(in.TargetGroupArn),
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
		TargetGroupARN: deref(in.TargetGroupArn),
		Targets:        targetsIn(in.Targets),
		Include:        in.Include,
	})
	if err != nil {
		return nil, err
	}
	out := make([]TargetHealthDescription, 0, len(res))
	for _, h := range res {
		out = append(out, targetHealthOut(h))
	}
	return &DescribeTargetHealthOutput{TargetHealthDescriptions: out}, nil
}
