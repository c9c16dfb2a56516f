package elbv2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
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
		TargetGroupArn:             ptr(tg.ARN),
		TargetGroupName:            ptr(tg.Name),
		Protocol:                   ptr(tg.Protocol),
		Port:                       ptr(tg.Port),
		VpcId:                      ptr(tg.VpcID),
		HealthCheckProtocol:        ptr(hc.Protocol),
		HealthCheckPort:            ptr(hc.Port),
		HealthCheckEnabled:         ptr(hc.Enabled),
		HealthCheckIntervalSeconds: ptr(hc.IntervalSeconds),
		HealthCheckTimeoutSeconds:  ptr(hc.TimeoutSeconds),
		HealthyThresholdCount:      ptr(hc.HealthyThreshold),
		UnhealthyThresholdCount:    ptr(hc.UnhealthyThreshold),
		HealthCheckPath:            optStr(hc.Path),
		LoadBalancerArns:           append([]string{}, tg.LoadBalancerARNs...),
		TargetType:                 ptr(tg.TargetType),
		IpAddressType:              ptr(tg.IPAddressType),
	}
	if hc.Matcher != "" {
		out.Matcher = &Matcher{HttpCode: ptr(hc.Matcher)}
	}
	return out
}

// targetGroupsOut converts a list of target groups; the list is always
// present.
func targetGroupsOut(in []controlplane.TargetGroup) []TargetGroup {
	out := make([]TargetGroup, 0, len(in))
	for _, tg := range in {
		out = append(out, targetGroupOut(tg))
	}
	return out
}

// targetGroupAttributesOut converts target group attributes; the list is always
// present.
func targetGroupAttributesOut(in []controlplane.TargetGroupAttribute) []TargetGroupAttribute {
	out := make([]TargetGroupAttribute, 0, len(in))
	for _, a := range in {
		out = append(out, TargetGroupAttribute{Key: ptr(a.Key), Value: ptr(a.Value)})
	}
	return out
}

// CreateTargetGroup implements CreateTargetGroupAPI.
func (a *API) CreateTargetGroup(ctx context.Context, req *awsapi.Request, in *CreateTargetGroupInput) (*CreateTargetGroupOutput, error) {
	tg, err := a.cp.CreateTargetGroup(ctx, req.Caller.AccountID, controlplane.CreateTargetGroupInput{
		Name:              deref(in.Name),
		Protocol:          deref(in.Protocol),
		ProtocolVersion:   deref(in.ProtocolVersion),
		Port:              deref(in.Port),
		VpcID:             deref(in.VpcId),
		TargetType:        deref(in.TargetType),
		IPAddressType:     deref(in.IpAddressType),
		TargetControlPort: deref(in.TargetControlPort),
		HealthCheck: healthCheckIn(in.HealthCheckEnabled, in.HealthCheckProtocol, in.HealthCheckPort, in.HealthCheckPath,
			in.HealthCheckIntervalSeconds, in.HealthCheckTimeoutSeconds, in.HealthyThresholdCount, in.UnhealthyThresholdCount, in.Matcher),
		Tags: tagsIn(in.Tags),
	})
	if err != nil {
		return nil, err
	}
	return &CreateTargetGroupOutput{TargetGroups: []TargetGroup{targetGroupOut(tg)}}, nil
}

// DescribeTargetGroups implements DescribeTargetGroupsAPI.
func (a *API) DescribeTargetGroups(ctx context.Context, req *awsapi.Request, in *DescribeTargetGroupsInput) (*DescribeTargetGroupsOutput, error) {
	res, err := a.cp.DescribeTargetGroups(ctx, req.Caller.AccountID, controlplane.DescribeTargetGroupsInput{
		LoadBalancerARN: deref(in.LoadBalancerArn),
		TargetGroupARNs: in.TargetGroupArns,
		Names:           in.Names,
		Marker:          deref(in.Marker),
		PageSize:        deref(in.PageSize),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeTargetGroupsOutput{TargetGroups: targetGroupsOut(res.TargetGroups), NextMarker: optStr(res.NextMarker)}, nil
}

// ModifyTargetGroup implements ModifyTargetGroupAPI.
func (a *API) ModifyTargetGroup(ctx context.Context, req *awsapi.Request, in *ModifyTargetGroupInput) (*ModifyTargetGroupOutput, error) {
	tg, err := a.cp.ModifyTargetGroup(ctx, req.Caller.AccountID, controlplane.ModifyTargetGroupInput{
		TargetGroupARN: deref(in.TargetGroupArn),
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
	err := a.cp.DeleteTargetGroup(ctx, req.Caller.AccountID, controlplane.DeleteTargetGroupInput{TargetGroupARN: deref(in.TargetGroupArn)})
	if err != nil {
		return nil, err
	}
	return &DeleteTargetGroupOutput{}, nil
}

// DescribeTargetGroupAttributes implements DescribeTargetGroupAttributesAPI.
func (a *API) DescribeTargetGroupAttributes(ctx context.Context, req *awsapi.Request, in *DescribeTargetGroupAttributesInput) (*DescribeTargetGroupAttributesOutput, error) {
	attrs, err := a.cp.DescribeTargetGroupAttributes(ctx, req.Caller.AccountID, controlplane.DescribeTargetGroupAttributesInput{TargetGroupARN: deref(in.TargetGroupArn)})
	if err != nil {
		return nil, err
	}
	return &DescribeTargetGroupAttributesOutput{Attributes: targetGroupAttributesOut(attrs)}, nil
}

// ModifyTargetGroupAttributes implements ModifyTargetGroupAttributesAPI.
func (a *API) ModifyTargetGroupAttributes(ctx context.Context, req *awsapi.Request, in *ModifyTargetGroupAttributesInput) (*ModifyTargetGroupAttributesOutput, error) {
	attrs := make([]controlplane.TargetGroupAttribute, 0, len(in.Attributes))
	for _, at := range in.Attributes {
		attrs = append(attrs, controlplane.TargetGroupAttribute{Key: deref(at.Key), Value: deref(at.Value)})
	}
	res, err := a.cp.ModifyTargetGroupAttributes(ctx, req.Caller.AccountID, controlplane.ModifyTargetGroupAttributesInput{
		TargetGroupARN: deref(in.TargetGroupArn),
		Attributes:     attrs,
	})
	if err != nil {
		return nil, err
	}
	return &ModifyTargetGroupAttributesOutput{Attributes: targetGroupAttributesOut(res)}, nil
}
