package controlplane

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// setInstanceState rewrites an instance's state in the store, as the
// supervisor would once it got there.
func (e *elbEnv) setInstanceState(t *testing.T, account, id, state string) {
	t.Helper()
	if _, err := e.st.Update(t.Context(), func(tx store.Tx) error {
		i, _, err := getRecord[model.Instance](tx, instanceKey(account, id))
		if err != nil {
			return err
		}
		i.State = state
		return putRecord(tx, instanceKey(account, id), i)
	}); err != nil {
		t.Fatal(err)
	}
}

// health describes every target of a group.
func (e *elbEnv) health(t *testing.T, arn string, targets ...TargetDescription) []TargetHealthReport {
	t.Helper()
	out, err := e.s.DescribeTargetHealth(t.Context(), netAcctA, DescribeTargetHealthInput{TargetGroupARN: arn, Targets: targets})
	if err != nil {
		t.Fatalf("DescribeTargetHealth: %v", err)
	}
	return out
}

func (e *elbEnv) register(t *testing.T, arn string, targets ...TargetDescription) {
	t.Helper()
	if err := e.s.RegisterTargets(t.Context(), netAcctA, RegisterTargetsInput{TargetGroupARN: arn, Targets: targets}); err != nil {
		t.Fatalf("RegisterTargets: %v", err)
	}
}

func (e *elbEnv) deregister(t *testing.T, arn string, targets ...TargetDescription) {
	t.Helper()
	if err := e.s.DeregisterTargets(t.Context(), netAcctA, DeregisterTargetsInput{TargetGroupARN: arn, Targets: targets}); err != nil {
		t.Fatalf("DeregisterTargets: %v", err)
	}
}

func TestRegisterTargets(t *testing.T) {
	e := newELBEnv(t)
	i1 := mustRun(t, e.s, netAcctA, runIn(e.subnets[0].ID)).Instances[0]
	i2 := mustRun(t, e.s, netAcctA, runIn(e.subnets[1].ID)).Instances[0]
	tg := e.mustGroup(t, e.tcpGroup("inst"))
	ipg := e.mustGroup(t, e.tcpGroup("ips", func(in *CreateTargetGroupInput) { in.TargetType = "ip"; in.Port = 8080 }))

	e.register(t, tg.ARN, TargetDescription{ID: i1.ID}, TargetDescription{ID: i2.ID, Port: 8081}, TargetDescription{ID: i1.ID})
	e.register(t, ipg.ARN, TargetDescription{ID: "10.0.2.50"}, TargetDescription{ID: "10.0.1.9", Port: 9000, AvailabilityZone: "us-east-1a"})

	want := []model.Target{
		{ID: i1.ID, Port: 80, Zone: "us-east-1a", IP: i1.PrivateIP, Registered: testEpoch},
		{ID: i2.ID, Port: 8081, Zone: "us-east-1b", IP: i2.PrivateIP, Registered: testEpoch},
	}
	if diff := cmp.Diff(want, e.storedGroup(t, tg.ARN).Targets); diff != "" {
		t.Errorf("instance targets mismatch (-want +got):\n%s", diff)
	}
	want = []model.Target{
		{ID: "10.0.2.50", Port: 8080, Zone: "us-east-1b", IP: "10.0.2.50", Registered: testEpoch},
		{ID: "10.0.1.9", Port: 9000, AvailabilityZone: "us-east-1a", Zone: "us-east-1a", IP: "10.0.1.9", Registered: testEpoch},
	}
	if diff := cmp.Diff(want, e.storedGroup(t, ipg.ARN).Targets); diff != "" {
		t.Errorf("ip targets mismatch (-want +got):\n%s", diff)
	}

	// Registering a registered target again changes nothing.
	e.clock.Advance(time.Minute)
	e.register(t, ipg.ARN, TargetDescription{ID: "10.0.2.50"})
	if got := e.storedGroup(t, ipg.ARN).Targets[0].Registered; !got.Equal(testEpoch) {
		t.Errorf("re-registered target's Registered = %v, want %v", got, testEpoch)
	}
}

func TestRegisterTargetsErrors(t *testing.T) {
	e := newELBEnv(t)
	running := mustRun(t, e.s, netAcctA, runIn(e.subnets[0].ID)).Instances[0]
	stopped := mustRun(t, e.s, netAcctA, runIn(e.subnets[0].ID)).Instances[0]
	e.setInstanceState(t, netAcctA, stopped.ID, model.InstanceStopped)
	elsewhere := mustRun(t, e.s, netAcctA, runIn(e.otherSn.ID)).Instances[0]
	foreign := mustRun(t, e.s, netAcctB, runIn(e.foreignSn.ID)).Instances[0]
	tg := e.mustGroup(t, e.tcpGroup("inst"))
	ipg := e.mustGroup(t, e.tcpGroup("ips", func(in *CreateTargetGroupInput) { in.TargetType = "ip" }))
	const missing1, missing2 = "i-0123456789abcdef0", "i-0123456789abcdef1"

	tests := []struct {
		name      string
		arn       string
		targets   []TargetDescription
		code, msg string
	}{
		{"unknown group", otherARN(tg.ARN), []TargetDescription{{ID: running.ID}},
			"TargetGroupNotFound", "Target groups '[" + otherARN(tg.ARN) + "]' not found"},
		{"no targets", tg.ARN, nil, "ValidationError", "At least one target must be specified"},
		{"unknown instances", tg.ARN, []TargetDescription{{ID: running.ID}, {ID: missing1}, {ID: missing2}},
			"InvalidTarget", "The following instances do not exist: '" + missing1 + "', '" + missing2 + "'"},
		{"another account's instance", tg.ARN, []TargetDescription{{ID: foreign.ID}},
			"InvalidTarget", "The following instances do not exist: '" + foreign.ID + "'"},
		{"instance in another VPC", tg.ARN, []TargetDescription{{ID: elsewhere.ID}},
			"InvalidTarget", "The following targets are not in the target group VPC '" + e.vpc.ID + "': '" + elsewhere.ID + "'"},
		{"stopped instance", tg.ARN, []TargetDescription{{ID: running.ID}, {ID: stopped.ID}},
			"InvalidTarget", "The following targets are not in a running state and cannot be registered: '" + stopped.ID + "'"},
		{"malformed instance id", tg.ARN, []TargetDescription{{ID: "i-xyz"}}, "ValidationError", "Instance ID 'i-xyz' is not valid"},
		{"IP in an instance group", tg.ARN, []TargetDescription{{ID: "10.0.1.5"}}, "ValidationError", "Instance ID '10.0.1.5' is not valid"},
		{"zone for an instance", tg.ARN, []TargetDescription{{ID: running.ID, AvailabilityZone: "us-east-1a"}}, "ValidationError",
			"An Availability Zone cannot be specified for targets of target groups with target type 'instance'"},
		{"port out of range", tg.ARN, []TargetDescription{{ID: running.ID, Port: 65536}}, "ValidationError",
			"Port '65536' of target '" + running.ID + "' must be between 1 and 65535"},
		{"QUIC server id", tg.ARN, []TargetDescription{{ID: running.ID, QuicServerID: "0x1234567890abcdef"}}, "ValidationError",
			"A QUIC server ID can only be specified for targets of QUIC and TCP_QUIC target groups"},
		{"instance in an ip group", ipg.ARN, []TargetDescription{{ID: running.ID}}, "ValidationError",
			"The IP address '" + running.ID + "' is not a valid IPv4 address"},
		{"IPv6", ipg.ARN, []TargetDescription{{ID: "fd00::1"}}, "ValidationError", "The IP address 'fd00::1' is not a valid IPv4 address"},
		{"IP outside the subnets", ipg.ARN, []TargetDescription{{ID: "10.0.9.1"}}, "InvalidTarget", "The IP address '10.0.9.1' is not within the VPC's subnets"},
		{"IP of another VPC", ipg.ARN, []TargetDescription{{ID: "10.1.1.10"}}, "InvalidTarget", "The IP address '10.1.1.10' is not within the VPC's subnets"},
		{"zone all inside the VPC", ipg.ARN, []TargetDescription{{ID: "10.0.1.10", AvailabilityZone: "all"}}, "ValidationError",
			"The Availability Zone 'all' can only be specified for IP addresses outside the target group's VPC; '10.0.1.10' is in subnet '" + e.subnets[0].ID + "'"},
		{"wrong zone", ipg.ARN, []TargetDescription{{ID: "10.0.1.10", AvailabilityZone: "us-east-1b"}}, "ValidationError",
			"The IP address '10.0.1.10' is in Availability Zone 'us-east-1a', not 'us-east-1b'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantBadCall(t, e.st, func() error {
				return e.s.RegisterTargets(t.Context(), netAcctA, RegisterTargetsInput{TargetGroupARN: tt.arn, Targets: tt.targets})
			}, tt.code, tt.msg)
		})
	}

	// At most 1000 targets per group, draining ones included.
	many := make([]TargetDescription, 0, 1000)
	for p := range 1000 {
		many = append(many, TargetDescription{ID: "10.0.1.20", Port: int32(p + 1)})
	}
	e.register(t, ipg.ARN, many...)
	e.deregister(t, ipg.ARN, TargetDescription{ID: "10.0.1.20", Port: 1})
	err := e.s.RegisterTargets(t.Context(), netAcctA, RegisterTargetsInput{TargetGroupARN: ipg.ARN, Targets: []TargetDescription{{ID: "10.0.1.21"}}})
	wantELBErr(t, err, "TooManyTargets", "You've reached the limit on the number of targets registered to a target group (1000)")
	// Re-registering the draining one stays within the limit.
	e.register(t, ipg.ARN, TargetDescription{ID: "10.0.1.20", Port: 1})
}

func TestDeregisterTargetsDraining(t *testing.T) {
	e := newELBEnv(t)
	tg := e.mustGroup(t, e.tcpGroup("ips", func(in *CreateTargetGroupInput) { in.TargetType = "ip" }))
	e.attachLB(t, "nlb", tg.ARN, 80, "us-east-1a", "us-east-1b")
	e.register(t, tg.ARN, TargetDescription{ID: "10.0.1.10"}, TargetDescription{ID: "10.0.1.11", Port: 81})

	e.clock.Advance(time.Minute)
	// Unknown targets are fine; a port override must be named to match.
	e.deregister(t, tg.ARN, TargetDescription{ID: "10.0.1.10"}, TargetDescription{ID: "10.0.1.11"}, TargetDescription{ID: "10.0.2.99"})
	drainStart := e.clock.Now()
	stored := e.storedGroup(t, tg.ARN).Targets
	if len(stored) != 2 || !stored[0].DrainUntil.Equal(drainStart.Add(300*time.Second)) || !stored[1].DrainUntil.IsZero() {
		t.Fatalf("targets after deregistration = %+v", stored)
	}
	states := func() []string {
		var out []string
		for _, h := range e.health(t, tg.ARN) {
			out = append(out, h.ID+":"+strconv.Itoa(int(h.Port))+" "+h.State+" "+h.Reason)
		}
		return out
	}
	want := []string{"10.0.1.10:80 draining Target.DeregistrationInProgress", "10.0.1.11:81 initial Elb.RegistrationInProgress"}
	if diff := cmp.Diff(want, states()); diff != "" {
		t.Errorf("while draining (-want +got):\n%s", diff)
	}
	// Deregistering again does not extend the drain.
	e.clock.Advance(299 * time.Second)
	e.deregister(t, tg.ARN, TargetDescription{ID: "10.0.1.10"})
	if diff := cmp.Diff(want, states()); diff != "" {
		t.Errorf("one second before the end of the drain (-want +got):\n%s", diff)
	}
	e.clock.Advance(time.Second)
	if diff := cmp.Diff(want[1:], states()); diff != "" {
		t.Errorf("after the drain (-want +got):\n%s", diff)
	}
	got := e.health(t, tg.ARN, TargetDescription{ID: "10.0.1.10"})
	if len(got) != 1 || got[0].State != "unused" || got[0].Reason != "Target.NotRegistered" || got[0].Description != "Target is not registered to the target group" {
		t.Errorf("drained target = %+v", got)
	}
	// The next write drops it.
	e.deregister(t, tg.ARN, TargetDescription{ID: "10.0.2.99"})
	if stored := e.storedGroup(t, tg.ARN).Targets; len(stored) != 1 || stored[0].ID != "10.0.1.11" {
		t.Errorf("targets after the drain = %+v", stored)
	}

	// A deregistration delay of 0 removes at once.
	if _, err := e.s.ModifyTargetGroupAttributes(t.Context(), netAcctA, ModifyTargetGroupAttributesInput{
		TargetGroupARN: tg.ARN, Attributes: []TargetGroupAttribute{{Key: "deregistration_delay.timeout_seconds", Value: "0"}},
	}); err != nil {
		t.Fatal(err)
	}
	e.deregister(t, tg.ARN, TargetDescription{ID: "10.0.1.11", Port: 81})
	if stored := e.storedGroup(t, tg.ARN).Targets; len(stored) != 0 {
		t.Errorf("targets after deregistration without delay = %+v", stored)
	}
}

func TestReregisterDrainingTarget(t *testing.T) {
	e := newELBEnv(t)
	tg := e.mustGroup(t, e.tcpGroup("ips", func(in *CreateTargetGroupInput) { in.TargetType = "ip" }))
	e.attachLB(t, "nlb", tg.ARN, 80, "us-east-1a")
	e.register(t, tg.ARN, TargetDescription{ID: "10.0.1.10"})
	r, _ := model.ParseELBARN(tg.ARN)
	e.clock.Advance(time.Minute)
	e.put(t, targetHealthKey(netAcctA, r.ID), model.TargetHealthSet{TargetGroupARN: tg.ARN, Targets: map[string]model.TargetHealthStatus{
		"10.0.1.10:80": {State: "healthy", Since: e.clock.Now()},
	}})
	e.deregister(t, tg.ARN, TargetDescription{ID: "10.0.1.10"})
	e.clock.Advance(time.Minute)
	e.register(t, tg.ARN, TargetDescription{ID: "10.0.1.10"})
	stored := e.storedGroup(t, tg.ARN).Targets
	if len(stored) != 1 || !stored[0].DrainUntil.IsZero() || !stored[0].Registered.Equal(e.clock.Now()) {
		t.Fatalf("re-registered target = %+v", stored)
	}
	// The old health check result is about the earlier registration.
	got := e.health(t, tg.ARN)
	if len(got) != 1 || got[0].State != "initial" || got[0].Reason != "Elb.RegistrationInProgress" {
		t.Errorf("re-registered target health = %+v", got)
	}
}

func TestDescribeTargetHealth(t *testing.T) {
	e := newELBEnv(t)
	inA := mustRun(t, e.s, netAcctA, runIn(e.subnets[0].ID)).Instances[0]
	inB := mustRun(t, e.s, netAcctA, runIn(e.subnets[1].ID)).Instances[0]
	stopped := mustRun(t, e.s, netAcctA, runIn(e.subnets[0].ID)).Instances[0]
	gone := mustRun(t, e.s, netAcctA, runIn(e.subnets[0].ID)).Instances[0]
	tg := e.mustGroup(t, e.tcpGroup("inst", func(in *CreateTargetGroupInput) { in.HealthCheck.Port = new("8081") }))
	e.register(t, tg.ARN, TargetDescription{ID: inA.ID}, TargetDescription{ID: inB.ID},
		TargetDescription{ID: stopped.ID}, TargetDescription{ID: gone.ID}, TargetDescription{ID: inA.ID, Port: 81})
	e.setInstanceState(t, netAcctA, stopped.ID, model.InstanceStopped)
	e.setInstanceState(t, netAcctA, gone.ID, model.InstanceTerminated)

	// No load balancer uses the group yet.
	for _, h := range e.health(t, tg.ARN) {
		if h.State != "unused" || h.Reason != "Target.NotInUse" || h.Description != "Target group is not configured to receive traffic from the load balancer" {
			t.Errorf("without a load balancer: %+v", h)
		}
	}

	e.attachLB(t, "nlb", tg.ARN, 80, "us-east-1a")
	e.clock.Advance(time.Minute)
	r, _ := model.ParseELBARN(tg.ARN)
	e.put(t, targetHealthKey(netAcctA, r.ID), model.TargetHealthSet{TargetGroupARN: tg.ARN, Targets: map[string]model.TargetHealthStatus{
		inA.ID + ":80": {State: "healthy", Since: e.clock.Now()},
		inA.ID + ":81": {State: "unhealthy", Reason: "Target.ResponseCodeMismatch", Description: "Health checks failed with these codes: [503]", Since: e.clock.Now()},
		// A result from before the registration does not count.
		inB.ID + ":80": {State: "healthy", Since: testEpoch.Add(-time.Hour)},
	}})

	want := []TargetHealthReport{
		{ID: inA.ID, Port: 80, HealthCheckPort: "8081", State: "healthy"},
		{ID: inB.ID, Port: 80, HealthCheckPort: "8081", State: "unused", Reason: "Target.NotInUse",
			Description: "Target is in an Availability Zone that is not enabled for the load balancer"},
		{ID: stopped.ID, Port: 80, HealthCheckPort: "8081", State: "unused", Reason: "Target.InvalidState", Description: "Target is in the stopped state"},
		{ID: gone.ID, Port: 80, HealthCheckPort: "8081", State: "unused", Reason: "Target.InvalidState", Description: "Target is in the terminated state"},
		{ID: inA.ID, Port: 81, HealthCheckPort: "8081", State: "unhealthy", Reason: "Target.ResponseCodeMismatch", Description: "Health checks failed with these codes: [503]"},
	}
	if diff := cmp.Diff(want, e.health(t, tg.ARN)); diff != "" {
		t.Errorf("DescribeTargetHealth() mismatch (-want +got):\n%s", diff)
	}

	// With termination off and a draining interval, an unhealthy target
	// is unhealthy.draining until the interval ends.
	if _, err := e.s.ModifyTargetGroupAttributes(t.Context(), netAcctA, ModifyTargetGroupAttributesInput{TargetGroupARN: tg.ARN, Attributes: []TargetGroupAttribute{
		{Key: model.AttrUnhealthyConnTerm, Value: "false"}, {Key: model.AttrUnhealthyDraining, Value: "120"},
	}}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		after time.Duration
		want  string
	}{{0, "unhealthy.draining"}, {119 * time.Second, "unhealthy.draining"}, {time.Second, "unhealthy"}} {
		e.clock.Advance(step.after)
		got := e.health(t, tg.ARN, TargetDescription{ID: inA.ID, Port: 81})
		wantD := want[4]
		wantD.State = step.want
		if diff := cmp.Diff([]TargetHealthReport{wantD}, got); diff != "" {
			t.Errorf("%v after the checks failed, draining 120 s: mismatch (-want +got):\n%s", e.clock.Now().Sub(testEpoch.Add(time.Minute)), diff)
		}
	}

	// Asked for by id: every registration of an id without a port, the
	// one with a port, and unknown ones as not registered.
	got := e.health(t, tg.ARN, TargetDescription{ID: inA.ID}, TargetDescription{ID: inA.ID, Port: 81},
		TargetDescription{ID: "i-0123456789abcdef0"}, TargetDescription{ID: inB.ID, Port: 9999})
	want = []TargetHealthReport{
		want[0], want[4], want[4],
		{ID: "i-0123456789abcdef0", Port: 80, HealthCheckPort: "8081", State: "unused", Reason: "Target.NotRegistered", Description: "Target is not registered to the target group"},
		{ID: inB.ID, Port: 9999, HealthCheckPort: "8081", State: "unused", Reason: "Target.NotRegistered", Description: "Target is not registered to the target group"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DescribeTargetHealth(targets) mismatch (-want +got):\n%s", diff)
	}

	// A second load balancer in zone b puts inB in use; with no result yet
	// it is initial. The traffic port is the health check port by default.
	e.attachLB(t, "nlb-b", tg.ARN, 80, "us-east-1b")
	if _, err := e.s.ModifyTargetGroup(t.Context(), netAcctA, ModifyTargetGroupInput{TargetGroupARN: tg.ARN, HealthCheck: HealthCheckInput{Port: new("traffic-port")}}); err != nil {
		t.Fatal(err)
	}
	got = e.health(t, tg.ARN, TargetDescription{ID: inB.ID, Port: 80})
	wantB := []TargetHealthReport{{ID: inB.ID, Port: 80, HealthCheckPort: "80", State: "initial", Reason: "Elb.RegistrationInProgress",
		Description: "Target registration is in progress"}}
	if diff := cmp.Diff(wantB, got); diff != "" {
		t.Errorf("DescribeTargetHealth(inB) mismatch (-want +got):\n%s", diff)
	}

	// Errors.
	_, err := e.s.DescribeTargetHealth(t.Context(), netAcctB, DescribeTargetHealthInput{TargetGroupARN: tg.ARN})
	wantELBErr(t, err, "TargetGroupNotFound", "Target groups '["+tg.ARN+"]' not found")
	_, err = e.s.DescribeTargetHealth(t.Context(), netAcctA, DescribeTargetHealthInput{TargetGroupARN: tg.ARN, Include: []string{"Everything"}})
	wantELBErr(t, err, "ValidationError", "Include value 'Everything' is not valid; valid values are AnomalyDetection and All")
	_, err = e.s.DescribeTargetHealth(t.Context(), netAcctA, DescribeTargetHealthInput{TargetGroupARN: tg.ARN, Targets: []TargetDescription{{}}})
	wantELBErr(t, err, "ValidationError", "A target ID must be specified")
}

func TestDescribeTargetHealthIPZone(t *testing.T) {
	e := newELBEnv(t)
	tg := e.mustGroup(t, e.tcpGroup("ips", func(in *CreateTargetGroupInput) { in.TargetType = "ip" }))
	e.attachLB(t, "nlb", tg.ARN, 80, "us-east-1a")
	e.register(t, tg.ARN, TargetDescription{ID: "10.0.1.10", AvailabilityZone: "us-east-1a"}, TargetDescription{ID: "10.0.2.10"})
	want := []TargetHealthReport{
		{ID: "10.0.1.10", Port: 80, AvailabilityZone: "us-east-1a", HealthCheckPort: "80", State: "initial", Reason: "Elb.RegistrationInProgress",
			Description: "Target registration is in progress"},
		{ID: "10.0.2.10", Port: 80, HealthCheckPort: "80", State: "unused", Reason: "Target.NotInUse",
			Description: "Target is in an Availability Zone that is not enabled for the load balancer"},
	}
	if diff := cmp.Diff(want, e.health(t, tg.ARN)); diff != "" {
		t.Errorf("DescribeTargetHealth() mismatch (-want +got):\n%s", diff)
	}
}

// otherARN is arn with its last hex digit changed: the ARN of a group
// that does not exist.
func otherARN(arn string) string {
	last := "0"
	if strings.HasSuffix(arn, last) {
		last = "1"
	}
	return arn[:len(arn)-1] + last
}
