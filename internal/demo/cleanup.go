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
	// remove prints the AWS CLI command that deletes id (cli, then id) and
	// runs del, unless id was never created.
	remove := func(a *account, id string, del func(context.Context) error, cli ...string) {
		if id != "" {
			s.out.aws(a.name, append(cli, id)...)
			do(del(ctx))
		}
	}
	p, c := s.prov, s.cons
	// The accounts' own resources; the consumer's go first, its endpoint
	// holding the provider's service.
	sides := []struct {
		a       *account
		vpc     string
		subnets []string
		sg      string
		inst    string
	}{
		{c, r.consVPC, r.consSubnets, r.consSG, r.client},
		{p, r.provVPC, r.provSubnets, r.provSG, r.web},
	}
	// Note every interface first (the load balancer's nodes, the
	// endpoint's), whose namespaces must go with them.
	for _, sd := range sides {
		if sd.vpc != "" {
			if _, err := s.interfaces(ctx, sd.a, sd.vpc, ""); err != nil {
				s.log.Warn("list the interfaces of a VPC before deleting it", "vpc", sd.vpc, "err", err)
			}
		}
	}
	remove(c, r.endpointID, s.deleteEndpoint, "ec2", "delete-vpc-endpoints", "--vpc-endpoint-ids")
	for _, sd := range sides {
		remove(sd.a, sd.inst, deleteBy(sd.a.ec2, "TerminateInstances", "InstanceId.1", sd.inst), "ec2", "terminate-instances", "--instance-ids")
	}
	remove(p, r.serviceID, s.deleteService, "ec2", "delete-vpc-endpoint-service-configurations", "--service-ids")
	remove(p, r.listenerARN, deleteBy(p.elb, "DeleteListener", "ListenerArn", r.listenerARN), "elbv2", "delete-listener", "--listener-arn")
	remove(p, r.lbARN, s.deleteLoadBalancer, "elbv2", "delete-load-balancer", "--load-balancer-arn")
	remove(p, r.tgARN, deleteBy(p.elb, "DeleteTargetGroup", "TargetGroupArn", r.tgARN, "ResourceInUse"),
		"elbv2", "delete-target-group", "--target-group-arn")
	for _, sd := range sides {
		if sd.inst != "" {
			do(s.waitTerminated(ctx, sd.a, sd.inst))
		}
	}
	// Security groups, subnets and VPCs go once the interfaces in them
	// have (the endpoint's, the load balancer's, the instances').
	deps := []string{"DependencyViolation", "InvalidGroup.InUse", "ResourceInUse"}
	for _, sd := range sides {
		remove(sd.a, sd.sg, deleteBy(sd.a.ec2, "DeleteSecurityGroup", "GroupId", sd.sg, deps...), "ec2", "delete-security-group", "--group-id")
	}
	for _, sd := range sides {
		for _, id := range sd.subnets {
			remove(sd.a, id, deleteBy(sd.a.ec2, "DeleteSubnet", "SubnetId", id, deps...), "ec2", "delete-subnet", "--subnet-id")
		}
	}
	for _, sd := range sides {
		remove(sd.a, sd.vpc, deleteBy(sd.a.ec2, "DeleteVpc", "VpcId", sd.vpc, deps...), "ec2", "delete-vpc", "--vpc-id")
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
	if err := deleteBy(p.elb, "DeleteLoadBalancer", "LoadBalancerArn", arn, "ResourceInUse")(ctx); err != nil {
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

// deleteBy returns a deletion by one call of action (with param set to
// id) through call (an account's ec2 or elb). It is retried while it fails
// with one of retryCodes (a dependency not gone yet), for up to
// waitDeleted; a not-found error counts as done.
func deleteBy(call func(context.Context, string, ...string) (*awsclient.Node, error), action, param, id string, retryCodes ...string) func(context.Context) error {
	return func(ctx context.Context) error {
		return poll(ctx, waitDeleted, action+" "+id, func(ctx context.Context) (string, bool, error) {
			err := ignoreNotFound(call(ctx, action, param, id))
			if code := awsclient.ErrorCode(err); slices.Contains(retryCodes, code) {
				return code, false, nil
			}
			return "", err == nil, err
		})
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
