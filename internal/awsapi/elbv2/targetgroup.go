package elbv2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
	"github.com/privlink/privlink/internal/controlplane"
)

var (
	_ CreateTargetGroupAPI             = (*API)(nil)
	_ DescribeTargetGroupsAPI          = (*API)(nil)
	_ ModifyTargetGroupAPI             = (*API)(nil)
	_ DeleteTargetGroupAPI             = (*API)(nil)
	_ DescribeTargetGroupAttributesAPI = (*API)(nil)
	_ ModifyTargetGroupAttributesAPI   = (*API)(nil)
)

// healthCheckIn converts the health check parameters shared by
// CreateTargetGroup and ModifyTargetGroup.
func healthCheckIn(enabled *bool, protocol, port, path *string, interval, timeout, healthy, unhealthy *int32, m *Matcher) controlplane.HealthCheckInput {
	hc := controlplane.HealthCheckInput{
		Enabled: enabled, Protocol: protocol, Port: port, Path: path,
		IntervalSeconds: interval, TimeoutSeconds: timeout,
		HealthyThreshold: healthy, UnhealthyThreshold: unhealthy,
	}
	if m != nil {
		hc.Matcher, hc.GrpcMatcher = m.HttpCode, m.GrpcCode
	}
	return hc
}

// targetGroupOut converts a target group to its wire form. Path and
// Matcher are sent only for HTTP(S) health checks, as ELBv2 does for a
// Network Load Balancer's groups; LoadBalancerArns is always present.
func targetGroupOut(tg controlplane.TargetGroup) TargetGroup {
	hc := tg.HealthCheck
	out := TargetGroup{
		TargetGroupArn:             new(tg.ARN),
		TargetGroupName:            new(tg.Name),
		Protocol:                   new(tg.Protocol),
		Port:                       new(tg.Port),
		VpcId:                      new(tg.VpcID),
		HealthCheckProtocol:        new(hc.Protocol),
		HealthCheckPort:            new(hc.Port),
		HealthCheckEnabled:         new(hc.Enabled),
		HealthCheckIntervalSeconds: new(hc.IntervalSeconds),
		HealthCheckTimeoutSeconds:  new(hc.TimeoutSeconds),
		HealthyThresholdCount:      new(hc.HealthyThreshold),
		UnhealthyThresholdCount:    new(hc.UnhealthyThreshold),
		HealthCheckPath:            wireconv.OptString(hc.Path),
		LoadBalancerArns:           append([]string{}, tg.LoadBalancerARNs...),
		TargetType:                 new(tg.TargetType),
		IpAddressType:              new(tg.IPAddressType),
	}
	if hc.Matcher != "" {
		out.Matcher = &Matcher{HttpCode: new(hc.Matcher)}
	}
	return out
}

// tgAttributeOut converts a target group attribute.
func tgAttributeOut(a controlplane.TargetGroupAttribute) TargetGroupAttribute {
	return TargetGroupAttribute{Key: new(a.Key), Value: new(a.Value)}
}

// tgAttributeIn converts Attributes.member.N of ModifyTargetGroupAttributes.
func tgAttributeIn(a TargetGroupAttribute) controlplane.TargetGroupAttribute {
	return controlplane.TargetGroupAttribute{Key: wireconv.Deref(a.Key), Value: wireconv.Deref(a.Value)}
}

// CreateTargetGroup implements CreateTargetGroupAPI.
func (a *API) CreateTargetGroup(ctx context.Context, req *awsapi.Request, in *CreateTargetGroupInput) (*CreateTargetGroupOutput, error) {
	tg, err := a.cp.CreateTargetGroup(ctx, req.Caller.AccountID, controlplane.CreateTargetGroupInput{
		Name:              wireconv.Deref(in.Name),
		Protocol:          wireconv.Deref(in.Protocol),
		ProtocolVersion:   wireconv.Deref(in.ProtocolVersion),
		Port:              wireconv.Deref(in.Port),
		VpcID:             wireconv.Deref(in.VpcId),
		TargetType:        wireconv.Deref(in.TargetType),
		IPAddressType:     wireconv.Deref(in.IpAddressType),
		TargetControlPort: wireconv.Deref(in.TargetControlPort),
		HealthCheck: healthCheckIn(in.HealthCheckEnabled, in.HealthCheckProtocol, in.HealthCheckPort, in.HealthCheckPath,
			in.HealthCheckIntervalSeconds, in.HealthCheckTimeoutSeconds, in.HealthyThresholdCount, in.UnhealthyThresholdCount, in.Matcher),
		Tags: wireconv.Tags(in.Tags),
	})
	if err != nil {
		return nil, err
	}
	return &CreateTargetGroupOutput{TargetGroups: []TargetGroup{targetGroupOut(tg)}}, nil
}

// DescribeTargetGroups implements DescribeTargetGroupsAPI.
func (a *API) DescribeTargetGroups(ctx context.Context, req *awsapi.Request, in *DescribeTargetGroupsInput) (*DescribeTargetGroupsOutput, error) {
	res, err := a.cp.DescribeTargetGroups(ctx, req.Caller.AccountID, controlplane.DescribeTargetGroupsInput{
		LoadBalancerARN: wireconv.Deref(in.LoadBalancerArn),
		TargetGroupARNs: in.TargetGroupArns,
		Names:           in.Names,
		Marker:          wireconv.Deref(in.Marker),
		PageSize:        wireconv.Deref(in.PageSize),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeTargetGroupsOutput{TargetGroups: wireconv.All(res.TargetGroups, targetGroupOut), NextMarker: wireconv.OptString(res.NextMarker)}, nil
}

// ModifyTargetGroup implements ModifyTargetGroupAPI.
func (a *API) ModifyTargetGroup(ctx context.Context, req *awsapi.Request, in *ModifyTargetGroupInput) (*ModifyTargetGroupOutput, error) {
	tg, err := a.cp.ModifyTargetGroup(ctx, req.Caller.AccountID, controlplane.ModifyTargetGroupInput{
		TargetGroupARN: wireconv.Deref(in.TargetGroupArn),
		HealthCheck: healthCheckIn(in.HealthCheckEnabled, in.HealthCheckProtocol, in.HealthCheckPort, in.HealthCheckPath,
			in.HealthCheckIntervalSeconds, in.HealthCheckTimeoutSeconds, in.HealthyThresholdCount, in.UnhealthyThresholdCount, in.Matcher),
	})
	if err != nil {
		return nil, err
	}
	return &ModifyTargetGroupOutput{TargetGroups: []TargetGroup{targetGroupOut(tg)}}, nil
}

// DeleteTargetGroup implements DeleteTargetGroupAPI.
func (a *API) DeleteTargetGroup(ctx context.Context, req *awsapi.Request, in *DeleteTargetGroupInput) (*DeleteTargetGroupOutput, error) {
	err := a.cp.DeleteTargetGroup(ctx, req.Caller.AccountID, controlplane.DeleteTargetGroupInput{TargetGroupARN: wireconv.Deref(in.TargetGroupArn)})
	if err != nil {
		return nil, err
	}
	return &DeleteTargetGroupOutput{}, nil
}

// DescribeTargetGroupAttributes implements DescribeTargetGroupAttributesAPI.
func (a *API) DescribeTargetGroupAttributes(ctx context.Context, req *awsapi.Request, in *DescribeTargetGroupAttributesInput) (*DescribeTargetGroupAttributesOutput, error) {
	attrs, err := a.cp.DescribeTargetGroupAttributes(ctx, req.Caller.AccountID, controlplane.DescribeTargetGroupAttributesInput{TargetGroupARN: wireconv.Deref(in.TargetGroupArn)})
	if err != nil {
		return nil, err
	}
	return &DescribeTargetGroupAttributesOutput{Attributes: wireconv.All(attrs, tgAttributeOut)}, nil
}

// ModifyTargetGroupAttributes implements ModifyTargetGroupAttributesAPI.
func (a *API) ModifyTargetGroupAttributes(ctx context.Context, req *awsapi.Request, in *ModifyTargetGroupAttributesInput) (*ModifyTargetGroupAttributesOutput, error) {
	res, err := a.cp.ModifyTargetGroupAttributes(ctx, req.Caller.AccountID, controlplane.ModifyTargetGroupAttributesInput{
		TargetGroupARN: wireconv.Deref(in.TargetGroupArn),
		Attributes:     wireconv.All(in.Attributes, tgAttributeIn),
	})
	if err != nil {
		return nil, err
	}
	return &ModifyTargetGroupAttributesOutput{Attributes: wireconv.All(res, tgAttributeOut)}, nil
}
