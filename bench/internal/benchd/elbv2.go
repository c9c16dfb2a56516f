package benchd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
)

// ELBv2 returns an ELBv2 client for the daemon: us-east-1, static test
// credentials, retries off, like EC2.
func (d *Daemon) ELBv2() *elbv2.Client {
	hc := d.httpClient()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.elb == nil {
		d.elb = elbv2.New(elbv2.Options{
			Region:       "us-east-1",
			BaseEndpoint: aws.String(d.URL),
			Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
			Retryer:      aws.NopRetryer{},
			HTTPClient:   hc,
		})
	}
	return d.elb
}

// CreateTargetGroup creates a target group and registers its deletion.
func (d *Daemon) CreateTargetGroup(ctx context.Context, in *elbv2.CreateTargetGroupInput) (string, error) {
	out, err := d.ELBv2().CreateTargetGroup(ctx, in)
	if err != nil {
		return "", fmt.Errorf("CreateTargetGroup %s: %w", aws.ToString(in.Name), err)
	}
	if len(out.TargetGroups) != 1 {
		return "", fmt.Errorf("CreateTargetGroup %s: %d groups in the answer, want 1", aws.ToString(in.Name), len(out.TargetGroups))
	}
	arn := aws.ToString(out.TargetGroups[0].TargetGroupArn)
	d.Defer("DeleteTargetGroup "+arn, func(ctx context.Context) error {
		return retryELB(ctx, "ResourceInUse", func() error {
			_, err := d.ELBv2().DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)})
			return err
		})
	})
	return arn, nil
}

// CreateLoadBalancer creates a load balancer, registers its deletion, and
// tracks the namespaces of its nodes' ENIs for Close's sweep.
func (d *Daemon) CreateLoadBalancer(ctx context.Context, in *elbv2.CreateLoadBalancerInput) (types.LoadBalancer, error) {
	out, err := d.ELBv2().CreateLoadBalancer(ctx, in)
	if err != nil {
		return types.LoadBalancer{}, fmt.Errorf("CreateLoadBalancer %s: %w", aws.ToString(in.Name), err)
	}
	if len(out.LoadBalancers) != 1 {
		return types.LoadBalancer{}, fmt.Errorf("CreateLoadBalancer %s: %d load balancers in the answer, want 1", aws.ToString(in.Name), len(out.LoadBalancers))
	}
	lb := out.LoadBalancers[0]
	arn := aws.ToString(lb.LoadBalancerArn)
	d.Defer("DeleteLoadBalancer "+arn, func(ctx context.Context) error {
		return retryELB(ctx, "", func() error {
			_, err := d.ELBv2().DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)})
			return err
		})
	})
	enis, err := d.LoadBalancerENIs(ctx, lb)
	if err != nil {
		return lb, err
	}
	for _, id := range enis {
		d.TrackNamespace(NamespacePrefix + id)
	}
	return lb, nil
}

// LoadBalancerENIs returns the ids of the network interfaces of a load
// balancer's nodes: those whose description is "ELB net/<name>/<id>", as
// on AWS.
func (d *Daemon) LoadBalancerENIs(ctx context.Context, lb types.LoadBalancer) ([]string, error) {
	arn := aws.ToString(lb.LoadBalancerArn)
	_, res, ok := strings.Cut(arn, ":loadbalancer/")
	if !ok {
		return nil, fmt.Errorf("load balancer ARN %q has no loadbalancer/ resource", arn)
	}
	out, err := d.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("description"), Values: []string{"ELB " + res}}},
	})
	if err != nil {
		return nil, fmt.Errorf("DescribeNetworkInterfaces of %s: %w", arn, err)
	}
	var ids []string
	for _, e := range out.NetworkInterfaces {
		ids = append(ids, aws.ToString(e.NetworkInterfaceId))
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("load balancer %s: no network interface described \"ELB %s\"", arn, res)
	}
	return ids, nil
}

// CreateListener creates a listener and registers its deletion.
func (d *Daemon) CreateListener(ctx context.Context, in *elbv2.CreateListenerInput) (string, error) {
	out, err := d.ELBv2().CreateListener(ctx, in)
	if err != nil {
		return "", fmt.Errorf("CreateListener port %d: %w", aws.ToInt32(in.Port), err)
	}
	if len(out.Listeners) != 1 {
		return "", fmt.Errorf("CreateListener port %d: %d listeners in the answer, want 1", aws.ToInt32(in.Port), len(out.Listeners))
	}
	arn := aws.ToString(out.Listeners[0].ListenerArn)
	d.Defer("DeleteListener "+arn, func(ctx context.Context) error {
		return retryELB(ctx, "", func() error {
			_, err := d.ELBv2().DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: aws.String(arn)})
			return err
		})
	})
	return arn, nil
}

// WaitLoadBalancerActive polls DescribeLoadBalancers every 50 ms until the
// load balancer is active, for at most timeout.
func (d *Daemon) WaitLoadBalancerActive(ctx context.Context, arn string, timeout time.Duration) (types.LoadBalancer, error) {
	var last string
	err := poll(ctx, 50*time.Millisecond, timeout, func() (bool, error) {
		out, err := d.ELBv2().DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
		if err != nil {
			return false, fmt.Errorf("DescribeLoadBalancers %s: %w", arn, err)
		}
		if len(out.LoadBalancers) != 1 || out.LoadBalancers[0].State == nil {
			return false, nil
		}
		last = string(out.LoadBalancers[0].State.Code)
		return out.LoadBalancers[0].State.Code == types.LoadBalancerStateEnumActive, nil
	})
	if err != nil {
		return types.LoadBalancer{}, fmt.Errorf("load balancer %s not active (state %q): %w", arn, last, err)
	}
	out, err := d.ELBv2().DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	if err != nil {
		return types.LoadBalancer{}, fmt.Errorf("DescribeLoadBalancers %s: %w", arn, err)
	}
	return out.LoadBalancers[0], nil
}

// WaitTargetsHealthy polls DescribeTargetHealth every 200 ms until every
// registered target of the group is healthy, for at most timeout.
func (d *Daemon) WaitTargetsHealthy(ctx context.Context, tgARN string, timeout time.Duration) error {
	var last []string
	err := poll(ctx, 200*time.Millisecond, timeout, func() (bool, error) {
		out, err := d.ELBv2().DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
		if err != nil {
			return false, fmt.Errorf("DescribeTargetHealth %s: %w", tgARN, err)
		}
		last = last[:0]
		healthy := len(out.TargetHealthDescriptions) > 0
		for _, h := range out.TargetHealthDescriptions {
			state, reason := "?", ""
			if h.TargetHealth != nil {
				state, reason = string(h.TargetHealth.State), string(h.TargetHealth.Reason)
			}
			last = append(last, fmt.Sprintf("%s %s %s", aws.ToString(h.Target.Id), state, reason))
			healthy = healthy && state == string(types.TargetHealthStateEnumHealthy)
		}
		return healthy, nil
	})
	if err != nil {
		return fmt.Errorf("targets of %s not healthy (%s): %w", tgARN, strings.Join(last, "; "), err)
	}
	return nil
}

// poll calls done every interval until it reports true or fails, for at most
// timeout.
func poll(ctx context.Context, interval, timeout time.Duration, done func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up after %v", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// retryELB runs fn until it does not fail with the error code busy, for at
// most deleteRetry; an error whose code ends in NotFound counts as done.
func retryELB(ctx context.Context, busy string, fn func() error) error {
	deadline := time.Now().Add(deleteRetry)
	for {
		err := fn()
		var ae smithy.APIError
		if err == nil || errors.As(err, &ae) && strings.HasSuffix(ae.ErrorCode(), "NotFound") {
			return nil
		}
		if busy != "" && errors.As(err, &ae) && ae.ErrorCode() == busy && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		return err
	}
}

// NLBSpec is an internal network load balancer with one node, one TCP
// listener and a target group of instances, as CreateNLB makes it.
type NLBSpec struct {
	Name       string // of the load balancer and the target group
	VpcID      string
	SubnetID   string
	NodeIP     string // the node's address in the subnet
	Port       int32  // the listener's
	TargetPort int32
	Targets    []string // instance ids
}

// NLB is what CreateNLB made.
type NLB struct {
	ARN, TargetGroupARN, ListenerARN string
	// NodeENI is the id of the node's network interface; NodeNS its
	// namespace.
	NodeENI, NodeNS string
}

// CreateNLB creates the target group (TCP, instance targets, TCP health
// checks every 5 s, thresholds 2) with the targets registered, the load
// balancer (internal, one node at NodeIP, no security groups) and its
// listener, and waits until the load balancer is active, the node's
// namespace exists and every target is healthy; Close deletes them.
func (d *Daemon) CreateNLB(ctx context.Context, s NLBSpec) (*NLB, error) {
	n := &NLB{}
	var err error
	n.TargetGroupARN, err = d.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name:                       aws.String(s.Name),
		Protocol:                   types.ProtocolEnumTcp,
		Port:                       aws.Int32(s.TargetPort),
		VpcId:                      aws.String(s.VpcID),
		TargetType:                 types.TargetTypeEnumInstance,
		HealthCheckProtocol:        types.ProtocolEnumTcp,
		HealthCheckIntervalSeconds: aws.Int32(5),
		HealthyThresholdCount:      aws.Int32(2),
		UnhealthyThresholdCount:    aws.Int32(2),
	})
	if err != nil {
		return nil, err
	}
	var targets []types.TargetDescription
	for _, id := range s.Targets {
		targets = append(targets, types.TargetDescription{Id: aws.String(id)})
	}
	if _, err := d.ELBv2().RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(n.TargetGroupARN), Targets: targets}); err != nil {
		return nil, fmt.Errorf("RegisterTargets %v: %w", s.Targets, err)
	}
	lb, err := d.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name:           aws.String(s.Name),
		Type:           types.LoadBalancerTypeEnumNetwork,
		Scheme:         types.LoadBalancerSchemeEnumInternal,
		SubnetMappings: []types.SubnetMapping{{SubnetId: aws.String(s.SubnetID), PrivateIPv4Address: aws.String(s.NodeIP)}},
	})
	if err != nil {
		return nil, err
	}
	n.ARN = aws.ToString(lb.LoadBalancerArn)
	if n.ListenerARN, err = d.CreateListener(ctx, &elbv2.CreateListenerInput{
		LoadBalancerArn: aws.String(n.ARN),
		Protocol:        types.ProtocolEnumTcp,
		Port:            aws.Int32(s.Port),
		DefaultActions:  []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(n.TargetGroupARN)}},
	}); err != nil {
		return nil, err
	}
	if _, err := d.WaitLoadBalancerActive(ctx, n.ARN, 2*time.Minute); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, d.LogTail(20))
	}
	enis, err := d.LoadBalancerENIs(ctx, lb)
	if err != nil {
		return nil, err
	}
	if len(enis) != 1 {
		return nil, fmt.Errorf("load balancer %s has %d network interfaces, want 1", n.ARN, len(enis))
	}
	n.NodeENI, n.NodeNS = enis[0], NamespacePrefix+enis[0]
	if err := WaitNamespaces(ctx, []string{n.NodeNS}, true, 30*time.Second); err != nil {
		return nil, fmt.Errorf("node namespace %s: %w", n.NodeNS, err)
	}
	if err := d.WaitTargetsHealthy(ctx, n.TargetGroupARN, 2*time.Minute); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, d.LogTail(20))
	}
	return n, nil
}
