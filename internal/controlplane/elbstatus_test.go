package controlplane

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/model"
)

func TestActivateLoadBalancers(t *testing.T) {
	s, st := newNetTestService(t)
	const acct = "111111111111"
	arnA := model.LoadBalancerARN("us-east-1", acct, "a", "000000000000000a")
	arnB := model.LoadBalancerARN("us-east-1", acct, "b", "000000000000000b")
	putTestRecords(t, st, map[string]any{
		loadBalancerKey(acct, "000000000000000a"): model.LoadBalancer{ARN: arnA, State: model.LBProvisioning},
		loadBalancerKey(acct, "000000000000000b"): model.LoadBalancer{ARN: arnB, State: model.LBFailed},
	})
	gone := model.LoadBalancerARN("us-east-1", acct, "c", "000000000000000c")
	if err := s.ActivateLoadBalancers(t.Context(), []string{arnA, arnB, gone, "not-an-arn"}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		loadBalancerKey(acct, "000000000000000a"): model.LBActive,
		loadBalancerKey(acct, "000000000000000b"): model.LBFailed,
	} {
		lb, _ := getTestRecord[model.LoadBalancer](t, st, key)
		if lb.State != want {
			t.Errorf("%s: state %q, want %q", key, lb.State, want)
		}
	}
	if _, found := getTestRecord[model.LoadBalancer](t, st, loadBalancerKey(acct, "000000000000000c")); found {
		t.Error("activating a deleted load balancer created it")
	}
}

func TestRecordTargetHealth(t *testing.T) {
	s, st, clock := newInstanceTestService(t, nil)
	const acct, id = "111111111111", "00000000000000aa"
	arn := model.TargetGroupARN("us-east-1", acct, "tg", id)
	now := clock.Now()
	putTestRecords(t, st, map[string]any{
		targetGroupKey(acct, id): model.TargetGroup{ARN: arn, Targets: []model.Target{
			{ID: "i-a", Port: 80, Registered: now},
			{ID: "i-b", Port: 80, Registered: now},
			{ID: "i-c", Port: 80, Registered: now, DrainUntil: now}, // drained
			{ID: "i-d", Port: 80, Registered: now},                  // registered again since its last result
		}},
		targetHealthKey(acct, id): model.TargetHealthSet{TargetGroupARN: arn, Targets: map[string]model.TargetHealthStatus{
			"i-b:80":   {State: model.TargetHealthy, Since: now},
			"i-old:80": {State: model.TargetHealthy, Since: now},
			"i-d:80":   {State: model.TargetHealthy, Since: now.Add(-time.Hour)},
		}},
	})
	clock.Advance(time.Minute)
	later := clock.Now()
	err := s.RecordTargetHealth(t.Context(), []TargetHealthUpdate{
		{TargetGroupARN: arn, TargetKey: "i-a:80", State: model.TargetUnhealthy, Reason: model.ReasonTimeout},
		{TargetGroupARN: arn, TargetKey: "i-b:80", State: model.TargetHealthy},                                  // unchanged: keeps its time
		{TargetGroupARN: arn, TargetKey: "i-c:80", State: model.TargetHealthy},                                  // drained: ignored
		{TargetGroupARN: arn, TargetKey: "i-d:80", State: model.TargetHealthy},                                  // same result, new registration
		{TargetGroupARN: model.TargetGroupARN("us-east-1", acct, "x", "00000000000000bb"), TargetKey: "i-a:80"}, // no such group
	})
	if err != nil {
		t.Fatal(err)
	}
	set, _ := getTestRecord[model.TargetHealthSet](t, st, targetHealthKey(acct, id))
	want := map[string]model.TargetHealthStatus{
		"i-a:80": {State: model.TargetUnhealthy, Reason: model.ReasonTimeout, Since: later},
		"i-b:80": {State: model.TargetHealthy, Since: now},
		"i-d:80": {State: model.TargetHealthy, Since: later},
	}
	if diff := cmp.Diff(want, set.Targets); diff != "" {
		t.Errorf("health set (-want +got):\n%s", diff)
	}
	if _, found := getTestRecord[model.TargetHealthSet](t, st, targetHealthKey(acct, "00000000000000bb")); found {
		t.Error("a report for a deleted group created its health set")
	}
}

func TestTerminationDeregistersTargets(t *testing.T) {
	s, st, _ := newInstanceTestService(t, nil)
	vpc := mustVpc(t, s, netAcctA, "10.0.0.0/16")
	sn := mustSubnet(t, s, netAcctA, vpc.ID, "10.0.1.0/24")
	ids := instanceIDs(mustRun(t, s, netAcctA, runIn(sn.ID, func(in *RunInstancesInput) { in.MinCount, in.MaxCount = count(2), count(2) })))
	const tgID = "00000000000000aa"
	arn := model.TargetGroupARN("us-east-1", netAcctA, "tg", tgID)
	putTestRecords(t, st, map[string]any{
		targetGroupKey(netAcctA, tgID): model.TargetGroup{ARN: arn, Targets: []model.Target{
			{ID: ids[0], Port: 80}, {ID: ids[1], Port: 80}, {ID: ids[0], Port: 8080},
		}},
	})
	mustAdvance(t, s, InstanceProgress{Running: refs(netAcctA, ids...)})
	if _, err := s.TerminateInstances(t.Context(), netAcctA, TerminateInstancesInput{InstanceIDs: ids[:1]}); err != nil {
		t.Fatal(err)
	}
	mustAdvance(t, s, InstanceProgress{Terminated: refs(netAcctA, ids[0])})
	tg, _ := getTestRecord[model.TargetGroup](t, st, targetGroupKey(netAcctA, tgID))
	if len(tg.Targets) != 1 || tg.Targets[0].ID != ids[1] {
		t.Errorf("targets after terminating %s: %+v, want only %s", ids[0], tg.Targets, ids[1])
	}
}
