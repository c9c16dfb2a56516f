package daemon

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/metrics"
)

// instrument wraps every handler so that each authenticated API call is
// counted by service, action and result code, and timed.
func instrument(handlers map[string]awsapi.Handler, reg *metrics.Registry) map[string]awsapi.Handler {
	m := &apiMetrics{
		requests: reg.Counter("privlink_api_requests_total", "Authenticated AWS API calls by service, action and result code (OK or the AWS error code).", "service", "action", "code"),
		latency:  reg.Histogram("privlink_api_request_duration_seconds", "Time handlers take per AWS API call.", metrics.DefaultBuckets, "service", "action"),
	}
	out := make(map[string]awsapi.Handler, len(handlers))
	for name, h := range handlers {
		out[name] = instrumentedHandler{next: h, m: m}
	}
	return out
}

type apiMetrics struct {
	requests *metrics.Counter
	latency  *metrics.Histogram
}

type instrumentedHandler struct {
	next awsapi.Handler
	m    *apiMetrics
}

func (h instrumentedHandler) Handle(ctx context.Context, req *awsapi.Request) (awsapi.Response, error) {
	start := time.Now()
	resp, err := h.next.Handle(ctx, req)
	code := "OK"
	if err != nil {
		code = "InternalError"
		if ae := (*awsapi.Error)(nil); errors.As(err, &ae) && ae != nil {
			code = ae.Code
		}
	}
	action := req.Action
	if code == "InvalidAction" {
		action = "(invalid)" // clients choose action names: keep the label set bounded
	}
	h.m.requests.Inc(req.Service, action, code)
	h.m.latency.Observe(time.Since(start).Seconds(), req.Service, action)
	return resp, err
}

// instrumentHTTP counts every HTTP request on the API listener by status
// code, including those the front refuses before a handler runs.
func instrumentHTTP(next http.Handler, reg *metrics.Registry) http.Handler {
	requests := reg.Counter("privlink_http_requests_total", "HTTP requests on the API listener by status code.", "code")
	latency := reg.Histogram("privlink_http_request_duration_seconds", "HTTP request duration on the API listener.", metrics.DefaultBuckets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		requests.Inc(strconv.Itoa(sw.status))
		latency.Observe(time.Since(start).Seconds())
	})
}

// statusWriter records the status code written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
