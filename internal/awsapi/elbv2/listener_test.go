package elbv2

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type lbwXMLTGTuple struct {
	ARN    string `xml:"TargetGroupArn"`
	Weight *int32 `xml:"Weight"`
}

type lbwXMLAction struct {
	Type           string          `xml:"Type"`
	TargetGroupARN string          `xml:"TargetGroupArn"`
	TargetGroups   []lbwXMLTGTuple `xml:"ForwardConfig>TargetGroups>member"`
	Stickiness     *bool           `xml:"ForwardConfig>TargetGroupStickinessConfig>Enabled"`
}

type lbwXMLListener struct {
	ARN             string         `xml:"ListenerArn"`
	LoadBalancerARN string         `xml:"LoadBalancerArn"`
	Port            int32          `xml:"Port"`
	Protocol        string         `xml:"Protocol"`
	DefaultActions  []lbwXMLAction `xml:"DefaultActions>member"`
}

// lb creates an internal network load balancer and returns its ARN.
func (w *world) lb(name string) string {
	w.t.Helper()
	var out lbwXMLLBs
	w.mustQuery(query("Action", "CreateLoadBalancer", "Version", "2015-12-01", "Name", name, "Type", "network", "Scheme", "internal",
		"Subnets.member.1", w.subnets[0]), &out)
	return out.LoadBalancers[0].ARN
}

func lbwForwardTo(tgARN string) []lbwXMLAction {
	// As AWS answers for an NLB: no Weight, no stickiness config.
	return []lbwXMLAction{{Type: "forward", TargetGroupARN: tgARN, TargetGroups: []lbwXMLTGTuple{{ARN: tgARN}}}}
}

func TestListenerActions(t *testing.T) {
	w := newWorld(t)
	lbARN := w.lb("web")
	tg := w.targetGroup("web")
	var created struct {
		Listeners []lbwXMLListener `xml:"CreateListenerResult>Listeners>member"`
	}
	// What botocore sends for --default-actions Type=forward,TargetGroupArn=...
	w.mustQuery(query("Action", "CreateListener", "Version", "2015-12-01", "LoadBalancerArn", lbARN, "Protocol", "TCP", "Port", "443",
		"DefaultActions.member.1.Type", "forward", "DefaultActions.member.1.TargetGroupArn", tg,
		"Tags.member.1.Key", "k", "Tags.member.1.Value", "v"), &created)
	if len(created.Listeners) != 1 {
		t.Fatalf("CreateListener returned %d listeners", len(created.Listeners))
	}
	l := created.Listeners[0]
	want := lbwXMLListener{ARN: l.ARN, LoadBalancerARN: lbARN, Port: 443, Protocol: "TCP", DefaultActions: lbwForwardTo(tg)}
	if diff := cmp.Diff(want, l); diff != "" {
		t.Errorf("CreateListener mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(l.ARN, strings.Replace(lbARN, ":loadbalancer/", ":listener/", 1)+"/") {
		t.Errorf("listener ARN %q does not extend %q", l.ARN, lbARN)
	}

	// A ForwardConfig with one group is the same listener (idempotent).
	var again struct {
		Listeners []lbwXMLListener `xml:"CreateListenerResult>Listeners>member"`
	}
	w.mustQuery(query("Action", "CreateListener", "Version", "2015-12-01", "LoadBalancerArn", lbARN, "Protocol", "TCP", "Port", "443",
		"DefaultActions.member.1.Type", "forward",
		"DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn", tg,
		"DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.Weight", "1"), &again)
	if len(again.Listeners) != 1 || again.Listeners[0].ARN != l.ARN {
		t.Errorf("repeated CreateListener = %+v, want %s", again.Listeners, l.ARN)
	}

	var modified struct {
		Listeners []lbwXMLListener `xml:"ModifyListenerResult>Listeners>member"`
	}
	w.mustQuery(query("Action", "ModifyListener", "Version", "2015-12-01", "ListenerArn", l.ARN, "Port", "8443"), &modified)
	want.Port = 8443
	if diff := cmp.Diff([]lbwXMLListener{want}, modified.Listeners); diff != "" {
		t.Errorf("ModifyListener mismatch (-want +got):\n%s", diff)
	}
	var described struct {
		Listeners  []lbwXMLListener `xml:"DescribeListenersResult>Listeners>member"`
		NextMarker string           `xml:"DescribeListenersResult>NextMarker"`
	}
	w.mustQuery(query("Action", "DescribeListeners", "Version", "2015-12-01", "LoadBalancerArn", lbARN), &described)
	if diff := cmp.Diff([]lbwXMLListener{want}, described.Listeners); diff != "" || described.NextMarker != "" {
		t.Errorf("DescribeListeners mismatch (-want +got):\n%s", diff)
	}

	if body := w.rawQuery(query("Action", "DeleteListener", "Version", "2015-12-01", "ListenerArn", l.ARN)); !strings.Contains(body, "<DeleteListenerResult/>") {
		t.Errorf("DeleteListener body %s", body)
	}
	err := w.callQuery(query("Action", "DeleteListener", "Version", "2015-12-01", "ListenerArn", l.ARN), nil)
	wantErr(t, err, "ListenerNotFound", "Listeners '["+l.ARN+"]' not found")
}

func TestListenerActionErrors(t *testing.T) {
	w := newWorld(t)
	lbARN := w.lb("web")
	tg := w.targetGroup("web")
	create := func(kv ...string) string {
		return query(append([]string{"Action", "CreateListener", "Version", "2015-12-01", "LoadBalancerArn", lbARN}, kv...)...)
	}
	tests := []struct {
		name  string
		query string
		code  string
		msg   string
	}{
		{"HTTP", create("Protocol", "HTTP", "Port", "80", "DefaultActions.member.1.Type", "forward", "DefaultActions.member.1.TargetGroupArn", tg),
			"ValidationError", "Listener protocol 'HTTP' must be one of 'TCP_QUIC, QUIC, TCP, TLS, UDP, TCP_UDP'"},
		{"TCP_UDP", create("Protocol", "TCP_UDP", "Port", "53", "DefaultActions.member.1.Type", "forward", "DefaultActions.member.1.TargetGroupArn", tg),
			"ValidationError", "privlink does not carry TCP_UDP listeners yet; only TCP is supported"},
		{"no port", create("Protocol", "TCP", "DefaultActions.member.1.Type", "forward", "DefaultActions.member.1.TargetGroupArn", tg),
			"ValidationError", "A listener port must be specified"},
		{"port out of range", create("Protocol", "TCP", "Port", "70000", "DefaultActions.member.1.Type", "forward", "DefaultActions.member.1.TargetGroupArn", tg),
			"ValidationError", "Value (70000) for parameter Port is invalid. Expected a value between 1 and 65535."},
		{"fixed response", create("Protocol", "TCP", "Port", "80", "DefaultActions.member.1.Type", "fixed-response",
			"DefaultActions.member.1.FixedResponseConfig.StatusCode", "200"),
			"InvalidLoadBalancerAction", "Network Load Balancers support only 'forward' actions, not 'fixed-response'"},
		{"forward with a redirect config", create("Protocol", "TCP", "Port", "80", "DefaultActions.member.1.Type", "forward",
			"DefaultActions.member.1.TargetGroupArn", tg, "DefaultActions.member.1.RedirectConfig.StatusCode", "HTTP_301"),
			"ValidationError", "RedirectConfig cannot be specified for a 'forward' action"},
		{"two weighted groups", create("Protocol", "TCP", "Port", "80", "DefaultActions.member.1.Type", "forward",
			"DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn", tg,
			"DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn", w.targetGroup("second")),
			"ValidationError", "Network Load Balancer listeners can forward to only one target group"},
		{"SSL policy", create("Protocol", "TCP", "Port", "80", "SslPolicy", "ELBSecurityPolicy-2016-08",
			"DefaultActions.member.1.Type", "forward", "DefaultActions.member.1.TargetGroupArn", tg),
			"ValidationError", "An SSL policy cannot be specified for 'TCP' listeners"},
		{"neither load balancer nor listeners", query("Action", "DescribeListeners", "Version", "2015-12-01"),
			"ValidationError", "You must specify either a load balancer or one or more listeners"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, w.callQuery(tt.query, nil), tt.code, tt.msg)
		})
	}
}

func TestListenerAttributesWire(t *testing.T) {
	w := newWorld(t)
	tg := w.targetGroup("web")
	lbARN := w.attachLB(tg, "us-east-1a") // its listener was stored without attributes
	var ls struct {
		Listeners []lbwXMLListener `xml:"DescribeListenersResult>Listeners>member"`
	}
	w.mustQuery(query("Action", "DescribeListeners", "Version", "2015-12-01", "LoadBalancerArn", lbARN), &ls)
	if len(ls.Listeners) != 1 {
		t.Fatalf("DescribeListeners returned %d listeners", len(ls.Listeners))
	}
	arn := ls.Listeners[0].ARN

	// The document AWS answers for an NLB TCP listener: one attribute.
	body := w.rawQuery(query("Action", "DescribeListenerAttributes", "Version", "2015-12-01", "ListenerArn", arn))
	want := `<DescribeListenerAttributesResult><Attributes><member><Key>tcp.idle_timeout.seconds</Key><Value>350</Value></member></Attributes></DescribeListenerAttributesResult>`
	if !strings.Contains(body, want) {
		t.Errorf("DescribeListenerAttributes body = %s, want it to contain %s", body, want)
	}
	// What botocore sends for --attributes Key=tcp.idle_timeout.seconds,Value=120.
	var modified struct {
		Attributes []lbwXMLAttr `xml:"ModifyListenerAttributesResult>Attributes>member"`
	}
	w.mustQuery(query("Action", "ModifyListenerAttributes", "Version", "2015-12-01", "ListenerArn", arn,
		"Attributes.member.1.Key", "tcp.idle_timeout.seconds", "Attributes.member.1.Value", "120"), &modified)
	if diff := cmp.Diff([]lbwXMLAttr{{"tcp.idle_timeout.seconds", "120"}}, modified.Attributes); diff != "" {
		t.Errorf("ModifyListenerAttributes mismatch (-want +got):\n%s", diff)
	}
	var described struct {
		Attributes []lbwXMLAttr `xml:"DescribeListenerAttributesResult>Attributes>member"`
	}
	w.mustQuery(query("Action", "DescribeListenerAttributes", "Version", "2015-12-01", "ListenerArn", arn), &described)
	if diff := cmp.Diff(modified.Attributes, described.Attributes); diff != "" {
		t.Errorf("DescribeListenerAttributes after modify mismatch (-want +got):\n%s", diff)
	}

	gone := strings.Replace(arn, arn[strings.LastIndex(arn, "/")+1:], "0123456789abcdef", 1)
	modify := func(kv ...string) string {
		return query(append([]string{"Action", "ModifyListenerAttributes", "Version", "2015-12-01"}, kv...)...)
	}
	tests := []struct {
		name, query, code, msg string
	}{
		{"out of range", modify("ListenerArn", arn, "Attributes.member.1.Key", "tcp.idle_timeout.seconds", "Attributes.member.1.Value", "30"),
			"ValidationError", "The value of attribute 'tcp.idle_timeout.seconds' must be an integer from 60 to 6000, not '30'"},
		{"unknown key", modify("ListenerArn", arn, "Attributes.member.1.Key", "idle_timeout.timeout_seconds", "Attributes.member.1.Value", "60"),
			"ValidationError", "Listener attribute key 'idle_timeout.timeout_seconds' is not recognized"},
		{"ALB key", modify("ListenerArn", arn, "Attributes.member.1.Key", "routing.http.response.server.enabled", "Attributes.member.1.Value", "false"),
			"InvalidConfigurationRequest", "Listener attribute key 'routing.http.response.server.enabled' is not supported on listeners with protocol 'TCP'"},
		{"key outside the model's pattern", modify("ListenerArn", arn, "Attributes.member.1.Key", "tcp idle", "Attributes.member.1.Value", "60"),
			"ValidationError", ""},
		{"no attributes", modify("ListenerArn", arn),
			"ValidationError", "1 validation error detected: Value null at 'attributes' failed to satisfy constraint: Member must not be null"},
		{"no listener", modify("Attributes.member.1.Key", "tcp.idle_timeout.seconds", "Attributes.member.1.Value", "60"),
			"ValidationError", "1 validation error detected: Value null at 'listenerArn' failed to satisfy constraint: Member must not be null"},
		{"unknown listener", modify("ListenerArn", gone, "Attributes.member.1.Key", "tcp.idle_timeout.seconds", "Attributes.member.1.Value", "60"),
			"ListenerNotFound", "Listeners '[" + gone + "]' not found"},
		{"describe unknown listener", query("Action", "DescribeListenerAttributes", "Version", "2015-12-01", "ListenerArn", gone),
			"ListenerNotFound", "Listeners '[" + gone + "]' not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, w.callQuery(tt.query, nil), tt.code, tt.msg)
		})
	}
	var after struct {
		Attributes []lbwXMLAttr `xml:"DescribeListenerAttributesResult>Attributes>member"`
	}
	w.mustQuery(query("Action", "DescribeListenerAttributes", "Version", "2015-12-01", "ListenerArn", arn), &after)
	if diff := cmp.Diff([]lbwXMLAttr{{"tcp.idle_timeout.seconds", "120"}}, after.Attributes); diff != "" {
		t.Errorf("attributes after failed calls mismatch (-want +got):\n%s", diff)
	}
}
