package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/metrics"
)

func TestWriteText(t *testing.T) {
	r := metrics.NewRegistry()
	req := r.Counter("privlink_api_requests_total", "API requests by service, action and result code.", "service", "action", "code")
	req.Inc("ec2", "CreateVpc", "OK")
	req.Inc("ec2", "CreateVpc", "OK")
	req.Inc("ec2", "DescribeVpcs", `Weird"code\`)
	r.Gauge("privlink_namespaces", "Managed namespaces.").Set(3)
	r.GaugeFunc("privlink_store_revision", "Store revision.\nSecond line.", func(context.Context) (float64, error) { return 42, nil })
	r.GaugeFunc("privlink_broken", "Fails.", func(context.Context) (float64, error) { return 0, errors.New("boom") })
	h := r.Histogram("privlink_reconcile_duration_seconds", "Pass duration.", []float64{0.1, 1})
	h.Observe(0.05)
	h.Observe(0.1)
	h.Observe(5)

	var b strings.Builder
	if err := r.WriteText(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP privlink_api_requests_total API requests by service, action and result code.
# TYPE privlink_api_requests_total counter
privlink_api_requests_total{service="ec2",action="CreateVpc",code="OK"} 2
privlink_api_requests_total{service="ec2",action="DescribeVpcs",code="Weird\"code\\"} 1
# HELP privlink_broken Fails.
# TYPE privlink_broken gauge
# HELP privlink_namespaces Managed namespaces.
# TYPE privlink_namespaces gauge
privlink_namespaces 3
# HELP privlink_reconcile_duration_seconds Pass duration.
# TYPE privlink_reconcile_duration_seconds histogram
privlink_reconcile_duration_seconds_bucket{le="0.1"} 2
privlink_reconcile_duration_seconds_bucket{le="1"} 2
privlink_reconcile_duration_seconds_bucket{le="+Inf"} 3
privlink_reconcile_duration_seconds_sum 5.15
privlink_reconcile_duration_seconds_count 3
# HELP privlink_store_revision Store revision.\nSecond line.
# TYPE privlink_store_revision gauge
privlink_store_revision 42
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WriteText() mismatch (-want +got):\n%s", diff)
	}
	if got := req.Value("ec2", "CreateVpc", "OK"); got != 2 {
		t.Errorf("Value() = %v, want 2", got)
	}
}

func TestHistogramLabels(t *testing.T) {
	r := metrics.NewRegistry()
	h := r.Histogram("lat_seconds", "Latency.", []float64{1}, "action")
	h.Observe(2, "B")
	h.Observe(0.5, "A")
	var b strings.Builder
	if err := r.WriteText(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{action="A",le="1"} 1
lat_seconds_bucket{action="A",le="+Inf"} 1
lat_seconds_sum{action="A"} 0.5
lat_seconds_count{action="A"} 1
lat_seconds_bucket{action="B",le="1"} 0
lat_seconds_bucket{action="B",le="+Inf"} 1
lat_seconds_sum{action="B"} 2
lat_seconds_count{action="B"} 1
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WriteText() mismatch (-want +got):\n%s", diff)
	}
}

func TestUnlabelledStartAtZero(t *testing.T) {
	r := metrics.NewRegistry()
	r.Counter("errors_total", "Errors.")
	r.Gauge("items", "Items.")
	r.Histogram("lat_seconds", "Latency.", []float64{1})
	r.Counter("by_code_total", "By code.", "code")
	var b strings.Builder
	if err := r.WriteText(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP by_code_total By code.
# TYPE by_code_total counter
# HELP errors_total Errors.
# TYPE errors_total counter
errors_total 0
# HELP items Items.
# TYPE items gauge
items 0
# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{le="1"} 0
lat_seconds_bucket{le="+Inf"} 0
lat_seconds_sum 0
lat_seconds_count 0
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WriteText() mismatch (-want +got):\n%s", diff)
	}
}

func TestServeHTTP(t *testing.T) {
	r := metrics.NewRegistry()
	r.Counter("x_total", "X.").Inc()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q", got)
	}
	if !strings.Contains(rec.Body.String(), "x_total 1\n") {
		t.Errorf("body = %q", rec.Body.String())
	}
}

func TestMisuse(t *testing.T) {
	tests := []struct {
		name string
		fn   func(r *metrics.Registry)
	}{
		{"duplicate", func(r *metrics.Registry) { r.Counter("a", ""); r.Gauge("a", "") }},
		{"label count", func(r *metrics.Registry) { r.Counter("a", "", "x").Inc() }},
		{"negative", func(r *metrics.Registry) { r.Counter("a", "").Add(-1) }},
		{"unsorted buckets", func(r *metrics.Registry) { r.Histogram("a", "", []float64{2, 1}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tt.fn(metrics.NewRegistry())
		})
	}
}

func TestDelete(t *testing.T) {
	r := metrics.NewRegistry()
	c := r.Counter("privlink_c_total", "C.", "id")
	g := r.Gauge("privlink_g", "G.", "id")
	for _, id := range []string{"a", "b"} {
		c.Add(2, id)
		g.Set(3, id)
	}
	c.Delete("a")
	g.Delete("a")
	c.Delete("never") // no such series: nothing happens
	c.Inc("b")
	var b strings.Builder
	if err := r.WriteText(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP privlink_c_total C.
# TYPE privlink_c_total counter
privlink_c_total{id="b"} 3
# HELP privlink_g G.
# TYPE privlink_g gauge
privlink_g{id="b"} 3
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("after Delete (-want +got):\n%s", diff)
	}
	c.Inc("a")
	if got := c.Value("a"); got != 1 {
		t.Errorf("a deleted series added to again = %v, want 1 (starts over)", got)
	}
}
