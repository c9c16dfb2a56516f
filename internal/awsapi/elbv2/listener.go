package elbv2

import (
	"context"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsapi/wireconv"
	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/model"
)

var (
	_ CreateListenerAPI    = (*API)(nil)
	_ DescribeListenersAPI = (*API)(nil)
	_ ModifyListenerAPI    = (*API)(nil)
	_ DeleteListenerAPI    = (*API)(nil)

	_ DescribeListenerAttributesAPI = (*API)(nil)
	_ ModifyListenerAttributesAPI   = (*API)(nil)
)

// listenerOut converts a listener to its wire form. Its default action is
// written the way AWS answers for a Network Load Balancer: the target group
// both as TargetGroupArn and as a ForwardConfig that names it alone, with
// neither the weight nor the stickiness config an ALB's listener carries.
func listenerOut(l model.Listener) Listener {
	return Listener{
		ListenerArn:     new(l.ARN),
		LoadBalancerArn: new(l.LoadBalancerARN),
		Port:            new(l.Port),
		Protocol:        new(l.Protocol),
		DefaultActions: []Action{{
			Type:           new(controlplane.ActionTypeForward),
			TargetGroupArn: new(l.TargetGroupARN),
			ForwardConfig: &ForwardActionConfig{
				TargetGroups: []TargetGroupTuple{{TargetGroupArn: new(l.TargetGroupARN)}},
			},
		}},
	}
}

// actionsIn converts DefaultActions.member.N.
func actionsIn(in []Action) []controlplane.ListenerAction {
	return wireconv.AllOrNil(in, actionIn)
}

// actionIn converts one action of DefaultActions.member.N.
func actionIn(a Action) controlplane.ListenerAction {
	act := controlplane.ListenerAction{Type: wireconv.Deref(a.Type), TargetGroupARN: wireconv.Deref(a.TargetGroupArn)}
	if f := a.ForwardConfig; f != nil {
		act.ForwardTargetGroups = wireconv.AllOrNil(f.TargetGroups, func(t TargetGroupTuple) controlplane.ForwardTargetGroup {
			return controlplane.ForwardTargetGroup{TargetGroupARN: wireconv.Deref(t.TargetGroupArn), Weight: t.Weight}
		})
		if st := f.TargetGroupStickinessConfig; st != nil {
			act.StickinessEnabled = wireconv.Deref(st.Enabled)
		}
	}
	for _, c := range []struct {
		name string
		set  bool
	}{
		{"AuthenticateCognitoConfig", a.AuthenticateCognitoConfig != nil},
		{"AuthenticateOidcConfig", a.AuthenticateOidcConfig != nil},
		{"FixedResponseConfig", a.FixedResponseConfig != nil},
		{"JwtValidationConfig", a.JwtValidationConfig != nil},
		{"RedirectConfig", a.RedirectConfig != nil},
	} {
		if c.set {
			act.OtherConfigs = append(act.OtherConfigs, c.name)
		}
	}
	return act
}

// certificatesIn returns the ARNs of Certificates.member.N.
func certificatesIn(in []Certificate) []string {
	return wireconv.AllOrNil(in, func(c Certificate) string { return wireconv.Deref(c.CertificateArn) })
}

// CreateListener implements CreateListenerAPI.
func (a *API) CreateListener(ctx context.Context, req *awsapi.Request, in *CreateListenerInput) (*CreateListenerOutput, error) {
	l, err := a.cp.CreateListener(ctx, req.Caller.AccountID, controlplane.CreateListenerInput{
		LoadBalancerARN:      wireconv.Deref(in.LoadBalancerArn),
		Protocol:             wireconv.Deref(in.Protocol),
		Port:                 in.Port,
		DefaultActions:       actionsIn(in.DefaultActions),
		SslPolicy:            wireconv.Deref(in.SslPolicy),
		Certificates:         certificatesIn(in.Certificates),
		AlpnPolicy:           in.AlpnPolicy,
		MutualAuthentication: in.MutualAuthentication != nil,
		Tags:                 wireconv.Tags(in.Tags),
	})
	if err != nil {
		return nil, err
	}
	return &CreateListenerOutput{Listeners: []Listener{listenerOut(l)}}, nil
}

// DescribeListeners implements DescribeListenersAPI.
func (a *API) DescribeListeners(ctx context.Context, req *awsapi.Request, in *DescribeListenersInput) (*DescribeListenersOutput, error) {
	res, err := a.cp.DescribeListeners(ctx, req.Caller.AccountID, controlplane.DescribeListenersInput{
		LoadBalancerARN: wireconv.Deref(in.LoadBalancerArn),
		ListenerARNs:    in.ListenerArns,
		Marker:          wireconv.Deref(in.Marker),
		PageSize:        wireconv.Deref(in.PageSize),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeListenersOutput{Listeners: wireconv.All(res.Listeners, listenerOut), NextMarker: wireconv.OptString(res.NextMarker)}, nil
}

// ModifyListener implements ModifyListenerAPI.
func (a *API) ModifyListener(ctx context.Context, req *awsapi.Request, in *ModifyListenerInput) (*ModifyListenerOutput, error) {
	l, err := a.cp.ModifyListener(ctx, req.Caller.AccountID, controlplane.ModifyListenerInput{
		ListenerARN:          wireconv.Deref(in.ListenerArn),
		Protocol:             wireconv.Deref(in.Protocol),
		Port:                 in.Port,
		DefaultActions:       actionsIn(in.DefaultActions),
		SslPolicy:            wireconv.Deref(in.SslPolicy),
		Certificates:         certificatesIn(in.Certificates),
		AlpnPolicy:           in.AlpnPolicy,
		MutualAuthentication: in.MutualAuthentication != nil,
	})
	if err != nil {
		return nil, err
	}
	return &ModifyListenerOutput{Listeners: []Listener{listenerOut(l)}}, nil
}

// DeleteListener implements DeleteListenerAPI.
func (a *API) DeleteListener(ctx context.Context, req *awsapi.Request, in *DeleteListenerInput) (*DeleteListenerOutput, error) {
	err := a.cp.DeleteListener(ctx, req.Caller.AccountID, controlplane.DeleteListenerInput{ListenerARN: wireconv.Deref(in.ListenerArn)})
	if err != nil {
		return nil, err
	}
	return &DeleteListenerOutput{}, nil
}

// listenerAttributeOut converts a listener attribute.
func listenerAttributeOut(a controlplane.ListenerAttribute) ListenerAttribute {
	return ListenerAttribute{Key: new(a.Key), Value: new(a.Value)}
}

// listenerAttributeIn converts Attributes.member.N of ModifyListenerAttributes.
func listenerAttributeIn(a ListenerAttribute) controlplane.ListenerAttribute {
	return controlplane.ListenerAttribute{Key: wireconv.Deref(a.Key), Value: wireconv.Deref(a.Value)}
}

// DescribeListenerAttributes implements DescribeListenerAttributesAPI.
func (a *API) DescribeListenerAttributes(ctx context.Context, req *awsapi.Request, in *DescribeListenerAttributesInput) (*DescribeListenerAttributesOutput, error) {
	attrs, err := a.cp.DescribeListenerAttributes(ctx, req.Caller.AccountID, controlplane.DescribeListenerAttributesInput{ListenerARN: wireconv.Deref(in.ListenerArn)})
	if err != nil {
		return nil, err
	}
	return &DescribeListenerAttributesOutput{Attributes: wireconv.All(attrs, listenerAttributeOut)}, nil
}

// ModifyListenerAttributes implements ModifyListenerAttributesAPI.
func (a *API) ModifyListenerAttributes(ctx context.Context, req *awsapi.Request, in *ModifyListenerAttributesInput) (*ModifyListenerAttributesOutput, error) {
	attrs, err := a.cp.ModifyListenerAttributes(ctx, req.Caller.AccountID, controlplane.ModifyListenerAttributesInput{
		ListenerARN: wireconv.Deref(in.ListenerArn),
		Attributes:  wireconv.All(in.Attributes, listenerAttributeIn),
	})
	if err != nil {
		return nil, err
	}
	return &ModifyListenerAttributesOutput{Attributes: wireconv.All(attrs, listenerAttributeOut)}, nil
}
