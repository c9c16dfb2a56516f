package controlplane

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// maxListenersPerLoadBalancer is AWS's cap on the listeners of a Network
// Load Balancer that an endpoint service uses (PrivateLink supports no
// more than 50).
const maxListenersPerLoadBalancer = 50

// ActionTypeForward is the one default action type Network Load Balancer
// listeners have.
const ActionTypeForward = "forward"

// ForwardTargetGroup is one ForwardConfig.TargetGroups.member.N of an
// action.
type ForwardTargetGroup struct {
	TargetGroupARN string
	Weight         *int32
}

// ListenerAction is one DefaultActions.member.N of CreateListener and
// ModifyListener.
type ListenerAction struct {
	Type           string
	TargetGroupARN string
	// ForwardTargetGroups and StickinessEnabled are the ForwardConfig.
	ForwardTargetGroups []ForwardTargetGroup
	StickinessEnabled   bool
	// OtherConfigs names the configurations of other action types sent
	// with the action ("RedirectConfig", ...); any is an error.
	OtherConfigs []string
}

// CreateListenerInput is the input of CreateListener. The TLS fields
// (SslPolicy, Certificates, AlpnPolicy, MutualAuthentication) do not apply
// to TCP listeners and are errors when set.
type CreateListenerInput struct {
	LoadBalancerARN      string
	Protocol             string
	Port                 *int32
	DefaultActions       []ListenerAction
	SslPolicy            string
	Certificates         []string
	AlpnPolicy           []string
	MutualAuthentication bool
	Tags                 []model.Tag
}

// DescribeListenersInput is the input of DescribeListeners: the listeners
// of one load balancer, or those named by ARN.
type DescribeListenersInput struct {
	LoadBalancerARN string
	ListenerARNs    []string
	Marker          string
	PageSize        int32 // 0 means 400
}

// DescribeListenersOutput is one page of DescribeListeners.
type DescribeListenersOutput struct {
	Listeners  []model.Listener
	NextMarker string
}

// ModifyListenerInput is the input of ModifyListener: what is not set stays
// as it is.
type ModifyListenerInput struct {
	ListenerARN          string
	Protocol             string
	Port                 *int32
	DefaultActions       []ListenerAction
	SslPolicy            string
	Certificates         []string
	AlpnPolicy           []string
	MutualAuthentication bool
}

// DeleteListenerInput is the input of DeleteListener.
type DeleteListenerInput struct {
	ListenerARN string
}

// listenerID returns the store id of a stored listener: its ARN's suffix.
func listenerID(l *model.Listener) string {
	r, _ := model.ParseELBARN(l.ARN)
	return r.ID
}

// checkListenerProtocol accepts TCP, the one protocol privlink carries.
func checkListenerProtocol(p string) error {
	switch p {
	case model.ELBProtocolTCP:
		return nil
	case "":
		return validationError("A listener protocol must be specified")
	case "TLS", "UDP", "TCP_UDP", "QUIC", "TCP_QUIC":
		return validationError("privlink does not carry %s listeners yet; only TCP is supported", p)
	default:
		return validationError("Listener protocol '%s' must be one of 'TCP_QUIC, QUIC, TCP, TLS, UDP, TCP_UDP'", p)
	}
}

// checkListenerPort checks a listener port.
func checkListenerPort(p *int32) error {
	if p == nil {
		return validationError("A listener port must be specified")
	}
	if *p < 1 || *p > 65535 {
		return validationError("Listener port '%d' must be between 1 and 65535", *p)
	}
	return nil
}

// checkTCPListenerFields rejects the fields of TLS and HTTPS listeners on a
// listener of protocol.
func checkTCPListenerFields(protocol, sslPolicy string, certificates, alpn []string, mutualAuth bool) error {
	switch {
	case sslPolicy != "":
		return validationError("An SSL policy cannot be specified for '%s' listeners", protocol)
	case len(certificates) > 0:
		return validationError("Certificates cannot be specified for '%s' listeners", protocol)
	case len(alpn) > 0:
		return validationError("An ALPN policy cannot be specified for '%s' listeners", protocol)
	case mutualAuth:
		return validationError("Mutual authentication cannot be specified for '%s' listeners", protocol)
	}
	return nil
}

// forwardTarget checks the default actions of a Network Load Balancer
// listener (exactly one, of type forward, to exactly one target group) and
// returns the target group's ARN.
func forwardTarget(actions []ListenerAction) (string, error) {
	switch {
	case len(actions) == 0:
		return "", validationError("A default action must be specified")
	case len(actions) > 1:
		return "", validationError("Network Load Balancer listeners support exactly one default action, not %d", len(actions))
	}
	a := actions[0]
	switch a.Type {
	case ActionTypeForward:
	case "":
		return "", validationError("An action type must be specified")
	default:
		return "", elbError(codeInvalidLoadBalancerAction, "Network Load Balancers support only '%s' actions, not '%s'", ActionTypeForward, a.Type)
	}
	if len(a.OtherConfigs) > 0 {
		return "", validationError("%s cannot be specified for a '%s' action", strings.Join(a.OtherConfigs, ", "), ActionTypeForward)
	}
	if a.StickinessEnabled {
		return "", validationError("Target group stickiness is not supported for Network Load Balancer listeners")
	}
	var arns []string
	if a.TargetGroupARN != "" {
		arns = append(arns, a.TargetGroupARN)
	}
	for _, t := range a.ForwardTargetGroups {
		if t.TargetGroupARN == "" {
			return "", validationError("A target group ARN must be specified for every target group of a forward configuration")
		}
		if t.Weight != nil && (*t.Weight < 0 || *t.Weight > 999) {
			return "", validationError("Target group weight '%d' must be between 0 and 999", *t.Weight)
		}
		arns = append(arns, t.TargetGroupARN)
	}
	arns = dedupe(arns)
	switch len(arns) {
	case 0:
		return "", validationError("A target group ARN must be specified for a '%s' action", ActionTypeForward)
	case 1:
		return arns[0], nil
	default:
		return "", validationError("Network Load Balancer listeners can forward to only one target group")
	}
}

// checkListenerTargetGroup checks that a listener of lb may forward to the
// target group tgARN: the caller's, TCP, in the load balancer's VPC, and
// used by no other load balancer.
func (s *Service) checkListenerTargetGroup(tx store.ReadTx, account string, lb *model.LoadBalancer, tgARN string) error {
	tg, err := s.loadTargetGroup(tx, account, tgARN)
	if err != nil {
		return err
	}
	if tg.Protocol != model.ELBProtocolTCP {
		return elbError(codeIncompatibleProtocols, "The listener and its associated target group '%s' have incompatible protocols", tg.ARN)
	}
	if tg.VpcID != lb.VpcID {
		return elbError(codeInvalidConfigurationRequest, "Target group '%s' is in a different VPC than load balancer '%s'", tg.ARN, lb.ARN)
	}
	lbs, err := targetGroupLoadBalancers(tx, account, tg.ARN)
	if err != nil {
		return err
	}
	for _, other := range lbs {
		if other != lb.ARN {
			return elbError(codeTargetGroupAssociationLimit, "The following target groups cannot be associated with more than one load balancer: %s", tg.ARN)
		}
	}
	return nil
}

// CreateListener creates a TCP listener on one of the caller's load
// balancers that forwards to one target group. Repeating the call for the
// same port with the same settings returns the existing listener, as AWS
// does; other settings on a port in use are DuplicateListener.
func (s *Service) CreateListener(ctx context.Context, account string, in CreateListenerInput) (model.Listener, error) {
	var out model.Listener
	err := s.update(ctx, false, func(tx store.Tx) error {
		if err := checkListenerProtocol(in.Protocol); err != nil {
			return err
		}
		if err := checkListenerPort(in.Port); err != nil {
			return err
		}
		if err := checkTCPListenerFields(in.Protocol, in.SslPolicy, in.Certificates, in.AlpnPolicy, in.MutualAuthentication); err != nil {
			return err
		}
		tgARN, err := forwardTarget(in.DefaultActions)
		if err != nil {
			return err
		}
		if err := elbTagsIn(in.Tags); err != nil {
			return err
		}
		lb, err := s.loadLoadBalancer(tx, account, in.LoadBalancerARN)
		if err != nil {
			return err
		}
		if err := s.checkListenerTargetGroup(tx, account, lb, tgARN); err != nil {
			return err
		}
		existing, err := listenersOf(tx, account, lb.ARN)
		if err != nil {
			return err
		}
		for _, l := range existing {
			if l.Port != *in.Port {
				continue
			}
			if l.Protocol == in.Protocol && l.TargetGroupARN == tgARN {
				out = *l
				return nil
			}
			return elbError(codeDuplicateListener, "A listener already exists on this port for this load balancer '%s'", lb.ARN)
		}
		if len(existing) >= maxListenersPerLoadBalancer {
			return elbError(codeTooManyListeners, "You've reached the limit on the number of listeners per load balancer")
		}
		suffix := model.NewELBSuffix()
		l := model.Listener{
			ARN:             model.ListenerARN(lb.ARN, suffix),
			OwnerID:         account,
			LoadBalancerARN: lb.ARN,
			Protocol:        in.Protocol,
			Port:            *in.Port,
			TargetGroupARN:  tgARN,
			Tags:            in.Tags,
			Created:         s.now().UTC(),
		}
		if err := putRecord(tx, listenerKey(account, suffix), l); err != nil {
			return err
		}
		out = l
		return nil
	})
	if err != nil {
		return model.Listener{}, err
	}
	return out, nil
}

// listenerOrderKey orders listeners the way DescribeListeners lists them:
// by load balancer, then port.
func listenerOrderKey(l model.Listener) string {
	return fmt.Sprintf("%s\x00%05d\x00%s", l.LoadBalancerARN, l.Port, l.ARN)
}

// DescribeListeners describes the listeners of one of the caller's load
// balancers, or the caller's listeners named by ARN (every one must exist,
// else ListenerNotFound), by load balancer and port, one page at a time.
func (s *Service) DescribeListeners(ctx context.Context, account string, in DescribeListenersInput) (DescribeListenersOutput, error) {
	var out DescribeListenersOutput
	err := s.view(ctx, false, func(tx store.ReadTx) error {
		var stored []*model.Listener
		switch {
		case in.LoadBalancerARN != "" && len(in.ListenerARNs) > 0:
			return validationError("Listener ARNs and a load balancer ARN cannot be specified at the same time")
		case in.LoadBalancerARN != "":
			lb, err := s.loadLoadBalancer(tx, account, in.LoadBalancerARN)
			if err != nil {
				return err
			}
			if stored, err = listenersOf(tx, account, lb.ARN); err != nil {
				return err
			}
		case len(in.ListenerARNs) > 0:
			var err error
			stored, err = loadEach(in.ListenerARNs, func(arn string) (*model.Listener, error) {
				return s.loadListener(tx, account, arn)
			}, codeListenerNotFound, msgListenersNotFound)
			if err != nil {
				return err
			}
		default:
			return validationError("You must specify either a load balancer or one or more listeners")
		}
		items := make([]model.Listener, 0, len(stored))
		for _, l := range stored {
			items = append(items, *l)
		}
		slices.SortFunc(items, func(a, b model.Listener) int { return strings.Compare(listenerOrderKey(a), listenerOrderKey(b)) })
		var err error
		out.Listeners, out.NextMarker, err = pageByMarker(items, listenerOrderKey, in.Marker, in.PageSize)
		return err
	})
	if err != nil {
		return DescribeListenersOutput{}, err
	}
	return out, nil
}

// ModifyListener changes the port, protocol or default action of one of
// the caller's listeners, under the rules of CreateListener.
func (s *Service) ModifyListener(ctx context.Context, account string, in ModifyListenerInput) (model.Listener, error) {
	var out model.Listener
	err := s.update(ctx, false, func(tx store.Tx) error {
		if in.Protocol != "" {
			if err := checkListenerProtocol(in.Protocol); err != nil {
				return err
			}
		}
		if in.Port != nil {
			if err := checkListenerPort(in.Port); err != nil {
				return err
			}
		}
		var tgARN string
		if len(in.DefaultActions) > 0 {
			var err error
			if tgARN, err = forwardTarget(in.DefaultActions); err != nil {
				return err
			}
		}
		l, err := s.loadListener(tx, account, in.ListenerARN)
		if err != nil {
			return err
		}
		protocol := l.Protocol
		if in.Protocol != "" {
			protocol = in.Protocol
		}
		if err := checkTCPListenerFields(protocol, in.SslPolicy, in.Certificates, in.AlpnPolicy, in.MutualAuthentication); err != nil {
			return err
		}
		lb, err := s.loadLoadBalancer(tx, account, l.LoadBalancerARN)
		if err != nil {
			return err
		}
		next := *l
		next.Protocol = protocol
		if in.Port != nil {
			next.Port = *in.Port
		}
		if tgARN != "" {
			if err := s.checkListenerTargetGroup(tx, account, lb, tgARN); err != nil {
				return err
			}
			next.TargetGroupARN = tgARN
		}
		if next.Port != l.Port {
			siblings, err := listenersOf(tx, account, lb.ARN)
			if err != nil {
				return err
			}
			for _, o := range siblings {
				if o.ARN != l.ARN && o.Port == next.Port {
					return elbError(codeDuplicateListener, "A listener already exists on this port for this load balancer '%s'", lb.ARN)
				}
			}
		}
		if next.Port != l.Port || next.Protocol != l.Protocol || next.TargetGroupARN != l.TargetGroupARN {
			if err := putRecord(tx, listenerKey(account, listenerID(l)), next); err != nil {
				return err
			}
		}
		out = next
		return nil
	})
	if err != nil {
		return model.Listener{}, err
	}
	return out, nil
}

// DeleteListener deletes one of the caller's listeners.
func (s *Service) DeleteListener(ctx context.Context, account string, in DeleteListenerInput) error {
	return s.update(ctx, false, func(tx store.Tx) error {
		l, err := s.loadListener(tx, account, in.ListenerARN)
		if err != nil {
			return err
		}
		if err := tx.Delete(listenerKey(account, listenerID(l))); err != nil {
			return fmt.Errorf("delete listener %s: %w", l.ARN, err)
		}
		return nil
	})
}

// ListenerAttribute is one attribute of a listener.
type ListenerAttribute struct {
	Key   string
	Value string
}

// DescribeListenerAttributesInput is the input of DescribeListenerAttributes.
type DescribeListenerAttributesInput struct {
	ListenerARN string
}

// ModifyListenerAttributesInput is the input of ModifyListenerAttributes.
type ModifyListenerAttributesInput struct {
	ListenerARN string
	Attributes  []ListenerAttribute
}

// Listener attribute limits (Network Load Balancer TCP listeners).
const (
	minTCPIdleTimeoutSeconds = 60
	maxTCPIdleTimeoutSeconds = 6000
)

// listenerAttributes returns every attribute of a TCP listener, as AWS
// answers for one: tcp.idle_timeout.seconds alone, with its default when
// it was never set (listeners stored before attributes existed have none).
func listenerAttributes(l *model.Listener) []ListenerAttribute {
	v, ok := l.Attributes[model.ListenerAttrTCPIdleTimeout]
	if !ok {
		v = strconv.Itoa(int(model.DefaultTCPIdleTimeout / time.Second))
	}
	return []ListenerAttribute{{Key: model.ListenerAttrTCPIdleTimeout, Value: v}}
}

// checkListenerAttribute validates one attribute of ModifyListenerAttributes
// for a listener of protocol (always TCP in privlink).
func checkListenerAttribute(protocol string, a ListenerAttribute) error {
	switch {
	case a.Key == model.ListenerAttrTCPIdleTimeout:
		return checkIntAttr(a.Key, a.Value, minTCPIdleTimeoutSeconds, maxTCPIdleTimeoutSeconds)
	case strings.HasPrefix(a.Key, "routing.http."): // AWS's listener attributes of Application Load Balancers
		return elbError(codeInvalidConfigurationRequest, "Listener attribute key '%s' is not supported on listeners with protocol '%s'", a.Key, protocol)
	default:
		return validationError("Listener attribute key '%s' is not recognized", a.Key)
	}
}

// DescribeListenerAttributes returns every attribute of one of the
// caller's listeners.
func (s *Service) DescribeListenerAttributes(ctx context.Context, account string, in DescribeListenerAttributesInput) ([]ListenerAttribute, error) {
	var out []ListenerAttribute
	err := s.view(ctx, false, func(tx store.ReadTx) error {
		l, err := s.loadListener(tx, account, in.ListenerARN)
		if err != nil {
			return err
		}
		out = listenerAttributes(l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ModifyListenerAttributes changes attributes of one of the caller's
// listeners, all or none: every attribute is checked before any changes.
// The answer is every attribute of the listener after the change, as AWS
// answers.
func (s *Service) ModifyListenerAttributes(ctx context.Context, account string, in ModifyListenerAttributesInput) ([]ListenerAttribute, error) {
	var out []ListenerAttribute
	err := s.update(ctx, false, func(tx store.Tx) error {
		l, err := s.loadListener(tx, account, in.ListenerARN)
		if err != nil {
			return err
		}
		if len(in.Attributes) == 0 {
			return validationError("At least one attribute must be specified")
		}
		for _, a := range in.Attributes {
			if err := checkListenerAttribute(l.Protocol, a); err != nil {
				return err
			}
		}
		next := *l
		next.Attributes = maps.Clone(l.Attributes)
		if next.Attributes == nil {
			next.Attributes = map[string]string{}
		}
		for _, a := range in.Attributes {
			next.Attributes[a.Key] = a.Value
		}
		if !maps.Equal(next.Attributes, l.Attributes) {
			if err := putRecord(tx, listenerKey(account, listenerID(l)), next); err != nil {
				return err
			}
		}
		out = listenerAttributes(&next)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
