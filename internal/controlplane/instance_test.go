package controlplane

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
	"github.com/privlink/privlink/internal/store/boltstore"
)

// testClock is a settable clock for the terminated-visibility window.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var testEpoch = time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)

// newInstanceTestService is newNetTestService with a settable clock and
// the Config edits of tweak.
func newInstanceTestService(t *testing.T, tweak func(*Config)) (*Service, store.Store, *testClock) {
	t.Helper()
	st, err := boltstore.Open(t.Context(), filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatalf("boltstore.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	zones, err := model.Zones("us-east-1", []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: testEpoch}
	cfg := Config{Store: st, Region: "us-east-1", Zones: zones, Now: clock.Now}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, st, clock
}

func count(n int32) *int32 { return &n }

// runIn returns RunInstances input for one instance in subnetID, edited by
// the options.
func runIn(subnetID string, opts ...func(*RunInstancesInput)) RunInstancesInput {
	in := RunInstancesInput{ImageID: "ami-12345678", MinCount: count(1), MaxCount: count(1), SubnetID: subnetID}
	for _, o := range opts {
		o(&in)
	}
	return in
}

func withCount(minCount, maxCount int32) func(*RunInstancesInput) {
	return func(in *RunInstancesInput) { in.MinCount, in.MaxCount = count(minCount), count(maxCount) }
}

func withIP(ip string) func(*RunInstancesInput) {
	return func(in *RunInstancesInput) { in.PrivateIPAddress = ip }
}

func withGroups(ids ...string) func(*RunInstancesInput) {
	return func(in *RunInstancesInput) { in.SecurityGroupIDs = ids }
}

func mustRun(t *testing.T, s *Service, account string, in RunInstancesInput) Reservation {
	t.Helper()
	r, err := s.RunInstances(t.Context(), account, in)
	if err != nil {
		t.Fatalf("RunInstances(%s): %v", in.SubnetID, err)
	}
	return r
}

func instanceIDs(r Reservation) []string {
	var out []string
	for _, i := range r.Instances {
		out = append(out, i.ID)
	}
	return out
}

func instanceIPs(r Reservation) []string {
	var out []string
	for _, i := range r.Instances {
		out = append(out, i.PrivateIP)
	}
	return out
}

func refs(account string, ids ...string) []Ref {
	var out []Ref
	for _, id := range ids {
		out = append(out, Ref{Owner: account, ID: id})
	}
	return out
}

func mustAdvance(t *testing.T, s *Service, p InstanceProgress) {
	t.Helper()
	if err := s.AdvanceInstances(t.Context(), p); err != nil {
		t.Fatalf("AdvanceInstances: %v", err)
	}
}

func describeOne(t *testing.T, s *Service, account, id string) Instance {
	t.Helper()
	out, err := s.DescribeInstances(t.Context(), account, DescribeInstancesInput{InstanceIDs: []string{id}})
	if err != nil {
		t.Fatalf("DescribeInstances(%s): %v", id, err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("DescribeInstances(%s) = %+v, want one instance", id, out)
	}
	return out.Reservations[0].Instances[0]
}

func availableIPs(t *testing.T, s *Service, account, subnetID string) int32 {
	t.Helper()
	out, err := s.DescribeSubnets(t.Context(), account, DescribeSubnetsInput{SubnetIDs: []string{subnetID}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Subnets[0].AvailableIPAddressCount
}

func TestRunInstances(t *testing.T) {
	s, _, _ := newInstanceTestService(t, nil)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	userData := base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hello\n"))
	r := mustRun(t, s, netAcctA, runIn(sn.ID, func(in *RunInstancesInput) {
		in.InstanceType = "t3.micro"
		in.UserData = userData
		in.TagSpecs = []TagSpec{
			{ResourceType: "instance", Tags: []model.Tag{{Key: "Name", Value: "web"}}},
			{ResourceType: "network-interface", Tags: []model.Tag{{Key: "Role", Value: "eth0"}}},
			{ResourceType: "volume", Tags: []model.Tag{{Key: "Ignored", Value: "yes"}}},
		}
	}))
	if !model.ValidID("r", r.ReservationID) || len(r.Instances) != 1 {
		t.Fatalf("reservation = %+v", r)
	}
	got := r.Instances[0]
	if !model.ValidID("i", got.ID) || len(got.ID) != len("i-")+17 {
		t.Errorf("InstanceId = %q", got.ID)
	}
	if len(got.NetworkInterfaces) != 1 {
		t.Fatalf("NetworkInterfaces = %+v", got.NetworkInterfaces)
	}
	eni := got.NetworkInterfaces[0]
	if !model.ValidID("eni", eni.ID) || !model.ValidID("eni-attach", eni.AttachmentID) {
		t.Errorf("ENI id %q / attachment %q", eni.ID, eni.AttachmentID)
	}
	if !strings.HasPrefix(eni.MacAddress, "02:") || len(eni.MacAddress) != len("02:00:00:00:00:00") {
		t.Errorf("MAC = %q, want 02:xx:xx:xx:xx:xx", eni.MacAddress)
	}
	groups := []GroupIdentifier{{GroupID: vpc.DefaultGroupID, GroupName: "default"}}
	wantENI := NetworkInterface{
		NetworkInterface: model.NetworkInterface{
			ID: eni.ID, OwnerID: netAcctA, VpcID: vpc.ID, SubnetID: sn.ID,
			AvailabilityZone: "us-east-1a", AvailabilityZoneID: "use1-az1", PrivateIP: "10.0.1.4",
			MacAddress: eni.MacAddress, Groups: []string{vpc.DefaultGroupID}, InterfaceType: "interface",
			Status: "in-use", InstanceID: got.ID, AttachmentID: eni.AttachmentID, AttachTime: testEpoch,
			DeleteOnTermination: true, SourceDestCheck: true, BridgePort: model.LinkName("p", eni.ID),
			Tags: []model.Tag{{Key: "Role", Value: "eth0"}},
		},
		PrivateDNSName:  "ip-10-0-1-4.ec2.internal",
		GroupSet:        groups,
		AttachmentOwner: netAcctA,
	}
	want := Instance{
		Instance: model.Instance{
			ID: got.ID, OwnerID: netAcctA, ReservationID: r.ReservationID, ImageID: "ami-12345678",
			InstanceType: "t3.micro", VpcID: vpc.ID, SubnetID: sn.ID, AvailabilityZone: "us-east-1a",
			AvailabilityZoneID: "use1-az1", PrimaryENI: eni.ID, PrivateIP: "10.0.1.4", State: "pending",
			StateReason: "pending", StateReasonMessage: "pending", UserData: userData, LaunchTime: testEpoch,
			Tags: []model.Tag{{Key: "Name", Value: "web"}},
		},
		StateCode:         0,
		PrivateDNSName:    "ip-10-0-1-4.ec2.internal",
		SourceDestCheck:   true,
		Groups:            groups,
		NetworkInterfaces: []NetworkInterface{wantENI},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RunInstances() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, describeOne(t, s, netAcctA, got.ID)); diff != "" {
		t.Errorf("DescribeInstances() mismatch (-want +got):\n%s", diff)
	}
	enis, err := s.DescribeNetworkInterfaces(t.Context(), netAcctA, DescribeNetworkInterfacesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]NetworkInterface{wantENI}, enis.NetworkInterfaces); diff != "" {
		t.Errorf("DescribeNetworkInterfaces() mismatch (-want +got):\n%s", diff)
	}

	// A launch of several: one reservation, launch indexes 0..n-1, the
	// default instance type, addresses in order.
	r2 := mustRun(t, s, netAcctA, runIn(sn.ID, withCount(3, 3)))
	var idx []int32
	for _, i := range r2.Instances {
		idx = append(idx, i.AmiLaunchIndex)
		if i.InstanceType != "m1.small" || i.ReservationID != r2.ReservationID {
			t.Errorf("instance %s: type %s reservation %s", i.ID, i.InstanceType, i.ReservationID)
		}
	}
	if diff := cmp.Diff([]int32{0, 1, 2}, idx); diff != "" {
		t.Errorf("launch indexes mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"10.0.1.5", "10.0.1.6", "10.0.1.7"}, instanceIPs(r2)); diff != "" {
		t.Errorf("addresses mismatch (-want +got):\n%s", diff)
	}
}

func TestIPAllocation(t *testing.T) {
	s, _, _ := newInstanceTestService(t, nil)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.2.0/28") // usable .4-.14: 11 addresses
	if got := availableIPs(t, s, netAcctA, sn.ID); got != 11 {
		t.Fatalf("AvailableIpAddressCount = %d, want 11", got)
	}
	first := mustRun(t, s, netAcctA, runIn(sn.ID))
	asked := mustRun(t, s, netAcctA, runIn(sn.ID, withIP("10.0.2.10")))
	next := mustRun(t, s, netAcctA, runIn(sn.ID))
	got := []string{first.Instances[0].PrivateIP, asked.Instances[0].PrivateIP, next.Instances[0].PrivateIP}
	if diff := cmp.Diff([]string{"10.0.2.4", "10.0.2.10", "10.0.2.5"}, got); diff != "" {
		t.Errorf("addresses mismatch (-want +got):\n%s", diff)
	}
	if got := availableIPs(t, s, netAcctA, sn.ID); got != 8 {
		t.Errorf("AvailableIpAddressCount = %d, want 8", got)
	}

	errs := []struct {
		ip, code, msg string
	}{
		{"10.0.2.0", "InvalidParameterValue", "Address 10.0.2.0 is in subnet's reserved address range"},
		{"10.0.2.1", "InvalidParameterValue", "Address 10.0.2.1 is in subnet's reserved address range"},
		{"10.0.2.3", "InvalidParameterValue", "Address 10.0.2.3 is in subnet's reserved address range"},
		{"10.0.2.15", "InvalidParameterValue", "Address 10.0.2.15 is in subnet's reserved address range"},
		{"10.0.3.5", "InvalidParameterValue", "Address 10.0.3.5 does not fall within the subnet's address range"},
		{"10.0.2.10", "InvalidIPAddress.InUse", "Address 10.0.2.10 is in use."},
		{"10.0.2.4", "InvalidIPAddress.InUse", "Address 10.0.2.4 is in use."},
	}
	for _, e := range errs {
		_, err := s.RunInstances(t.Context(), netAcctA, runIn(sn.ID, withIP(e.ip)))
		wantNetErr(t, err, e.code, 400)
		wantMessage(t, err, e.msg)
	}

	// MinCount more than is free launches nothing; MaxCount more than is
	// free launches what fits.
	_, err := s.RunInstances(t.Context(), netAcctA, runIn(sn.ID, withCount(9, 9)))
	wantNetErr(t, err, "InsufficientFreeAddressesInSubnet", 400)
	wantMessage(t, err, fmt.Sprintf("There are not enough free addresses in subnet '%s' to satisfy the requested number of instances.", sn.ID))
	rest := mustRun(t, s, netAcctA, runIn(sn.ID, withCount(1, 20)))
	want := []string{"10.0.2.6", "10.0.2.7", "10.0.2.8", "10.0.2.9", "10.0.2.11", "10.0.2.12", "10.0.2.13", "10.0.2.14"}
	if diff := cmp.Diff(want, instanceIPs(rest)); diff != "" {
		t.Errorf("fill mismatch (-want +got):\n%s", diff)
	}
	if got := availableIPs(t, s, netAcctA, sn.ID); got != 0 {
		t.Errorf("AvailableIpAddressCount = %d, want 0", got)
	}
	_, err = s.RunInstances(t.Context(), netAcctA, runIn(sn.ID))
	wantNetErr(t, err, "InsufficientFreeAddressesInSubnet", 400)

	// Terminating frees the address once the controller is done, and the
	// lowest free address is taken again.
	if _, err := s.TerminateInstances(t.Context(), netAcctA, TerminateInstancesInput{InstanceIDs: instanceIDs(next)}); err != nil {
		t.Fatal(err)
	}
	if got := availableIPs(t, s, netAcctA, sn.ID); got != 0 {
		t.Errorf("AvailableIpAddressCount while shutting down = %d, want 0", got)
	}
	mustAdvance(t, s, InstanceProgress{Terminated: refs(netAcctA, instanceIDs(next)...)})
	if got := availableIPs(t, s, netAcctA, sn.ID); got != 1 {
		t.Errorf("AvailableIpAddressCount after terminate = %d, want 1", got)
	}
	again := mustRun(t, s, netAcctA, runIn(sn.ID))
	if ip := again.Instances[0].PrivateIP; ip != "10.0.2.5" {
		t.Errorf("reused address = %s, want 10.0.2.5", ip)
	}

	// A /16 subnet: the count is 65531 minus the ENIs.
	big := mustVpc(t, s, netAcctA, "10.1.0.0/16")
	whole := mustSubnet(t, s, netAcctA, big.ID, "10.1.0.0/16")
	r := mustRun(t, s, netAcctA, runIn(whole.ID, withCount(2, 2)))
	if diff := cmp.Diff([]string{"10.1.0.4", "10.1.0.5"}, instanceIPs(r)); diff != "" {
		t.Errorf("/16 addresses mismatch (-want +got):\n%s", diff)
	}
	if got := availableIPs(t, s, netAcctA, whole.ID); got != 65529 {
		t.Errorf("/16 AvailableIpAddressCount = %d, want 65529", got)
	}
}

func TestInstanceQuota(t *testing.T) {
	s, _, _ := newInstanceTestService(t, func(c *Config) { c.InstanceQuota = 3 })
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	r := mustRun(t, s, netAcctA, runIn(sn.ID, withCount(2, 5)))
	if len(r.Instances) != 3 {
		t.Fatalf("launched %d, want 3 (the quota)", len(r.Instances))
	}
	_, err := s.RunInstances(t.Context(), netAcctA, runIn(sn.ID))
	wantNetErr(t, err, "InstanceLimitExceeded", 400)
	wantMessage(t, err, "You have requested more instances (4) than your current instance limit of 3 allows for the specified instance type. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.")
	// The quota is per account.
	vb := mustVpc(t, s, netAcctB, "10.0.0.0/16")
	mustRun(t, s, netAcctB, runIn(mustSubnet(t, s, netAcctB, vb.ID, "10.0.1.0/24").ID))

	// A stopped instance frees its place; starting it takes it back.
	ids := instanceIDs(r)
	mustAdvance(t, s, InstanceProgress{Running: refs(netAcctA, ids...)})
	if _, err := s.StopInstances(t.Context(), netAcctA, StopInstancesInput{InstanceIDs: ids[:1]}); err != nil {
		t.Fatal(err)
	}
	mustAdvance(t, s, InstanceProgress{Stopped: refs(netAcctA, ids[0])})
	mustRun(t, s, netAcctA, runIn(sn.ID))
	_, err = s.StartInstances(t.Context(), netAcctA, StartInstancesInput{InstanceIDs: ids[:1]})
	wantNetErr(t, err, "InstanceLimitExceeded", 400)
}

func TestInstanceLifecycle(t *testing.T) {
	s, st, clock := newInstanceTestService(t, nil)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	r := mustRun(t, s, netAcctA, runIn(sn.ID, withCount(2, 2)))
	a, b := r.Instances[0].ID, r.Instances[1].ID
	change := func(id, prev, cur string) InstanceStateChange {
		return InstanceStateChange{InstanceID: id, PreviousState: prev, CurrentState: cur}
	}
	check := func(name string, got []InstanceStateChange, err error, want ...InstanceStateChange) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
		}
	}
	state := func(id string) string { t.Helper(); return describeOne(t, s, netAcctA, id).State }

	// pending: cannot be stopped yet; starting it changes nothing.
	_, err := s.StopInstances(ctx, netAcctA, StopInstancesInput{InstanceIDs: []string{a}})
	wantNetErr(t, err, "IncorrectInstanceState", 400)
	wantMessage(t, err, fmt.Sprintf("Instance '%s' cannot be stopped as it has never reached the 'running' state.", a))
	got, err := s.StartInstances(ctx, netAcctA, StartInstancesInput{InstanceIDs: []string{a}})
	check("StartInstances(pending)", got, err, change(a, "pending", "pending"))

	mustAdvance(t, s, InstanceProgress{Running: refs(netAcctA, a, b), UserDataRan: refs(netAcctA, a)})
	ia := describeOne(t, s, netAcctA, a)
	if ia.State != "running" || ia.StateCode != 16 || ia.StateReason != "" || !ia.UserDataRan {
		t.Errorf("after Running: state %s (%d) reason %q userDataRan %v", ia.State, ia.StateCode, ia.StateReason, ia.UserDataRan)
	}

	// running → stopping → stopped, keeping the ENI.
	clock.Advance(time.Minute)
	got, err = s.StopInstances(ctx, netAcctA, StopInstancesInput{InstanceIDs: []string{a}})
	check("StopInstances", got, err, change(a, "running", "stopping"))
	ia = describeOne(t, s, netAcctA, a)
	if ia.StateTransitionReason != "User initiated (2025-01-15 10:01:00 GMT)" || ia.StateReason != "Client.UserInitiatedShutdown" ||
		ia.StateReasonMessage != "Client.UserInitiatedShutdown: User initiated shutdown" || !ia.StopRequestedAt.Equal(testEpoch.Add(time.Minute)) || ia.ForceStop {
		t.Errorf("stopping instance: %+v", ia.Instance)
	}
	got, err = s.StopInstances(ctx, netAcctA, StopInstancesInput{InstanceIDs: []string{a}, Force: true})
	check("StopInstances(stopping, Force)", got, err, change(a, "stopping", "stopping"))
	if !describeOne(t, s, netAcctA, a).ForceStop {
		t.Error("Force on a stopping instance did not set ForceStop")
	}
	got, err = s.StartInstances(ctx, netAcctA, StartInstancesInput{InstanceIDs: []string{a}})
	wantNetErr(t, err, "IncorrectInstanceState", 400)
	wantMessage(t, err, fmt.Sprintf("The instance '%s' is not in a state from which it can be started.", a))
	mustAdvance(t, s, InstanceProgress{Stopped: refs(netAcctA, a)})
	ia = describeOne(t, s, netAcctA, a)
	if ia.State != "stopped" || ia.StateCode != 80 || len(ia.NetworkInterfaces) != 1 || ia.PrivateIP != "10.0.1.4" {
		t.Errorf("stopped instance: state %s (%d), enis %d, ip %s", ia.State, ia.StateCode, len(ia.NetworkInterfaces), ia.PrivateIP)
	}
	got, err = s.StopInstances(ctx, netAcctA, StopInstancesInput{InstanceIDs: []string{a, b}})
	check("StopInstances(stopped, running)", got, err, change(a, "stopped", "stopped"), change(b, "running", "stopping"))

	// stopped → pending → running.
	got, err = s.StartInstances(ctx, netAcctA, StartInstancesInput{InstanceIDs: []string{a}})
	check("StartInstances(stopped)", got, err, change(a, "stopped", "pending"))
	ia = describeOne(t, s, netAcctA, a)
	if ia.StateTransitionReason != "" || ia.StateReason != "pending" || !ia.StopRequestedAt.IsZero() {
		t.Errorf("restarted instance: %+v", ia.Instance)
	}
	mustAdvance(t, s, InstanceProgress{Running: refs(netAcctA, a)})
	if st := state(a); st != "running" {
		t.Errorf("state = %s, want running", st)
	}

	// Terminate: shutting-down (idempotent), then terminated by the
	// controller, which releases the ENI. A stopping instance can be
	// terminated too.
	got, err = s.TerminateInstances(ctx, netAcctA, TerminateInstancesInput{InstanceIDs: []string{a, b, a}})
	check("TerminateInstances", got, err, change(a, "running", "shutting-down"), change(b, "stopping", "shutting-down"))
	got, err = s.TerminateInstances(ctx, netAcctA, TerminateInstancesInput{InstanceIDs: []string{a}})
	check("TerminateInstances(again)", got, err, change(a, "shutting-down", "shutting-down"))
	_, err = s.StopInstances(ctx, netAcctA, StopInstancesInput{InstanceIDs: []string{a}})
	wantNetErr(t, err, "IncorrectInstanceState", 400)
	if n := availableIPs(t, s, netAcctA, sn.ID); n != 249 {
		t.Errorf("AvailableIpAddressCount while shutting down = %d, want 249", n)
	}
	// Transitions that no longer apply are skipped and write nothing.
	before := netRev(t, st)
	mustAdvance(t, s, InstanceProgress{Running: refs(netAcctA, a), Stopped: refs(netAcctA, b, "i-0123456789abcdef0"), Terminated: refs(netAcctB, a)})
	if netRev(t, st) != before {
		t.Error("stale transitions wrote")
	}
	clock.Advance(time.Minute)
	mustAdvance(t, s, InstanceProgress{Terminated: refs(netAcctA, a, b)})
	ia = describeOne(t, s, netAcctA, a)
	want := Instance{
		Instance:  ia.Instance,
		StateCode: 48,
		Groups:    []GroupIdentifier{},
	}
	want.State, want.VpcID, want.SubnetID, want.PrivateIP = "terminated", "", "", ""
	want.TerminatedAt = testEpoch.Add(2 * time.Minute)
	if diff := cmp.Diff(want, ia); diff != "" {
		t.Errorf("terminated instance mismatch (-want +got):\n%s", diff)
	}
	if ia.StateTransitionReason != "User initiated (2025-01-15 10:01:00 GMT)" {
		t.Errorf("StateTransitionReason = %q", ia.StateTransitionReason)
	}
	enis, err := s.DescribeNetworkInterfaces(ctx, netAcctA, DescribeNetworkInterfacesInput{})
	if err != nil || len(enis.NetworkInterfaces) != 0 {
		t.Errorf("ENIs after terminate = %+v, %v; want none", enis.NetworkInterfaces, err)
	}
	if n := availableIPs(t, s, netAcctA, sn.ID); n != 251 {
		t.Errorf("AvailableIpAddressCount after terminate = %d, want 251", n)
	}
	got, err = s.TerminateInstances(ctx, netAcctA, TerminateInstancesInput{InstanceIDs: []string{a}})
	check("TerminateInstances(terminated)", got, err, change(a, "terminated", "terminated"))
	_, err = s.StartInstances(ctx, netAcctA, StartInstancesInput{InstanceIDs: []string{a}})
	wantNetErr(t, err, "IncorrectInstanceState", 400)
	_, err = s.StopInstances(ctx, netAcctA, StopInstancesInput{InstanceIDs: []string{a}})
	wantNetErr(t, err, "IncorrectInstanceState", 400)
	wantMessage(t, err, fmt.Sprintf("This instance '%s' is not in a state from which it can be stopped.", a))
	// UserData never runs on a terminated instance.
	before = netRev(t, st)
	mustAdvance(t, s, InstanceProgress{UserDataRan: refs(netAcctA, b)})
	if netRev(t, st) != before {
		t.Error("UserDataRan on a terminated instance wrote")
	}
}

func TestAllOrNothing(t *testing.T) {
	s, st, _ := newInstanceTestService(t, nil)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	r := mustRun(t, s, netAcctA, runIn(sn.ID, withCount(2, 2)))
	a, b := r.Instances[0].ID, r.Instances[1].ID
	mustAdvance(t, s, InstanceProgress{Running: refs(netAcctA, a)})
	before := netRev(t, st)
	// b is pending, so the whole stop fails and a keeps running.
	_, err := s.StopInstances(t.Context(), netAcctA, StopInstancesInput{InstanceIDs: []string{a, b}})
	wantNetErr(t, err, "IncorrectInstanceState", 400)
	// An unknown id fails the whole terminate.
	_, err = s.TerminateInstances(t.Context(), netAcctA, TerminateInstancesInput{InstanceIDs: []string{a, "i-0123456789abcdef0", "i-12345678"}})
	wantNetErr(t, err, "InvalidInstanceID.NotFound", 400)
	wantMessage(t, err, "The instance IDs 'i-0123456789abcdef0, i-12345678' do not exist")
	if netRev(t, st) != before || describeOne(t, s, netAcctA, a).State != "running" {
		t.Error("a failed call changed an instance")
	}
}

func TestTerminatedVisibility(t *testing.T) {
	s, st, clock := newInstanceTestService(t, nil)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	gone := mustRun(t, s, netAcctA, runIn(sn.ID, func(in *RunInstancesInput) { in.ClientToken = "tok-1" })).Instances[0].ID
	kept := mustRun(t, s, netAcctA, runIn(sn.ID)).Instances[0].ID
	if _, err := s.TerminateInstances(ctx, netAcctA, TerminateInstancesInput{InstanceIDs: []string{gone}}); err != nil {
		t.Fatal(err)
	}
	mustAdvance(t, s, InstanceProgress{Terminated: refs(netAcctA, gone)})
	all := func() []string {
		t.Helper()
		out, err := s.DescribeInstances(ctx, netAcctA, DescribeInstancesInput{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range out.Reservations {
			ids = append(ids, instanceIDs(r)...)
		}
		return sorted(ids)
	}
	clock.Advance(59 * time.Minute)
	if diff := cmp.Diff(sorted([]string{gone, kept}), all()); diff != "" {
		t.Errorf("59 minutes after termination mismatch (-want +got):\n%s", diff)
	}
	if purged, err := s.PurgeTerminatedInstances(ctx); err != nil || len(purged) != 0 {
		t.Errorf("PurgeTerminatedInstances() early = %v, %v", purged, err)
	}
	clock.Advance(time.Minute)
	if diff := cmp.Diff([]string{kept}, all()); diff != "" {
		t.Errorf("an hour after termination mismatch (-want +got):\n%s", diff)
	}
	_, err := s.DescribeInstances(ctx, netAcctA, DescribeInstancesInput{InstanceIDs: []string{gone}})
	wantNetErr(t, err, "InvalidInstanceID.NotFound", 400)
	_, err = s.TerminateInstances(ctx, netAcctA, TerminateInstancesInput{InstanceIDs: []string{gone}})
	wantNetErr(t, err, "InvalidInstanceID.NotFound", 400)
	_, err = s.GetConsoleOutput(ctx, netAcctA, GetConsoleOutputInput{InstanceID: gone})
	wantNetErr(t, err, "InvalidInstanceID.NotFound", 400)
	// Until purged, the token still names the terminated launch.
	_, err = s.RunInstances(ctx, netAcctA, runIn(sn.ID, func(in *RunInstancesInput) { in.ClientToken = "tok-1" }))
	wantNetErr(t, err, "IdempotentInstanceTerminated", 400)

	purged, err := s.PurgeTerminatedInstances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(refs(netAcctA, gone), purged); diff != "" {
		t.Errorf("PurgeTerminatedInstances() mismatch (-want +got):\n%s", diff)
	}
	before := netRev(t, st)
	if purged, err := s.PurgeTerminatedInstances(ctx); err != nil || len(purged) != 0 || netRev(t, st) != before {
		t.Errorf("second purge = %v, %v (wrote: %v)", purged, err, netRev(t, st) != before)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Instances) != 1 || snap.Instances[0].ID != kept {
		t.Errorf("instances after purge = %+v", snap.Instances)
	}
	// The token is free again.
	again := mustRun(t, s, netAcctA, runIn(sn.ID, func(in *RunInstancesInput) { in.ClientToken = "tok-1" }))
	if again.Instances[0].ID == gone {
		t.Error("a purged token replayed the old launch")
	}
}

func TestRunInstancesClientToken(t *testing.T) {
	s, st, _ := newInstanceTestService(t, nil)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	tok := func(in *RunInstancesInput) { in.ClientToken = "launch-1" }
	first := mustRun(t, s, netAcctA, runIn(sn.ID, tok, withCount(2, 2), withGroups(vpc.DefaultGroupID)))
	before := netRev(t, st)
	retry := mustRun(t, s, netAcctA, runIn(sn.ID, tok, withCount(2, 2), withGroups(vpc.DefaultGroupID)))
	if diff := cmp.Diff(first, retry); diff != "" {
		t.Errorf("retry mismatch (-want +got):\n%s", diff)
	}
	if netRev(t, st) != before {
		t.Error("a retry wrote")
	}
	if first.Instances[0].ClientToken != "launch-1" {
		t.Errorf("ClientToken = %q", first.Instances[0].ClientToken)
	}
	// The retry reports the instances as they are now.
	mustAdvance(t, s, InstanceProgress{Running: refs(netAcctA, instanceIDs(first)...)})
	retry = mustRun(t, s, netAcctA, runIn(sn.ID, tok, withCount(2, 2), withGroups(vpc.DefaultGroupID)))
	if retry.Instances[0].State != "running" || retry.ReservationID != first.ReservationID {
		t.Errorf("retry after running = %+v", retry)
	}
	_, err := s.RunInstances(ctx, netAcctA, runIn(sn.ID, tok, withCount(1, 2)))
	wantNetErr(t, err, "IdempotentParameterMismatch", 400)
	wantMessage(t, err, "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).")
	// Tokens are per account.
	vb := mustVpc(t, s, netAcctB, "10.0.0.0/16")
	other := mustRun(t, s, netAcctB, runIn(mustSubnet(t, s, netAcctB, vb.ID, "10.0.1.0/24").ID, tok))
	if other.ReservationID == first.ReservationID {
		t.Error("account B replayed account A's launch")
	}
	// Filter client-token finds the launch.
	out, err := s.DescribeInstances(ctx, netAcctA, DescribeInstancesInput{Filters: []Filter{{Name: "client-token", Values: []string{"launch-1"}}}})
	if err != nil || len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 2 {
		t.Errorf("client-token filter = %+v, %v", out, err)
	}
	// Once an instance of the launch is terminated, the token is spent.
	if _, err := s.TerminateInstances(ctx, netAcctA, TerminateInstancesInput{InstanceIDs: instanceIDs(first)[:1]}); err != nil {
		t.Fatal(err)
	}
	mustAdvance(t, s, InstanceProgress{Terminated: refs(netAcctA, instanceIDs(first)[:1]...)})
	_, err = s.RunInstances(ctx, netAcctA, runIn(sn.ID, tok, withCount(2, 2), withGroups(vpc.DefaultGroupID)))
	wantNetErr(t, err, "IdempotentInstanceTerminated", 400)
	wantMessage(t, err, "The client token you have provided is associated with a terminated instance. Please use a different client token.")
}

func TestInstanceBadInputs(t *testing.T) {
	s, st, _ := newInstanceTestService(t, nil)
	ctx := t.Context()
	vpcA := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	snA := mustSubnet(t, s, netAcctA, vpcA.ID, "10.0.1.0/24")
	full := mustSubnet(t, s, netAcctA, vpcA.ID, "10.0.2.0/28")
	mustRun(t, s, netAcctA, runIn(full.ID, withCount(11, 11)))
	otherVpc := mustVpc(t, s, netAcctA, "10.1.0.0/16")
	otherGroup := mustGroup(t, s, netAcctA, otherVpc.ID, "elsewhere")
	vpcB := mustVpc(t, s, netAcctB, "10.0.0.0/16")
	snB := mustSubnet(t, s, netAcctB, vpcB.ID, "10.0.1.0/24")
	instB := mustRun(t, s, netAcctB, runIn(snB.ID)).Instances[0]
	pending := mustRun(t, s, netAcctA, runIn(snA.ID, withIP("10.0.1.50"))).Instances[0]
	var six []string
	for i := range 6 {
		six = append(six, mustGroup(t, s, netAcctA, vpcA.ID, fmt.Sprintf("g%d", i)).ID)
	}
	var requesterManaged *model.NetworkInterface
	if _, err := st.Update(ctx, func(tx store.Tx) error {
		sn, err := loadSubnet(tx, netAcctA, snA.ID)
		if err != nil {
			return err
		}
		requesterManaged, err = s.createENI(tx, eniParams{Subnet: sn, Groups: []string{vpcA.DefaultGroupID},
			InterfaceType: model.InterfaceTypeVpcEndpoint, RequesterManaged: true, RequesterID: "727180483921", InstanceOwnerID: "amazon-aws"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	big := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 16385))
	run := func(opts ...func(*RunInstancesInput)) func() error {
		return func() error { _, err := s.RunInstances(ctx, netAcctA, runIn(snA.ID, opts...)); return err }
	}
	describe := func(in DescribeInstancesInput) func() error {
		return func() error { _, err := s.DescribeInstances(ctx, netAcctA, in); return err }
	}
	modify := func(in ModifyNetworkInterfaceAttributeInput) func() error {
		return func() error { return s.ModifyNetworkInterfaceAttribute(ctx, netAcctA, in) }
	}
	eniA := pending.PrimaryENI
	carried := mustGroup(t, s, netAcctA, vpcA.ID, "carried")
	if err := s.ModifyNetworkInterfaceAttribute(ctx, netAcctA, ModifyNetworkInterfaceAttributeInput{NetworkInterfaceID: eniA, Groups: []string{carried.ID, vpcA.DefaultGroupID}}); err != nil {
		t.Fatal(err)
	}
	f := func(name string) []Filter { return []Filter{{Name: name, Values: []string{"x"}}} }

	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"RunInstances without MaxCount", run(func(in *RunInstancesInput) { in.MaxCount = nil }), "MissingParameter"},
		{"RunInstances without MinCount", run(func(in *RunInstancesInput) { in.MinCount = nil }), "MissingParameter"},
		{"RunInstances without ImageId", run(func(in *RunInstancesInput) { in.ImageID = "" }), "MissingParameter"},
		{"RunInstances MaxCount 0", run(withCount(1, 0)), "InvalidParameterValue"},
		{"RunInstances MinCount 0", run(withCount(0, 1)), "InvalidParameterValue"},
		{"RunInstances MinCount > MaxCount", run(withCount(3, 2)), "InvalidParameterValue"},
		{"RunInstances MinCount over the quota", run(withCount(21, 21)), "InstanceLimitExceeded"},
		{"RunInstances without subnet", run(func(in *RunInstancesInput) { in.SubnetID = "" }), "VPCIdNotSpecified"},
		{"RunInstances group names", run(func(in *RunInstancesInput) { in.SecurityGroups = []string{"default"} }), "InvalidParameterCombination"},
		{"RunInstances malformed subnet", run(func(in *RunInstancesInput) { in.SubnetID = "subnet-nope" }), "InvalidSubnetID.Malformed"},
		{"RunInstances other account's subnet", run(func(in *RunInstancesInput) { in.SubnetID = snB.ID }), "InvalidSubnetID.NotFound"},
		{"RunInstances malformed group", run(withGroups("sg-nope")), "InvalidGroupId.Malformed"},
		{"RunInstances unknown group", run(withGroups("sg-0123456789abcdef0")), "InvalidGroup.NotFound"},
		{"RunInstances other account's group", run(withGroups(vpcB.DefaultGroupID)), "InvalidGroup.NotFound"},
		{"RunInstances group of another VPC", run(withGroups(otherGroup.ID)), "InvalidParameter"},
		{"RunInstances six groups", run(withGroups(six...)), "SecurityGroupsPerInterfaceLimitExceeded"},
		{"RunInstances IP not an IP", run(withIP("10.0.1")), "InvalidParameterValue"},
		{"RunInstances IPv6 address", run(withIP("fd00::5")), "InvalidParameterValue"},
		{"RunInstances IP outside the subnet", run(withIP("10.0.3.5")), "InvalidParameterValue"},
		{"RunInstances IP .1", run(withIP("10.0.1.1")), "InvalidParameterValue"},
		{"RunInstances broadcast IP", run(withIP("10.0.1.255")), "InvalidParameterValue"},
		{"RunInstances IP in use", run(withIP("10.0.1.50")), "InvalidIPAddress.InUse"},
		{"RunInstances IP with MaxCount 2", run(withIP("10.0.1.60"), withCount(1, 2)), "InvalidParameterCombination"},
		{"RunInstances bad base64", run(func(in *RunInstancesInput) { in.UserData = "not base64!" }), "InvalidParameterValue"},
		{"RunInstances 16 KiB + 1 of user data", run(func(in *RunInstancesInput) { in.UserData = big }), "InvalidParameterValue"},
		{"RunInstances tag spec for a subnet", run(func(in *RunInstancesInput) {
			in.TagSpecs = []TagSpec{{ResourceType: "subnet", Tags: []model.Tag{{Key: "a"}}}}
		}), "InvalidParameterValue"},
		{"RunInstances aws: tag", run(func(in *RunInstancesInput) {
			in.TagSpecs = []TagSpec{{ResourceType: "instance", Tags: []model.Tag{{Key: "aws:x"}}}}
		}), "InvalidParameterValue"},
		{"RunInstances 65-character token", run(func(in *RunInstancesInput) { in.ClientToken = strings.Repeat("t", 65) }), "InvalidParameterValue"},
		{"RunInstances into a full subnet", func() error { _, err := s.RunInstances(ctx, netAcctA, runIn(full.ID)); return err }, "InsufficientFreeAddressesInSubnet"},
		{"RunInstances DryRun with a bad IP", run(withIP("10.0.1.2"), func(in *RunInstancesInput) { in.DryRun = true }), "InvalidParameterValue"},
		{"DescribeInstances malformed id", describe(DescribeInstancesInput{InstanceIDs: []string{"i-xyz"}}), "InvalidInstanceID.Malformed"},
		{"DescribeInstances unknown id", describe(DescribeInstancesInput{InstanceIDs: []string{pending.ID, "i-0123456789abcdef0"}}), "InvalidInstanceID.NotFound"},
		{"DescribeInstances other account's id", describe(DescribeInstancesInput{InstanceIDs: []string{instB.ID}}), "InvalidInstanceID.NotFound"},
		{"DescribeInstances ids with MaxResults", describe(DescribeInstancesInput{InstanceIDs: []string{pending.ID}, Page: Page{MaxResults: 5}}), "InvalidParameterCombination"},
		{"DescribeInstances unknown filter", describe(DescribeInstancesInput{Filters: f("instance-colour")}), "InvalidParameterValue"},
		{"DescribeInstances MaxResults 4", describe(DescribeInstancesInput{Page: Page{MaxResults: 4}}), "InvalidParameterValue"},
		{"DescribeInstances bad NextToken", describe(DescribeInstancesInput{Page: Page{MaxResults: 5, NextToken: "!!"}}), "InvalidParameterValue"},
		{"TerminateInstances without ids", func() error {
			_, err := s.TerminateInstances(ctx, netAcctA, TerminateInstancesInput{})
			return err
		}, "MissingParameter"},
		{"TerminateInstances other account's instance", func() error {
			_, err := s.TerminateInstances(ctx, netAcctA, TerminateInstancesInput{InstanceIDs: []string{instB.ID}})
			return err
		}, "InvalidInstanceID.NotFound"},
		{"StopInstances pending", func() error {
			_, err := s.StopInstances(ctx, netAcctA, StopInstancesInput{InstanceIDs: []string{pending.ID}})
			return err
		}, "IncorrectInstanceState"},
		{"StopInstances Hibernate", func() error {
			_, err := s.StopInstances(ctx, netAcctA, StopInstancesInput{InstanceIDs: []string{pending.ID}, Hibernate: true})
			return err
		}, "UnsupportedHibernationConfiguration"},
		{"StartInstances malformed id", func() error {
			_, err := s.StartInstances(ctx, netAcctA, StartInstancesInput{InstanceIDs: []string{"instance-1"}})
			return err
		}, "InvalidInstanceID.Malformed"},
		{"DescribeInstanceStatus unknown filter", func() error {
			_, err := s.DescribeInstanceStatus(ctx, netAcctA, DescribeInstanceStatusInput{Filters: f("instance-state")})
			return err
		}, "InvalidParameterValue"},
		{"DescribeInstanceStatus ids with MaxResults", func() error {
			_, err := s.DescribeInstanceStatus(ctx, netAcctA, DescribeInstanceStatusInput{InstanceIDs: []string{pending.ID}, Page: Page{MaxResults: 5}})
			return err
		}, "InvalidParameterCombination"},
		{"GetConsoleOutput without id", func() error {
			_, err := s.GetConsoleOutput(ctx, netAcctA, GetConsoleOutputInput{})
			return err
		}, "MissingParameter"},
		{"GetConsoleOutput other account's instance", func() error {
			_, err := s.GetConsoleOutput(ctx, netAcctA, GetConsoleOutputInput{InstanceID: instB.ID})
			return err
		}, "InvalidInstanceID.NotFound"},
		{"DescribeNetworkInterfaces malformed id", func() error {
			_, err := s.DescribeNetworkInterfaces(ctx, netAcctA, DescribeNetworkInterfacesInput{NetworkInterfaceIDs: []string{"eni-x"}})
			return err
		}, "InvalidNetworkInterfaceId.Malformed"},
		{"DescribeNetworkInterfaces other account's ENI", func() error {
			_, err := s.DescribeNetworkInterfaces(ctx, netAcctA, DescribeNetworkInterfacesInput{NetworkInterfaceIDs: []string{instB.PrimaryENI}})
			return err
		}, "InvalidNetworkInterfaceID.NotFound"},
		{"DescribeNetworkInterfaces unknown filter", func() error {
			_, err := s.DescribeNetworkInterfaces(ctx, netAcctA, DescribeNetworkInterfacesInput{Filters: f("instance-id")})
			return err
		}, "InvalidParameterValue"},
		{"DescribeNetworkInterfaces MaxResults 1001 with ids", func() error {
			_, err := s.DescribeNetworkInterfaces(ctx, netAcctA, DescribeNetworkInterfacesInput{NetworkInterfaceIDs: []string{eniA}, Page: Page{MaxResults: 1001}})
			return err
		}, "InvalidParameterCombination"},
		{"ModifyNetworkInterfaceAttribute without id", modify(ModifyNetworkInterfaceAttributeInput{SourceDestCheck: new(false)}), "MissingParameter"},
		{"ModifyNetworkInterfaceAttribute no attribute", modify(ModifyNetworkInterfaceAttributeInput{NetworkInterfaceID: eniA}), "InvalidParameterCombination"},
		{"ModifyNetworkInterfaceAttribute two attributes", modify(ModifyNetworkInterfaceAttributeInput{NetworkInterfaceID: eniA, SourceDestCheck: new(false), Description: new("x")}), "InvalidParameterCombination"},
		{"ModifyNetworkInterfaceAttribute six groups", modify(ModifyNetworkInterfaceAttributeInput{NetworkInterfaceID: eniA, Groups: six}), "SecurityGroupsPerInterfaceLimitExceeded"},
		{"ModifyNetworkInterfaceAttribute group of another VPC", modify(ModifyNetworkInterfaceAttributeInput{NetworkInterfaceID: eniA, Groups: []string{otherGroup.ID}}), "InvalidParameter"},
		{"ModifyNetworkInterfaceAttribute unknown group", modify(ModifyNetworkInterfaceAttributeInput{NetworkInterfaceID: eniA, Groups: []string{"sg-12345678"}}), "InvalidGroup.NotFound"},
		{"ModifyNetworkInterfaceAttribute other account's ENI", modify(ModifyNetworkInterfaceAttributeInput{NetworkInterfaceID: instB.PrimaryENI, SourceDestCheck: new(false)}), "InvalidNetworkInterfaceID.NotFound"},
		{"ModifyNetworkInterfaceAttribute requester-managed ENI", modify(ModifyNetworkInterfaceAttributeInput{NetworkInterfaceID: requesterManaged.ID, Description: new("mine")}), "OperationNotPermitted"},
		{"DeleteSubnet with ENIs", func() error { return s.DeleteSubnet(ctx, netAcctA, DeleteSubnetInput{SubnetID: snA.ID}) }, "DependencyViolation"},
		{"DeleteSecurityGroup on an ENI", func() error {
			_, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: carried.ID})
			return err
		}, "DependencyViolation"},
		{"CreateTags on another account's instance", func() error {
			return s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{instB.ID}, Tags: []model.Tag{{Key: "a"}}})
		}, "InvalidInstanceID.NotFound"},
	}
	if len(tests) < 25 {
		t.Fatalf("only %d bad inputs", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := netRev(t, st)
			wantNetErr(t, tt.call(), tt.code, http.StatusBadRequest)
			if after := netRev(t, st); after != before {
				t.Errorf("store revision %d → %d: a failed call wrote", before, after)
			}
		})
	}
}

func TestInstanceErrorMessages(t *testing.T) {
	s, _, _ := newInstanceTestService(t, nil)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	other := mustVpc(t, s, netAcctA, "10.1.0.0/16")
	g := mustGroup(t, s, netAcctA, other.ID, "elsewhere")
	run := func(opts ...func(*RunInstancesInput)) error {
		_, err := s.RunInstances(ctx, netAcctA, runIn(sn.ID, opts...))
		return err
	}
	wantMessage(t, run(func(in *RunInstancesInput) { in.SubnetID = "" }), "No default VPC for this user")
	wantMessage(t, run(func(in *RunInstancesInput) { in.SecurityGroups = []string{"web"} }), "The parameter groupName cannot be used with the parameter subnet")
	wantMessage(t, run(withGroups(g.ID)), fmt.Sprintf("Security group %s and subnet %s belong to different networks.", g.ID, sn.ID))
	wantMessage(t, run(withGroups("sg-0123456789abcdef0")), fmt.Sprintf("The security group 'sg-0123456789abcdef0' does not exist in VPC '%s'", vpc.ID))
	wantMessage(t, run(func(in *RunInstancesInput) { in.UserData = "%%%" }), "Invalid BASE64 encoding of user data")
	wantMessage(t, run(func(in *RunInstancesInput) {
		in.UserData = base64.StdEncoding.EncodeToString(make([]byte, 16385))
	}), "User data is limited to 16384 bytes")
	wantMessage(t, run(withCount(1, 0)), "Maximum instance count must be greater than zero")
	wantMessage(t, run(func(in *RunInstancesInput) { in.ImageID = "" }), "The request must contain the parameter ImageId")
	var six []string
	for i := range 6 {
		six = append(six, mustGroup(t, s, netAcctA, vpc.ID, fmt.Sprintf("g%d", i)).ID)
	}
	wantMessage(t, run(withGroups(six...)), "The maximum number of security groups per interface has been reached.")
	// Exactly 16 KiB of user data, with line breaks, is fine.
	ok := base64.StdEncoding.EncodeToString(make([]byte, 16384))
	if err := run(func(in *RunInstancesInput) { in.UserData = ok[:100] + "\n" + ok[100:] }); err != nil {
		t.Errorf("16 KiB of user data: %v", err)
	}
	_, err := s.DescribeInstances(ctx, netAcctA, DescribeInstancesInput{InstanceIDs: []string{"i-nope"}})
	wantMessage(t, err, `Invalid id: "i-nope"`)
	_, err = s.DescribeInstances(ctx, netAcctA, DescribeInstancesInput{InstanceIDs: []string{"i-0123456789abcdef0"}})
	wantMessage(t, err, "The instance ID 'i-0123456789abcdef0' does not exist")
	_, err = s.DescribeInstances(ctx, netAcctA, DescribeInstancesInput{Filters: []Filter{{Name: "colour"}}})
	wantMessage(t, err, "The filter 'colour' is invalid")
	_, err = s.DescribeNetworkInterfaces(ctx, netAcctA, DescribeNetworkInterfacesInput{NetworkInterfaceIDs: []string{"eni-0123456789abcdef0"}})
	wantMessage(t, err, "The networkInterface ID 'eni-0123456789abcdef0' does not exist")
	_, err = s.DescribeNetworkInterfaces(ctx, netAcctA, DescribeNetworkInterfacesInput{NetworkInterfaceIDs: []string{"eni-zz"}})
	wantMessage(t, err, `Invalid id: "eni-zz" (expecting "eni-...")`)
	err = s.ModifyNetworkInterfaceAttribute(ctx, netAcctA, ModifyNetworkInterfaceAttributeInput{NetworkInterfaceID: "eni-12345678", SourceDestCheck: new(true), Groups: []string{"sg-12345678"}})
	wantMessage(t, err, "Fields for multiple attribute types specified: sourceDestCheck, groupSet")
}

func TestInstanceDependencies(t *testing.T) {
	s, _, _ := newInstanceTestService(t, nil)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	web := mustGroup(t, s, netAcctA, vpc.ID, "web")
	inst := mustRun(t, s, netAcctA, runIn(sn.ID, withGroups(web.ID, vpc.DefaultGroupID))).Instances[0]
	if diff := cmp.Diff([]GroupIdentifier{{web.ID, "web"}, {vpc.DefaultGroupID, "default"}}, inst.Groups); diff != "" {
		t.Errorf("groups mismatch (-want +got):\n%s", diff)
	}
	err := s.DeleteSubnet(ctx, netAcctA, DeleteSubnetInput{SubnetID: sn.ID})
	wantNetErr(t, err, "DependencyViolation", 400)
	wantMessage(t, err, fmt.Sprintf("The subnet '%s' has dependencies and cannot be deleted.", sn.ID))
	_, err = s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: web.ID})
	wantNetErr(t, err, "DependencyViolation", 400)
	wantMessage(t, err, fmt.Sprintf("resource %s has a dependent object", web.ID))
	wantNetErr(t, s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: vpc.ID}), "DependencyViolation", 400)

	if _, err := s.TerminateInstances(ctx, netAcctA, TerminateInstancesInput{InstanceIDs: []string{inst.ID}}); err != nil {
		t.Fatal(err)
	}
	// Still shutting down: the ENI still holds both.
	wantNetErr(t, s.DeleteSubnet(ctx, netAcctA, DeleteSubnetInput{SubnetID: sn.ID}), "DependencyViolation", 400)
	mustAdvance(t, s, InstanceProgress{Terminated: refs(netAcctA, inst.ID)})
	if _, err := s.DeleteSecurityGroup(ctx, netAcctA, DeleteSecurityGroupInput{GroupID: web.ID}); err != nil {
		t.Errorf("DeleteSecurityGroup after terminate: %v", err)
	}
	if err := s.DeleteSubnet(ctx, netAcctA, DeleteSubnetInput{SubnetID: sn.ID}); err != nil {
		t.Errorf("DeleteSubnet after terminate: %v", err)
	}
	if err := s.DeleteVpc(ctx, netAcctA, DeleteVpcInput{VpcID: vpc.ID}); err != nil {
		t.Errorf("DeleteVpc after terminate: %v", err)
	}
	// The terminated instance is still described, without its network.
	if got := describeOne(t, s, netAcctA, inst.ID); got.State != "terminated" || got.VpcID != "" {
		t.Errorf("terminated instance = %+v", got.Instance)
	}
}

func TestDescribeInstancesFilters(t *testing.T) {
	s, _, _ := newInstanceTestService(t, nil)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sa := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24") // us-east-1a
	sb := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.2.0/24") // us-east-1b
	web := mustGroup(t, s, netAcctA, vpc.ID, "web")
	r1 := mustRun(t, s, netAcctA, runIn(sa.ID, withCount(2, 2), withGroups(web.ID), func(in *RunInstancesInput) {
		in.InstanceType = "t3.micro"
		in.TagSpecs = []TagSpec{{ResourceType: "instance", Tags: []model.Tag{{Key: "Name", Value: "web"}}}}
	}))
	r2 := mustRun(t, s, netAcctA, runIn(sb.ID, func(in *RunInstancesInput) {
		in.ImageID = "ami-87654321"
		in.TagSpecs = []TagSpec{{ResourceType: "network-interface", Tags: []model.Tag{{Key: "Role", Value: "db"}}}}
	}))
	a, b, c := r1.Instances[0], r1.Instances[1], r2.Instances[0]
	mustAdvance(t, s, InstanceProgress{Running: refs(netAcctA, a.ID, c.ID)})
	// Account B has the same addresses, and is never seen.
	vb := mustVpc(t, s, netAcctB, "10.0.0.0/16")
	mustRun(t, s, netAcctB, runIn(mustSubnet(t, s, netAcctB, vb.ID, "10.0.1.0/24").ID))

	ids := func(is ...Instance) []string {
		var out []string
		for _, i := range is {
			out = append(out, i.ID)
		}
		return sorted(out)
	}
	f := func(name string, values ...string) Filter { return Filter{Name: name, Values: values} }
	tests := []struct {
		name    string
		filters []Filter
		want    []string
	}{
		{"none", nil, ids(a, b, c)},
		{"instance-state-name", []Filter{f("instance-state-name", "running")}, ids(a, c)},
		{"instance-state-code", []Filter{f("instance-state-code", "0")}, ids(b)},
		{"instance-id", []Filter{f("instance-id", b.ID, c.ID)}, ids(b, c)},
		{"instance-type", []Filter{f("instance-type", "t3.*")}, ids(a, b)},
		{"image-id", []Filter{f("image-id", "ami-87654321")}, ids(c)},
		{"subnet-id", []Filter{f("subnet-id", sb.ID)}, ids(c)},
		{"vpc-id", []Filter{f("vpc-id", vpc.ID)}, ids(a, b, c)},
		{"availability-zone", []Filter{f("availability-zone", "us-east-1a")}, ids(a, b)},
		{"availability-zone-id", []Filter{f("availability-zone-id", "use1-az2")}, ids(c)},
		{"private-ip-address", []Filter{f("private-ip-address", "10.0.1.5")}, ids(b)},
		{"private-dns-name", []Filter{f("private-dns-name", "ip-10-0-2-4.ec2.internal")}, ids(c)},
		{"instance.group-id", []Filter{f("instance.group-id", web.ID)}, ids(a, b)},
		{"instance.group-name", []Filter{f("instance.group-name", "default")}, ids(c)},
		{"reservation-id", []Filter{f("reservation-id", r2.ReservationID)}, ids(c)},
		{"owner-id", []Filter{f("owner-id", netAcctA)}, ids(a, b, c)},
		{"launch-index", []Filter{f("launch-index", "1")}, ids(b)},
		{"launch-time wildcard", []Filter{f("launch-time", "2025-01-15T*")}, ids(a, b, c)},
		{"tag:Name", []Filter{f("tag:Name", "we?")}, ids(a, b)},
		{"tag-key", []Filter{f("tag-key", "Name")}, ids(a, b)},
		{"network-interface.network-interface-id", []Filter{f("network-interface.network-interface-id", c.PrimaryENI)}, ids(c)},
		{"network-interface.tag-key", []Filter{f("network-interface.tag-key", "Role")}, ids(c)},
		{"network-interface.addresses.private-ip-address", []Filter{f("network-interface.addresses.private-ip-address", "10.0.1.4")}, ids(a)},
		{"network-interface.attachment.status", []Filter{f("network-interface.attachment.status", "attached")}, ids(a, b, c)},
		{"network-interface.mac-address", []Filter{f("network-interface.mac-address", a.NetworkInterfaces[0].MacAddress)}, ids(a)},
		{"source-dest-check", []Filter{f("source-dest-check", "true")}, ids(a, b, c)},
		{"state-reason-code", []Filter{f("state-reason-code", "pending")}, ids(b)},
		{"architecture", []Filter{f("architecture", "x86_64")}, ids(a, b, c)},
		{"ip-address (none)", []Filter{f("ip-address", "*")}, nil},
		{"key-name (none)", []Filter{f("key-name", "*")}, nil},
		{"two filters AND", []Filter{f("instance-state-name", "running"), f("availability-zone", "us-east-1a")}, ids(a)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.DescribeInstances(ctx, netAcctA, DescribeInstancesInput{Filters: tt.filters})
			if err != nil {
				t.Fatal(err)
			}
			var got []Instance
			for _, r := range out.Reservations {
				got = append(got, r.Instances...)
			}
			if diff := cmp.Diff(tt.want, ids(got...)); diff != "" {
				t.Errorf("DescribeInstances() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// Terminated instances have left their subnet and VPC.
	if _, err := s.TerminateInstances(ctx, netAcctA, TerminateInstancesInput{InstanceIDs: []string{c.ID}}); err != nil {
		t.Fatal(err)
	}
	mustAdvance(t, s, InstanceProgress{Terminated: refs(netAcctA, c.ID)})
	out, err := s.DescribeInstances(ctx, netAcctA, DescribeInstancesInput{Filters: []Filter{f("subnet-id", sb.ID)}})
	if err != nil || len(out.Reservations) != 0 {
		t.Errorf("subnet-id of a terminated instance = %+v, %v", out, err)
	}
}

func TestDescribeInstancesPaging(t *testing.T) {
	s, _, _ := newInstanceTestService(t, nil)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	r1 := mustRun(t, s, netAcctA, runIn(sn.ID, withCount(7, 7)))
	r2 := mustRun(t, s, netAcctA, runIn(sn.ID, withCount(5, 5)))
	wantOrder := map[string][]string{r1.ReservationID: instanceIDs(r1), r2.ReservationID: instanceIDs(r2)}
	var sizes []int
	got := map[string][]string{}
	token := ""
	for range 10 {
		out, err := s.DescribeInstances(t.Context(), netAcctA, DescribeInstancesInput{Page: Page{MaxResults: 5, NextToken: token}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range out.Reservations {
			n += len(r.Instances)
			if r.OwnerID != netAcctA {
				t.Errorf("reservation owner %s", r.OwnerID)
			}
			got[r.ReservationID] = append(got[r.ReservationID], instanceIDs(r)...)
		}
		sizes = append(sizes, n)
		if token = out.NextToken; token == "" {
			break
		}
	}
	if diff := cmp.Diff([]int{5, 5, 2}, sizes); diff != "" {
		t.Errorf("page sizes mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantOrder, got); diff != "" {
		t.Errorf("reservations mismatch (-want +got):\n%s", diff)
	}
	// One page without MaxResults, grouped by reservation in launch order.
	out, err := s.DescribeInstances(t.Context(), netAcctA, DescribeInstancesInput{})
	if err != nil || len(out.Reservations) != 2 || out.NextToken != "" {
		t.Fatalf("DescribeInstances() = %d reservations, %q, %v", len(out.Reservations), out.NextToken, err)
	}
	for _, r := range out.Reservations {
		if diff := cmp.Diff(wantOrder[r.ReservationID], instanceIDs(r)); diff != "" {
			t.Errorf("reservation %s mismatch (-want +got):\n%s", r.ReservationID, diff)
		}
	}
}

func TestDescribeInstanceStatus(t *testing.T) {
	s, _, _ := newInstanceTestService(t, nil)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	r := mustRun(t, s, netAcctA, runIn(sn.ID, withCount(2, 2)))
	a, b := r.Instances[0].ID, r.Instances[1].ID
	mustAdvance(t, s, InstanceProgress{Running: refs(netAcctA, a)})
	ok := StatusSummary{Status: "ok", Reachability: "passed"}
	na := StatusSummary{Status: "not-applicable"}
	running := InstanceStatus{InstanceID: a, AvailabilityZone: "us-east-1a", AvailabilityZoneID: "use1-az1", State: "running", StateCode: 16,
		InstanceStatus: ok, SystemStatus: ok, AttachedEBSStatus: ok}
	pending := InstanceStatus{InstanceID: b, AvailabilityZone: "us-east-1a", AvailabilityZoneID: "use1-az1", State: "pending", StateCode: 0,
		InstanceStatus: na, SystemStatus: na, AttachedEBSStatus: na}
	tests := []struct {
		name string
		in   DescribeInstanceStatusInput
		want []InstanceStatus
	}{
		{"running only by default", DescribeInstanceStatusInput{}, []InstanceStatus{running}},
		{"named, running only", DescribeInstanceStatusInput{InstanceIDs: []string{a, b}}, []InstanceStatus{running}},
		{"all", DescribeInstanceStatusInput{IncludeAllInstances: true}, sortStatuses(running, pending)},
		{"instance-status.status", DescribeInstanceStatusInput{IncludeAllInstances: true, Filters: []Filter{{Name: "instance-status.status", Values: []string{"not-applicable"}}}}, []InstanceStatus{pending}},
		{"system-status.reachability", DescribeInstanceStatusInput{IncludeAllInstances: true, Filters: []Filter{{Name: "system-status.reachability", Values: []string{"passed"}}}}, []InstanceStatus{running}},
		{"instance-state-code", DescribeInstanceStatusInput{IncludeAllInstances: true, Filters: []Filter{{Name: "instance-state-code", Values: []string{"0"}}}}, []InstanceStatus{pending}},
		{"event.code (none)", DescribeInstanceStatusInput{IncludeAllInstances: true, Filters: []Filter{{Name: "event.code", Values: []string{"*"}}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.DescribeInstanceStatus(ctx, netAcctA, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.InstanceStatuses); diff != "" {
				t.Errorf("DescribeInstanceStatus() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	_, err := s.DescribeInstanceStatus(ctx, netAcctA, DescribeInstanceStatusInput{InstanceIDs: []string{"i-0123456789abcdef0"}})
	wantNetErr(t, err, "InvalidInstanceID.NotFound", 400)
}

func sortStatuses(sts ...InstanceStatus) []InstanceStatus {
	out := append([]InstanceStatus(nil), sts...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].InstanceID < out[i].InstanceID {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// fakeLogs is a ConsoleLogs that serves fixed logs.
type fakeLogs struct {
	logs map[string][]byte
	err  error
}

func (f fakeLogs) ConsoleLog(_ context.Context, id string) ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	b, ok := f.logs[id]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return b, nil
}

func TestGetConsoleOutput(t *testing.T) {
	long := make([]byte, 70<<10)
	for i := range long {
		long[i] = byte('a' + i%26)
	}
	logs := fakeLogs{logs: map[string][]byte{}}
	s, st, _ := newInstanceTestService(t, func(c *Config) { c.ConsoleLogs = logs })
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	r := mustRun(t, s, netAcctA, runIn(sn.ID, withCount(3, 3)))
	short, big, none := r.Instances[0].ID, r.Instances[1].ID, r.Instances[2].ID
	logs.logs[short] = []byte("hello\n")
	logs.logs[big] = long
	tests := []struct {
		id   string
		want []byte
	}{
		{short, []byte("hello\n")},
		{big, long[len(long)-64<<10:]},
		{none, nil},
	}
	for _, tt := range tests {
		out, err := s.GetConsoleOutput(ctx, netAcctA, GetConsoleOutputInput{InstanceID: tt.id})
		if err != nil {
			t.Fatal(err)
		}
		got, err := base64.StdEncoding.DecodeString(out.Output)
		if err != nil {
			t.Fatalf("output is not base64: %v", err)
		}
		if out.InstanceID != tt.id || !out.Timestamp.Equal(testEpoch) || !bytes.Equal(tt.want, got) {
			t.Errorf("GetConsoleOutput(%s) = id %s, time %v, %d bytes; want %d bytes", tt.id, out.InstanceID, out.Timestamp, len(got), len(tt.want))
		}
	}
	before := netRev(t, st)
	_, err := s.GetConsoleOutput(ctx, netAcctA, GetConsoleOutputInput{InstanceID: short, DryRun: true})
	wantNetErr(t, err, "DryRunOperation", http.StatusPreconditionFailed)
	if netRev(t, st) != before {
		t.Error("GetConsoleOutput wrote")
	}
	// Without a log reader the output is empty; a broken one is an error.
	bare, _, _ := newInstanceTestService(t, nil)
	bv := mustVpc(t, bare, netAcctA, "10.0.0.0/16")
	id := mustRun(t, bare, netAcctA, runIn(mustSubnet(t, bare, netAcctA, bv.ID, "10.0.1.0/24").ID)).Instances[0].ID
	if out, err := bare.GetConsoleOutput(ctx, netAcctA, GetConsoleOutputInput{InstanceID: id}); err != nil || out.Output != "" {
		t.Errorf("GetConsoleOutput without logs = %+v, %v", out, err)
	}
	broken, _, _ := newInstanceTestService(t, func(c *Config) { c.ConsoleLogs = fakeLogs{err: errors.New("disk on fire")} })
	brv := mustVpc(t, broken, netAcctA, "10.0.0.0/16")
	id = mustRun(t, broken, netAcctA, runIn(mustSubnet(t, broken, netAcctA, brv.ID, "10.0.1.0/24").ID)).Instances[0].ID
	if _, err := broken.GetConsoleOutput(ctx, netAcctA, GetConsoleOutputInput{InstanceID: id}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("GetConsoleOutput with a broken reader = %v", err)
	}
}

func TestInstanceIsolation(t *testing.T) {
	s, _, _ := newInstanceTestService(t, nil)
	ctx := t.Context()
	va := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	vb := mustVpc(t, s, netAcctB, "10.0.0.0/16")
	ia := mustRun(t, s, netAcctA, runIn(mustSubnet(t, s, netAcctA, va.ID, "10.0.1.0/24").ID, withIP("10.0.1.10"))).Instances[0]
	ib := mustRun(t, s, netAcctB, runIn(mustSubnet(t, s, netAcctB, vb.ID, "10.0.1.0/24").ID, withIP("10.0.1.10"))).Instances[0]
	if ia.PrivateIP != ib.PrivateIP {
		t.Fatalf("same requested address, got %s and %s", ia.PrivateIP, ib.PrivateIP)
	}
	for _, tc := range []struct {
		account string
		inst    Instance
	}{{netAcctA, ia}, {netAcctB, ib}} {
		out, err := s.DescribeInstances(ctx, tc.account, DescribeInstancesInput{})
		if err != nil || len(out.Reservations) != 1 || out.Reservations[0].Instances[0].ID != tc.inst.ID {
			t.Errorf("DescribeInstances(%s) = %+v, %v", tc.account, out, err)
		}
		enis, err := s.DescribeNetworkInterfaces(ctx, tc.account, DescribeNetworkInterfacesInput{})
		if err != nil || len(enis.NetworkInterfaces) != 1 || enis.NetworkInterfaces[0].ID != tc.inst.PrimaryENI {
			t.Errorf("DescribeNetworkInterfaces(%s) = %+v, %v", tc.account, enis, err)
		}
		st, err := s.DescribeInstanceStatus(ctx, tc.account, DescribeInstanceStatusInput{IncludeAllInstances: true})
		if err != nil || len(st.InstanceStatuses) != 1 {
			t.Errorf("DescribeInstanceStatus(%s) = %+v, %v", tc.account, st, err)
		}
	}
	_, err := s.StopInstances(ctx, netAcctA, StopInstancesInput{InstanceIDs: []string{ib.ID}})
	wantNetErr(t, err, "InvalidInstanceID.NotFound", 400)
	_, err = s.StartInstances(ctx, netAcctA, StartInstancesInput{InstanceIDs: []string{ib.ID}})
	wantNetErr(t, err, "InvalidInstanceID.NotFound", 400)
	_, err = s.DescribeInstanceStatus(ctx, netAcctA, DescribeInstanceStatusInput{InstanceIDs: []string{ib.ID}})
	wantNetErr(t, err, "InvalidInstanceID.NotFound", 400)
	err = s.ModifyNetworkInterfaceAttribute(ctx, netAcctA, ModifyNetworkInterfaceAttributeInput{NetworkInterfaceID: ib.PrimaryENI, Description: new("x")})
	wantNetErr(t, err, "InvalidNetworkInterfaceID.NotFound", 400)
	err = s.DeleteTags(ctx, netAcctA, DeleteTagsInput{ResourceIDs: []string{ib.PrimaryENI}})
	wantNetErr(t, err, "InvalidNetworkInterfaceID.NotFound", 400)
	// B's instance is untouched.
	if got := describeOne(t, s, netAcctB, ib.ID); got.State != "pending" {
		t.Errorf("B's instance state = %s", got.State)
	}
}

func TestInstanceDryRun(t *testing.T) {
	s, st, _ := newInstanceTestService(t, nil)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	r := mustRun(t, s, netAcctA, runIn(sn.ID, withCount(2, 2)))
	a, b := r.Instances[0], r.Instances[1]
	mustAdvance(t, s, InstanceProgress{Running: refs(netAcctA, a.ID)})
	calls := []struct {
		name string
		call func() error
	}{
		{"RunInstances", func() error {
			_, err := s.RunInstances(ctx, netAcctA, runIn(sn.ID, func(in *RunInstancesInput) { in.DryRun = true }))
			return err
		}},
		{"DescribeInstances", func() error {
			_, err := s.DescribeInstances(ctx, netAcctA, DescribeInstancesInput{DryRun: true})
			return err
		}},
		{"TerminateInstances", func() error {
			_, err := s.TerminateInstances(ctx, netAcctA, TerminateInstancesInput{InstanceIDs: []string{a.ID}, DryRun: true})
			return err
		}},
		{"StopInstances", func() error {
			_, err := s.StopInstances(ctx, netAcctA, StopInstancesInput{InstanceIDs: []string{a.ID}, DryRun: true})
			return err
		}},
		{"StartInstances", func() error {
			_, err := s.StartInstances(ctx, netAcctA, StartInstancesInput{InstanceIDs: []string{b.ID}, DryRun: true})
			return err
		}},
		{"DescribeInstanceStatus", func() error {
			_, err := s.DescribeInstanceStatus(ctx, netAcctA, DescribeInstanceStatusInput{DryRun: true})
			return err
		}},
		{"GetConsoleOutput", func() error {
			_, err := s.GetConsoleOutput(ctx, netAcctA, GetConsoleOutputInput{InstanceID: a.ID, DryRun: true})
			return err
		}},
		{"DescribeNetworkInterfaces", func() error {
			_, err := s.DescribeNetworkInterfaces(ctx, netAcctA, DescribeNetworkInterfacesInput{DryRun: true})
			return err
		}},
		{"ModifyNetworkInterfaceAttribute", func() error {
			return s.ModifyNetworkInterfaceAttribute(ctx, netAcctA, ModifyNetworkInterfaceAttributeInput{NetworkInterfaceID: a.PrimaryENI, SourceDestCheck: new(false), DryRun: true})
		}},
		{"CreateTags on an instance", func() error {
			return s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{a.ID, a.PrimaryENI}, Tags: []model.Tag{{Key: "k"}}, DryRun: true})
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			before := netRev(t, st)
			wantNetErr(t, c.call(), "DryRunOperation", http.StatusPreconditionFailed)
			if after := netRev(t, st); after != before {
				t.Errorf("store revision %d → %d: a dry run wrote", before, after)
			}
		})
	}
	out, err := s.DescribeInstances(ctx, netAcctA, DescribeInstancesInput{})
	if err != nil || len(out.Reservations) != 1 || describeOne(t, s, netAcctA, a.ID).State != "running" {
		t.Errorf("after dry runs: %+v, %v", out, err)
	}
}

func TestInstanceTags(t *testing.T) {
	s, _, _ := newInstanceTestService(t, nil)
	ctx := t.Context()
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	i := mustRun(t, s, netAcctA, runIn(sn.ID, func(in *RunInstancesInput) {
		in.TagSpecs = []TagSpec{{ResourceType: "instance", Tags: []model.Tag{{Key: "Name", Value: "a"}}}}
	})).Instances[0]
	if err := s.CreateTags(ctx, netAcctA, CreateTagsInput{ResourceIDs: []string{i.ID, i.PrimaryENI}, Tags: []model.Tag{{Key: "env", Value: "dev"}}}); err != nil {
		t.Fatal(err)
	}
	out, err := s.DescribeTags(ctx, netAcctA, DescribeTagsInput{Filters: []Filter{{Name: "resource-type", Values: []string{"instance", "network-interface"}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []TagDescription{
		{ResourceID: i.PrimaryENI, ResourceType: "network-interface", Key: "env", Value: "dev"},
		{ResourceID: i.ID, ResourceType: "instance", Key: "Name", Value: "a"},
		{ResourceID: i.ID, ResourceType: "instance", Key: "env", Value: "dev"},
	}
	less := func(a, b TagDescription) bool { return tagDescriptionID(a) < tagDescriptionID(b) }
	if diff := cmp.Diff(want, out.Tags, cmpopts.SortSlices(less)); diff != "" {
		t.Errorf("DescribeTags() mismatch (-want +got):\n%s", diff)
	}
	if err := s.DeleteTags(ctx, netAcctA, DeleteTagsInput{ResourceIDs: []string{i.ID}}); err != nil {
		t.Fatal(err)
	}
	if got := describeOne(t, s, netAcctA, i.ID).Tags; len(got) != 0 {
		t.Errorf("tags after DeleteTags = %v", got)
	}
}

func TestSnapshotHasInstances(t *testing.T) {
	s, st, _ := newInstanceTestService(t, nil)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	vb := mustVpc(t, s, netAcctB, "10.0.0.0/16")
	ia := mustRun(t, s, netAcctA, runIn(sn.ID)).Instances[0]
	ib := mustRun(t, s, netAcctB, runIn(mustSubnet(t, s, netAcctB, vb.ID, "10.0.1.0/24").ID)).Instances[0]
	snap, err := s.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Rev != netRev(t, st) || len(snap.Vpcs) != 2 || len(snap.Subnets) != 2 || len(snap.SecurityGroups) != 2 || len(snap.NetworkAcls) != 2 {
		t.Fatalf("Snapshot = rev %d, %d vpcs, %d subnets, %d groups, %d acls", snap.Rev, len(snap.Vpcs), len(snap.Subnets), len(snap.SecurityGroups), len(snap.NetworkAcls))
	}
	var gotI, gotE []string
	for _, i := range snap.Instances {
		gotI = append(gotI, i.ID)
	}
	for _, e := range snap.ENIs {
		gotE = append(gotE, e.ID)
		if e.BridgePort != model.LinkName("p", e.ID) || len(e.BridgePort) > 15 {
			t.Errorf("ENI %s bridge port %q", e.ID, e.BridgePort)
		}
	}
	// Sorted by owner account, then id.
	if diff := cmp.Diff([]string{ia.ID, ib.ID}, gotI); diff != "" {
		t.Errorf("Snapshot instances mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{ia.PrimaryENI, ib.PrimaryENI}, gotE); diff != "" {
		t.Errorf("Snapshot ENIs mismatch (-want +got):\n%s", diff)
	}
}

// RunInstances with NetworkInterface.N: the primary interface's subnet,
// groups, address and description; what an instance here cannot have is
// refused, never ignored, and changes nothing.
func TestRunInstancesNetworkInterface(t *testing.T) {
	s, st, _ := newInstanceTestService(t, nil)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	web := mustGroup(t, s, netAcctA, vpc.ID, "web")
	run := func(opts ...func(*RunInstancesInput, *RunNetworkInterface)) RunInstancesInput {
		ni := RunNetworkInterface{
			DeviceIndex: count(0), SubnetID: sn.ID, GroupIDs: []string{web.ID}, PrivateIPAddress: "10.0.1.70",
			Description: "primary", DeleteOnTermination: new(true),
		}
		in := runIn("")
		for _, o := range opts {
			o(&in, &ni)
		}
		in.NetworkInterfaces = append([]RunNetworkInterface{ni}, in.NetworkInterfaces...)
		return in
	}

	tests := []struct {
		name      string
		in        RunInstancesInput
		code, msg string
	}{
		{"instance-level subnet too", run(func(in *RunInstancesInput, _ *RunNetworkInterface) { in.SubnetID = sn.ID }),
			"InvalidParameterCombination", "Network interfaces and an instance-level subnet ID may not be specified on the same request"},
		{"instance-level group too", run(func(in *RunInstancesInput, _ *RunNetworkInterface) { in.SecurityGroupIDs = []string{web.ID} }),
			"InvalidParameterCombination", "Network interfaces and an instance-level security groups may not be specified on the same request"},
		{"instance-level group name too", run(func(in *RunInstancesInput, _ *RunNetworkInterface) { in.SecurityGroups = []string{"web"} }),
			"InvalidParameterCombination", "Network interfaces and an instance-level security groups may not be specified on the same request"},
		{"instance-level address too", run(func(in *RunInstancesInput, _ *RunNetworkInterface) { in.PrivateIPAddress = "10.0.1.71" }),
			"InvalidParameterCombination", "Network interfaces and an instance-level private IP address should not be specified on the same request"},
		{"second interface", run(func(in *RunInstancesInput, _ *RunNetworkInterface) {
			in.NetworkInterfaces = []RunNetworkInterface{{DeviceIndex: count(1), SubnetID: sn.ID}}
		}), "UnsupportedOperation", "An instance here has one network interface: give NetworkInterface.1 only, with DeviceIndex 0."},
		{"no device index", run(func(_ *RunInstancesInput, ni *RunNetworkInterface) { ni.DeviceIndex = nil }),
			"InvalidParameterValue", "Each network interface requires a device index."},
		{"device index 1", run(func(_ *RunInstancesInput, ni *RunNetworkInterface) { ni.DeviceIndex = count(1) }),
			"UnsupportedOperation", "An instance here has one network interface, at DeviceIndex 0 on NetworkCardIndex 0."},
		{"network card 1", run(func(_ *RunInstancesInput, ni *RunNetworkInterface) {
			ni.DeviceIndex, ni.NetworkCardIndex = nil, count(1)
		}),
			"UnsupportedOperation", "An instance here has one network interface, at DeviceIndex 0 on NetworkCardIndex 0."},
		{"existing interface", run(func(_ *RunInstancesInput, ni *RunNetworkInterface) { ni.NetworkInterfaceID = "eni-0123456789abcdef0" }),
			"UnsupportedOperation", "Attaching an existing network interface at launch is not supported; give SubnetId and Groups instead."},
		{"no subnet", run(func(_ *RunInstancesInput, ni *RunNetworkInterface) { ni.SubnetID = "" }),
			"MissingParameter", "The request must contain the parameter NetworkInterface.1.SubnetId"},
		{"public address", run(func(_ *RunInstancesInput, ni *RunNetworkInterface) { ni.PublicIP = true }),
			"UnsupportedOperation", "Public IP addresses are not supported: VPCs here have no internet path."},
		{"kept after termination", run(func(_ *RunInstancesInput, ni *RunNetworkInterface) { ni.DeleteOnTermination = new(false) }),
			"UnsupportedOperation", "The primary network interface is deleted with its instance; DeleteOnTermination=false is not supported."},
		{"secondary addresses", run(func(_ *RunInstancesInput, ni *RunNetworkInterface) { ni.SecondaryIPv4 = true }),
			"UnsupportedOperation", "Secondary private IPv4 addresses and prefixes are not supported; give PrivateIpAddress."},
		{"IPv6", run(func(_ *RunInstancesInput, ni *RunNetworkInterface) { ni.IPv6 = true }),
			"UnsupportedOperation", "IPv6 addresses are not supported."},
		{"EFA", run(func(_ *RunInstancesInput, ni *RunNetworkInterface) { ni.InterfaceType = "efa" }),
			"UnsupportedOperation", "Network interface type efa is not supported."},
		{"unknown subnet", run(func(_ *RunInstancesInput, ni *RunNetworkInterface) { ni.SubnetID = "subnet-0123456789abcdef0" }),
			"InvalidSubnetID.NotFound", ""},
		{"unknown group", run(func(_ *RunInstancesInput, ni *RunNetworkInterface) { ni.GroupIDs = []string{"sg-0123456789abcdef0"} }),
			"InvalidGroup.NotFound", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := netRev(t, st)
			_, err := s.RunInstances(t.Context(), netAcctA, tt.in)
			wantCodeMsg(t, err, tt.code, http.StatusBadRequest, tt.msg)
			if after := netRev(t, st); after != before {
				t.Errorf("store revision %d → %d: a failed call wrote", before, after)
			}
		})
	}

	r := mustRun(t, s, netAcctA, run())
	if len(r.Instances) != 1 || len(r.Instances[0].NetworkInterfaces) != 1 {
		t.Fatalf("RunInstances = %+v", r)
	}
	got, eni := r.Instances[0], r.Instances[0].NetworkInterfaces[0]
	if got.SubnetID != sn.ID || got.PrivateIP != "10.0.1.70" || !cmp.Equal(got.Groups, []GroupIdentifier{{GroupID: web.ID, GroupName: "web"}}) ||
		eni.Description != "primary" || eni.DeviceIndex != 0 || !eni.DeleteOnTermination {
		t.Errorf("instance from NetworkInterface.1 = %+v, interface %+v", got, eni)
	}
}
