package controlplane

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// lbtListenerInput is a TCP listener on port forwarding to tgARN.
func lbtListenerInput(lbARN string, port int32, tgARN string) CreateListenerInput {
	return CreateListenerInput{
		LoadBalancerARN: lbARN, Protocol: "TCP", Port: &port,
		DefaultActions: []ListenerAction{{Type: "forward", TargetGroupARN: tgARN}},
	}
}

func TestCreateListener(t *testing.T) {
	e := newELBEnv(t)
	s, ctx := e.s, t.Context()
	lb := lbtCreate(t, s, lbtInternal("web", e.subnets[0].ID))
	tg := lbtTargetGroup(t, e.st, netAcctA, e.vpc.ID, "web", "TCP")
	in := lbtListenerInput(lb.ARN, 443, "")
	// ForwardConfig naming the same group as TargetGroupArn is one group.
	in.DefaultActions[0].ForwardTargetGroups = []ForwardTargetGroup{{TargetGroupARN: tg.ARN, Weight: new(int32(5))}}
	in.Tags = []model.Tag{{Key: "k", Value: "v"}}
	l, err := s.CreateListener(ctx, netAcctA, in)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := model.ParseELBARN(l.ARN)
	if !ok || r.Kind != "listener" || l.ARN != model.ListenerARN(lb.ARN, r.ID) {
		t.Fatalf("listener ARN %q", l.ARN)
	}
	want := model.Listener{
		ARN: l.ARN, OwnerID: netAcctA, LoadBalancerARN: lb.ARN, Protocol: "TCP", Port: 443,
		TargetGroupARN: tg.ARN, Tags: []model.Tag{{Key: "k", Value: "v"}}, Created: testEpoch,
	}
	if diff := cmp.Diff(want, l); diff != "" {
		t.Errorf("CreateListener() mismatch (-want +got):\n%s", diff)
	}
	// The same port and settings answer the same listener.
	again, err := s.CreateListener(ctx, netAcctA, lbtListenerInput(lb.ARN, 443, tg.ARN))
	if err != nil || again.ARN != l.ARN {
		t.Errorf("repeated CreateListener = %s, %v; want %s", again.ARN, err, l.ARN)
	}
	// A second listener to the same group of the same load balancer is fine.
	l80, err := s.CreateListener(ctx, netAcctA, lbtListenerInput(lb.ARN, 80, tg.ARN))
	if err != nil {
		t.Fatal(err)
	}

	// Describe by load balancer lists by port; by ARN; paging.
	ports := func(ls []model.Listener) []int32 {
		out := []int32{}
		for _, l := range ls {
			out = append(out, l.Port)
		}
		return out
	}
	byLB, err := s.DescribeListeners(ctx, netAcctA, DescribeListenersInput{LoadBalancerARN: lb.ARN})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int32{80, 443}, ports(byLB.Listeners)); diff != "" {
		t.Errorf("DescribeListeners(lb) mismatch (-want +got):\n%s", diff)
	}
	page1, err := s.DescribeListeners(ctx, netAcctA, DescribeListenersInput{LoadBalancerARN: lb.ARN, PageSize: 1})
	if err != nil || page1.NextMarker == "" {
		t.Fatalf("DescribeListeners(PageSize 1) = %+v, %v", page1, err)
	}
	page2, err := s.DescribeListeners(ctx, netAcctA, DescribeListenersInput{LoadBalancerARN: lb.ARN, PageSize: 1, Marker: page1.NextMarker})
	if err != nil {
		t.Fatal(err)
	}
	if got := append(ports(page1.Listeners), ports(page2.Listeners)...); !cmp.Equal(got, []int32{80, 443}) || page2.NextMarker != "" {
		t.Errorf("paged ports %v, last marker %q", got, page2.NextMarker)
	}
	byARN, err := s.DescribeListeners(ctx, netAcctA, DescribeListenersInput{ListenerARNs: []string{l.ARN}})
	if err != nil || len(byARN.Listeners) != 1 || byARN.Listeners[0].ARN != l.ARN {
		t.Errorf("DescribeListeners(ARN) = %+v, %v", byARN.Listeners, err)
	}

	// ModifyListener moves the port and the target group.
	tg2 := lbtTargetGroup(t, e.st, netAcctA, e.vpc.ID, "web2", "TCP")
	mod, err := s.ModifyListener(ctx, netAcctA, ModifyListenerInput{ListenerARN: l80.ARN, Port: new(int32(8080)), DefaultActions: []ListenerAction{{Type: "forward", TargetGroupARN: tg2.ARN}}})
	if err != nil {
		t.Fatal(err)
	}
	if mod.Port != 8080 || mod.TargetGroupARN != tg2.ARN || mod.ARN != l80.ARN || mod.Protocol != "TCP" {
		t.Errorf("ModifyListener() = %+v", mod)
	}
	byLB, err = s.DescribeListeners(ctx, netAcctA, DescribeListenersInput{LoadBalancerARN: lb.ARN})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int32{443, 8080}, ports(byLB.Listeners)); diff != "" {
		t.Errorf("DescribeListeners() after modify mismatch (-want +got):\n%s", diff)
	}
	// Port 80 is free again.
	if _, err := s.CreateListener(ctx, netAcctA, lbtListenerInput(lb.ARN, 80, tg.ARN)); err != nil {
		t.Errorf("CreateListener on the freed port: %v", err)
	}

	if err := s.DeleteListener(ctx, netAcctA, DeleteListenerInput{ListenerARN: l.ARN}); err != nil {
		t.Fatal(err)
	}
	_, err = s.DescribeListeners(ctx, netAcctA, DescribeListenersInput{ListenerARNs: []string{l.ARN}})
	wantNetErr(t, err, "ListenerNotFound", http.StatusBadRequest)
	wantMessage(t, err, "Listeners '["+l.ARN+"]' not found")
}

func TestListenerBadInputs(t *testing.T) {
	e := newELBEnv(t)
	s, ctx := e.s, t.Context()
	lb := lbtCreate(t, s, lbtInternal("web", e.subnets[0].ID))
	lb2 := lbtCreate(t, s, lbtInternal("other", e.subnets[1].ID))
	tg := lbtTargetGroup(t, e.st, netAcctA, e.vpc.ID, "tcp", "TCP")
	udp := lbtTargetGroup(t, e.st, netAcctA, e.vpc.ID, "udp", "UDP")
	used := lbtTargetGroup(t, e.st, netAcctA, e.vpc.ID, "used", "TCP")
	elsewhere := lbtTargetGroup(t, e.st, netAcctA, e.otherVpc.ID, "elsewhere", "TCP")
	tgB := lbtTargetGroup(t, e.st, netAcctB, e.vpc.ID, "b", "TCP")
	l, err := s.CreateListener(ctx, netAcctA, lbtListenerInput(lb.ARN, 80, tg.ARN))
	if err != nil {
		t.Fatal(err)
	}
	l81, err := s.CreateListener(ctx, netAcctA, lbtListenerInput(lb.ARN, 81, tg.ARN))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateListener(ctx, netAcctA, lbtListenerInput(lb2.ARN, 80, used.ARN)); err != nil {
		t.Fatal(err)
	}
	// A load balancer with 50 listeners.
	full := lbtCreate(t, s, lbtInternal("full", e.subnets[2].ID))
	fullTG := lbtTargetGroup(t, e.st, netAcctA, e.vpc.ID, "full", "TCP")
	for p := range int32(50) {
		if _, err := s.CreateListener(ctx, netAcctA, lbtListenerInput(full.ARN, 1000+p, fullTG.ARN)); err != nil {
			t.Fatal(err)
		}
	}
	create := func(mod func(*CreateListenerInput)) func() error {
		return func() error {
			in := lbtListenerInput(lb.ARN, 443, tg.ARN)
			mod(&in)
			_, err := s.CreateListener(ctx, netAcctA, in)
			return err
		}
	}
	fresh := lbtTargetGroup(t, e.st, netAcctA, e.vpc.ID, "fresh", "TCP")
	unknownLB := model.LoadBalancerARN("us-east-1", netAcctA, "web", "0123456789abcdef")
	unknownTG := model.TargetGroupARN("us-east-1", netAcctA, "tcp", "0123456789abcdef")
	tests := []badCall{
		{"unknown load balancer", create(func(in *CreateListenerInput) { in.LoadBalancerARN = unknownLB }),
			"LoadBalancerNotFound", "Load balancers '[" + unknownLB + "]' not found"},
		{"HTTP", create(func(in *CreateListenerInput) { in.Protocol = "HTTP" }),
			"ValidationError", "Listener protocol 'HTTP' must be one of 'TCP_QUIC, QUIC, TCP, TLS, UDP, TCP_UDP'"},
		{"TLS", create(func(in *CreateListenerInput) { in.Protocol = "TLS" }),
			"ValidationError", "privlink does not carry TLS listeners yet; only TCP is supported"},
		{"UDP", create(func(in *CreateListenerInput) { in.Protocol = "UDP" }),
			"ValidationError", "privlink does not carry UDP listeners yet; only TCP is supported"},
		{"no protocol", create(func(in *CreateListenerInput) { in.Protocol = "" }),
			"ValidationError", "A listener protocol must be specified"},
		{"no port", create(func(in *CreateListenerInput) { in.Port = nil }),
			"ValidationError", "A listener port must be specified"},
		{"port 0", create(func(in *CreateListenerInput) { in.Port = new(int32(0)) }),
			"ValidationError", "Listener port '0' must be between 1 and 65535"},
		{"certificate on TCP", create(func(in *CreateListenerInput) {
			in.Certificates = []string{"arn:aws:acm:us-east-1:111111111111:certificate/x"}
		}),
			"ValidationError", "Certificates cannot be specified for 'TCP' listeners"},
		{"no action", create(func(in *CreateListenerInput) { in.DefaultActions = nil }),
			"ValidationError", "A default action must be specified"},
		{"two actions", create(func(in *CreateListenerInput) { in.DefaultActions = append(in.DefaultActions, in.DefaultActions[0]) }),
			"ValidationError", "Network Load Balancer listeners support exactly one default action, not 2"},
		{"redirect", create(func(in *CreateListenerInput) {
			in.DefaultActions = []ListenerAction{{Type: "redirect", OtherConfigs: []string{"RedirectConfig"}}}
		}), "InvalidLoadBalancerAction", "Network Load Balancers support only 'forward' actions, not 'redirect'"},
		{"forward without a group", create(func(in *CreateListenerInput) { in.DefaultActions[0].TargetGroupARN = "" }),
			"ValidationError", "A target group ARN must be specified for a 'forward' action"},
		{"forward to two groups", create(func(in *CreateListenerInput) {
			in.DefaultActions[0].ForwardTargetGroups = []ForwardTargetGroup{{TargetGroupARN: tg.ARN}, {TargetGroupARN: used.ARN}}
		}), "ValidationError", "Network Load Balancer listeners can forward to only one target group"},
		{"stickiness", create(func(in *CreateListenerInput) { in.DefaultActions[0].StickinessEnabled = true }),
			"ValidationError", "Target group stickiness is not supported for Network Load Balancer listeners"},
		{"unknown target group", create(func(in *CreateListenerInput) { in.DefaultActions[0].TargetGroupARN = unknownTG }),
			"TargetGroupNotFound", "Target groups '[" + unknownTG + "]' not found"},
		{"other account's target group", create(func(in *CreateListenerInput) { in.DefaultActions[0].TargetGroupARN = tgB.ARN }),
			"TargetGroupNotFound", "Target groups '[" + tgB.ARN + "]' not found"},
		{"UDP target group", create(func(in *CreateListenerInput) { in.DefaultActions[0].TargetGroupARN = udp.ARN }),
			"IncompatibleProtocols", "The listener and its associated target group '" + udp.ARN + "' have incompatible protocols"},
		{"target group of another VPC", create(func(in *CreateListenerInput) { in.DefaultActions[0].TargetGroupARN = elsewhere.ARN }),
			"InvalidConfigurationRequest", "Target group '" + elsewhere.ARN + "' is in a different VPC than load balancer '" + lb.ARN + "'"},
		{"target group of another load balancer", create(func(in *CreateListenerInput) { in.DefaultActions[0].TargetGroupARN = used.ARN }),
			"TargetGroupAssociationLimit", "The following target groups cannot be associated with more than one load balancer: " + used.ARN},
		{"port taken with other settings", create(func(in *CreateListenerInput) {
			in.Port = new(int32(80))
			in.DefaultActions[0].TargetGroupARN = fresh.ARN
		}), "DuplicateListener", "A listener already exists on this port for this load balancer '" + lb.ARN + "'"},
		{"51st listener", func() error {
			_, err := s.CreateListener(ctx, netAcctA, lbtListenerInput(full.ARN, 2000, fullTG.ARN))
			return err
		}, "TooManyListeners", "You've reached the limit on the number of listeners per load balancer"},
		{"describe with neither", func() error {
			_, err := s.DescribeListeners(ctx, netAcctA, DescribeListenersInput{})
			return err
		}, "ValidationError", "You must specify either a load balancer or one or more listeners"},
		{"describe with both", func() error {
			_, err := s.DescribeListeners(ctx, netAcctA, DescribeListenersInput{LoadBalancerARN: lb.ARN, ListenerARNs: []string{l.ARN}})
			return err
		}, "ValidationError", "Listener ARNs and a load balancer ARN cannot be specified at the same time"},
		{"describe other account's listener", func() error {
			_, err := s.DescribeListeners(ctx, netAcctB, DescribeListenersInput{ListenerARNs: []string{l.ARN, l81.ARN}})
			return err
		}, "ListenerNotFound", "Listeners '[" + l.ARN + ", " + l81.ARN + "]' not found"},
		{"describe listeners of an unknown load balancer", func() error {
			_, err := s.DescribeListeners(ctx, netAcctA, DescribeListenersInput{LoadBalancerARN: unknownLB})
			return err
		}, "LoadBalancerNotFound", "Load balancers '[" + unknownLB + "]' not found"},
		{"modify onto a taken port", func() error {
			_, err := s.ModifyListener(ctx, netAcctA, ModifyListenerInput{ListenerARN: l81.ARN, Port: new(int32(80))})
			return err
		}, "DuplicateListener", "A listener already exists on this port for this load balancer '" + lb.ARN + "'"},
		{"modify to TLS", func() error {
			_, err := s.ModifyListener(ctx, netAcctA, ModifyListenerInput{ListenerARN: l81.ARN, Protocol: "TLS"})
			return err
		}, "ValidationError", "privlink does not carry TLS listeners yet; only TCP is supported"},
		{"modify to another load balancer's group", func() error {
			_, err := s.ModifyListener(ctx, netAcctA, ModifyListenerInput{ListenerARN: l81.ARN, DefaultActions: []ListenerAction{{Type: "forward", TargetGroupARN: used.ARN}}})
			return err
		}, "TargetGroupAssociationLimit", "The following target groups cannot be associated with more than one load balancer: " + used.ARN},
		{"delete unknown listener", func() error {
			return s.DeleteListener(ctx, netAcctA, DeleteListenerInput{ListenerARN: model.ListenerARN(lb.ARN, "0123456789abcdef")})
		}, "ListenerNotFound", "Listeners '[" + model.ListenerARN(lb.ARN, "0123456789abcdef") + "]' not found"},
		{"delete malformed listener ARN", func() error {
			return s.DeleteListener(ctx, netAcctA, DeleteListenerInput{ListenerARN: lb.ARN})
		}, "ListenerNotFound", "Listeners '[" + lb.ARN + "]' not found"},
	}
	runBadCalls(t, e.st, tests)
	ls, err := s.DescribeListeners(ctx, netAcctA, DescribeListenersInput{LoadBalancerARN: lb.ARN})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range ls.Listeners {
		got = append(got, fmt.Sprintf("%d %s", x.Port, x.TargetGroupARN))
	}
	if diff := cmp.Diff([]string{"80 " + tg.ARN, "81 " + tg.ARN}, got); diff != "" {
		t.Errorf("listeners after bad inputs mismatch (-want +got):\n%s", diff)
	}
}

func TestListenerAttributes(t *testing.T) {
	e := newELBEnv(t)
	s, ctx := e.s, t.Context()
	lb := lbtCreate(t, s, lbtInternal("attrs", e.subnets[0].ID))
	tg := lbtTargetGroup(t, e.st, netAcctA, e.vpc.ID, "attrs", "TCP")
	l, err := s.CreateListener(ctx, netAcctA, lbtListenerInput(lb.ARN, 80, tg.ARN))
	if err != nil {
		t.Fatal(err)
	}
	// A listener stored before listener attributes existed: no
	// "attributes" in its record at all.
	lSuffix := model.NewELBSuffix()
	oldARN := model.ListenerARN(lb.ARN, lSuffix)
	raw := fmt.Sprintf(`{"arn":%q,"ownerId":%q,"loadBalancerArn":%q,"protocol":"TCP","port":81,"targetGroupArn":%q,"created":"2024-01-01T00:00:00Z"}`,
		oldARN, netAcctA, lb.ARN, tg.ARN)
	if _, err := e.st.Update(ctx, func(tx store.Tx) error { return tx.Put(listenerKey(netAcctA, lSuffix), []byte(raw)) }); err != nil {
		t.Fatal(err)
	}
	idle := func(v string) []ListenerAttribute {
		return []ListenerAttribute{{Key: "tcp.idle_timeout.seconds", Value: v}}
	}
	for _, arn := range []string{l.ARN, oldARN} {
		got, err := s.DescribeListenerAttributes(ctx, netAcctA, DescribeListenerAttributesInput{ListenerARN: arn})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(idle("350"), got); diff != "" {
			t.Errorf("DescribeListenerAttributes(%s) mismatch (-want +got):\n%s", arn, diff)
		}
	}

	modify := func(arn string, attrs ...ListenerAttribute) ([]ListenerAttribute, error) {
		return s.ModifyListenerAttributes(ctx, netAcctA, ModifyListenerAttributesInput{ListenerARN: arn, Attributes: attrs})
	}
	tests := []struct {
		name  string
		arn   string
		attrs []ListenerAttribute
		want  []ListenerAttribute
		idle  time.Duration // the stored listener's TCPIdleTimeout after the call
	}{
		{"set", l.ARN, idle("120"), idle("120"), 120 * time.Second},
		{"lowest", l.ARN, idle("60"), idle("60"), time.Minute},
		{"highest", l.ARN, idle("6000"), idle("6000"), 6000 * time.Second},
		{"back to the default", l.ARN, idle("350"), idle("350"), 350 * time.Second},
		{"last one wins", l.ARN, append(idle("90"), idle("100")...), idle("100"), 100 * time.Second},
		{"stored before attributes", oldARN, idle("600"), idle("600"), 600 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := modify(tt.arn, tt.attrs...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ModifyListenerAttributes() mismatch (-want +got):\n%s", diff)
			}
			desc, err := s.DescribeListenerAttributes(ctx, netAcctA, DescribeListenerAttributesInput{ListenerARN: tt.arn})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, desc); diff != "" {
				t.Errorf("DescribeListenerAttributes() after modify mismatch (-want +got):\n%s", diff)
			}
			r, _ := model.ParseELBARN(tt.arn)
			stored, _ := getTestRecord[model.Listener](t, e.st, listenerKey(netAcctA, r.ID))
			if got := stored.TCPIdleTimeout(); got != tt.idle {
				t.Errorf("stored TCPIdleTimeout() = %v, want %v", got, tt.idle)
			}
		})
	}
	// Modifying the listener itself keeps its attributes.
	port := int32(82)
	if _, err := s.ModifyListener(ctx, netAcctA, ModifyListenerInput{ListenerARN: oldARN, Port: &port}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.DescribeListenerAttributes(ctx, netAcctA, DescribeListenerAttributesInput{ListenerARN: oldARN}); !cmp.Equal(got, idle("600")) {
		t.Errorf("attributes after ModifyListener = %v, want 600", got)
	}

	bad := func(arn string, attrs ...ListenerAttribute) func() error {
		return func() error { _, err := modify(arn, attrs...); return err }
	}
	outOfRange := func(v string) string {
		return "The value of attribute 'tcp.idle_timeout.seconds' must be an integer from 60 to 6000, not '" + v + "'"
	}
	gone := model.ListenerARN(lb.ARN, model.NewELBSuffix())
	runBadCalls(t, e.st, []badCall{
		{"too short", bad(l.ARN, idle("59")...), "ValidationError", outOfRange("59")},
		{"too long", bad(l.ARN, idle("6001")...), "ValidationError", outOfRange("6001")},
		{"not a number", bad(l.ARN, idle("5m")...), "ValidationError", outOfRange("5m")},
		{"empty", bad(l.ARN, idle("")...), "ValidationError", outOfRange("")},
		{"leading zero", bad(l.ARN, idle("0120")...), "ValidationError", outOfRange("0120")},
		{"unknown key", bad(l.ARN, ListenerAttribute{Key: "idle_timeout.timeout_seconds", Value: "60"}),
			"ValidationError", "Listener attribute key 'idle_timeout.timeout_seconds' is not recognized"},
		{"ALB key", bad(l.ARN, ListenerAttribute{Key: "routing.http.response.server.enabled", Value: "false"}),
			"InvalidConfigurationRequest", "Listener attribute key 'routing.http.response.server.enabled' is not supported on listeners with protocol 'TCP'"},
		{"future ALB key", bad(l.ARN, ListenerAttribute{Key: "routing.http.response.x_new.header_value", Value: "x"}),
			"InvalidConfigurationRequest", "Listener attribute key 'routing.http.response.x_new.header_value' is not supported on listeners with protocol 'TCP'"},
		{"all or nothing", bad(l.ARN, append(idle("200"), ListenerAttribute{Key: "bogus", Value: "1"})...),
			"ValidationError", "Listener attribute key 'bogus' is not recognized"},
		{"none", bad(l.ARN), "ValidationError", "At least one attribute must be specified"},
		{"unknown listener", bad(gone, idle("120")...), "ListenerNotFound", "Listeners '[" + gone + "]' not found"},
		{"not an ARN", bad("nope", idle("120")...), "ValidationError", "'nope' is not a valid listener ARN"},
	})
	if got, _ := s.DescribeListenerAttributes(ctx, netAcctA, DescribeListenerAttributesInput{ListenerARN: l.ARN}); !cmp.Equal(got, idle("100")) {
		t.Errorf("attributes after failed calls = %v, want 100 still", got)
	}
	// Another account's listener is not found, for Describe and Modify.
	_, err = s.DescribeListenerAttributes(ctx, netAcctB, DescribeListenerAttributesInput{ListenerARN: l.ARN})
	wantELBErr(t, err, "ListenerNotFound", "Listeners '["+l.ARN+"]' not found")
	wantBadCall(t, e.st, func() error {
		_, err := s.ModifyListenerAttributes(ctx, netAcctB, ModifyListenerAttributesInput{ListenerARN: l.ARN, Attributes: idle("120")})
		return err
	}, "ListenerNotFound", "Listeners '["+l.ARN+"]' not found")
	_, err = s.DescribeListenerAttributes(ctx, netAcctA, DescribeListenerAttributesInput{ListenerARN: gone})
	wantELBErr(t, err, "ListenerNotFound", "Listeners '["+gone+"]' not found")
}
