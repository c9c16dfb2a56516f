package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/privlink/privlink/internal/testenv"
)

// What every instance the harness launches runs as: privlink takes any image
// id and instance type.
const (
	ImageID      = "ami-12345678"
	InstanceType = types.InstanceTypeT3Micro
)

const (
	execTimeout       = 30 * time.Second // one `privlink exec`
	terminatedTimeout = 20 * time.Second // instances to reach terminated at cleanup
)

// InstanceNamespace is the namespace of an instance: "plk-<instance-id>".
func InstanceNamespace(instanceID string) string { return "plk-" + instanceID }

// RunInstance launches one instance (ami-12345678, t3.micro) into a subnet,
// at ip ("" lets the subnet choose), with userData as its UserData script in
// plain text ("" for none; the harness encodes it) and with groups as its
// security groups (none: the VPC's default group). It returns the instance
// as RunInstances answered it. The Env's cleanup terminates it before it
// deletes the subnet.
func (a *Account) RunInstance(t testing.TB, subnetID, ip, userData string, groups ...string) types.Instance {
	t.Helper()
	in := &ec2.RunInstancesInput{
		ImageId:          aws.String(ImageID),
		InstanceType:     InstanceType,
		MinCount:         aws.Int32(1),
		MaxCount:         aws.Int32(1),
		SubnetId:         aws.String(subnetID),
		SecurityGroupIds: groups,
	}
	if ip != "" {
		in.PrivateIpAddress = aws.String(ip)
	}
	if userData != "" {
		in.UserData = aws.String(base64.StdEncoding.EncodeToString([]byte(userData)))
	}
	out, err := a.EC2.RunInstances(t.Context(), in)
	if err != nil {
		t.Fatalf("%s: RunInstances(subnet %s, ip %q): %v", a.Name, subnetID, ip, err)
	}
	if len(out.Instances) != 1 || aws.ToString(out.Instances[0].InstanceId) == "" {
		t.Fatalf("%s: RunInstances(subnet %s, ip %q) returned %d instances, want 1", a.Name, subnetID, ip, len(out.Instances))
	}
	inst := out.Instances[0]
	if ip != "" && aws.ToString(inst.PrivateIpAddress) != ip {
		t.Errorf("%s: RunInstances asked for %s, got PrivateIpAddress %q", a.Name, ip, aws.ToString(inst.PrivateIpAddress))
	}
	return inst
}

// Instance describes one instance by id.
func (a *Account) Instance(t testing.TB, id string) types.Instance {
	t.Helper()
	inst, err := a.describeInstance(t.Context(), id)
	if err != nil {
		t.Fatalf("%s: %v", a.Name, err)
	}
	return inst
}

func (a *Account) describeInstance(ctx context.Context, id string) (types.Instance, error) {
	out, err := a.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return types.Instance{}, fmt.Errorf("DescribeInstances(%s): %w", id, err)
	}
	var found []types.Instance
	for _, r := range out.Reservations {
		found = append(found, r.Instances...)
	}
	if len(found) != 1 || aws.ToString(found[0].InstanceId) != id {
		return types.Instance{}, fmt.Errorf("DescribeInstances(%s) returned %d instances", id, len(found))
	}
	return found[0], nil
}

// WaitInstanceState polls DescribeInstances until the instance is in state.
func (a *Account) WaitInstanceState(t testing.TB, id string, state types.InstanceStateName, timeout time.Duration) types.Instance {
	t.Helper()
	var inst types.Instance
	testenv.WaitFor(t, timeout, "instance "+id+" "+string(state), func() error {
		var err error
		if inst, err = a.describeInstance(t.Context(), id); err != nil {
			return err
		}
		if inst.State == nil || inst.State.Name != state {
			return fmt.Errorf("state %+v", inst.State)
		}
		return nil
	})
	return inst
}

// WaitRunning waits until the instance is running and checks that its
// namespace is up then, as running promises.
func (a *Account) WaitRunning(t testing.TB, id string, timeout time.Duration) types.Instance {
	t.Helper()
	inst := a.WaitInstanceState(t, id, types.InstanceStateNameRunning, timeout)
	if !HasNamespace(InstanceNamespace(id)) {
		t.Fatalf("instance %s is running but its namespace %s does not exist", id, InstanceNamespace(id))
	}
	return inst
}

// ConsoleOutput returns the instance's console output, decoded from the
// base64 that GetConsoleOutput carries.
func (a *Account) ConsoleOutput(t testing.TB, id string) string {
	t.Helper()
	out, err := a.EC2.GetConsoleOutput(t.Context(), &ec2.GetConsoleOutputInput{InstanceId: aws.String(id)})
	if err != nil {
		t.Fatalf("%s: GetConsoleOutput(%s): %v", a.Name, id, err)
	}
	if got := aws.ToString(out.InstanceId); got != id {
		t.Errorf("%s: GetConsoleOutput(%s) InstanceId = %q", a.Name, id, got)
	}
	b, err := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
	if err != nil {
		t.Fatalf("%s: GetConsoleOutput(%s): Output is not base64: %v\n%q", a.Name, id, err, aws.ToString(out.Output))
	}
	return string(b)
}

// Exec runs `privlink exec INSTANCE -- argv…` and returns its stdout and
// exit status. Its stderr goes into the test log when the status is not 0.
// It fails t if privlink cannot be run or does not finish within 30 s.
func (e *Env) Exec(t testing.TB, instanceID string, argv ...string) (stdout string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), execTimeout)
	defer cancel()
	args := append([]string{"exec", instanceID, "--"}, argv...)
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.WaitDelay = time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("privlink %s: did not finish within %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), execTimeout, out.Bytes(), errb.Bytes())
	}
	if _, ok := errors.AsType[*exec.ExitError](err); err != nil && !ok {
		t.Fatalf("privlink %s: %v", strings.Join(args, " "), err)
	}
	code = cmd.ProcessState.ExitCode()
	if code != 0 {
		t.Logf("privlink %s: exit status %d\nstderr:\n%s", strings.Join(args, " "), code, errb.Bytes())
	}
	return out.String(), code
}

// NamespacePids returns the pids of the live processes whose network
// namespace is the named one, sorted.
func NamespacePids(t testing.TB, name string) []int {
	t.Helper()
	pids, err := namespacePids(name)
	if err != nil {
		t.Fatalf("processes in %s: %v", name, err)
	}
	return pids
}

func namespacePids(name string) ([]int, error) {
	ino, err := namespaceInode(name)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	want := fmt.Sprintf("net:[%d]", ino)
	var pids []int
	for _, de := range ents {
		pid, err := strconv.Atoi(de.Name())
		if err != nil {
			continue
		}
		// A zombie has no namespace links: it is not alive.
		if link, err := os.Readlink("/proc/" + de.Name() + "/ns/net"); err == nil && link == want {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// ProcessAlive reports whether pid is a live process (not a zombie).
func ProcessAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}

// ProcessCmdline returns the command line of pid, arguments joined by
// spaces ("" if it is gone).
func ProcessCmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// TrackInstance records an instance id so that the end-of-test sweep may
// remove its namespace and processes. Clients from Account and Client do it
// for every RunInstances.
func (e *Env) TrackInstance(id string) { e.track(&e.instanceIDs, id) }

// sweepInstances is the last resort after the daemon has stopped: it kills
// what still runs in a tracked instance's namespace and removes the
// namespace.
func (e *Env) sweepInstances(t testing.TB) {
	for _, id := range e.tracked(&e.instanceIDs) {
		name := InstanceNamespace(id)
		// The daemon removes /etc/netns/<ns> with the namespace; if it
		// could not (the namespace went behind its back), the test does.
		defer removeNetnsEtc(t, name)
		if !HasNamespace(name) {
			continue
		}
		pids, _ := namespacePids(name)
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if err := removeNamespace(name); err != nil {
			t.Errorf("cleanup: remove leftover namespace %s: %v", name, err)
		} else {
			t.Logf("cleanup: removed leftover namespace %s (killed %d processes)", name, len(pids))
		}
	}
}

// terminateAll terminates every instance of the account that is not
// terminated yet and waits until they all are, so that their subnets and
// groups can be deleted. An account on a daemon without instances
// (UnsupportedOperation) has none.
func (a *Account) terminateAll(ctx context.Context) error {
	ids, err := a.liveInstances(ctx)
	if err != nil || len(ids) == 0 {
		return err
	}
	_, err = a.EC2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids, Force: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("TerminateInstances(%v): %w", ids, err)
	}
	return pollUntil(ctx, terminatedTimeout, func() error {
		left, err := a.liveInstances(ctx)
		if err != nil {
			return err
		}
		if len(left) > 0 {
			return fmt.Errorf("instances %v not terminated yet", left)
		}
		return nil
	})
}

func (a *Account) liveInstances(ctx context.Context) ([]string, error) {
	out, err := a.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if code, _ := APIError(err); code == "UnsupportedOperation" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("DescribeInstances: %w", err)
	}
	var ids []string
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if i.State == nil || i.State.Name != types.InstanceStateNameTerminated {
				ids = append(ids, aws.ToString(i.InstanceId))
			}
		}
	}
	return ids, nil
}

// revokeGroupReferences removes the rules of groups that name another group
// as their source or destination, so that the groups can be deleted in any
// order.
func (a *Account) revokeGroupReferences(ctx context.Context, groups []types.SecurityGroup) error {
	var errs []error
	for _, g := range groups {
		if aws.ToString(g.GroupName) == "default" {
			continue
		}
		if in := groupRefs(g.IpPermissions); len(in) > 0 {
			if _, err := a.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: in}); err != nil {
				errs = append(errs, err)
			}
		}
		if eg := groupRefs(g.IpPermissionsEgress); len(eg) > 0 {
			if _, err := a.EC2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: g.GroupId, IpPermissions: eg}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func groupRefs(perms []types.IpPermission) []types.IpPermission {
	var out []types.IpPermission
	for _, p := range perms {
		if len(p.UserIdGroupPairs) == 0 {
			continue
		}
		out = append(out, types.IpPermission{
			IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort, UserIdGroupPairs: p.UserIdGroupPairs,
		})
	}
	return out
}
