package awsapi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	testAccessKey = "AKIDEXAMPLE"
	testSecret    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testAccount   = "000000000000"
	testRegion    = "us-east-1"
	testHost      = "127.0.0.1:8080"
)

// testNow is the fixed clock of the tests (and of the botocore vectors).
var testNow = time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)

// fakeCreds maps access key → {account, secret}.
type fakeCreds map[string][2]string

func (f fakeCreds) LookupAccessKey(_ context.Context, id string) (string, string, bool, error) {
	v, ok := f[id]
	return v[0], v[1], ok, nil
}

type failingCreds struct{}

func (failingCreds) LookupAccessKey(context.Context, string) (string, string, bool, error) {
	return "", "", false, errors.New("store unavailable")
}

// echoResponse is a Response naming the service and action it answers.
type echoResponse struct{ service, action string }

func (e echoResponse) MarshalResponse(requestID string) ([]byte, error) {
	return fmt.Appendf(nil, "<%sResponse><requestId>%s</requestId><service>%s</service></%sResponse>",
		e.action, requestID, e.service, e.action), nil
}

// recorder is a Handler that records the requests it gets and answers with
// an echoResponse, or with what fn returns when fn is set.
type recorder struct {
	service string
	fn      func(*Request) (Response, error)
	mu      sync.Mutex
	reqs    []*Request
}

func (h *recorder) Handle(_ context.Context, req *Request) (Response, error) {
	h.mu.Lock()
	h.reqs = append(h.reqs, req)
	h.mu.Unlock()
	if h.fn != nil {
		return h.fn(req)
	}
	return echoResponse{h.service, req.Action}, nil
}

func (h *recorder) last(t *testing.T) *Request {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reqs) == 0 {
		t.Fatalf("handler %s was not called", h.service)
	}
	return h.reqs[len(h.reqs)-1]
}

type testEnv struct {
	srv      *Server
	ec2, elb *recorder
	logs     *bytes.Buffer
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	env := &testEnv{
		ec2:  &recorder{service: ServiceEC2},
		elb:  &recorder{service: ServiceELBv2},
		logs: &bytes.Buffer{},
	}
	env.srv = NewServer(ServerConfig{
		Region:      testRegion,
		Credentials: fakeCreds{testAccessKey: {testAccount, testSecret}},
		Handlers:    map[string]Handler{ServiceEC2: env.ec2, ServiceELBv2: env.elb},
		Logger:      slog.New(slog.NewTextHandler(&lockedWriter{w: env.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:         func() time.Time { return testNow },
	})
	return env
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// result is what a test checks of a response.
type result struct {
	Status int
	Body   string
}

// serve runs req through the server and returns the response, checking the
// headers every response must carry.
func (env *testEnv) serve(t *testing.T, req *http.Request) (result, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	env.srv.ServeHTTP(rec, req)
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	rid := resp.Header.Get("X-Amzn-RequestId")
	if !uuidV4.MatchString(rid) {
		t.Errorf("X-Amzn-RequestId = %q, want a UUID v4", rid)
	}
	if got := resp.Header.Get("Content-Type"); got != "text/xml;charset=UTF-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(len(body)) {
		t.Errorf("Content-Length = %q, body has %d bytes", got, len(body))
	}
	if len(body) == 0 {
		t.Errorf("empty body (status %d)", resp.StatusCode)
	}
	return result{resp.StatusCode, string(body)}, rid
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// wantError is the response an *Error should produce in service's envelope.
func wantError(service, rid string, e *Error) result {
	st, b := errorResponse(service, rid, e)
	return result{st, string(b)}
}

func wantOK(service, action, rid string) result {
	b, _ := echoResponse{service, action}.MarshalResponse(rid)
	return result{http.StatusOK, string(b)}
}

// wire turns a client-side request into the request net/http's server
// would hand the Server, by writing it out and parsing it back.
func wire(t *testing.T, req *http.Request) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	return sr
}

// rawRequest builds a server-side request with the given header lines.
func rawRequest(t *testing.T, method, target, body string, headers ...string) *http.Request {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, testHost)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body)
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(b.String())))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRouting(t *testing.T) {
	// DescribeTags exists in both APIs: the credential scope decides.
	for _, tc := range []struct {
		service, version string
	}{
		{ServiceEC2, VersionEC2},
		{ServiceELBv2, VersionELBv2},
		// The scope wins even when Version says otherwise.
		{ServiceEC2, VersionELBv2},
	} {
		t.Run(tc.service+"_"+tc.version, func(t *testing.T) {
			env := newTestEnv(t)
			body := "Action=DescribeTags&Version=" + tc.version + "&Filter.1.Name=key&Filter.1.Value.1=Name"
			req := sdkSigned(t, "POST", "/", body, tc.service, testRegion, testAccessKey, testSecret, testNow, nil)
			got, rid := env.serve(t, req)
			if diff := cmp.Diff(wantOK(tc.service, "DescribeTags", rid), got); diff != "" {
				t.Fatalf("ServeHTTP() mismatch (-want +got):\n%s", diff)
			}
			h, other := env.ec2, env.elb
			if tc.service == ServiceELBv2 {
				h, other = env.elb, env.ec2
			}
			if len(other.reqs) != 0 {
				t.Errorf("handler %s called too", other.service)
			}
			want := &Request{
				Service:   tc.service,
				Action:    "DescribeTags",
				Params:    Params{"Filter.1.Name": "key", "Filter.1.Value.1": "Name"},
				Caller:    Caller{AccountID: testAccount, AccessKeyID: testAccessKey},
				RequestID: rid,
				Region:    testRegion,
			}
			if diff := cmp.Diff(want, h.last(t)); diff != "" {
				t.Errorf("Request mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHandlerErrors(t *testing.T) {
	invalid := ErrInvalidAction("Frobnicate")
	for _, tc := range []struct {
		name    string
		service string
		fn      func(*Request) (Response, error)
		want    *Error
	}{
		{"invalid action ec2", ServiceEC2, func(r *Request) (Response, error) { return nil, ErrInvalidAction(r.Action) }, invalid},
		{"invalid action elbv2", ServiceELBv2, func(r *Request) (Response, error) { return nil, ErrInvalidAction(r.Action) }, invalid},
		{"wrapped *Error", ServiceEC2, func(*Request) (Response, error) {
			return nil, fmt.Errorf("describe: %w", Errorf("InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist"))
		}, Errorf("InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist")},
		{"dry run", ServiceEC2, func(*Request) (Response, error) { return nil, ErrDryRun() }, ErrDryRun()},
		{"plain error ec2", ServiceEC2, func(*Request) (Response, error) { return nil, errors.New("boom") }, ErrInternal()},
		{"plain error elbv2", ServiceELBv2, func(*Request) (Response, error) { return nil, errors.New("boom") }, ErrInternal()},
		{"panic ec2", ServiceEC2, func(*Request) (Response, error) { panic("kaboom") }, ErrInternal()},
		{"panic elbv2", ServiceELBv2, func(*Request) (Response, error) { panic(errors.New("kaboom")) }, ErrInternal()},
		{"nil response", ServiceEC2, func(*Request) (Response, error) { return nil, nil }, ErrInternal()},
		{"typed nil *Error", ServiceEC2, func(*Request) (Response, error) { return nil, (*Error)(nil) }, ErrInternal()},
		{"marshal error", ServiceELBv2, func(*Request) (Response, error) { return failingResponse{}, nil }, ErrInternal()},
		{"5xx *Error", ServiceELBv2, func(*Request) (Response, error) {
			return nil, &Error{Code: "HealthUnavailable", Message: "down", Status: 500}
		}, &Error{Code: "HealthUnavailable", Message: "down", Status: 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			env.ec2.fn, env.elb.fn = tc.fn, tc.fn
			version := VersionEC2
			if tc.service == ServiceELBv2 {
				version = VersionELBv2
			}
			req := sdkSigned(t, "POST", "/", "Action=Frobnicate&Version="+version, tc.service, testRegion, testAccessKey, testSecret, testNow, nil)
			got, rid := env.serve(t, req)
			if diff := cmp.Diff(wantError(tc.service, rid, tc.want), got); diff != "" {
				t.Errorf("ServeHTTP() mismatch (-want +got):\n%s", diff)
			}
			if tc.want.Code == "InternalError" && !strings.Contains(env.logs.String(), "level=ERROR") {
				t.Errorf("internal error not logged:\n%s", env.logs)
			}
			if strings.HasPrefix(tc.name, "panic") && !strings.Contains(env.logs.String(), "goroutine") {
				t.Errorf("panic logged without a stack:\n%s", env.logs)
			}
		})
	}
}

type failingResponse struct{}

func (failingResponse) MarshalResponse(string) ([]byte, error) {
	return nil, errors.New("cannot encode")
}

func TestGetLikePost(t *testing.T) {
	const params = "Action=DescribeVpcEndpoints&Version=2016-11-15&VpcEndpointId.1=vpce-1&Filter.1.Name=vpc-id&Filter.1.Value.1=a%20b%2Fc"
	want := Params{"VpcEndpointId.1": "vpce-1", "Filter.1.Name": "vpc-id", "Filter.1.Value.1": "a b/c"}
	for _, tc := range []struct {
		name string
		req  func(t *testing.T) *http.Request
	}{
		{"POST form", func(t *testing.T) *http.Request {
			return sdkSigned(t, "POST", "/", params, ServiceEC2, testRegion, testAccessKey, testSecret, testNow, nil)
		}},
		{"GET query", func(t *testing.T) *http.Request {
			return sdkSigned(t, "GET", "/?"+params, "", ServiceEC2, testRegion, testAccessKey, testSecret, testNow, nil)
		}},
		{"POST split between query and body", func(t *testing.T) *http.Request {
			return sdkSigned(t, "POST", "/?Action=DescribeVpcEndpoints&Version=2016-11-15",
				"VpcEndpointId.1=vpce-1&Filter.1.Name=vpc-id&Filter.1.Value.1=a+b%2Fc", ServiceEC2, testRegion, testAccessKey, testSecret, testNow, nil)
		}},
		{"GET presigned", func(t *testing.T) *http.Request {
			return sdkPresigned(t, "/?"+params, ServiceEC2, testRegion, testSecret, testNow, 300, sha256Hex(""))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			got, rid := env.serve(t, tc.req(t))
			if diff := cmp.Diff(wantOK(ServiceEC2, "DescribeVpcEndpoints", rid), got); diff != "" {
				t.Fatalf("ServeHTTP() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, env.ec2.last(t).Params); diff != "" {
				t.Errorf("Params mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequestErrors(t *testing.T) {
	big := "Action=DescribeVpcs&Version=2016-11-15&X=" + strings.Repeat("a", MaxBodyBytes)
	for _, tc := range []struct {
		name    string
		req     func(t *testing.T) *http.Request
		service string // envelope
		want    *Error
	}{
		{"missing action", func(t *testing.T) *http.Request {
			return sdkSigned(t, "POST", "/", "Version=2016-11-15&VpcId.1=vpc-1", ServiceEC2, testRegion, testAccessKey, testSecret, testNow, nil)
		}, ServiceEC2, &Error{Code: "MissingAction", Message: "The request must contain the parameter Action.", Status: 400}},
		{"empty action elbv2", func(t *testing.T) *http.Request {
			return sdkSigned(t, "POST", "/", "Action=&Version=2015-12-01", ServiceELBv2, testRegion, testAccessKey, testSecret, testNow, nil)
		}, ServiceELBv2, &Error{Code: "MissingAction", Message: "The request must contain the parameter Action.", Status: 400}},
		{"repeated parameter", func(t *testing.T) *http.Request {
			return sdkSigned(t, "POST", "/", "Action=DescribeVpcs&Version=2016-11-15&VpcId.1=a&VpcId.1=b", ServiceEC2, testRegion, testAccessKey, testSecret, testNow, nil)
		}, ServiceEC2, ErrInvalidParameterValue("The parameter VpcId.1 is specified more than once.")},
		{"parameter in query and body", func(t *testing.T) *http.Request {
			return sdkSigned(t, "POST", "/?Action=DescribeLoadBalancers", "Action=DescribeLoadBalancers&Version=2015-12-01", ServiceELBv2, testRegion, testAccessKey, testSecret, testNow, nil)
		}, ServiceELBv2, ErrInvalidParameterValue("The parameter Action is specified more than once.")},
		{"bad escape in body", func(t *testing.T) *http.Request {
			return sdkSigned(t, "POST", "/", "Action=DescribeVpcs&Version=2016-11-15&VpcId.1=%zz", ServiceEC2, testRegion, testAccessKey, testSecret, testNow, nil)
		}, ServiceEC2, &Error{Code: "MalformedQueryString", Message: `Malformed form body: bad percent-escape in the value of "VpcId.1"`, Status: 400}},
		{"bad escape in query (before auth)", func(t *testing.T) *http.Request {
			return rawRequest(t, "GET", "/?Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.1=%G0", "")
		}, ServiceELBv2, &Error{Code: "MalformedQueryString", Message: `Malformed query string: bad percent-escape in the value of "Names.member.1"`, Status: 400}},
		{"invalid UTF-8", func(t *testing.T) *http.Request {
			return sdkSigned(t, "POST", "/", "Action=CreateTags&Version=2016-11-15&Tag.1.Value=%FF", ServiceEC2, testRegion, testAccessKey, testSecret, testNow, nil)
		}, ServiceEC2, &Error{Code: "MalformedQueryString", Message: `Malformed form body: the value of "Tag.1.Value" is not valid UTF-8`, Status: 400}},
		{"body too large", func(t *testing.T) *http.Request {
			return rawRequest(t, "POST", "/", big, "Content-Type: application/x-www-form-urlencoded")
		}, ServiceEC2, &Error{Code: "RequestEntityTooLarge", Message: "The request body must not be larger than 1048576 bytes.", Status: 413}},
		{"body too large, chunked", func(t *testing.T) *http.Request {
			r := rawRequest(t, "POST", "/?Version=2015-12-01", "")
			r.ContentLength = -1
			r.Body = io.NopCloser(strings.NewReader(big))
			return r
		}, ServiceELBv2, &Error{Code: "RequestEntityTooLarge", Message: "The request body must not be larger than 1048576 bytes.", Status: 413}},
		{"method", func(t *testing.T) *http.Request {
			return rawRequest(t, "PUT", "/?Action=DescribeVpcs", "")
		}, ServiceEC2, &Error{Code: "MethodNotAllowed", Message: "The HTTP method PUT is not supported; use POST or GET.", Status: 405}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			got, rid := env.serve(t, tc.req(t))
			if diff := cmp.Diff(wantError(tc.service, rid, tc.want), got); diff != "" {
				t.Errorf("ServeHTTP() mismatch (-want +got):\n%s", diff)
			}
			if len(env.ec2.reqs)+len(env.elb.reqs) != 0 {
				t.Errorf("a handler was called")
			}
		})
	}
}

func TestCredentialsLookupError(t *testing.T) {
	env := newTestEnv(t)
	env.srv.creds = failingCreds{}
	req := sdkSigned(t, "POST", "/", "Action=DescribeLoadBalancers&Version=2015-12-01", ServiceELBv2, testRegion, testAccessKey, testSecret, testNow, nil)
	got, rid := env.serve(t, req)
	if diff := cmp.Diff(wantError(ServiceELBv2, rid, ErrInternal()), got); diff != "" {
		t.Errorf("ServeHTTP() mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(env.logs.String(), "store unavailable") {
		t.Errorf("lookup error not logged:\n%s", env.logs)
	}
}

func TestRequestIDsAreFresh(t *testing.T) {
	env := newTestEnv(t)
	seen := map[string]bool{}
	for range 50 {
		_, rid := env.serve(t, rawRequest(t, "GET", "/?Action=DescribeVpcs", ""))
		if seen[rid] {
			t.Fatalf("request id %s repeated", rid)
		}
		seen[rid] = true
	}
}

func TestDebugLog(t *testing.T) {
	env := newTestEnv(t)
	req := sdkSigned(t, "POST", "/", "Action=DescribeVpcs&Version=2016-11-15", ServiceEC2, testRegion, testAccessKey, testSecret, testNow, nil)
	_, rid := env.serve(t, req)
	line := env.logs.String()
	for _, want := range []string{"api request", "request_id=" + rid, "service=ec2", "action=DescribeVpcs", "account=" + testAccount, "status=200", "duration="} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %q", line, want)
		}
	}
}

// TestOverTheWire runs the front behind a real net/http server and client:
// headers as sent on a socket, Host and Content-Length handling, one
// complete response.
func TestOverTheWire(t *testing.T) {
	env := newTestEnv(t)
	ts := httptest.NewServer(env.srv)
	defer ts.Close()
	u, _ := url.Parse(ts.URL)
	for _, tc := range []struct {
		name, method, target, body, service, action string
	}{
		{"POST ec2", "POST", "/", "Action=DescribeVpcs&Version=2016-11-15&VpcId.1=vpc-1", ServiceEC2, "DescribeVpcs"},
		{"GET elbv2", "GET", "/?Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.1=a%2Fb", "", ServiceELBv2, "DescribeLoadBalancers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := sdkRequest(t, tc.method, ts.URL+tc.target, tc.body)
			req.Host = u.Host
			signSDK(t, req, tc.body, tc.service, testRegion, testAccessKey, testSecret, testNow)
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			rid := resp.Header.Get("X-Amzn-RequestId")
			if diff := cmp.Diff(wantOK(tc.service, tc.action, rid), result{resp.StatusCode, string(body)}); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
			if resp.ContentLength != int64(len(body)) {
				t.Errorf("ContentLength = %d, want %d", resp.ContentLength, len(body))
			}
		})
	}
}

func TestNewServerPanicsOnMissingConfig(t *testing.T) {
	for _, cfg := range []ServerConfig{
		{Credentials: fakeCreds{}},
		{Region: testRegion},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewServer(%+v) did not panic", cfg)
				}
			}()
			NewServer(cfg)
		}()
	}
}
