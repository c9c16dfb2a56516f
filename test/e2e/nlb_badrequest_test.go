package e2e_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/testenv"
	"github.com/privlink/privlink/test/e2e"
)

// TestPrivilegedNLBBadRequests sends ELBv2 requests that AWS refuses and
// checks, for each, the AWS error code, the HTTP status, and that nothing
// the account can see changed (its ELBv2 resources, its VPCs, subnets and
// groups, and the store revision). Where privlink refuses what AWS would
// take (protocols it does not carry yet, internet-facing load balancers in
// VPCs that have no internet gateway), the code is the one AWS uses for
// that kind of refusal.
func TestPrivilegedNLBBadRequests(t *testing.T) {
	env := e2e.New(t)
	acct := env.Account("mallory")
	eve := env.Account("eve")

	// The fixture: a VPC with subnets in us-east-1a (two) and us-east-1b,
	// another VPC with an instance, an NLB with deletion protection and a
	// TCP:80 listener forwarding to a target group, and two more groups.
	vpc := aws.ToString(acct.CreateVpc(t, "10.0.0.0/16").VpcId)
	subA := aws.ToString(acct.CreateSubnet(t, vpc, "10.0.1.0/24", "us-east-1a").SubnetId)
	subA2 := aws.ToString(acct.CreateSubnet(t, vpc, "10.0.2.0/24", "us-east-1a").SubnetId)
	subB := aws.ToString(acct.CreateSubnet(t, vpc, "10.0.3.0/24", "us-east-1b").SubnetId)
	otherVpc := aws.ToString(acct.CreateVpc(t, "10.1.0.0/16").VpcId)
	subOther := aws.ToString(acct.CreateSubnet(t, otherVpc, "10.1.1.0/24", "us-east-1b").SubnetId)
	for _, sn := range []string{subA, subA2, subB, subOther} {
		acct.WaitSubnetAvailable(t, sn, settle)
	}
	outsider := launch(t, acct, "outsider", subOther, "10.1.1.10", "")

	tcpGroup := func(name string, port int32, targetType elbtypes.TargetTypeEnum) *elb.CreateTargetGroupInput {
		return &elb.CreateTargetGroupInput{
			Name: aws.String(name), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(port),
			VpcId: aws.String(vpc), TargetType: targetType,
		}
	}
	tg := aws.ToString(acct.CreateTargetGroup(t, tcpGroup("fixture-tg", 80, elbtypes.TargetTypeEnumInstance)).TargetGroupArn)
	tg2 := aws.ToString(acct.CreateTargetGroup(t, tcpGroup("fixture-tg2", 81, elbtypes.TargetTypeEnumInstance)).TargetGroupArn)
	ipTG := aws.ToString(acct.CreateTargetGroup(t, tcpGroup("fixture-ip", 80, elbtypes.TargetTypeEnumIp)).TargetGroupArn)
	lb := aws.ToString(acct.CreateNLB(t, "fixture", []string{subA, subB}).LoadBalancerArn)
	listener := aws.ToString(acct.CreateTCPListener(t, lb, 80, tg).ListenerArn)
	acct.SetLoadBalancerAttributes(t, lb, "deletion_protection.enabled=true")
	acct.WaitLoadBalancerActive(t, lb, lbActive)
	waitRunning(t, acct, outsider)

	// Well-formed ARNs and ids of nothing.
	unknownLB := lb[:len(lb)-16] + "0123456789abcdef"
	unknownTG := tg[:len(tg)-16] + "0123456789abcdef"
	unknownListener := strings.Replace(lb, ":loadbalancer/", ":listener/", 1) + "/0123456789abcdef"
	const (
		unknownSubnet   = "subnet-0123456789abcdef0"
		unknownInstance = "i-0123456789abcdef0"
	)

	ec := acct.ELB
	createLB := func(mod func(*elb.CreateLoadBalancerInput)) func(context.Context) error {
		return func(ctx context.Context) error {
			in := &elb.CreateLoadBalancerInput{
				Name: aws.String("bad"), Type: elbtypes.LoadBalancerTypeEnumNetwork,
				Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Subnets: []string{subA, subB},
			}
			mod(in)
			_, err := ec.CreateLoadBalancer(ctx, in)
			return err
		}
	}
	modifyListenerAttr := func(arn, key, value string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := ec.ModifyListenerAttributes(ctx, &elb.ModifyListenerAttributesInput{
				ListenerArn: aws.String(arn),
				Attributes:  []elbtypes.ListenerAttribute{{Key: aws.String(key), Value: aws.String(value)}},
			})
			return err
		}
	}
	createListener := func(protocol elbtypes.ProtocolEnum, port *int32, lbARN, tgARN string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := ec.CreateListener(ctx, &elb.CreateListenerInput{
				LoadBalancerArn: aws.String(lbARN), Protocol: protocol, Port: port,
				DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}},
			})
			return err
		}
	}
	createTG := func(mod func(*elb.CreateTargetGroupInput)) func(context.Context) error {
		return func(ctx context.Context) error {
			in := tcpGroup("bad-tg", 80, elbtypes.TargetTypeEnumInstance)
			mod(in)
			_, err := ec.CreateTargetGroup(ctx, in)
			return err
		}
	}
	register := func(tgARN string, ids ...string) func(context.Context) error {
		return func(ctx context.Context) error {
			var targets []elbtypes.TargetDescription
			for _, id := range ids {
				targets = append(targets, elbtypes.TargetDescription{Id: aws.String(id)})
			}
			_, err := ec.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: targets})
			return err
		}
	}
	tags := func(n int, dupe bool) []elbtypes.Tag {
		out := make([]elbtypes.Tag, n)
		for i := range out {
			out[i] = elbtypes.Tag{Key: aws.String("k" + strconv.Itoa(i)), Value: aws.String("v")}
		}
		if dupe {
			out[n-1].Key = out[0].Key
		}
		return out
	}

	type badCase struct {
		name string
		code string
		call func(ctx context.Context) error
	}
	cases := []badCase{
		// CreateListener
		{"CreateListener HTTP on an NLB", "ValidationError", createListener(elbtypes.ProtocolEnumHttp, aws.Int32(81), lb, tg2)},
		{"CreateListener HTTPS on an NLB", "ValidationError", createListener(elbtypes.ProtocolEnumHttps, aws.Int32(443), lb, tg2)},
		{"CreateListener without a port", "ValidationError", createListener(elbtypes.ProtocolEnumTcp, nil, lb, tg2)},
		{"CreateListener port 0", "ValidationError", createListener(elbtypes.ProtocolEnumTcp, aws.Int32(0), lb, tg2)},
		{"CreateListener port 65536", "ValidationError", createListener(elbtypes.ProtocolEnumTcp, aws.Int32(65536), lb, tg2)},
		{"CreateListener UDP (not carried yet)", "ValidationError", createListener(elbtypes.ProtocolEnumUdp, aws.Int32(53), lb, tg2)},
		{"CreateListener TLS (not carried yet)", "ValidationError", createListener(elbtypes.ProtocolEnumTls, aws.Int32(443), lb, tg2)},
		{"CreateListener TCP_UDP (not carried yet)", "ValidationError", createListener(elbtypes.ProtocolEnumTcpUdp, aws.Int32(53), lb, tg2)},
		{"CreateListener unknown target group", "TargetGroupNotFound", createListener(elbtypes.ProtocolEnumTcp, aws.Int32(81), lb, unknownTG)},
		{"CreateListener unknown load balancer", "LoadBalancerNotFound", createListener(elbtypes.ProtocolEnumTcp, aws.Int32(81), unknownLB, tg2)},
		{"CreateListener port taken, other target group", "DuplicateListener", createListener(elbtypes.ProtocolEnumTcp, aws.Int32(80), lb, tg2)},
		{"CreateListener on another account's NLB", "LoadBalancerNotFound", func(ctx context.Context) error {
			_, err := eve.ELB.CreateListener(ctx, &elb.CreateListenerInput{
				LoadBalancerArn: aws.String(lb), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(81),
				DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg2)}},
			})
			return err
		}},
		{"DescribeListeners unknown listener", "ListenerNotFound", func(ctx context.Context) error {
			_, err := ec.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{unknownListener}})
			return err
		}},

		// CreateLoadBalancer
		{"CreateLoadBalancer subnets of two VPCs", "InvalidConfigurationRequest", createLB(func(in *elb.CreateLoadBalancerInput) { in.Subnets = []string{subA, subOther} })},
		{"CreateLoadBalancer two subnets in one zone", "InvalidConfigurationRequest", createLB(func(in *elb.CreateLoadBalancerInput) { in.Subnets = []string{subA, subA2} })},
		{"CreateLoadBalancer unknown subnet", "SubnetNotFound", createLB(func(in *elb.CreateLoadBalancerInput) { in.Subnets = []string{subA, unknownSubnet} })},
		{"CreateLoadBalancer internet-facing without an internet gateway", "InvalidSubnet", createLB(func(in *elb.CreateLoadBalancerInput) {
			in.Scheme = elbtypes.LoadBalancerSchemeEnumInternetFacing
		})},
		{"CreateLoadBalancer name with an underscore", "ValidationError", createLB(func(in *elb.CreateLoadBalancerInput) { in.Name = aws.String("bad_name") })},
		{"CreateLoadBalancer name internal-*", "ValidationError", createLB(func(in *elb.CreateLoadBalancerInput) { in.Name = aws.String("internal-web") })},
		{"CreateLoadBalancer name of 33 characters", "ValidationError", createLB(func(in *elb.CreateLoadBalancerInput) { in.Name = aws.String(strings.Repeat("n", 33)) })},
		{"CreateLoadBalancer name ending in -", "ValidationError", createLB(func(in *elb.CreateLoadBalancerInput) { in.Name = aws.String("web-") })},
		{"CreateLoadBalancer Type=application", "ValidationError", createLB(func(in *elb.CreateLoadBalancerInput) { in.Type = elbtypes.LoadBalancerTypeEnumApplication })},
		{"CreateLoadBalancer name taken, other settings", "DuplicateLoadBalancerName", createLB(func(in *elb.CreateLoadBalancerInput) {
			in.Name, in.Subnets = aws.String("fixture"), []string{subA}
		})},
		{"CreateLoadBalancer duplicate tag keys", "DuplicateTagKeys", createLB(func(in *elb.CreateLoadBalancerInput) { in.Tags = tags(3, true) })},
		{"CreateLoadBalancer 51 tags", "TooManyTags", createLB(func(in *elb.CreateLoadBalancerInput) { in.Tags = tags(51, false) })},

		// Load balancers
		{"DeleteLoadBalancer with deletion protection", "OperationNotPermitted", func(ctx context.Context) error {
			_, err := ec.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lb)})
			return err
		}},
		{"DescribeLoadBalancers unknown ARN", "LoadBalancerNotFound", func(ctx context.Context) error {
			_, err := ec.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{lb, unknownLB}})
			return err
		}},
		{"DescribeLoadBalancers unknown name", "LoadBalancerNotFound", func(ctx context.Context) error {
			_, err := ec.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"nosuch"}})
			return err
		}},
		{"DescribeLoadBalancers another account's ARN", "LoadBalancerNotFound", func(ctx context.Context) error {
			_, err := eve.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{lb}})
			return err
		}},
		{"ModifyLoadBalancerAttributes unknown key", "ValidationError", func(ctx context.Context) error {
			_, err := ec.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{
				LoadBalancerArn: aws.String(lb),
				Attributes:      []elbtypes.LoadBalancerAttribute{{Key: aws.String("load_balancing.colour"), Value: aws.String("blue")}},
			})
			return err
		}},
		{"ModifyLoadBalancerAttributes ALB-only key", "ValidationError", func(ctx context.Context) error {
			_, err := ec.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{
				LoadBalancerArn: aws.String(lb),
				Attributes:      []elbtypes.LoadBalancerAttribute{{Key: aws.String("idle_timeout.timeout_seconds"), Value: aws.String("60")}},
			})
			return err
		}},
		{"ModifyLoadBalancerAttributes zonal DNS affinity (not built yet)", "ValidationError", func(ctx context.Context) error {
			_, err := ec.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{
				LoadBalancerArn: aws.String(lb),
				Attributes:      []elbtypes.LoadBalancerAttribute{{Key: aws.String("dns_record.client_routing_policy"), Value: aws.String("availability_zone_affinity")}},
			})
			return err
		}},
		// Listener attributes
		{"ModifyListenerAttributes idle timeout 59 s", "ValidationError", modifyListenerAttr(listener, "tcp.idle_timeout.seconds", "59")},
		{"ModifyListenerAttributes idle timeout 6001 s", "ValidationError", modifyListenerAttr(listener, "tcp.idle_timeout.seconds", "6001")},
		{"ModifyListenerAttributes unknown key", "ValidationError", modifyListenerAttr(listener, "tcp.colour", "blue")},
		{"ModifyListenerAttributes ALB-only key", "InvalidConfigurationRequest", modifyListenerAttr(listener, "routing.http.response.server.enabled", "false")},
		{"ModifyListenerAttributes unknown listener", "ListenerNotFound", modifyListenerAttr(unknownListener, "tcp.idle_timeout.seconds", "120")},
		{"DescribeListenerAttributes unknown listener", "ListenerNotFound", func(ctx context.Context) error {
			_, err := ec.DescribeListenerAttributes(ctx, &elb.DescribeListenerAttributesInput{ListenerArn: aws.String(unknownListener)})
			return err
		}},
		{"DescribeListenerAttributes another account's listener", "ListenerNotFound", func(ctx context.Context) error {
			_, err := eve.ELB.DescribeListenerAttributes(ctx, &elb.DescribeListenerAttributesInput{ListenerArn: aws.String(listener)})
			return err
		}},
		{"AddTags 51 tags", "TooManyTags", func(ctx context.Context) error {
			_, err := ec.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{lb}, Tags: tags(51, false)})
			return err
		}},
		{"AddTags duplicate keys", "DuplicateTagKeys", func(ctx context.Context) error {
			_, err := ec.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{lb}, Tags: tags(3, true)})
			return err
		}},

		// Target groups
		{"CreateTargetGroup health check interval 4", "ValidationError", createTG(func(in *elb.CreateTargetGroupInput) { in.HealthCheckIntervalSeconds = aws.Int32(4) })},
		{"CreateTargetGroup health check interval 301", "ValidationError", createTG(func(in *elb.CreateTargetGroupInput) { in.HealthCheckIntervalSeconds = aws.Int32(301) })},
		{"CreateTargetGroup unhealthy threshold 11", "ValidationError", createTG(func(in *elb.CreateTargetGroupInput) { in.UnhealthyThresholdCount = aws.Int32(11) })},
		{"CreateTargetGroup healthy threshold 1", "ValidationError", createTG(func(in *elb.CreateTargetGroupInput) { in.HealthyThresholdCount = aws.Int32(1) })},
		{"CreateTargetGroup HTTP (an ALB protocol)", "ValidationError", createTG(func(in *elb.CreateTargetGroupInput) { in.Protocol = elbtypes.ProtocolEnumHttp })},
		{"CreateTargetGroup name taken, other port", "DuplicateTargetGroupName", createTG(func(in *elb.CreateTargetGroupInput) { in.Name, in.Port = aws.String("fixture-tg"), aws.Int32(8080) })},
		{"CreateTargetGroup name with an underscore", "ValidationError", createTG(func(in *elb.CreateTargetGroupInput) { in.Name = aws.String("bad_tg") })},
		{"DeleteTargetGroup in use by a listener", "ResourceInUse", func(ctx context.Context) error {
			_, err := ec.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(tg)})
			return err
		}},
		{"ModifyTargetGroupAttributes unknown key", "ValidationError", func(ctx context.Context) error {
			_, err := ec.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{
				TargetGroupArn: aws.String(tg),
				Attributes:     []elbtypes.TargetGroupAttribute{{Key: aws.String("proxy_protocol_v3.enabled"), Value: aws.String("true")}},
			})
			return err
		}},
		{"ModifyTargetGroupAttributes DNS failover minimum 2 (not built yet)", "ValidationError", func(ctx context.Context) error {
			_, err := ec.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{
				TargetGroupArn: aws.String(tg),
				Attributes:     []elbtypes.TargetGroupAttribute{{Key: aws.String("target_group_health.dns_failover.minimum_healthy_targets.count"), Value: aws.String("2")}},
			})
			return err
		}},
		{"ModifyTargetGroup health check interval 4", "ValidationError", func(ctx context.Context) error {
			_, err := ec.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: aws.String(tg), HealthCheckIntervalSeconds: aws.Int32(4)})
			return err
		}},

		// Targets
		{"RegisterTargets instance of another VPC", "InvalidTarget", register(tg, outsider.id)},
		{"RegisterTargets unknown instance", "InvalidTarget", register(tg, unknownInstance)},
		{"RegisterTargets IP outside the VPC", "InvalidTarget", register(ipTG, "8.8.8.8")},
		{"RegisterTargets unknown target group", "TargetGroupNotFound", register(unknownTG, outsider.id)},
		{"DescribeTargetHealth unknown target group", "TargetGroupNotFound", func(ctx context.Context) error {
			_, err := ec.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(unknownTG)})
			return err
		}},
		{"DescribeTargetHealth another account's group", "TargetGroupNotFound", func(ctx context.Context) error {
			_, err := eve.ELB.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
			return err
		}},
	}

	observer := acct.Observer()
	snapshot := func(t *testing.T) (string, int64) {
		return observer.ELBSnapshot(t) + "\n" + observer.Snapshot(t), env.StoreRevision(t)
	}
	// settled is the baseline after a request wrongly changed something:
	// once a load balancer it created is no longer provisioning, so that
	// one failure does not cascade into the next case.
	settled := func(t *testing.T) (string, int64) {
		var snap string
		var rev int64
		testenv.WaitFor(t, lbActive, "state to settle", func() error {
			snap, rev = snapshot(t)
			if strings.Contains(snap, `"Code": "provisioning"`) || strings.Contains(snap, `"State": "pending"`) {
				return errors.New("something is still provisioning")
			}
			return nil
		})
		return snap, rev
	}
	before, rev := snapshot(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(t.Context())
			code, status := e2e.APIError(err)
			detail := "the call succeeded"
			if err != nil {
				detail = err.Error()
			}
			if code != tc.code || status != 400 {
				t.Errorf("got %s (HTTP %d), want %s (HTTP 400)\n%s", code, status, tc.code, detail)
			} else {
				t.Logf("%s", detail)
			}
			after, r := snapshot(t)
			changed := false
			if after != before {
				t.Errorf("the request changed state (-before +after):\n%s", cmp.Diff(before, after))
				changed = true
			}
			if r != rev {
				t.Errorf("store revision %d → %d: the request wrote to the store", rev, r)
				changed = true
			}
			if changed {
				before, rev = settled(t)
			}
		})
	}
	if len(cases) < 20 {
		t.Errorf("only %d bad requests; the issue asks for at least 20", len(cases))
	}
}
