package awsclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/awsclient"
)

const (
	accessKey = "AKIDEXAMPLE"
	secret    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	account   = "123456789012"
	region    = "us-east-1"
)

// TestSignVector checks Sign against the worked example of the AWS SigV4
// documentation (IAM ListUsers, signed with content-type;host;x-amz-date).
func TestSignVector(t *testing.T) {
	req, err := http.NewRequest(http.MethodGet, "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	awsclient.Sign(req, nil, awsclient.Credentials{AccessKeyID: accessKey, SecretAccessKey: secret}, "us-east-1", "iam",
		time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC))
	want := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, " +
		"SignedHeaders=content-type;host;x-amz-date, " +
		"Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
	if got := req.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization mismatch (-want +got):\n%s", cmp.Diff(want, got))
	}
	if got := req.Header.Get("X-Amz-Date"); got != "20150830T123600Z" {
		t.Errorf("X-Amz-Date = %q, want 20150830T123600Z", got)
	}
}

// xmlResponse is an awsapi.Response that writes a fixed document around the
// request id.
type xmlResponse string

func (x xmlResponse) MarshalResponse(requestID string) ([]byte, error) {
	return []byte(strings.ReplaceAll(string(x), "{id}", requestID)), nil
}

type creds map[string][2]string

func (c creds) LookupAccessKey(_ context.Context, id string) (string, string, bool, error) {
	v, ok := c[id]
	return v[0], v[1], ok, nil
}

// recorder answers every request of one service and remembers the last.
type recorder struct {
	mu   sync.Mutex
	last *awsapi.Request
	fn   func(*awsapi.Request) (awsapi.Response, error)
}

func (r *recorder) Handle(_ context.Context, req *awsapi.Request) (awsapi.Response, error) {
	r.mu.Lock()
	r.last = req
	r.mu.Unlock()
	return r.fn(req)
}

func (r *recorder) request() *awsapi.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// newServer runs privlink's real API front (SigV4 verification, routing,
// error envelopes) over handlers that answer what the tests ask for.
func newServer(t *testing.T) (url string, ec2, elb *recorder) {
	t.Helper()
	ec2 = &recorder{fn: func(req *awsapi.Request) (awsapi.Response, error) {
		switch req.Action {
		case "CreateVpc":
			return xmlResponse(`<?xml version="1.0" encoding="UTF-8"?>
<CreateVpcResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>{id}</requestId>
<vpc><vpcId>vpc-0123456789abcdef0</vpcId><state>pending</state><cidrBlock>10.0.0.0/16</cidrBlock>
<tagSet><item><key>Name</key><value>a &amp; b</value></item><item><key>env</key><value>demo</value></item></tagSet></vpc>
</CreateVpcResponse>`), nil
		case "DescribeVpcs":
			return nil, &awsapi.Error{Code: "InvalidVpcID.NotFound", Message: "The vpc ID 'vpc-1' does not exist", Status: http.StatusBadRequest}
		}
		return nil, awsapi.ErrInvalidAction(req.Action)
	}}
	elb = &recorder{fn: func(req *awsapi.Request) (awsapi.Response, error) {
		switch req.Action {
		case "DescribeLoadBalancers":
			return xmlResponse(`<DescribeLoadBalancersResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
<DescribeLoadBalancersResult><LoadBalancers>
<member><LoadBalancerArn>arn:a</LoadBalancerArn><State><Code>active</Code></State></member>
<member><LoadBalancerArn>arn:b</LoadBalancerArn><State><Code>provisioning</Code></State></member>
</LoadBalancers></DescribeLoadBalancersResult>
<ResponseMetadata><RequestId>{id}</RequestId></ResponseMetadata></DescribeLoadBalancersResponse>`), nil
		case "DeleteListener":
			return xmlResponse(`<DeleteListenerResponse><DeleteListenerResult/><ResponseMetadata><RequestId>{id}</RequestId></ResponseMetadata></DeleteListenerResponse>`), nil
		case "DeregisterTargets":
			return xmlResponse(`<DeregisterTargetsResponse><ResponseMetadata><RequestId>{id}</RequestId></ResponseMetadata></DeregisterTargetsResponse>`), nil
		}
		return nil, &awsapi.Error{Code: "LoadBalancerNotFound", Message: "One or more load balancers not found"}
	}}
	srv := httptest.NewServer(awsapi.NewServer(awsapi.ServerConfig{
		Region:      region,
		Credentials: creds{accessKey: {account, secret}},
		Handlers:    map[string]awsapi.Handler{awsapi.ServiceEC2: ec2, awsapi.ServiceELBv2: elb},
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ec2, elb
}

func newClient(t *testing.T, endpoint string, c awsclient.Credentials) *awsclient.Client {
	t.Helper()
	cl, err := awsclient.New(endpoint, region, c)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

var good = awsclient.Credentials{AccessKeyID: accessKey, SecretAccessKey: secret}

// TestSignedByServer sends requests whose parameters need every kind of
// escaping, to paths that need it too, and checks that the server's SigV4
// verifier accepts them and its handler gets the parameters unchanged.
func TestSignedByServer(t *testing.T) {
	base, ec2, _ := newServer(t)
	params := url.Values{
		"CidrBlock":                      {"10.0.0.0/16"},
		"TagSpecification.1.Tag.1.Key":   {"Name"},
		"TagSpecification.1.Tag.1.Value": {"a & b = c+d/é ~*'!"},
		"UserData":                       {"IyEvYmluL3NoCmVjaG8gaGk+Lw=="},
		"Empty":                          {""},
	}
	for _, path := range []string{"", "/", "/api/v1/", "/with space/ünï"} {
		t.Run(path, func(t *testing.T) {
			c := newClient(t, base+path, good)
			root, err := c.EC2(t.Context(), "CreateVpc", params)
			if err != nil {
				t.Fatalf("EC2(CreateVpc) error = %v", err)
			}
			if got := root.Value("vpc", "vpcId"); got != "vpc-0123456789abcdef0" {
				t.Errorf("vpc/vpcId = %q, want vpc-0123456789abcdef0", got)
			}
			req := ec2.request()
			if req.Caller.AccountID != account || req.Service != awsapi.ServiceEC2 {
				t.Errorf("server saw account %q service %q, want %s ec2", req.Caller.AccountID, req.Service, account)
			}
			want := awsapi.Params{}
			for k, v := range params {
				want[k] = v[0]
			}
			if diff := cmp.Diff(want, req.Params); diff != "" {
				t.Errorf("params mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResponses(t *testing.T) {
	base, _, _ := newServer(t)
	c := newClient(t, base, good)

	root, err := c.EC2(t.Context(), "CreateVpc", nil)
	if err != nil {
		t.Fatal(err)
	}
	if root.Name != "CreateVpcResponse" || root.Value("requestId") == "" {
		t.Errorf("root = %s with requestId %q, want CreateVpcResponse with a request id", root.Name, root.Value("requestId"))
	}
	if diff := cmp.Diff([]string{"a & b", "demo"}, root.Values("vpc", "tagSet", "item", "value")); diff != "" {
		t.Errorf("Values(tags) mismatch (-want +got):\n%s", diff)
	}
	if got := root.Get("vpc", "nope", "deeper"); got != nil {
		t.Errorf("Get(missing path) = %+v, want nil", got)
	}
	if got := root.Value("vpc", "nope", "deeper"); got != "" {
		t.Errorf("Value(missing path) = %q, want empty", got)
	}

	res, err := c.ELBv2(t.Context(), "DescribeLoadBalancers", nil)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, lb := range res.All("LoadBalancers", "member") {
		states = append(states, lb.Value("LoadBalancerArn")+"="+lb.Value("State", "Code"))
	}
	if diff := cmp.Diff([]string{"arn:a=active", "arn:b=provisioning"}, states); diff != "" {
		t.Errorf("load balancers mismatch (-want +got):\n%s", diff)
	}
	for _, action := range []string{"DeleteListener", "DeregisterTargets"} {
		res, err := c.ELBv2(t.Context(), action, nil)
		if err != nil {
			t.Fatalf("ELBv2(%s) error = %v", action, err)
		}
		if res.Name != action+"Result" || len(res.Children) != 0 {
			t.Errorf("ELBv2(%s) = %+v, want an empty %sResult", action, res, action)
		}
	}
}

// TestErrors checks that both error envelopes, as the server writes them,
// come back as *Error with their code and message.
func TestErrors(t *testing.T) {
	base, _, _ := newServer(t)
	tests := []struct {
		name    string
		creds   awsclient.Credentials
		service string
		action  string
		want    awsclient.Error
	}{
		{
			name: "ec2", creds: good, service: awsclient.ServiceEC2, action: "DescribeVpcs",
			want: awsclient.Error{Service: "ec2", Action: "DescribeVpcs", StatusCode: 400, Code: "InvalidVpcID.NotFound", Message: "The vpc ID 'vpc-1' does not exist"},
		},
		{
			name: "elbv2", creds: good, service: awsclient.ServiceELBv2, action: "DescribeTargetGroups",
			want: awsclient.Error{Service: "elasticloadbalancing", Action: "DescribeTargetGroups", StatusCode: 400, Code: "LoadBalancerNotFound", Message: "One or more load balancers not found"},
		},
		{
			name: "ec2 wrong secret", creds: awsclient.Credentials{AccessKeyID: accessKey, SecretAccessKey: "nope"}, service: awsclient.ServiceEC2, action: "CreateVpc",
			want: awsclient.Error{Service: "ec2", Action: "CreateVpc", StatusCode: 403, Code: "SignatureDoesNotMatch",
				Message: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."},
		},
		{
			name: "ec2 unknown key", creds: awsclient.Credentials{AccessKeyID: "AKIDUNKNOWN", SecretAccessKey: secret}, service: awsclient.ServiceEC2, action: "CreateVpc",
			want: awsclient.Error{Service: "ec2", Action: "CreateVpc", StatusCode: 401, Code: "AuthFailure", Message: "AWS was not able to validate the provided access credentials"},
		},
		{
			name: "elbv2 unknown key", creds: awsclient.Credentials{AccessKeyID: "AKIDUNKNOWN", SecretAccessKey: secret}, service: awsclient.ServiceELBv2, action: "DescribeLoadBalancers",
			want: awsclient.Error{Service: "elasticloadbalancing", Action: "DescribeLoadBalancers", StatusCode: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newClient(t, base, tt.creds).Do(t.Context(), tt.service, tt.action, nil)
			e, ok := errors.AsType[*awsclient.Error](err)
			if !ok {
				t.Fatalf("Do() error = %v, want an *awsclient.Error", err)
			}
			if e.RequestID == "" {
				t.Error("Error.RequestID is empty")
			}
			e.RequestID = ""
			if diff := cmp.Diff(tt.want, *e); diff != "" {
				t.Errorf("Do() error mismatch (-want +got):\n%s", diff)
			}
			if got := awsclient.ErrorCode(fmt.Errorf("wrapped: %w", err)); got != tt.want.Code {
				t.Errorf("ErrorCode(wrapped) = %q, want %q", got, tt.want.Code)
			}
		})
	}
}

// TestErrorBodies covers answers that do not come from privlink's front: a
// proxy's page, an empty body, and a 200 that is not XML.
func TestErrorBodies(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr string
	}{
		{name: "html", status: 502, body: "<html><body>Bad Gateway</body></html>", wantErr: "ec2 CreateVpc: HTTP502: <html><body>Bad Gateway</body></html>"},
		{name: "empty", status: 503, body: "", wantErr: "ec2 CreateVpc: HTTP503: Service Unavailable"},
		{name: "ec2 envelope", status: 503, body: `<Response><Errors><Error><Code>Unavailable</Code><Message>Try again.</Message></Error></Errors><RequestID>r-1</RequestID></Response>`, wantErr: "ec2 CreateVpc: Unavailable: Try again."},
		{name: "not xml", status: 200, body: "ok", wantErr: "ec2 CreateVpc: parse XML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			_, err := newClient(t, srv.URL, good).EC2(t.Context(), "CreateVpc", nil)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("EC2() error = %v, want one starting %q", err, tt.wantErr)
			}
		})
	}
}

func TestLists(t *testing.T) {
	v := url.Values{}
	awsclient.AddList(v, "SubnetId", "subnet-a", "subnet-b")
	awsclient.AddMembers(v, "Subnets", "subnet-c")
	awsclient.AddList(v, "SecurityGroupId")
	want := url.Values{"SubnetId.1": {"subnet-a"}, "SubnetId.2": {"subnet-b"}, "Subnets.member.1": {"subnet-c"}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("lists mismatch (-want +got):\n%s", diff)
	}
}

func TestNew(t *testing.T) {
	for _, ep := range []string{"127.0.0.1:4566", "ftp://x", "http://", "::"} {
		if _, err := awsclient.New(ep, region, good); err == nil {
			t.Errorf("New(%q) succeeded, want an error", ep)
		}
	}
	if _, err := awsclient.New("http://127.0.0.1:4566", "", good); err == nil {
		t.Error("New without a region succeeded, want an error")
	}
}
