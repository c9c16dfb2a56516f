package controller

import (
	"strings"
	"testing"

	"github.com/privlink/privlink/internal/forwarder"
	"github.com/privlink/privlink/internal/metrics"
)

func TestPrivateLinkMetrics(t *testing.T) {
	reg := metrics.NewRegistry()
	m := newPrivateLinkMetrics(reg)
	la := endpointLabels{"vpce-1", "com.amazonaws.vpce.us-east-1.vpce-svc-1", "vpc-2", "subnet-a", "vpce-svc-1", "arn:lb", "us-east-1a"}
	labels := map[string]endpointLabels{"l80@eni-a": la, "l443@eni-a": la}
	count := map[serviceLB]int{{"vpce-svc-1", "arn:lb"}: 1}

	m.sync([]forwarder.ListenerStats{
		{Key: "l80@eni-a", NewConns: 3, ActiveConns: 1, BytesIn: 100, BytesOut: 50},
		{Key: "l443@eni-a", NewConns: 1, ActiveConns: 2, Resets: 1},
		{Key: "nlb-listener", NewConns: 99}, // not an endpoint's
	}, labels, count)
	m.sync([]forwarder.ListenerStats{
		{Key: "l80@eni-a", NewConns: 5, BytesIn: 110, BytesOut: 50},
		{Key: "l443@eni-a", NewConns: 1, Resets: 1},
	}, labels, count)

	ep, svc := la.endpoint(), la.service()
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"endpoint bytes", m.epBytes.Value(ep...), 160},
		{"endpoint new connections", m.epNew.Value(ep...), 6},
		{"endpoint resets", m.epRst.Value(ep...), 1},
		{"endpoint active", m.epActive.Value(ep...), 0},
		{"service new connections", m.svcNew.Value(svc...), 6},
		{"service bytes", m.svcBytes.Value(svc...), 160},
		{"endpoints count", m.svcEndpoints.Value("vpce-svc-1", "arn:lb"), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	// The endpoint goes: its series are zeroed, a restarted listener
	// counts from zero again.
	m.sync([]forwarder.ListenerStats{{Key: "l80@eni-a", NewConns: 1, ActiveConns: 4}}, labels, nil)
	if got := m.epNew.Value(ep...); got != 7 {
		t.Errorf("new connections after a listener restart = %v, want 7", got)
	}
	if got := m.epActive.Value(ep...); got != 4 {
		t.Errorf("active = %v, want 4", got)
	}
	m.sync(nil, labels, map[serviceLB]int{{"vpce-svc-1", "arn:lb"}: 0})
	if got := scrape(t, reg); !strings.Contains(got, `privlink_service_endpoints_count{service_id="vpce-svc-1",load_balancer_arn="arn:lb"} 0`) {
		t.Errorf("a service without endpoints has no EndpointsCount 0 series:\n%s", got)
	}

	// Endpoint and service gone: no series names them any more.
	m.sync(nil, nil, nil)
	if got := scrape(t, reg); strings.Contains(got, "vpce-1") || strings.Contains(got, "arn:lb") {
		t.Errorf("series of a deleted endpoint and service are still exported:\n%s", got)
	}
}

func scrape(t *testing.T, reg *metrics.Registry) string {
	t.Helper()
	var b strings.Builder
	if err := reg.WriteText(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
