package controller

import (
	"maps"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/controlplane"
	"github.com/privlink/privlink/internal/forwarder"
	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/vpcdns"
)

const (
	testLBARN = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/net/web/0123456789abcdef"
	testTGARN = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef"
	testLnARN = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/net/web/0123456789abcdef/fedcba9876543210"
)

// elbSnapshot is an NLB with nodes in zones a (10.0.1.10) and b
// (10.0.2.10), a TCP:80 listener and a group of two instance targets, one
// per zone, with its health as given.
func elbSnapshot(t0 time.Time, tweak func(*controlplane.NetworkSnapshot)) controlplane.NetworkSnapshot {
	snap := controlplane.NetworkSnapshot{
		Instances: []model.Instance{
			{ID: "i-a", State: model.InstanceRunning},
			{ID: "i-b", State: model.InstanceRunning},
		},
		LoadBalancers: []model.LoadBalancer{{
			ARN: testLBARN, VpcID: "vpc-1", State: model.LBProvisioning, DNSName: "web-0123456789abcdef.elb.us-east-1.amazonaws.com",
			Nodes: []model.LBNode{
				{AvailabilityZone: "us-east-1a", ENIID: "eni-a", PrivateIP: "10.0.1.10"},
				{AvailabilityZone: "us-east-1b", ENIID: "eni-b", PrivateIP: "10.0.2.10"},
			},
			Attributes: map[string]string{model.AttrCrossZone: "false"},
		}},
		Listeners: []model.Listener{{ARN: testLnARN, LoadBalancerARN: testLBARN, Protocol: "TCP", Port: 80, TargetGroupARN: testTGARN}},
		TargetGroups: []model.TargetGroup{{
			ARN: testTGARN, Protocol: "TCP", Port: 8080, TargetType: model.TargetTypeInstance,
			HealthCheck: model.HealthCheck{Protocol: "HTTP", Port: model.TrafficPort, Path: "/health", IntervalSeconds: 5,
				TimeoutSeconds: 2, HealthyThreshold: 2, UnhealthyThreshold: 3, Matcher: "200"},
			Attributes: map[string]string{model.AttrCrossZone: "use_load_balancer_configuration", model.AttrProxyProtocolV2: "false"},
			Targets: []model.Target{
				{ID: "i-a", Port: 8080, Zone: "us-east-1a", IP: "10.0.1.20", Registered: t0},
				{ID: "i-b", Port: 8080, Zone: "us-east-1b", IP: "10.0.2.20", Registered: t0},
			},
		}},
		TargetHealth: []model.TargetHealthSet{{TargetGroupARN: testTGARN, Targets: map[string]model.TargetHealthStatus{
			"i-a:8080": {State: model.TargetHealthy, Since: t0.Add(time.Second)},
			"i-b:8080": {State: model.TargetUnhealthy, Reason: model.ReasonTimeout, Since: t0.Add(time.Second)},
		}}},
	}
	if tweak != nil {
		tweak(&snap)
	}
	return snap
}

// backends summarises a table: listener key → "addr state" per backend.
func backends(tb forwarder.Table) map[string][]string {
	out := map[string][]string{}
	for _, l := range tb.Listeners {
		out[l.Key] = []string{}
		for _, b := range l.Backends {
			out[l.Key] = append(out[l.Key], b.Addr.String()+" "+[]string{"healthy", "unhealthy", "draining"}[b.State])
		}
	}
	return out
}

func TestBuildELB(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	now := t0.Add(time.Minute)
	la, lb := testLnARN+"@eni-a", testLnARN+"@eni-b"
	all := func(string) bool { return true }
	tests := []struct {
		name      string
		tweak     func(*controlplane.NetworkSnapshot)
		hosted    func(string) bool
		want      map[string][]string
		wantNames []string // addresses of the DNS name
		// stays reports that the provisioning load balancer is not
		// activated.
		stays bool
	}{
		{
			name:      "zonal: each node sends to its own zone",
			want:      map[string][]string{la: {"10.0.1.20:8080 healthy"}, lb: {"10.0.2.20:8080 unhealthy"}},
			wantNames: []string{"10.0.1.10"},
		},
		{
			name: "cross-zone from the load balancer",
			tweak: func(s *controlplane.NetworkSnapshot) {
				s.LoadBalancers[0].Attributes[model.AttrCrossZone] = "true"
			},
			want: map[string][]string{
				la: {"10.0.1.20:8080 healthy", "10.0.2.20:8080 unhealthy"},
				lb: {"10.0.1.20:8080 healthy", "10.0.2.20:8080 unhealthy"},
			},
			wantNames: []string{"10.0.1.10", "10.0.2.10"},
		},
		{
			name: "the group's cross-zone overrides the load balancer's",
			tweak: func(s *controlplane.NetworkSnapshot) {
				s.LoadBalancers[0].Attributes[model.AttrCrossZone] = "true"
				s.TargetGroups[0].Attributes[model.AttrCrossZone] = "false"
			},
			want:      map[string][]string{la: {"10.0.1.20:8080 healthy"}, lb: {"10.0.2.20:8080 unhealthy"}},
			wantNames: []string{"10.0.1.10"},
		},
		{
			name: "no healthy zone: DNS fails open to every node",
			tweak: func(s *controlplane.NetworkSnapshot) {
				s.TargetHealth = nil
			},
			want:      map[string][]string{la: {"10.0.1.20:8080 unhealthy"}, lb: {"10.0.2.20:8080 unhealthy"}},
			wantNames: []string{"10.0.1.10", "10.0.2.10"},
		},
		{
			name: "a health result older than the registration does not count",
			tweak: func(s *controlplane.NetworkSnapshot) {
				s.TargetGroups[0].Targets[0].Registered = t0.Add(2 * time.Second)
			},
			want:      map[string][]string{la: {"10.0.1.20:8080 unhealthy"}, lb: {"10.0.2.20:8080 unhealthy"}},
			wantNames: []string{"10.0.1.10", "10.0.2.10"},
		},
		{
			name: "draining until its deadline, gone after it",
			tweak: func(s *controlplane.NetworkSnapshot) {
				s.TargetGroups[0].Targets[0].DrainUntil = now.Add(time.Second)
				s.TargetGroups[0].Targets[1].DrainUntil = now
			},
			want:      map[string][]string{la: {"10.0.1.20:8080 draining"}, lb: {}},
			wantNames: []string{"10.0.1.10", "10.0.2.10"},
		},
		{
			name: "a stopped instance and a target outside the node zones take no traffic",
			tweak: func(s *controlplane.NetworkSnapshot) {
				s.Instances[0].State = model.InstanceStopped
				s.TargetGroups[0].Targets[1].Zone = "us-east-1c"
			},
			want:      map[string][]string{la: {}, lb: {}},
			wantNames: []string{"10.0.1.10", "10.0.2.10"},
		},
		{
			name:      "nodes without a namespace get no listener and stay provisioning",
			hosted:    func(eni string) bool { return eni == "eni-a" },
			want:      map[string][]string{la: {"10.0.1.20:8080 healthy"}},
			wantNames: []string{"10.0.1.10"},
			stays:     true,
		},
		{
			name: "an active load balancer is not activated again",
			tweak: func(s *controlplane.NetworkSnapshot) {
				s.LoadBalancers[0].State = model.LBActive
			},
			want:      map[string][]string{la: {"10.0.1.20:8080 healthy"}, lb: {"10.0.2.20:8080 unhealthy"}},
			wantNames: []string{"10.0.1.10"},
			stays:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hosted := tt.hosted
			if hosted == nil {
				hosted = all
			}
			d := buildELB("plk-", "us-east-1", now, elbSnapshot(t0, tt.tweak), true, hosted)
			if diff := cmp.Diff(tt.want, backends(d.table)); diff != "" {
				t.Errorf("backends (-want +got):\n%s", diff)
			}
			var names []string
			for _, a := range d.vpcNames("vpc-1").A["web-0123456789abcdef.elb.us-east-1.amazonaws.com."] {
				names = append(names, a.String())
			}
			if diff := cmp.Diff(tt.wantNames, names); diff != "" {
				t.Errorf("DNS answers (-want +got):\n%s", diff)
			}
			if activated := len(d.provisioning) == 1; activated == tt.stays {
				t.Errorf("provisioning = %v, want it activated: %v", d.provisioning, !tt.stays)
			}
		})
	}
}

func TestBuildELBListenerAndChecks(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	d := buildELB("plk-", "us-east-1", t0.Add(time.Minute), elbSnapshot(t0, func(s *controlplane.NetworkSnapshot) {
		s.TargetGroups[0].Attributes[model.AttrProxyProtocolV2] = "true"
		s.TargetGroups[0].Attributes[model.AttrStickinessEnabled] = "true"
	}), true, func(string) bool { return true })
	l := d.table.Listeners[0]
	if l.Namespace != "plk-eni-a" || l.Addr != netip.MustParseAddrPort("10.0.1.10:80") || !l.ProxyProtocol || !l.StickySource {
		t.Errorf("listener = %+v", l)
	}
	b := l.Backends[0]
	if b.Namespace != "plk-eni-a" || b.Source != netip.MustParseAddr("10.0.1.10") || b.Key != "i-a:8080" {
		t.Errorf("backend = %+v, want dialled from the node's namespace and address", b)
	}
	if len(d.checks) != 2 {
		t.Fatalf("checks = %+v, want one per target", d.checks)
	}
	c := d.checks[1]
	want := forwarder.Check{
		Key: c.Key, Namespace: "plk-eni-b", Source: netip.MustParseAddr("10.0.2.10"), Addr: netip.MustParseAddrPort("10.0.2.20:8080"),
		Protocol: "HTTP", Path: "/health", Matcher: "200", Interval: 5 * time.Second, Timeout: 2 * time.Second,
		HealthyThreshold: 2, UnhealthyThreshold: 3, ProxyProtocol: true,
	}
	if c != want {
		t.Errorf("check of the zone-b target:\n got %+v\nwant %+v", c, want)
	}
	if got := d.checkTargets[c.Key]; got != (checkTarget{testTGARN, "i-b:8080"}) {
		t.Errorf("checkTargets[%q] = %+v", c.Key, got)
	}

	// A target registered again is a new check.
	d2 := buildELB("plk-", "us-east-1", t0.Add(time.Minute), elbSnapshot(t0, func(s *controlplane.NetworkSnapshot) {
		s.TargetGroups[0].Targets[1].Registered = t0.Add(30 * time.Second)
	}), true, func(string) bool { return true })
	if d2.checks[1].Key == c.Key || d2.checks[0].Key != d.checks[0].Key {
		t.Errorf("check keys after re-registering one target: %q, %q; before %q, %q", d2.checks[0].Key, d2.checks[1].Key, d.checks[0].Key, c.Key)
	}
}

func TestHealthUpdates(t *testing.T) {
	targets := map[string]checkTarget{"k1": {"tg1", "i-a:80"}, "k2": {"tg1", "i-b:80"}, "k3": {"tg0", "10.0.0.5:80"}, "k4": {"tg0", "x:1"}}
	got := healthUpdates([]forwarder.Health{
		{Key: "k1", State: forwarder.StateHealthy},
		{Key: "k2", State: forwarder.StateUnhealthy, Reason: forwarder.FailMismatch, Code: 503},
		{Key: "k3", State: forwarder.StateUnhealthy, Reason: forwarder.FailTimeout},
		{Key: "k4", State: forwarder.StateInitial},
		{Key: "gone", State: forwarder.StateHealthy},
	}, targets)
	want := []controlplane.TargetHealthUpdate{
		{TargetGroupARN: "tg0", TargetKey: "10.0.0.5:80", State: model.TargetUnhealthy, Reason: model.ReasonTimeout},
		{TargetGroupARN: "tg1", TargetKey: "i-a:80", State: model.TargetHealthy},
		{TargetGroupARN: "tg1", TargetKey: "i-b:80", State: model.TargetUnhealthy, Reason: model.ReasonResponseCodeMismatch,
			Description: "Health checks failed with these codes: [503]"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("healthUpdates (-want +got):\n%s", diff)
	}
}

func TestAddNames(t *testing.T) {
	cfg := vpcdns.Config{Resolvers: []vpcdns.Resolver{
		{Namespace: "plk-vpc-1", Records: vpcdns.Records{A: map[string][]netip.Addr{}}},
		{Namespace: "plk-vpc-2", Records: vpcdns.Records{A: map[string][]netip.Addr{}}},
	}}
	node := netip.MustParseAddr("10.0.1.10")
	addNames(&cfg, "plk-", "us-east-1", map[string]*vpcNames{"vpc-1": {A: map[string][]netip.Addr{"web.elb.": {node}}, CNAME: map[string]string{"api.example.com.": "web.elb."}}})
	if got := cfg.Resolvers[0].Records.A["web.elb."]; !slices.Equal(got, []netip.Addr{node}) {
		t.Errorf("own VPC answers %v", got)
	}
	if got := cfg.Resolvers[0].Records.PTR[node]; !slices.Equal(got, []string{"ip-10-0-1-10.ec2.internal."}) {
		t.Errorf("PTR of the node = %v, want its EC2 name", got)
	}
	if got := cfg.Resolvers[0].Records.CNAME["api.example.com."]; got != "web.elb." {
		t.Errorf("CNAME = %q", got)
	}
	if len(cfg.Resolvers[1].Records.A) != 0 || cfg.Resolvers[1].Records.PTR != nil || cfg.Resolvers[1].Records.CNAME != nil {
		t.Errorf("another VPC got records: %+v", cfg.Resolvers[1].Records)
	}
}

// TestBuildELBFlowEnds: the group's attributes and its targets' health
// decide when a backend's flows are reset.
func TestBuildELBFlowEnds(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	now := t0.Add(time.Minute)
	unhealthySince := t0.Add(time.Second) // i-b's, in elbSnapshot
	type ends struct {
		State            forwarder.BackendState
		DrainUntil       time.Time
		KeepFlows        bool
		UnhealthyResetAt time.Time
	}
	// KeepFlows is the group's: the flows of a target that leaves
	// the table (drained or not) stay unless termination is on.
	tests := []struct {
		name  string
		attrs map[string]string // the group's, over elbSnapshot's
		drain bool              // deregister i-a, draining for a second more
		// initial: i-b registered again after its last check
		initial bool
		want    map[string]ends // by target address
	}{
		{
			name: "defaults: an unhealthy target's flows reset at once",
			attrs: map[string]string{
				model.AttrConnTermOnDeregistration: "false", model.AttrUnhealthyConnTerm: "true", model.AttrUnhealthyDraining: "0",
			},
			want: map[string]ends{
				"10.0.1.20:8080": {State: forwarder.Healthy, KeepFlows: true},
				"10.0.2.20:8080": {State: forwarder.Unhealthy, UnhealthyResetAt: unhealthySince, KeepFlows: true},
			},
		},
		{
			name: "attributes missing, as in a store from before them: AWS's defaults",
			want: map[string]ends{
				"10.0.1.20:8080": {State: forwarder.Healthy, KeepFlows: true},
				"10.0.2.20:8080": {State: forwarder.Unhealthy, UnhealthyResetAt: unhealthySince, KeepFlows: true},
			},
		},
		{
			name:    "not checked since its registration: no reset",
			attrs:   map[string]string{model.AttrUnhealthyConnTerm: "true"},
			initial: true,
			want: map[string]ends{
				"10.0.1.20:8080": {State: forwarder.Healthy, KeepFlows: true},
				"10.0.2.20:8080": {State: forwarder.Unhealthy, KeepFlows: true},
			},
		},
		{
			name:  "unhealthy termination off: drained for the interval",
			attrs: map[string]string{model.AttrUnhealthyConnTerm: "false", model.AttrUnhealthyDraining: "300"},
			want: map[string]ends{
				"10.0.1.20:8080": {State: forwarder.Healthy, KeepFlows: true},
				"10.0.2.20:8080": {State: forwarder.Unhealthy, UnhealthyResetAt: unhealthySince.Add(300 * time.Second), KeepFlows: true},
			},
		},
		{
			name:  "unhealthy termination off without an interval: kept",
			attrs: map[string]string{model.AttrUnhealthyConnTerm: "false", model.AttrUnhealthyDraining: "0"},
			want: map[string]ends{
				"10.0.1.20:8080": {State: forwarder.Healthy, KeepFlows: true},
				"10.0.2.20:8080": {State: forwarder.Unhealthy, KeepFlows: true},
			},
		},
		{
			name:  "deregistered, termination off (the default): flows outlive the delay",
			attrs: map[string]string{model.AttrConnTermOnDeregistration: "false"},
			drain: true,
			want: map[string]ends{
				"10.0.1.20:8080": {State: forwarder.Draining, DrainUntil: now.Add(time.Second), KeepFlows: true},
				"10.0.2.20:8080": {State: forwarder.Unhealthy, UnhealthyResetAt: unhealthySince, KeepFlows: true},
			},
		},
		{
			name:  "deregistered, termination on: flows reset at the end of the delay",
			attrs: map[string]string{model.AttrConnTermOnDeregistration: "true"},
			drain: true,
			want: map[string]ends{
				"10.0.1.20:8080": {State: forwarder.Draining, DrainUntil: now.Add(time.Second)},
				"10.0.2.20:8080": {State: forwarder.Unhealthy, UnhealthyResetAt: unhealthySince},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := elbSnapshot(t0, func(s *controlplane.NetworkSnapshot) {
				s.LoadBalancers[0].Attributes[model.AttrCrossZone] = "true"
				maps.Copy(s.TargetGroups[0].Attributes, tt.attrs)
				if tt.drain {
					s.TargetGroups[0].Targets[0].DrainUntil = now.Add(time.Second)
				}
				if tt.initial {
					s.TargetGroups[0].Targets[1].Registered = t0.Add(2 * time.Second)
				}
			})
			d := buildELB("plk-", "us-east-1", now, snap, true, func(string) bool { return true })
			for _, l := range d.table.Listeners {
				got := map[string]ends{}
				for _, b := range l.Backends {
					got[b.Addr.String()] = ends{b.State, b.DrainUntil, b.KeepFlows, b.UnhealthyResetAt}
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("listener %s: backends mismatch (-want +got):\n%s", l.Key, diff)
				}
			}
		})
	}
}

// TestBuildELBIdleTimeout: listeners idle out as their load balancer
// listener's tcp.idle_timeout.seconds says, 350 s when unset, and an
// endpoint's listeners as the load balancer listener they forward to.
func TestBuildELBIdleTimeout(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		attrs map[string]string
		want  time.Duration
	}{
		{"unset: AWS's default", nil, 350 * time.Second},
		{"set", map[string]string{model.ListenerAttrTCPIdleTimeout: "6000"}, 6000 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, snap := range map[string]controlplane.NetworkSnapshot{
				"load balancer": elbSnapshot(t0, nil),
				"endpoint":      endpointSnapshot(t0, model.EndpointAvailable, nil),
			} {
				for i := range snap.Listeners {
					snap.Listeners[i].Attributes = tt.attrs
				}
				d := buildELB("plk-", "us-east-1", t0.Add(time.Minute), snap, true, func(string) bool { return true })
				if len(d.table.Listeners) == 0 {
					t.Fatalf("%s: no listener", name)
				}
				for _, l := range d.table.Listeners {
					if l.IdleTimeout != tt.want {
						t.Errorf("%s: listener %s IdleTimeout = %v, want %v", name, l.Key, l.IdleTimeout, tt.want)
					}
				}
			}
		})
	}
}

func TestRetiredListeners(t *testing.T) {
	d := elbDesired{
		nlbListeners: map[string]string{"lsn-kept@eni-a": "eni-a"},
		liveNodes:    map[string]bool{"eni-a": true, "eni-b": true},
	}
	tests := []struct {
		name string
		last map[string]string
		want []string
	}{
		{"first pass", nil, nil},
		{"nothing dropped", map[string]string{"lsn-kept@eni-a": "eni-a"}, nil},
		{
			name: "a listener deleted from a live load balancer: retired",
			last: map[string]string{"lsn-kept@eni-a": "eni-a", "lsn-gone@eni-a": "eni-a", "lsn-gone@eni-b": "eni-b"},
			want: []string{"lsn-gone@eni-a", "lsn-gone@eni-b"},
		},
		{
			name: "its load balancer deleted: reset, not retired",
			last: map[string]string{"lsn-old@eni-z": "eni-z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, d.retired(tt.last)); diff != "" {
				t.Errorf("retired() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
