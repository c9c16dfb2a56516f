package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/privlink/privlink/internal/awsclient"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/nsexec"
)

// waitDeleted bounds each wait of the cleanup: for a resource to go, or
// for a dependency of it to go first.
const waitDeleted = 60 * time.Second

// cleanup is step 7: it deletes what the demo created, dependencies
// first, and waits until the namespaces behind it are gone. It goes on
// after a failed deletion and returns every failure.
func (s *scenario) cleanup(ctx context.Context) error {
	r := &s.res
	if s.prov == nil {
		return nil // nothing was created
	}
	s.out.section("7. Clean up: delete everything the demo created (the accounts stay)")
	var errs []error
	do := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	p, c := s.prov, s.cons
	// Note every interface first (the load balancer's nodes, the
	// endpoint's), whose namespaces must go with them.
	for _, v := range []struct {
		a  *account
		id string
	}{{p, r.provVPC}, {c, r.consVPC}} {
		if v.id != "" {
			if _, err := s.interfaces(ctx, v.a, v.id, ""); err != nil {
				s.log.Warn("list the interfaces of a VPC before deleting it", "vpc", v.id, "err", err)
			}
		}
	}
	if r.endpointID != "" {
		s.out.aws(c.name, "ec2", "delete-vpc-endpoints", "--vpc-endpoint-ids", r.endpointID)
		do(s.deleteEndpoint(ctx))
	}
	if r.client != "" {
		s.out.aws(c.name, "ec2", "terminate-instances", "--instance-ids", r.client)
		do(ignoreNotFound(c.ec2(ctx, "TerminateInstances", "InstanceId.1", r.client)))
	}
	if r.web != "" {
		s.out.aws(p.name, "ec2", "terminate-instances", "--instance-ids", r.web)
		do(ignoreNotFound(p.ec2(ctx, "TerminateInstances", "InstanceId.1", r.web)))
	}
	if r.serviceID != "" {
		s.out.aws(p.name, "ec2", "delete-vpc-endpoint-service-configurations", "--service-ids", r.serviceID)
		do(s.deleteService(ctx))
	}
	if r.listenerARN != "" {
		s.out.aws(p.name, "elbv2", "delete-listener", "--listener-arn", r.listenerARN)
		do(ignoreNotFound(p.elb(ctx, "DeleteListener", "ListenerArn", r.listenerARN)))
	}
	if r.lbARN != "" {
		s.out.aws(p.name, "elbv2", "delete-load-balancer", "--load-balancer-arn", r.lbARN)
		do(s.deleteLoadBalancer(ctx))
	}
	if r.tgARN != "" {
		s.out.aws(p.name, "elbv2", "delete-target-group", "--target-group-arn", r.tgARN)
		do(retryWhile(ctx, []string{"ResourceInUse"}, func(ctx context.Context) error {
			return ignoreNotFound(p.elb(ctx, "DeleteTargetGroup", "TargetGroupArn", r.tgARN))
		}))
	}
	for _, in := range []struct {
		a  *account
		id string
	}{{c, r.client}, {p, r.web}} {
		if in.id != "" {
			do(s.waitTerminated(ctx, in.a, in.id))
		}
	}
	// Security groups, subnets and VPCs go once the interfaces in them
	// have (the endpoint's, the load balancer's, the instances').
	deps := []string{"DependencyViolation", "InvalidGroup.InUse", "ResourceInUse"}
	for _, g := range []struct {
		a  *account
		id string
	}{{c, r.consSG}, {p, r.provSG}} {
		if g.id != "" {
			s.out.aws(g.a.name, "ec2", "delete-security-group", "--group-id", g.id)
			do(retryWhile(ctx, deps, func(ctx context.Context) error {
				return ignoreNotFound(g.a.ec2(ctx, "DeleteSecurityGroup", "GroupId", g.id))
			}))
		}
	}
	for _, sn := range []struct {
		a   *account
		ids []string
	}{{c, r.consSubnets}, {p, r.provSubnets}} {
		for _, id := range sn.ids {
			s.out.aws(sn.a.name, "ec2", "delete-subnet", "--subnet-id", id)
			do(retryWhile(ctx, deps, func(ctx context.Context) error {
				return ignoreNotFound(sn.a.ec2(ctx, "DeleteSubnet", "SubnetId", id))
			}))
		}
	}
	for _, v := range []struct {
		a  *account
		id string
	}{{c, r.consVPC}, {p, r.provVPC}} {
		if v.id != "" {
			s.out.aws(v.a.name, "ec2", "delete-vpc", "--vpc-id", v.id)
			do(retryWhile(ctx, deps, func(ctx context.Context) error {
				return ignoreNotFound(v.a.ec2(ctx, "DeleteVpc", "VpcId", v.id))
			}))
		}
	}
	if len(errs) == 0 {
		do(s.waitNamespacesGone(ctx))
	}
	return errors.Join(errs...)
}

// deleteEndpoint deletes the endpoint and waits until it is gone.
func (s *scenario) deleteEndpoint(ctx context.Context) error {
	c, id := s.cons, s.res.endpointID
	res, err := c.ec2(ctx, "DeleteVpcEndpoints", "VpcEndpointId.1", id)
	if err != nil {
		return fmt.Errorf("delete endpoint %s: %w", id, err)
	}
	for _, it := range res.All("unsuccessful", "item") {
		if code := it.Value("error", "code"); !isNotFound(code) {
			return fmt.Errorf("delete endpoint %s: %s: %s", id, code, it.Value("error", "message"))
		}
	}
	return poll(ctx, waitDeleted, "endpoint "+id+" to be deleted", func(ctx context.Context) (string, bool, error) {
		res, err := c.ec2(ctx, "DescribeVpcEndpoints", "VpcEndpointId.1", id)
		if isNotFound(awsclient.ErrorCode(err)) {
			return "", true, nil
		}
		if err != nil {
			return "", false, err
		}
		state := res.Value("vpcEndpointSet", "item", "state")
		return state, state == "" || state == "deleted", nil
	})
}

// deleteService deletes the endpoint service, again while the deleted
// endpoint's connection still holds it.
func (s *scenario) deleteService(ctx context.Context) error {
	p, id := s.prov, s.res.serviceID
	return poll(ctx, waitDeleted, "endpoint service "+id+" to be deleted", func(ctx context.Context) (string, bool, error) {
		res, err := p.ec2(ctx, "DeleteVpcEndpointServiceConfigurations", "ServiceId.1", id)
		if isNotFound(awsclient.ErrorCode(err)) {
			return "", true, nil
		}
		if err != nil {
			return "", false, err
		}
		for _, it := range res.All("unsuccessful", "item") {
			switch code := it.Value("error", "code"); {
			case isNotFound(code):
			case code == "ExistingVpcEndpointConnections":
				return code, false, nil
			default:
				return "", false, fmt.Errorf("%s: %s", code, it.Value("error", "message"))
			}
		}
		return "", true, nil
	})
}

// deleteLoadBalancer deletes the load balancer and waits until it is gone.
func (s *scenario) deleteLoadBalancer(ctx context.Context) error {
	p, arn := s.prov, s.res.lbARN
	err := retryWhile(ctx, []string{"ResourceInUse"}, func(ctx context.Context) error {
		return ignoreNotFound(p.elb(ctx, "DeleteLoadBalancer", "LoadBalancerArn", arn))
	})
	if err != nil {
		return err
	}
	return poll(ctx, waitDeleted, "the load balancer to be deleted", func(ctx context.Context) (string, bool, error) {
		_, err := p.elb(ctx, "DescribeLoadBalancers", "LoadBalancerArns.member.1", arn)
		if isNotFound(awsclient.ErrorCode(err)) {
			return "", true, nil
		}
		return "still there", false, err
	})
}

// waitTerminated waits for an instance to be terminated (or gone).
func (s *scenario) waitTerminated(ctx context.Context, a *account, id string) error {
	return poll(ctx, waitDeleted, "instance "+id+" to terminate", func(ctx context.Context) (string, bool, error) {
		state, err := instanceState(ctx, a, id)
		if isNotFound(awsclient.ErrorCode(err)) {
			return "", true, nil
		}
		return state, state == "terminated" || (err == nil && state == ""), err
	})
}

// waitNamespacesGone waits until no namespace of the demo's VPCs,
// instances and requester-managed interfaces is left.
func (s *scenario) waitNamespacesGone(ctx context.Context) error {
	var names []string
	for _, id := range slices.Concat([]string{s.res.provVPC, s.res.consVPC, s.res.web, s.res.client}, s.res.enis) {
		if id != "" {
			names = append(names, model.NamespaceName(id))
		}
	}
	err := poll(ctx, waitDeleted, "the demo's namespaces to be removed", func(context.Context) (string, bool, error) {
		var left []string
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(nsexec.RunDir, n)); err == nil {
				left = append(left, n)
			}
		}
		return strings.Join(left, ", "), len(left) == 0, nil
	})
	if err == nil {
		s.out.say("The network namespaces of the demo's VPCs, instances and interfaces (%d) are gone.", len(names))
	}
	return err
}

// retryWhile calls fn until it returns nil or an error whose code is not
// one of codes, or waitDeleted passes.
func retryWhile(ctx context.Context, codes []string, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, waitDeleted)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := fn(ctx)
		if err == nil || !slices.Contains(codes, awsclient.ErrorCode(err)) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (still after %v)", err, waitDeleted)
		case <-tick.C:
		}
	}
}

// ignoreNotFound drops a not-found error: what is gone needs no deleting.
func ignoreNotFound(_ *awsclient.Node, err error) error {
	if isNotFound(awsclient.ErrorCode(err)) {
		return nil
	}
	return err
}

// isNotFound reports whether an AWS error code means the resource does not
// exist: InvalidVpcID.NotFound, LoadBalancerNotFound and the like.
func isNotFound(code string) bool {
	return strings.HasSuffix(code, "NotFound")
}
