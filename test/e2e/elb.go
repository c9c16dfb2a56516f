package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/privlink/privlink/internal/testenv"
)

// Network Load Balancer helpers: an ELBv2 client per account, the calls
// the NLB acceptance tests make again and again, and the cleanup of load
// balancers, listeners and target groups (which must go before the subnets:
// a node's ENI keeps its subnet in use).

// ELBClient returns an ELBv2 client for the daemon signed with the given
// keys. Retries are off, so every call is exactly one request.
func (e *Env) ELBClient(accessKeyID, secret string) *elb.Client {
	return elb.New(elb.Options{
		Region:       Region,
		BaseEndpoint: aws.String(e.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, secret, ""),
		Retryer:      aws.NopRetryer{},
	})
}

// Observer returns a copy of the account whose clients retry as the SDK
// does by default (the standard retryer), for read-only calls that only
// observe state, such as snapshots. With retries off, a response that
// spans more than one read (over 4 KiB) from a server as quick as one on
// loopback sometimes fails with "use of closed network connection": the
// SDK closes the request body as soon as the response headers are in, and
// net/http's write loop, still checking that body, then closes the
// connection under the response (aws/aws-sdk-go-v2#2737). The SDK's
// retryer treats that error as retryable; so do these clients.
func (a *Account) Observer() *Account {
	if a.observer == nil {
		return a
	}
	return a.observer
}

func (a *Account) newObserver() *Account {
	o := *a
	o.EC2 = ec2.New(a.EC2.Options(), func(opt *ec2.Options) { opt.Retryer = retry.NewStandard() })
	o.ELB = elb.New(a.ELB.Options(), func(opt *elb.Options) { opt.Retryer = retry.NewStandard() })
	o.observer = nil
	return &o
}

// CreateNLB creates an internal Network Load Balancer named name with one
// node in each subnet; mods may change the input before it is sent. It
// records the nodes' ENIs for the cleanup and returns the load balancer as
// CreateLoadBalancer answered it.
func (a *Account) CreateNLB(t testing.TB, name string, subnets []string, mods ...func(*elb.CreateLoadBalancerInput)) elbtypes.LoadBalancer {
	t.Helper()
	in := &elb.CreateLoadBalancerInput{
		Name:    aws.String(name),
		Type:    elbtypes.LoadBalancerTypeEnumNetwork,
		Scheme:  elbtypes.LoadBalancerSchemeEnumInternal,
		Subnets: subnets,
	}
	for _, m := range mods {
		m(in)
	}
	out, err := a.ELB.CreateLoadBalancer(t.Context(), in)
	if err != nil {
		t.Fatalf("%s: CreateLoadBalancer(%s): %v", a.Name, name, err)
	}
	if len(out.LoadBalancers) != 1 || aws.ToString(out.LoadBalancers[0].LoadBalancerArn) == "" {
		t.Fatalf("%s: CreateLoadBalancer(%s) returned %d load balancers, want 1", a.Name, name, len(out.LoadBalancers))
	}
	lb := out.LoadBalancers[0]
	if _, err := a.nodeENIs(t.Context(), aws.ToString(lb.LoadBalancerArn)); err != nil {
		t.Errorf("%s: the nodes of %s: %v", a.Name, name, err)
	}
	return lb
}

// NodeENIs returns the ENIs of a load balancer's nodes, as EC2 describes
// them (interface type network_load_balancer, description
// "ELB net/<name>/<id>"), sorted by availability zone. It tracks them for
// the cleanup.
func (a *Account) NodeENIs(t testing.TB, lbARN string) []ec2types.NetworkInterface {
	t.Helper()
	enis, err := a.nodeENIs(t.Context(), lbARN)
	if err != nil {
		t.Fatalf("%s: %v", a.Name, err)
	}
	return enis
}

func (a *Account) nodeENIs(ctx context.Context, lbARN string) ([]ec2types.NetworkInterface, error) {
	// arn:…:loadbalancer/net/<name>/<id> → "ELB net/<name>/<id>"
	_, path, ok := strings.Cut(lbARN, ":loadbalancer/")
	if !ok {
		return nil, fmt.Errorf("%q is not a load balancer ARN", lbARN)
	}
	all, err := a.loadBalancerENIs(ctx)
	if err != nil {
		return nil, err
	}
	var out []ec2types.NetworkInterface
	for _, n := range all {
		if aws.ToString(n.Description) == "ELB "+path {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(x, y ec2types.NetworkInterface) int {
		return cmp.Compare(aws.ToString(x.AvailabilityZone), aws.ToString(y.AvailabilityZone))
	})
	return out, nil
}

// loadBalancerENIs lists every ENI of the account with the interface type
// network_load_balancer and tracks each for the cleanup.
func (a *Account) loadBalancerENIs(ctx context.Context) ([]ec2types.NetworkInterface, error) {
	out, err := a.Observer().EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
	if err != nil {
		return nil, fmt.Errorf("DescribeNetworkInterfaces: %w", err)
	}
	var enis []ec2types.NetworkInterface
	for _, n := range out.NetworkInterfaces {
		if n.InterfaceType == ec2types.NetworkInterfaceTypeNetworkLoadBalancer {
			a.env.TrackENI(aws.ToString(n.NetworkInterfaceId))
			enis = append(enis, n)
		}
	}
	return enis, nil
}

// LoadBalancer describes one load balancer by ARN.
func (a *Account) LoadBalancer(t testing.TB, arn string) elbtypes.LoadBalancer {
	t.Helper()
	out, err := a.Observer().ELB.DescribeLoadBalancers(t.Context(), &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	if err != nil {
		t.Fatalf("%s: DescribeLoadBalancers(%s): %v", a.Name, arn, err)
	}
	if len(out.LoadBalancers) != 1 {
		t.Fatalf("%s: DescribeLoadBalancers(%s) returned %d load balancers", a.Name, arn, len(out.LoadBalancers))
	}
	return out.LoadBalancers[0]
}

// WaitLoadBalancerActive waits, with the SDK's LoadBalancerAvailable waiter
// polling every half second, until the load balancer is active, and returns
// it.
func (a *Account) WaitLoadBalancerActive(t testing.TB, arn string, timeout time.Duration) elbtypes.LoadBalancer {
	t.Helper()
	w := elb.NewLoadBalancerAvailableWaiter(a.Observer().ELB, func(o *elb.LoadBalancerAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 500*time.Millisecond, time.Second
	})
	out, err := w.WaitForOutput(t.Context(), &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}}, timeout)
	if err != nil {
		t.Fatalf("%s: load balancer %s not active within %v: %v", a.Name, arn, timeout, err)
	}
	if len(out.LoadBalancers) != 1 {
		t.Fatalf("%s: DescribeLoadBalancers(%s) returned %d load balancers", a.Name, arn, len(out.LoadBalancers))
	}
	return out.LoadBalancers[0]
}

// NodeIPs returns the private addresses of a load balancer's nodes by
// availability zone. As on AWS, DescribeLoadBalancers lists no address for
// a node of an internal NLB whose address was not asked for (its
// LoadBalancerAddresses are empty), so they come from the nodes' ENIs.
func (a *Account) NodeIPs(t testing.TB, lbARN string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range a.NodeENIs(t, lbARN) {
		out[aws.ToString(n.AvailabilityZone)] = aws.ToString(n.PrivateIpAddress)
	}
	return out
}

// CreateTargetGroup creates a target group and returns it.
func (a *Account) CreateTargetGroup(t testing.TB, in *elb.CreateTargetGroupInput) elbtypes.TargetGroup {
	t.Helper()
	out, err := a.ELB.CreateTargetGroup(t.Context(), in)
	if err != nil {
		t.Fatalf("%s: CreateTargetGroup(%s): %v", a.Name, aws.ToString(in.Name), err)
	}
	if len(out.TargetGroups) != 1 || aws.ToString(out.TargetGroups[0].TargetGroupArn) == "" {
		t.Fatalf("%s: CreateTargetGroup(%s) returned %d target groups, want 1", a.Name, aws.ToString(in.Name), len(out.TargetGroups))
	}
	return out.TargetGroups[0]
}

// SetTargetGroupAttributes sets "key=value" attributes of a target group.
func (a *Account) SetTargetGroupAttributes(t testing.TB, arn string, kv ...string) {
	t.Helper()
	var attrs []elbtypes.TargetGroupAttribute
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		attrs = append(attrs, elbtypes.TargetGroupAttribute{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := a.ELB.ModifyTargetGroupAttributes(t.Context(), &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(arn), Attributes: attrs}); err != nil {
		t.Fatalf("%s: ModifyTargetGroupAttributes(%s, %v): %v", a.Name, arn, kv, err)
	}
}

// SetLoadBalancerAttributes sets "key=value" attributes of a load balancer.
func (a *Account) SetLoadBalancerAttributes(t testing.TB, arn string, kv ...string) {
	t.Helper()
	var attrs []elbtypes.LoadBalancerAttribute
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		attrs = append(attrs, elbtypes.LoadBalancerAttribute{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := a.ELB.ModifyLoadBalancerAttributes(t.Context(), &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(arn), Attributes: attrs}); err != nil {
		t.Fatalf("%s: ModifyLoadBalancerAttributes(%s, %v): %v", a.Name, arn, kv, err)
	}
}

// RegisterTargets registers instances (or addresses) with a target group
// on its port.
func (a *Account) RegisterTargets(t testing.TB, tgARN string, ids ...string) {
	t.Helper()
	targets := make([]elbtypes.TargetDescription, 0, len(ids))
	for _, id := range ids {
		targets = append(targets, elbtypes.TargetDescription{Id: aws.String(id)})
	}
	if _, err := a.ELB.RegisterTargets(t.Context(), &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: targets}); err != nil {
		t.Fatalf("%s: RegisterTargets(%s, %v): %v", a.Name, tgARN, ids, err)
	}
}

// CreateTCPListener creates a TCP listener on port that forwards to a
// target group.
func (a *Account) CreateTCPListener(t testing.TB, lbARN string, port int32, tgARN string) elbtypes.Listener {
	t.Helper()
	out, err := a.ELB.CreateListener(t.Context(), &elb.CreateListenerInput{
		LoadBalancerArn: aws.String(lbARN),
		Protocol:        elbtypes.ProtocolEnumTcp,
		Port:            aws.Int32(port),
		DefaultActions:  []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}},
	})
	if err != nil {
		t.Fatalf("%s: CreateListener(TCP:%d → %s): %v", a.Name, port, tgARN, err)
	}
	if len(out.Listeners) != 1 {
		t.Fatalf("%s: CreateListener returned %d listeners, want 1", a.Name, len(out.Listeners))
	}
	return out.Listeners[0]
}

// TargetHealth returns the health of a target group's targets by target
// id.
func (a *Account) TargetHealth(t testing.TB, tgARN string) map[string]elbtypes.TargetHealth {
	t.Helper()
	got, err := a.targetHealth(t.Context(), tgARN)
	if err != nil {
		t.Fatalf("%s: %v", a.Name, err)
	}
	return got
}

func (a *Account) targetHealth(ctx context.Context, tgARN string) (map[string]elbtypes.TargetHealth, error) {
	out, err := a.Observer().ELB.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
	if err != nil {
		return nil, fmt.Errorf("DescribeTargetHealth(%s): %w", tgARN, err)
	}
	got := map[string]elbtypes.TargetHealth{}
	for _, d := range out.TargetHealthDescriptions {
		if d.Target == nil || d.TargetHealth == nil {
			return nil, fmt.Errorf("DescribeTargetHealth(%s): a description without Target or TargetHealth: %+v", tgARN, d)
		}
		got[aws.ToString(d.Target.Id)] = *d.TargetHealth
	}
	return got, nil
}

// WaitTargetStates polls DescribeTargetHealth until every target in want
// has the state given for it, and returns how long that took.
func (a *Account) WaitTargetStates(t testing.TB, tgARN string, want map[string]elbtypes.TargetHealthStateEnum, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	testenv.WaitFor(t, timeout, fmt.Sprintf("targets of %s to be %v", tgARN, want), func() error {
		got, err := a.targetHealth(t.Context(), tgARN)
		if err != nil {
			return err
		}
		var wrong []string
		for id, state := range want {
			h, ok := got[id]
			if !ok {
				wrong = append(wrong, id+": not described")
			} else if h.State != state {
				wrong = append(wrong, fmt.Sprintf("%s: %s (%s)", id, h.State, h.Reason))
			}
		}
		if len(wrong) > 0 {
			slices.Sort(wrong)
			return errors.New(strings.Join(wrong, ", "))
		}
		return nil
	})
	return time.Since(start)
}

// ELBSnapshot renders every ELBv2 resource the account can see (load
// balancers with their attributes and tags, listeners, target groups with
// their attributes, tags and registered targets) as indented JSON: two
// snapshots that differ mean some call changed state. Target health is
// left out: health checks change it on their own.
func (a *Account) ELBSnapshot(t testing.TB) string {
	t.Helper()
	ctx := t.Context()
	a = a.Observer()
	snap := map[string]any{}
	lbs, err := a.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatalf("snapshot: DescribeLoadBalancers: %v", err)
	}
	tgs, err := a.ELB.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil {
		t.Fatalf("snapshot: DescribeTargetGroups: %v", err)
	}
	slices.SortFunc(lbs.LoadBalancers, func(x, y elbtypes.LoadBalancer) int {
		return cmp.Compare(aws.ToString(x.LoadBalancerArn), aws.ToString(y.LoadBalancerArn))
	})
	slices.SortFunc(tgs.TargetGroups, func(x, y elbtypes.TargetGroup) int {
		return cmp.Compare(aws.ToString(x.TargetGroupArn), aws.ToString(y.TargetGroupArn))
	})
	snap["LoadBalancers"] = lbs.LoadBalancers
	snap["TargetGroups"] = tgs.TargetGroups
	var arns []string
	for _, lb := range lbs.LoadBalancers {
		arn := aws.ToString(lb.LoadBalancerArn)
		arns = append(arns, arn)
		ls, err := a.ELB.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
		if err != nil {
			t.Fatalf("snapshot: DescribeListeners(%s): %v", arn, err)
		}
		slices.SortFunc(ls.Listeners, func(x, y elbtypes.Listener) int {
			return cmp.Compare(aws.ToString(x.ListenerArn), aws.ToString(y.ListenerArn))
		})
		snap["Listeners "+arn] = ls.Listeners
		attrs, err := a.ELB.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn})
		if err != nil {
			t.Fatalf("snapshot: DescribeLoadBalancerAttributes(%s): %v", arn, err)
		}
		snap["Attributes "+arn] = sortedLBAttrs(attrs.Attributes)
		for _, l := range ls.Listeners {
			arns = append(arns, aws.ToString(l.ListenerArn))
		}
	}
	for _, tg := range tgs.TargetGroups {
		arn := aws.ToString(tg.TargetGroupArn)
		arns = append(arns, arn)
		attrs, err := a.ELB.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
		if err != nil {
			t.Fatalf("snapshot: DescribeTargetGroupAttributes(%s): %v", arn, err)
		}
		snap["Attributes "+arn] = sortedTGAttrs(attrs.Attributes)
		th, err := a.ELB.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
		if err != nil {
			t.Fatalf("snapshot: DescribeTargetHealth(%s): %v", arn, err)
		}
		var targets []string
		for _, d := range th.TargetHealthDescriptions {
			if d.Target != nil {
				targets = append(targets, fmt.Sprintf("%s:%d", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port)))
			}
		}
		slices.Sort(targets)
		snap["Targets "+arn] = targets
	}
	// DescribeTags takes at most 20 ARNs.
	for chunk := range slices.Chunk(arns, 20) {
		tags, err := a.ELB.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: chunk})
		if err != nil {
			t.Fatalf("snapshot: DescribeTags: %v", err)
		}
		for _, d := range tags.TagDescriptions {
			slices.SortFunc(d.Tags, func(x, y elbtypes.Tag) int { return cmp.Compare(aws.ToString(x.Key), aws.ToString(y.Key)) })
			snap["Tags "+aws.ToString(d.ResourceArn)] = d.Tags
		}
	}
	b, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sortedLBAttrs(in []elbtypes.LoadBalancerAttribute) []string {
	out := make([]string, 0, len(in))
	for _, a := range in {
		out = append(out, aws.ToString(a.Key)+"="+aws.ToString(a.Value))
	}
	slices.Sort(out)
	return out
}

func sortedTGAttrs(in []elbtypes.TargetGroupAttribute) []string {
	out := make([]string, 0, len(in))
	for _, a := range in {
		out = append(out, aws.ToString(a.Key)+"="+aws.ToString(a.Value))
	}
	slices.Sort(out)
	return out
}

// deleteLoadBalancing deletes every load balancer of the account (turning
// deletion protection off first), with their listeners, and then every
// target group. A daemon without ELBv2 (InvalidAction) has none.
func (a *Account) deleteLoadBalancing(ctx context.Context) error {
	if a.ELB == nil {
		return nil
	}
	var errs []error
	lbs, err := a.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if code, _ := APIError(err); code == "InvalidAction" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("DescribeLoadBalancers: %w", err)
	}
	if len(lbs.LoadBalancers) > 0 {
		// Track the nodes, so that the cleanup waits for their namespaces.
		if _, err := a.loadBalancerENIs(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for _, lb := range lbs.LoadBalancers {
		_, err := a.ELB.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{
			LoadBalancerArn: lb.LoadBalancerArn,
			Attributes:      []elbtypes.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("false")}},
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("turn deletion protection of %s off: %w", aws.ToString(lb.LoadBalancerArn), err))
		}
		if _, err := a.ELB.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); err != nil {
			errs = append(errs, fmt.Errorf("DeleteLoadBalancer(%s): %w", aws.ToString(lb.LoadBalancerArn), err))
		}
	}
	tgs, err := a.ELB.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("DescribeTargetGroups: %w", err))...)
	}
	for _, tg := range tgs.TargetGroups {
		if _, err := a.ELB.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn}); err != nil {
			errs = append(errs, fmt.Errorf("DeleteTargetGroup(%s): %w", aws.ToString(tg.TargetGroupArn), err))
		}
	}
	return errors.Join(errs...)
}
