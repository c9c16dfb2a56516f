package benchd

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// How long Close's deletes retry while dependencies are still going away.
const deleteRetry = 30 * time.Second

// CreateVpc creates a VPC and registers its deletion.
func (a *Account) CreateVpc(ctx context.Context, cidr string) (string, error) {
	out, err := a.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
	if err != nil {
		return "", fmt.Errorf("CreateVpc %s: %w", cidr, err)
	}
	id := aws.ToString(out.Vpc.VpcId)
	a.d.TrackNamespace(NamespacePrefix + id)
	a.d.Defer("DeleteVpc "+id, func(ctx context.Context) error {
		return retryDependency(ctx, func() error {
			_, err := a.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(id)})
			return err
		})
	})
	return id, nil
}

// CreateSubnet creates a subnet in zone az (us-east-1a, …) and registers its
// deletion.
func (a *Account) CreateSubnet(ctx context.Context, vpcID, cidr, az string) (string, error) {
	out, err := a.EC2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
		VpcId: aws.String(vpcID), CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(az),
	})
	if err != nil {
		return "", fmt.Errorf("CreateSubnet %s: %w", cidr, err)
	}
	id := aws.ToString(out.Subnet.SubnetId)
	a.d.Defer("DeleteSubnet "+id, func(ctx context.Context) error {
		return retryDependency(ctx, func() error {
			_, err := a.EC2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(id)})
			return err
		})
	})
	return id, nil
}

// CreateSecurityGroup creates a security group that allows TCP ports
// fromPort to toPort in from cidr (and all egress, the default), and
// registers its deletion.
func (a *Account) CreateSecurityGroup(ctx context.Context, vpcID, name, cidr string, fromPort, toPort int32) (string, error) {
	out, err := a.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		VpcId: aws.String(vpcID), GroupName: aws.String(name), Description: aws.String("privlink bench"),
	})
	if err != nil {
		return "", fmt.Errorf("CreateSecurityGroup %s: %w", name, err)
	}
	id := aws.ToString(out.GroupId)
	a.d.Defer("DeleteSecurityGroup "+id, func(ctx context.Context) error {
		return retryDependency(ctx, func() error {
			_, err := a.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
			return err
		})
	})
	_, err = a.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(id),
		IpPermissions: []types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(fromPort), ToPort: aws.Int32(toPort),
			IpRanges: []types.IpRange{{CidrIp: aws.String(cidr)}},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("AuthorizeSecurityGroupIngress %s tcp %d-%d from %s: %w", id, fromPort, toPort, cidr, err)
	}
	return id, nil
}

// Instance says what RunInstance launches.
type Instance struct {
	SubnetID string
	GroupID  string
	IP       string // "": the subnet chooses
	UserData string // plain text; "": none
}

// RunInstanceInput is the RunInstances request for one instance like in.
func RunInstanceInput(in Instance) *ec2.RunInstancesInput {
	r := &ec2.RunInstancesInput{
		ImageId:          aws.String("ami-12345678"),
		InstanceType:     types.InstanceTypeT3Micro,
		MinCount:         aws.Int32(1),
		MaxCount:         aws.Int32(1),
		SubnetId:         aws.String(in.SubnetID),
		SecurityGroupIds: []string{in.GroupID},
	}
	if in.IP != "" {
		r.PrivateIpAddress = aws.String(in.IP)
	}
	if in.UserData != "" {
		r.UserData = aws.String(base64.StdEncoding.EncodeToString([]byte(in.UserData)))
	}
	return r
}

// RunInstance launches one instance and registers its termination.
func (a *Account) RunInstance(ctx context.Context, in Instance) (types.Instance, error) {
	return a.Launched(a.EC2.RunInstances(ctx, RunInstanceInput(in)))
}

// Launched checks the answer of a RunInstances call for one instance and
// registers the instance's termination; the benchmark that times the call
// makes it itself and hands the result here.
func (a *Account) Launched(out *ec2.RunInstancesOutput, err error) (types.Instance, error) {
	if err != nil {
		return types.Instance{}, fmt.Errorf("RunInstances: %w", err)
	}
	if len(out.Instances) != 1 {
		return types.Instance{}, fmt.Errorf("RunInstances: %d instances, want 1", len(out.Instances))
	}
	inst := out.Instances[0]
	id := aws.ToString(inst.InstanceId)
	a.d.TrackNamespace(NamespacePrefix + id)
	a.d.Defer("TerminateInstances "+id, func(ctx context.Context) error {
		return a.Terminate(ctx, id, deleteRetry)
	})
	return inst, nil
}

// RunInstances launches, in the subnet and group, one instance at each
// address, registers their termination and waits until all run. It returns
// their ids, in the order of ips.
func (a *Account) RunInstances(ctx context.Context, subnet, group string, ips ...string) ([]string, error) {
	var ids []string
	for _, ip := range ips {
		inst, err := a.RunInstance(ctx, Instance{SubnetID: subnet, GroupID: group, IP: ip})
		if err != nil {
			return nil, err
		}
		ids = append(ids, aws.ToString(inst.InstanceId))
	}
	for _, id := range ids {
		if _, err := a.WaitState(ctx, id, types.InstanceStateNameRunning, 20*time.Millisecond, 2*time.Minute); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// Terminate terminates an instance and waits until DescribeInstances says
// terminated and its namespace is gone.
func (a *Account) Terminate(ctx context.Context, id string, timeout time.Duration) error {
	if _, err := a.EC2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		if notFound(err) {
			return nil // terminated long ago and purged
		}
		return fmt.Errorf("TerminateInstances %s: %w", id, err)
	}
	if _, err := a.WaitState(ctx, id, types.InstanceStateNameTerminated, 10*time.Millisecond, timeout); err != nil {
		return err
	}
	return WaitNamespaces(ctx, []string{NamespacePrefix + id}, false, timeout)
}

// State returns the state of an instance.
func (a *Account) State(ctx context.Context, id string) (types.InstanceStateName, error) {
	out, err := a.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return "", fmt.Errorf("DescribeInstances %s: %w", id, err)
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if aws.ToString(i.InstanceId) == id && i.State != nil {
				return i.State.Name, nil
			}
		}
	}
	return "", fmt.Errorf("DescribeInstances %s: not found", id)
}

// WaitState polls DescribeInstances every interval until the instance is
// in state, for at most timeout. It returns when it first saw the state.
func (a *Account) WaitState(ctx context.Context, id string, state types.InstanceStateName, interval, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		got, err := a.State(ctx, id)
		if err == nil && got == state {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("state %s", got)
			}
			return time.Time{}, fmt.Errorf("instance %s not %s after %v: %w", id, state, timeout, err)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// retryDependency runs fn until it does not fail with DependencyViolation
// (or a not-found code, which counts as done), for at most deleteRetry.
func retryDependency(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(deleteRetry)
	for {
		err := fn()
		if err == nil || notFound(err) {
			return nil
		}
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "DependencyViolation" && time.Now().Before(deadline) {
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

// notFound reports whether err is an EC2 error of code *.NotFound.
func notFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && strings.HasSuffix(ae.ErrorCode(), ".NotFound")
}
