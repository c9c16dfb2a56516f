package controlplane

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/model"
	"github.com/privlink/privlink/internal/store"
)

// tcpGroup returns CreateTargetGroup input for a TCP:80 group in the
// env's VPC, edited by the options.
func (e *elbEnv) tcpGroup(name string, opts ...func(*CreateTargetGroupInput)) CreateTargetGroupInput {
	in := CreateTargetGroupInput{Name: name, Protocol: "TCP", Port: 80, VpcID: e.vpc.ID}
	for _, o := range opts {
		o(&in)
	}
	return in
}

func (e *elbEnv) mustGroup(t *testing.T, in CreateTargetGroupInput) TargetGroup {
	t.Helper()
	tg, err := e.s.CreateTargetGroup(t.Context(), netAcctA, in)
	if err != nil {
		t.Fatalf("CreateTargetGroup(%s): %v", in.Name, err)
	}
	return tg
}

// attachLB writes a load balancer of account A with nodes in zones and a
// listener on port that forwards to tgARN, straight into the store (the
// load balancer operations are not under test here). It returns the load
// balancer's and the listener's ARNs.
func (e *elbEnv) attachLB(t *testing.T, name, tgARN string, port int32, zones ...string) (lbARN, listenerARN string) {
	t.Helper()
	lbSuffix, lSuffix := model.NewELBSuffix(), model.NewELBSuffix()
	lb := model.LoadBalancer{
		ARN: model.LoadBalancerARN("us-east-1", netAcctA, name, lbSuffix), Name: name, OwnerID: netAcctA,
		VpcID: e.vpc.ID, Type: model.LoadBalancerTypeNetwork, Scheme: model.SchemeInternal,
		IPAddressType: model.IPAddressTypeIPv4, State: model.LBActive,
	}
	for _, z := range zones {
		lb.Nodes = append(lb.Nodes, model.LBNode{AvailabilityZone: z})
	}
	l := model.Listener{
		ARN: model.ListenerARN(lb.ARN, lSuffix), OwnerID: netAcctA, LoadBalancerARN: lb.ARN,
		Protocol: "TCP", Port: port, TargetGroupARN: tgARN,
	}
	e.put(t, loadBalancerKey(netAcctA, lbSuffix), lb)
	e.put(t, listenerKey(netAcctA, lSuffix), l)
	return lb.ARN, l.ARN
}

// storedGroup reads a group's record as stored.
func (e *elbEnv) storedGroup(t *testing.T, arn string) *model.TargetGroup {
	t.Helper()
	r, ok := model.ParseELBARN(arn)
	if !ok {
		t.Fatalf("bad ARN %q", arn)
	}
	tg, _ := getTestRecord[model.TargetGroup](t, e.st, targetGroupKey(netAcctA, r.ID))
	return tg
}

func TestCreateTargetGroup(t *testing.T) {
	e := newELBEnv(t)
	tg := e.mustGroup(t, e.tcpGroup("web-1", func(in *CreateTargetGroupInput) {
		in.Tags = []model.Tag{{Key: "team", Value: "a"}}
	}))
	r, ok := model.ParseELBARN(tg.ARN)
	if !ok || r.Kind != "targetgroup" || r.Account != netAcctA || r.Region != "us-east-1" ||
		!strings.HasPrefix(tg.ARN, "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/web-1/") {
		t.Fatalf("ARN = %q", tg.ARN)
	}
	want := TargetGroup{TargetGroup: model.TargetGroup{
		ARN: tg.ARN, Name: "web-1", OwnerID: netAcctA, VpcID: e.vpc.ID, Protocol: "TCP", Port: 80,
		TargetType: "instance", IPAddressType: "ipv4",
		HealthCheck: model.HealthCheck{
			Enabled: true, Protocol: "TCP", Port: "traffic-port", IntervalSeconds: 30, TimeoutSeconds: 10,
			HealthyThreshold: 5, UnhealthyThreshold: 2,
		},
		Attributes: map[string]string{
			"deregistration_delay.timeout_seconds":                                           "300",
			"deregistration_delay.connection_termination.enabled":                            "false",
			"proxy_protocol_v2.enabled":                                                      "false",
			"preserve_client_ip.enabled":                                                     "false",
			"stickiness.enabled":                                                             "false",
			"stickiness.type":                                                                "source_ip",
			"load_balancing.cross_zone.enabled":                                              "use_load_balancer_configuration",
			"target_health_state.unhealthy.connection_termination.enabled":                   "true",
			"target_health_state.unhealthy.draining_interval_seconds":                        "0",
			"target_group_health.dns_failover.minimum_healthy_targets.count":                 "1",
			"target_group_health.dns_failover.minimum_healthy_targets.percentage":            "off",
			"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count":      "1",
			"target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": "off",
		},
		Tags:    []model.Tag{{Key: "team", Value: "a"}},
		Created: testEpoch,
	}}
	if diff := cmp.Diff(want, tg); diff != "" {
		t.Errorf("CreateTargetGroup() mismatch (-want +got):\n%s", diff)
	}

	// An HTTP health check gets the HTTP defaults.
	ip := e.mustGroup(t, e.tcpGroup("ip-http", func(in *CreateTargetGroupInput) {
		in.TargetType = "ip"
		in.HealthCheck.Protocol = new("HTTP")
		in.HealthCheck.Port = new("08080")
	}))
	wantHC := model.HealthCheck{
		Enabled: true, Protocol: "HTTP", Port: "8080", Path: "/", IntervalSeconds: 30, TimeoutSeconds: 6,
		HealthyThreshold: 5, UnhealthyThreshold: 2, Matcher: "200-399",
	}
	if diff := cmp.Diff(wantHC, ip.HealthCheck); diff != "" {
		t.Errorf("HTTP health check mismatch (-want +got):\n%s", diff)
	}
	// A short interval shortens the default timeout with it.
	short := e.mustGroup(t, e.tcpGroup("short", func(in *CreateTargetGroupInput) { in.HealthCheck.IntervalSeconds = new(int32(5)) }))
	if short.HealthCheck.TimeoutSeconds != 5 {
		t.Errorf("timeout with a 5 s interval = %d, want 5", short.HealthCheck.TimeoutSeconds)
	}

	// The same request again is the same group; other settings are a
	// duplicate.
	again := e.mustGroup(t, e.tcpGroup("web-1"))
	if again.ARN != tg.ARN {
		t.Errorf("CreateTargetGroup again = %s, want %s", again.ARN, tg.ARN)
	}
	_, err := e.s.CreateTargetGroup(t.Context(), netAcctA, e.tcpGroup("web-1", func(in *CreateTargetGroupInput) { in.Port = 81 }))
	wantELBErr(t, err, "DuplicateTargetGroupName", "A target group with the same name 'web-1' exists, but with different settings")
	// Names are per account.
	if _, err := e.s.CreateTargetGroup(t.Context(), netAcctB, CreateTargetGroupInput{Name: "web-1", Protocol: "TCP", Port: 80, VpcID: e.foreign.ID}); err != nil {
		t.Errorf("account B, same name: %v", err)
	}
}

func TestCreateTargetGroupErrors(t *testing.T) {
	e := newELBEnv(t)
	long := strings.Repeat("a", 33)
	tests := []struct {
		name string
		edit func(*CreateTargetGroupInput)
		code string
		msg  string
	}{
		{"name too long", func(in *CreateTargetGroupInput) { in.Name = long }, "ValidationError",
			"Target group name '" + long + "' cannot be longer than '32' characters"},
		{"name characters", func(in *CreateTargetGroupInput) { in.Name = "web_1" }, "ValidationError",
			"Target group name 'web_1' can only contain characters that are alphanumeric characters or hyphens(-)"},
		{"leading hyphen", func(in *CreateTargetGroupInput) { in.Name = "-web" }, "ValidationError",
			"Target group name '-web' cannot begin or end with '-'"},
		{"trailing hyphen", func(in *CreateTargetGroupInput) { in.Name = "web-" }, "ValidationError",
			"Target group name 'web-' cannot begin or end with '-'"},
		{"alb targets", func(in *CreateTargetGroupInput) { in.TargetType = "alb" }, "ValidationError",
			"privlink does not support target type 'alb' yet; only instance and ip are supported"},
		{"lambda targets", func(in *CreateTargetGroupInput) { in.TargetType = "lambda" }, "ValidationError",
			"privlink does not support target type 'lambda' yet; only instance and ip are supported"},
		{"no protocol", func(in *CreateTargetGroupInput) { in.Protocol = "" }, "ValidationError", "A protocol must be specified"},
		{"TLS", func(in *CreateTargetGroupInput) { in.Protocol = "TLS" }, "ValidationError",
			"privlink does not carry TLS target groups yet; only TCP is supported"},
		{"UDP", func(in *CreateTargetGroupInput) { in.Protocol = "UDP" }, "ValidationError",
			"privlink does not carry UDP target groups yet; only TCP is supported"},
		{"HTTP", func(in *CreateTargetGroupInput) { in.Protocol = "HTTP" }, "ValidationError",
			"privlink serves only Network Load Balancer (TCP) target groups; HTTP target groups belong to Application or Gateway Load Balancers"},
		{"no port", func(in *CreateTargetGroupInput) { in.Port = 0 }, "ValidationError", "A port must be specified"},
		{"port range", func(in *CreateTargetGroupInput) { in.Port = 70000 }, "ValidationError", "Port '70000' must be between 1 and 65535"},
		{"no VPC", func(in *CreateTargetGroupInput) { in.VpcID = "" }, "ValidationError", "A VPC ID must be specified"},
		{"unknown VPC", func(in *CreateTargetGroupInput) { in.VpcID = "vpc-0123456789abcdef0" }, "ValidationError",
			"The VPC ID 'vpc-0123456789abcdef0' is not found"},
		{"another account's VPC", func(in *CreateTargetGroupInput) { in.VpcID = e.foreign.ID }, "ValidationError",
			"The VPC ID '" + e.foreign.ID + "' is not found"},
		{"ipv6", func(in *CreateTargetGroupInput) { in.IPAddressType = "ipv6" }, "ValidationError",
			"privlink does not support IPv6 target groups yet; only ipv4 is supported"},
		{"protocol version", func(in *CreateTargetGroupInput) { in.ProtocolVersion = "HTTP2" }, "ValidationError",
			"A protocol version can only be specified for target groups with the HTTP or HTTPS protocol"},
		{"health check disabled", func(in *CreateTargetGroupInput) { in.HealthCheck.Enabled = new(false) }, "ValidationError",
			"Health check enabled must be true for target groups with target type 'instance'"},
		{"health check disabled ip", func(in *CreateTargetGroupInput) { in.TargetType = "ip"; in.HealthCheck.Enabled = new(false) }, "ValidationError",
			"Health check enabled must be true for target groups with target type 'ip'"},
		{"health check UDP", func(in *CreateTargetGroupInput) { in.HealthCheck.Protocol = new("UDP") }, "ValidationError",
			"Health check protocol 'UDP' is not supported for target groups with the TCP protocol; use TCP, HTTP or HTTPS"},
		{"path on TCP check", func(in *CreateTargetGroupInput) { in.HealthCheck.Path = new("/health") }, "InvalidConfigurationRequest",
			"Health check paths are not supported for TCP health checks"},
		{"matcher on TCP check", func(in *CreateTargetGroupInput) { in.HealthCheck.Matcher = new("200") }, "InvalidConfigurationRequest",
			"Health check matchers are not supported for TCP health checks"},
		{"relative path", func(in *CreateTargetGroupInput) {
			in.HealthCheck.Protocol, in.HealthCheck.Path = new("HTTP"), new("health")
		}, "ValidationError", "Health check path 'health' must begin with '/'"},
		{"matcher out of range", func(in *CreateTargetGroupInput) {
			in.HealthCheck.Protocol, in.HealthCheck.Matcher = new("HTTPS"), new("200-600")
		}, "ValidationError", "Health check matcher HTTP code '200-600' is not valid; specify codes between 200 and 599, e.g. '200', '200,202' or '200-399'"},
		{"matcher reversed", func(in *CreateTargetGroupInput) {
			in.HealthCheck.Protocol, in.HealthCheck.Matcher = new("HTTP"), new("399-200")
		}, "ValidationError", "Health check matcher HTTP code '399-200' is not valid; specify codes between 200 and 599, e.g. '200', '200,202' or '200-399'"},
		{"grpc matcher", func(in *CreateTargetGroupInput) { in.HealthCheck.GrpcMatcher = new("12") }, "ValidationError",
			"gRPC matcher codes are not supported for target groups with the TCP protocol"},
		{"health check port", func(in *CreateTargetGroupInput) { in.HealthCheck.Port = new("0") }, "ValidationError",
			"Health check port '0' must be 'traffic-port' or a port number between 1 and 65535"},
		{"interval", func(in *CreateTargetGroupInput) { in.HealthCheck.IntervalSeconds = new(int32(301)) }, "ValidationError",
			"Health check interval '301' must be between 5 and 300 seconds"},
		{"timeout", func(in *CreateTargetGroupInput) { in.HealthCheck.TimeoutSeconds = new(int32(1)) }, "ValidationError",
			"Health check timeout '1' must be between 2 and 120 seconds"},
		{"timeout above interval", func(in *CreateTargetGroupInput) {
			in.HealthCheck.IntervalSeconds, in.HealthCheck.TimeoutSeconds = new(int32(10)), new(int32(11))
		}, "ValidationError", "Health check timeout '11' must be smaller than or equal to the interval '10'"},
		{"healthy threshold", func(in *CreateTargetGroupInput) { in.HealthCheck.HealthyThreshold = new(int32(11)) }, "ValidationError",
			"Healthy threshold count '11' must be between 2 and 10"},
		{"unhealthy threshold", func(in *CreateTargetGroupInput) { in.HealthCheck.UnhealthyThreshold = new(int32(1)) }, "ValidationError",
			"Unhealthy threshold count '1' must be between 2 and 10"},
		{"duplicate tag keys", func(in *CreateTargetGroupInput) { in.Tags = []model.Tag{{Key: "k"}, {Key: "k"}} }, "DuplicateTagKeys",
			"Tag key 'k' is duplicated"},
		{"target control port", func(in *CreateTargetGroupInput) { in.TargetControlPort = 9000 }, "ValidationError",
			"A target control port can only be specified for Application Load Balancer target groups"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantBadCall(t, e.st, func() error {
				_, err := e.s.CreateTargetGroup(t.Context(), netAcctA, e.tcpGroup("bad", tt.edit))
				return err
			}, tt.code, tt.msg)
		})
	}
}

// tgNames returns the names of a DescribeTargetGroups page.
func tgNames(out DescribeTargetGroupsOutput) []string {
	names := []string{}
	for _, tg := range out.TargetGroups {
		names = append(names, tg.Name)
	}
	return names
}

func TestDescribeTargetGroups(t *testing.T) {
	e := newELBEnv(t)
	c := e.mustGroup(t, e.tcpGroup("c"))
	a := e.mustGroup(t, e.tcpGroup("a"))
	b := e.mustGroup(t, e.tcpGroup("b"))
	lbARN, _ := e.attachLB(t, "nlb", b.ARN, 80, "us-east-1a")
	lb2, _ := e.attachLB(t, "nlb2", b.ARN, 81, "us-east-1a")
	ctx := t.Context()

	out, err := e.s.DescribeTargetGroups(ctx, netAcctA, DescribeTargetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, tgNames(out)); diff != "" || out.NextMarker != "" {
		t.Errorf("DescribeTargetGroups() mismatch (-want +got):\n%s (marker %q)", diff, out.NextMarker)
	}
	wantLBs := []string{lbARN, lb2}
	if lbARN > lb2 {
		wantLBs = []string{lb2, lbARN}
	}
	if diff := cmp.Diff(wantLBs, out.TargetGroups[1].LoadBalancerARNs); diff != "" {
		t.Errorf("LoadBalancerARNs mismatch (-want +got):\n%s", diff)
	}

	tests := []struct {
		name string
		in   DescribeTargetGroupsInput
		want []string
	}{
		{"by name", DescribeTargetGroupsInput{Names: []string{"c", "a", "c"}}, []string{"a", "c"}},
		{"by ARN", DescribeTargetGroupsInput{TargetGroupARNs: []string{c.ARN, a.ARN}}, []string{"a", "c"}},
		{"by load balancer", DescribeTargetGroupsInput{LoadBalancerARN: lbARN}, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.s.DescribeTargetGroups(ctx, netAcctA, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tgNames(out)); diff != "" {
				t.Errorf("DescribeTargetGroups() mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// Paging.
	var got []string
	marker := ""
	for range 5 {
		out, err := e.s.DescribeTargetGroups(ctx, netAcctA, DescribeTargetGroupsInput{PageSize: 2, Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tgNames(out)...)
		if marker = out.NextMarker; marker == "" {
			break
		}
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, got); diff != "" {
		t.Errorf("paged DescribeTargetGroups() mismatch (-want +got):\n%s", diff)
	}

	// Account B sees none of A's groups.
	if out, err := e.s.DescribeTargetGroups(ctx, netAcctB, DescribeTargetGroupsInput{}); err != nil || len(out.TargetGroups) != 0 {
		t.Errorf("account B: %v, %v", tgNames(out), err)
	}

	errs := []struct {
		name      string
		account   string
		in        DescribeTargetGroupsInput
		code, msg string
	}{
		{"unknown name", netAcctA, DescribeTargetGroupsInput{Names: []string{"a", "nope"}}, "TargetGroupNotFound", "One or more target groups not found"},
		{"unknown ARN", netAcctA, DescribeTargetGroupsInput{TargetGroupARNs: []string{strings.Replace(a.ARN, "/a/", "/z/", 1)}},
			"TargetGroupNotFound", "One or more target groups not found"},
		{"another account's ARN", netAcctB, DescribeTargetGroupsInput{TargetGroupARNs: []string{a.ARN}}, "TargetGroupNotFound", "One or more target groups not found"},
		{"malformed ARN", netAcctA, DescribeTargetGroupsInput{TargetGroupARNs: []string{"tg-1"}}, "ValidationError", "'tg-1' is not a valid target group ARN"},
		{"two kinds", netAcctA, DescribeTargetGroupsInput{Names: []string{"a"}, LoadBalancerARN: lbARN}, "ValidationError",
			"Target group names, target group ARNs, and a load balancer ARN cannot be specified at the same time"},
		{"unknown load balancer", netAcctB, DescribeTargetGroupsInput{LoadBalancerARN: lbARN}, "LoadBalancerNotFound",
			"Load balancers '[" + lbARN + "]' not found"},
		{"page size", netAcctA, DescribeTargetGroupsInput{PageSize: 401}, "ValidationError", "Page size must be between 1 and 400"},
		{"bad marker", netAcctA, DescribeTargetGroupsInput{Marker: "!!"}, "ValidationError", "The marker '!!' is not valid"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.s.DescribeTargetGroups(ctx, tt.account, tt.in)
			wantELBErr(t, err, tt.code, tt.msg)
		})
	}
}

func TestModifyTargetGroup(t *testing.T) {
	e := newELBEnv(t)
	tg := e.mustGroup(t, e.tcpGroup("web"))
	ctx := t.Context()

	got, err := e.s.ModifyTargetGroup(ctx, netAcctA, ModifyTargetGroupInput{TargetGroupARN: tg.ARN, HealthCheck: HealthCheckInput{
		Protocol: new("HTTP"), Path: new("/healthz"), HealthyThreshold: new(int32(3)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := model.HealthCheck{
		Enabled: true, Protocol: "HTTP", Port: "traffic-port", Path: "/healthz", IntervalSeconds: 30, TimeoutSeconds: 10,
		HealthyThreshold: 3, UnhealthyThreshold: 2, Matcher: "200-399",
	}
	if diff := cmp.Diff(want, got.HealthCheck); diff != "" {
		t.Errorf("ModifyTargetGroup() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, e.storedGroup(t, tg.ARN).HealthCheck); diff != "" {
		t.Errorf("stored health check mismatch (-want +got):\n%s", diff)
	}
	// Back to TCP: the path and the matcher go.
	got, err = e.s.ModifyTargetGroup(ctx, netAcctA, ModifyTargetGroupInput{TargetGroupARN: tg.ARN, HealthCheck: HealthCheckInput{Protocol: new("TCP")}})
	if err != nil {
		t.Fatal(err)
	}
	want.Protocol, want.Path, want.Matcher = "TCP", "", ""
	if diff := cmp.Diff(want, got.HealthCheck); diff != "" {
		t.Errorf("ModifyTargetGroup(TCP) mismatch (-want +got):\n%s", diff)
	}

	errs := []struct {
		name      string
		in        ModifyTargetGroupInput
		code, msg string
	}{
		{"path on TCP", ModifyTargetGroupInput{TargetGroupARN: tg.ARN, HealthCheck: HealthCheckInput{Path: new("/x")}},
			"InvalidConfigurationRequest", "Health check paths are not supported for TCP health checks"},
		{"interval below timeout", ModifyTargetGroupInput{TargetGroupARN: tg.ARN, HealthCheck: HealthCheckInput{IntervalSeconds: new(int32(5))}},
			"ValidationError", "Health check timeout '10' must be smaller than or equal to the interval '5'"},
		{"disable", ModifyTargetGroupInput{TargetGroupARN: tg.ARN, HealthCheck: HealthCheckInput{Enabled: new(false)}},
			"ValidationError", "Health check enabled must be true for target groups with target type 'instance'"},
		{"unknown group", ModifyTargetGroupInput{TargetGroupARN: strings.Replace(tg.ARN, "/web/", "/gone/", 1)},
			"TargetGroupNotFound", "Target groups '[" + strings.Replace(tg.ARN, "/web/", "/gone/", 1) + "]' not found"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantBadCall(t, e.st, func() error {
				_, err := e.s.ModifyTargetGroup(ctx, netAcctA, tt.in)
				return err
			}, tt.code, tt.msg)
		})
	}
}

func TestDeleteTargetGroup(t *testing.T) {
	e := newELBEnv(t)
	used := e.mustGroup(t, e.tcpGroup("used"))
	free := e.mustGroup(t, e.tcpGroup("free"))
	e.attachLB(t, "nlb", used.ARN, 80, "us-east-1a")
	r, _ := model.ParseELBARN(free.ARN)
	e.put(t, targetHealthKey(netAcctA, r.ID), model.TargetHealthSet{TargetGroupARN: free.ARN})
	ctx := t.Context()

	err := e.s.DeleteTargetGroup(ctx, netAcctA, DeleteTargetGroupInput{TargetGroupARN: used.ARN})
	wantELBErr(t, err, "ResourceInUse", "Target group '"+used.ARN+"' is currently in use by a listener or a rule")
	err = e.s.DeleteTargetGroup(ctx, netAcctA, DeleteTargetGroupInput{TargetGroupARN: "nope"})
	wantELBErr(t, err, "ValidationError", "'nope' is not a valid target group ARN")
	// Another account's ARN is simply not found: success, and nothing goes.
	if err := e.s.DeleteTargetGroup(ctx, netAcctB, DeleteTargetGroupInput{TargetGroupARN: free.ARN}); err != nil {
		t.Errorf("DeleteTargetGroup(account B) = %v", err)
	}
	if err := e.s.DeleteTargetGroup(ctx, netAcctA, DeleteTargetGroupInput{TargetGroupARN: free.ARN}); err != nil {
		t.Fatalf("DeleteTargetGroup() = %v", err)
	}
	if err := e.s.DeleteTargetGroup(ctx, netAcctA, DeleteTargetGroupInput{TargetGroupARN: free.ARN}); err != nil {
		t.Errorf("DeleteTargetGroup(again) = %v, want success", err)
	}
	out, err := e.s.DescribeTargetGroups(ctx, netAcctA, DescribeTargetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"used"}, tgNames(out)); diff != "" {
		t.Errorf("groups after delete mismatch (-want +got):\n%s", diff)
	}
	if _, err := e.st.Get(ctx, targetHealthKey(netAcctA, r.ID)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("health record after delete: %v, want ErrNotFound", err)
	}
}

func TestTargetGroupAttributes(t *testing.T) {
	e := newELBEnv(t)
	tg := e.mustGroup(t, e.tcpGroup("web"))
	ctx := t.Context()

	attrs, err := e.s.DescribeTargetGroupAttributes(ctx, netAcctA, DescribeTargetGroupAttributesInput{TargetGroupARN: tg.ARN})
	if err != nil {
		t.Fatal(err)
	}
	if len(attrs) != 13 || attrs[0].Key != "deregistration_delay.connection_termination.enabled" || attrs[12].Key != "target_health_state.unhealthy.draining_interval_seconds" {
		t.Errorf("DescribeTargetGroupAttributes() = %v", attrs)
	}

	attrs, err = e.s.ModifyTargetGroupAttributes(ctx, netAcctA, ModifyTargetGroupAttributesInput{TargetGroupARN: tg.ARN, Attributes: []TargetGroupAttribute{
		{Key: "deregistration_delay.timeout_seconds", Value: "0"},
		{Key: "proxy_protocol_v2.enabled", Value: "true"},
		{Key: "preserve_client_ip.enabled", Value: "false"},
		{Key: "load_balancing.cross_zone.enabled", Value: "true"},
		{Key: "target_health_state.unhealthy.connection_termination.enabled", Value: "false"},
		{Key: "target_health_state.unhealthy.draining_interval_seconds", Value: "60"},
		// The defaults, as Terraform sends them.
		{Key: "target_group_health.dns_failover.minimum_healthy_targets.count", Value: "1"},
		{Key: "target_group_health.dns_failover.minimum_healthy_targets.percentage", Value: "off"},
		{Key: "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", Value: "1"},
		{Key: "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage", Value: "off"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for i, a := range attrs {
		if i > 0 && attrs[i-1].Key >= a.Key {
			t.Errorf("attributes not sorted: %q before %q", attrs[i-1].Key, a.Key)
		}
		got[a.Key] = a.Value
	}
	stored := e.storedGroup(t, tg.ARN).Attributes
	if diff := cmp.Diff(stored, got); diff != "" {
		t.Errorf("ModifyTargetGroupAttributes() vs stored mismatch (-stored +returned):\n%s", diff)
	}
	for k, v := range map[string]string{"deregistration_delay.timeout_seconds": "0", "proxy_protocol_v2.enabled": "true",
		"load_balancing.cross_zone.enabled": "true", "stickiness.type": "source_ip"} {
		if got[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, got[k], v)
		}
	}

	errs := []struct {
		name      string
		attrs     []TargetGroupAttribute
		code, msg string
	}{
		{"unknown key", []TargetGroupAttribute{{Key: "slow_start.duration_seconds", Value: "30"}},
			"ValidationError", "Target group attribute key 'slow_start.duration_seconds' is not recognized"},
		{"not a boolean", []TargetGroupAttribute{{Key: "proxy_protocol_v2.enabled", Value: "yes"}},
			"ValidationError", "The value of attribute 'proxy_protocol_v2.enabled' must be a boolean ('true' or 'false'), not 'yes'"},
		{"delay too long", []TargetGroupAttribute{{Key: "deregistration_delay.timeout_seconds", Value: "3601"}},
			"ValidationError", "The value of attribute 'deregistration_delay.timeout_seconds' must be an integer from 0 to 3600, not '3601'"},
		{"delay not a number", []TargetGroupAttribute{{Key: "deregistration_delay.timeout_seconds", Value: "5m"}},
			"ValidationError", "The value of attribute 'deregistration_delay.timeout_seconds' must be an integer from 0 to 3600, not '5m'"},
		{"stickiness type", []TargetGroupAttribute{{Key: "stickiness.type", Value: "lb_cookie"}},
			"ValidationError", "Stickiness type 'lb_cookie' is not supported for target groups with the TCP protocol"},
		{"cross zone", []TargetGroupAttribute{{Key: "load_balancing.cross_zone.enabled", Value: "maybe"}},
			"ValidationError", "The value of attribute 'load_balancing.cross_zone.enabled' must be 'true', 'false' or 'use_load_balancer_configuration', not 'maybe'"},
		{"percentage", []TargetGroupAttribute{{Key: "target_group_health.dns_failover.minimum_healthy_targets.percentage", Value: "101"}},
			"ValidationError", "The value of attribute 'target_group_health.dns_failover.minimum_healthy_targets.percentage' must be 'off' or an integer from 1 to 100, not '101'"},
		{"DNS failover count", []TargetGroupAttribute{{Key: "target_group_health.dns_failover.minimum_healthy_targets.count", Value: "2"}},
			"ValidationError", "privlink does not support the value '2' of attribute 'target_group_health.dns_failover.minimum_healthy_targets.count' yet; only '1' is supported"},
		{"DNS failover off", []TargetGroupAttribute{{Key: "target_group_health.dns_failover.minimum_healthy_targets.count", Value: "off"}},
			"ValidationError", "privlink does not support the value 'off' of attribute 'target_group_health.dns_failover.minimum_healthy_targets.count' yet; only '1' is supported"},
		{"DNS failover percentage", []TargetGroupAttribute{{Key: "target_group_health.dns_failover.minimum_healthy_targets.percentage", Value: "50"}},
			"ValidationError", "privlink does not support the value '50' of attribute 'target_group_health.dns_failover.minimum_healthy_targets.percentage' yet; only 'off' is supported"},
		{"unhealthy routing count", []TargetGroupAttribute{{Key: "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", Value: "3"}},
			"ValidationError", "privlink does not support the value '3' of attribute 'target_group_health.unhealthy_state_routing.minimum_healthy_targets.count' yet; only '1' is supported"},
		{"unhealthy routing count not a number", []TargetGroupAttribute{{Key: "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", Value: "off"}},
			"ValidationError", "The value of attribute 'target_group_health.unhealthy_state_routing.minimum_healthy_targets.count' must be an integer from 1 to 1000, not 'off'"},
		{"unhealthy routing percentage", []TargetGroupAttribute{{Key: "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage", Value: "100"}},
			"ValidationError", "privlink does not support the value '100' of attribute 'target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage' yet; only 'off' is supported"},
		{"preserve client IP", []TargetGroupAttribute{{Key: "preserve_client_ip.enabled", Value: "true"}},
			"InvalidConfigurationRequest", "privlink does not preserve client IP addresses: targets see the load balancer node's address; use proxy_protocol_v2.enabled to learn the client's"},
		{"draining interval with termination", []TargetGroupAttribute{{Key: "target_health_state.unhealthy.connection_termination.enabled", Value: "true"}},
			"InvalidConfigurationRequest", "'target_health_state.unhealthy.draining_interval_seconds' can only be set when 'target_health_state.unhealthy.connection_termination.enabled' is false"},
		{"all or nothing", []TargetGroupAttribute{{Key: "stickiness.enabled", Value: "true"}, {Key: "bogus", Value: "1"}},
			"ValidationError", "Target group attribute key 'bogus' is not recognized"},
		{"none", nil, "ValidationError", "At least one attribute must be specified"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantBadCall(t, e.st, func() error {
				_, err := e.s.ModifyTargetGroupAttributes(ctx, netAcctA, ModifyTargetGroupAttributesInput{TargetGroupARN: tg.ARN, Attributes: tt.attrs})
				return err
			}, tt.code, tt.msg)
		})
	}
	if e.storedGroup(t, tg.ARN).Attributes["stickiness.enabled"] != "false" {
		t.Error("a failed ModifyTargetGroupAttributes changed stickiness.enabled")
	}
	_, err = e.s.DescribeTargetGroupAttributes(ctx, netAcctB, DescribeTargetGroupAttributesInput{TargetGroupARN: tg.ARN})
	wantELBErr(t, err, "TargetGroupNotFound", "Target groups '["+tg.ARN+"]' not found")
}

// TestTargetGroupClock keeps the test clock in the creation time.
func TestTargetGroupClock(t *testing.T) {
	e := newELBEnv(t)
	e.clock.Advance(time.Hour)
	tg := e.mustGroup(t, e.tcpGroup("later"))
	if !tg.Created.Equal(testEpoch.Add(time.Hour)) {
		t.Errorf("Created = %v, want %v", tg.Created, testEpoch.Add(time.Hour))
	}
}
