package awsclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The services the client speaks: SigV4 signing names and API versions.
const (
	ServiceEC2   = "ec2"
	ServiceELBv2 = "elasticloadbalancing"
	VersionEC2   = "2016-11-15"
	VersionELBv2 = "2015-12-01"
)

// maxResponseBytes bounds the body the client reads.
const maxResponseBytes = 32 << 20

// Error is an AWS error answer: the Code and Message of its error envelope
// (EC2's Response/Errors/Error or the query protocol's ErrorResponse/Error)
// and the HTTP status.
type Error struct {
	Service    string // ServiceEC2 or ServiceELBv2
	Action     string
	StatusCode int
	Code       string
	Message    string
	RequestID  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", e.Service, e.Action, e.Code, e.Message)
}

// ErrorCode returns the Code of the *Error in err's chain, or "".
func ErrorCode(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return ""
}

// Client calls the EC2 and ELBv2 APIs at one endpoint as one account.
type Client struct {
	endpoint *url.URL
	region   string
	creds    Credentials
	hc       *http.Client
	now      func() time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the HTTP client (default: one with a 60 s timeout).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithClock replaces the clock that dates signatures.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// New returns a client for the API at endpoint ("http://127.0.0.1:4566")
// that signs for region with creds.
func New(endpoint, region string, creds Credentials, opts ...Option) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q: want http://host:port or https://host:port", endpoint)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	if region == "" {
		return nil, errors.New("no region")
	}
	c := &Client{endpoint: u, region: region, creds: creds, hc: &http.Client{Timeout: 60 * time.Second}, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Endpoint returns the endpoint URL the client calls.
func (c *Client) Endpoint() string { return c.endpoint.String() }

// EC2 calls an EC2 action and returns the root element of its answer
// (<ActionResponse>).
func (c *Client) EC2(ctx context.Context, action string, params url.Values) (*Node, error) {
	return c.Do(ctx, ServiceEC2, action, params)
}

// ELBv2 calls an ELBv2 action and returns its <ActionResult> element
// (an empty node named so if the answer has none).
func (c *Client) ELBv2(ctx context.Context, action string, params url.Values) (*Node, error) {
	root, err := c.Do(ctx, ServiceELBv2, action, params)
	if err != nil {
		return nil, err
	}
	if r := root.Child(action + "Result"); r != nil {
		return r, nil
	}
	return &Node{Name: action + "Result"}, nil
}

// Do posts action with params to service ("ec2" or "elasticloadbalancing")
// and returns the root element of the answer. An error envelope becomes an
// *Error; a transport failure or an answer that is not XML, an error that
// says what was called.
func (c *Client) Do(ctx context.Context, service, action string, params url.Values) (*Node, error) {
	var version string
	switch service {
	case ServiceEC2:
		version = VersionEC2
	case ServiceELBv2:
		version = VersionELBv2
	default:
		return nil, fmt.Errorf("unknown service %q", service)
	}
	form := url.Values{}
	for k, vs := range params {
		form[k] = vs
	}
	form.Set("Action", action)
	form.Set("Version", version)
	body := []byte(form.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", service, action, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	Sign(req, body, c.creds, c.region, service, c.now())
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", service, action, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", service, action, err)
	}
	root, perr := ParseXML(bytes.NewReader(b))
	if resp.StatusCode/100 != 2 {
		return nil, parseError(service, action, resp.StatusCode, root, b)
	}
	if perr != nil {
		return nil, fmt.Errorf("%s %s: %w", service, action, perr)
	}
	return root, nil
}

// parseError turns a non-2xx answer into an *Error. Both envelopes keep
// Code and Message in an <Error> element (EC2 under Errors, the query
// protocol under ErrorResponse); the request id is RequestID in EC2's and
// RequestId in the query protocol's.
func parseError(service, action string, status int, root *Node, body []byte) *Error {
	e := &Error{Service: service, Action: action, StatusCode: status}
	if el := root.find("Error"); el != nil {
		e.Code, e.Message = el.Value("Code"), el.Value("Message")
	}
	if id := root.find("RequestID"); id != nil {
		e.RequestID = id.Text
	} else if id := root.find("RequestId"); id != nil {
		e.RequestID = id.Text
	}
	if e.Code == "" {
		e.Code = "HTTP" + strconv.Itoa(status)
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
		if e.Message == "" {
			e.Message = http.StatusText(status)
		}
	}
	return e
}

// AddList adds the items of an EC2 list parameter: prefix.1, prefix.2, …
// (SubnetId.1). An empty list adds nothing.
func AddList(params url.Values, prefix string, items ...string) {
	for i, v := range items {
		params.Set(prefix+"."+strconv.Itoa(i+1), v)
	}
}

// AddMembers adds the items of a query-protocol (ELBv2) list parameter:
// prefix.member.1, prefix.member.2, … (Subnets.member.1).
func AddMembers(params url.Values, prefix string, items ...string) {
	for i, v := range items {
		params.Set(prefix+".member."+strconv.Itoa(i+1), v)
	}
}
