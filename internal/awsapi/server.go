package awsapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/privlink/privlink/internal/sigv4"
)

// MaxBodyBytes is the largest request body the front reads; a larger one is
// answered with RequestEntityTooLarge (413).
const MaxBodyBytes = 1 << 20

// ServerConfig configures a Server.
type ServerConfig struct {
	// Region is the region this server is: a credential scope naming
	// another region is refused. Required.
	Region string
	// Credentials resolves access keys. Required.
	Credentials Credentials
	// Handlers serve the APIs, keyed by signing name: ServiceEC2 ("ec2")
	// and ServiceELBv2 ("elasticloadbalancing"). A request signed for a
	// service without a handler is refused.
	Handlers map[string]Handler
	// Logger receives a debug record per request and an error record per
	// internal error. nil discards.
	Logger *slog.Logger
	// Now is the clock for signature expiry. nil means time.Now.
	Now func() time.Time
}

// Server is the HTTP front of the EC2 and ELBv2 Query APIs, both on one
// port: POST / with a form body or GET /?Action=…. It verifies SigV4 (the
// Authorization header or a presigned query), routes by the credential
// scope's service, decodes the parameters into a Request and writes the
// Handler's Response or error. Every response carries a fresh request id.
type Server struct {
	region   string
	creds    Credentials
	handlers map[string]Handler
	log      *slog.Logger
	now      func() time.Time
	// newRequestID is replaced by tests that need fixed ids.
	newRequestID func() string
}

// NewServer returns a Server for cfg. It panics if cfg lacks a Region or
// Credentials, which is a programming error.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Region == "" {
		panic("awsapi: ServerConfig.Region is empty")
	}
	if cfg.Credentials == nil {
		panic("awsapi: ServerConfig.Credentials is nil")
	}
	s := &Server{
		region:       cfg.Region,
		creds:        cfg.Credentials,
		handlers:     map[string]Handler{},
		log:          cfg.Logger,
		now:          cfg.Now,
		newRequestID: newRequestID,
	}
	for name, h := range cfg.Handlers {
		if h != nil {
			s.handlers[name] = h
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// call is the state of one request as it goes through the front.
type call struct {
	r         *http.Request
	requestID string
	formBody  []byte // the body, if it is form-encoded; for envelope guessing
	envelope  string // the service whose error envelope to use; "" until known
	service   string // the verified service
	action    string
	account   string
	status    int
	body      []byte
	code      string // error code, for the log
}

// envelopeService returns the service whose error envelope the call uses.
// Before authentication it is guessed: the credential scope's service if it
// parses, else the API Version.
func (c *call) envelopeService() string {
	if c.envelope == "" {
		c.envelope = guessService(c.r, c.formBody)
	}
	return c.envelope
}

// fail sets the response to e in the call's error envelope.
func (c *call) fail(e *Error) {
	c.status, c.body = errorResponse(c.envelopeService(), c.requestID, e)
	c.code = e.Code
}

// ServeHTTP serves one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c := &call{r: r, requestID: s.newRequestID()}
	func() {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.LogAttrs(r.Context(), slog.LevelError, "api panic",
				slog.String("request_id", c.requestID), slog.String("service", c.service),
				slog.String("action", truncate(c.action)), slog.Any("panic", p),
				slog.String("stack", string(debug.Stack())))
			c.fail(ErrInternal())
		}()
		s.serve(r, c)
	}()
	if c.status == 0 {
		s.log.LogAttrs(r.Context(), slog.LevelError, "api front produced no response", slog.String("request_id", c.requestID))
		c.fail(ErrInternal())
	}
	writeXML(w, c.status, c.requestID, c.body)
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "api request",
			slog.String("request_id", c.requestID), slog.String("service", c.service),
			slog.String("action", truncate(c.action)), slog.String("account", c.account),
			slog.Int("status", c.status), slog.String("code", c.code),
			slog.Duration("duration", time.Since(start)))
	}
}

// serve fills in c's response. Order: read the body (hashing needs it
// whole), decode the URL query (the canonical request needs it), verify the
// signature, and only then decode the body and look at the parameters, so
// an unauthenticated client learns nothing about them.
func (s *Server) serve(r *http.Request, c *call) {
	ctx := r.Context()
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		c.fail(&Error{Code: "MethodNotAllowed", Message: fmt.Sprintf("The HTTP method %s is not supported; use POST or GET.", truncate(r.Method)), Status: http.StatusMethodNotAllowed})
		return
	}
	body, e := readBody(r)
	if e != nil {
		c.fail(e)
		return
	}
	form := isFormBody(r)
	if form {
		c.formBody = body
	}
	query, err := decodeForm(r.URL.RawQuery)
	if err != nil {
		c.fail(&Error{Code: "MalformedQueryString", Message: "Malformed query string: " + err.Error(), Status: http.StatusBadRequest})
		return
	}

	caller, service, err := s.authenticate(ctx, r, query, body, c.formBody)
	if err != nil {
		var ae *authError
		if errors.As(err, &ae) {
			c.fail(ae.forService(c.envelopeService()))
			return
		}
		s.log.LogAttrs(ctx, slog.LevelError, "api authentication", slog.String("request_id", c.requestID), slog.Any("error", err))
		c.fail(ErrInternal())
		return
	}
	c.envelope, c.service, c.account = service, service, caller.AccountID

	var bodyParams []param
	if form {
		if bodyParams, err = decodeForm(string(body)); err != nil {
			c.fail(&Error{Code: "MalformedQueryString", Message: "Malformed form body: " + err.Error(), Status: http.StatusBadRequest})
			return
		}
	}
	params, action, _, e := buildParams(query, bodyParams)
	c.action = action
	if e != nil {
		c.fail(e)
		return
	}
	if action == "" {
		c.fail(&Error{Code: "MissingAction", Message: "The request must contain the parameter Action.", Status: http.StatusBadRequest})
		return
	}

	resp, err := s.handlers[service].Handle(ctx, &Request{
		Service:   service,
		Action:    action,
		Params:    params,
		Caller:    caller,
		RequestID: c.requestID,
		Region:    s.region,
	})
	if err != nil {
		var ae *Error
		if errors.As(err, &ae) && ae != nil {
			c.fail(ae)
			return
		}
		s.log.LogAttrs(ctx, slog.LevelError, "api handler", slog.String("request_id", c.requestID),
			slog.String("service", service), slog.String("action", truncate(action)), slog.Any("error", err))
		c.fail(ErrInternal())
		return
	}
	if resp == nil {
		s.log.LogAttrs(ctx, slog.LevelError, "api handler returned neither a response nor an error",
			slog.String("request_id", c.requestID), slog.String("service", service), slog.String("action", truncate(action)))
		c.fail(ErrInternal())
		return
	}
	out, err := resp.MarshalResponse(c.requestID)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "api marshal response", slog.String("request_id", c.requestID),
			slog.String("service", service), slog.String("action", truncate(action)), slog.Any("error", err))
		c.fail(ErrInternal())
		return
	}
	c.status, c.body = http.StatusOK, out
}

// readBody reads the whole body, up to MaxBodyBytes.
func readBody(r *http.Request) ([]byte, *Error) {
	tooLarge := &Error{Code: "RequestEntityTooLarge", Message: fmt.Sprintf("The request body must not be larger than %d bytes.", MaxBodyBytes), Status: http.StatusRequestEntityTooLarge}
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge
	}
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, &Error{Code: "IncompleteBody", Message: "The request body could not be read in full.", Status: http.StatusBadRequest}
	}
	if len(b) > MaxBodyBytes {
		return nil, tooLarge
	}
	return b, nil
}

// isFormBody reports whether the body holds form parameters: its
// Content-Type is application/x-www-form-urlencoded (any parameters) or
// absent. Other bodies are still signed over but not decoded.
func isFormBody(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return (err == nil || errors.Is(err, mime.ErrInvalidMediaParameter)) && mt == "application/x-www-form-urlencoded"
}

// guessService picks the error envelope for a request whose service is not
// verified: the credential scope's service if it parses and is one of ours,
// else ELBv2 for Version=2015-12-01 and EC2 for anything else.
func guessService(r *http.Request, formBody []byte) string {
	if svc := scopeServiceHint(r); svc == ServiceEC2 || svc == ServiceELBv2 {
		return svc
	}
	return versionService(r, formBody)
}

// versionService maps the request's Version parameter to a service.
func versionService(r *http.Request, formBody []byte) string {
	v := lenientLookup(r.URL.RawQuery, "Version")
	if v == "" && len(formBody) > 0 {
		v = lenientLookup(string(formBody), "Version")
	}
	if v == VersionELBv2 {
		return ServiceELBv2
	}
	return ServiceEC2
}

// scopeServiceHint returns the service of the credential scope of r, if one
// parses, without verifying anything.
func scopeServiceHint(r *http.Request) string {
	cred := lenientLookup(r.URL.RawQuery, qCredential)
	if cred == "" {
		h := r.Header.Get("Authorization")
		i := strings.Index(h, "Credential=")
		if i < 0 {
			return ""
		}
		cred, _, _ = strings.Cut(h[i+len("Credential="):], ",")
		cred = strings.TrimSpace(cred)
	}
	c, err := parseCredential(cred)
	if err != nil {
		return ""
	}
	return c.Service
}

// authenticate verifies the SigV4 signature of r and returns the caller and
// the service it signed for. Authentication failures are *authError; any
// other error is internal.
func (s *Server) authenticate(ctx context.Context, r *http.Request, query []param, body, formBody []byte) (Caller, string, error) {
	fail := func(kind authFailure, format string, args ...any) (Caller, string, error) {
		return Caller{}, "", &authError{kind: kind, msg: fmt.Sprintf(format, args...)}
	}
	hdr := r.Header.Values("Authorization")
	pre := isPresigned(query)
	switch {
	case len(hdr) == 0 && !pre:
		return fail(authMissing, "")
	case len(hdr) > 0 && pre:
		return fail(authIncomplete, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
	case len(hdr) > 1:
		return fail(authIncomplete, "The Authorization header is specified more than once.")
	}

	var (
		a       authorization
		amzDate string
		t       time.Time
		expires int64 = -1
	)
	if pre {
		p, err := parsePresigned(query)
		if err != nil {
			return fail(authIncomplete, "%s", err)
		}
		a, amzDate, expires = p.authorization, p.AmzDate, p.Expires
		t, _ = parseAmzDate(amzDate) // validated by parsePresigned
	} else {
		var err error
		if a, err = parseAuthorization(hdr[0]); err != nil {
			return fail(authIncomplete, "%s", err)
		}
		if amzDate, t, err = headerDate(r); err != nil {
			return fail(authIncomplete, "%s", err)
		}
	}

	c := a.Credential
	if _, ok := s.handlers[c.Service]; !ok {
		return fail(authScope, "Credential should be scoped to correct service: '%s'.", versionService(r, formBody))
	}
	if c.Region != s.region {
		return fail(authScope, "Credential should be scoped to a valid region, not '%s'.", truncate(c.Region))
	}
	if c.Date != amzDate[:len(scopeDateLayout)] {
		return fail(authScope, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			c.Date, amzDate[:len(scopeDateLayout)], amzDate)
	}
	if msg := checkTime(s.now(), t, amzDate, expires); msg != "" {
		return fail(authExpired, "%s", msg)
	}

	account, secret, found, err := s.creds.LookupAccessKey(ctx, c.AccessKeyID)
	if err != nil {
		return Caller{}, "", fmt.Errorf("look up access key %s: %w", c.AccessKeyID, err)
	}
	if !found {
		return fail(authUnknownKey, "")
	}

	declared := r.Header.Values("X-Amz-Content-Sha256")
	hashes, ok := payloadHashes(strings.Join(declared, ","), len(declared) > 0, pre, body)
	if !ok {
		return fail(authMismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	if !signatureMatches(sigv4.SigningKey(secret, c.Date, c.Region, c.Service), a.Signature, amzDate, a, signatureMethods(r.Method, pre),
		sigv4.CanonicalURI(r.URL.EscapedPath()), canonicalQuery(query, pre),
		canonicalHeaders(r, a.SignedHeaders), hashes) {
		return fail(authMismatch, "")
	}
	return Caller{AccountID: account, AccessKeyID: c.AccessKeyID}, c.Service, nil
}

// headerDate returns the request time of a header-signed request: the
// X-Amz-Date header, or else the Date header (as the SigV4 spec allows;
// botocore signs it when a request already has one),
// with the timestamp string that the string to sign uses.
func headerDate(r *http.Request) (string, time.Time, error) {
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		t, err := parseAmzDate(v)
		return v, t, err
	}
	if v := r.Header.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			// botocore's formatdate writes "-0000" rather than "GMT".
			t, err = time.Parse(time.RFC1123Z, v)
		}
		if err != nil {
			return "", time.Time{}, fmt.Errorf("Date must be in RFC 1123 format, got '%s'", truncate(v))
		}
		t = t.UTC()
		return t.Format(amzDateLayout), t, nil
	}
	return "", time.Time{}, errors.New("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
}

// checkTime returns why a request signed at t is not valid at now, or "".
// A request may be at most 15 minutes early; it expires 15 minutes after t,
// or X-Amz-Expires seconds after t for a presigned URL that sets it. The
// messages are the query protocol's (EC2 only says "Request has expired.").
func checkTime(now, t time.Time, amzDate string, expires int64) string {
	now = now.UTC()
	f := func(t time.Time) string { return t.Format(amzDateLayout) }
	if t.After(now.Add(maxClockSkew)) {
		return fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)", amzDate, f(now.Add(maxClockSkew)), f(now))
	}
	if expires >= 0 {
		if d := time.Duration(expires) * time.Second; now.After(t.Add(d)) {
			return fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %d sec.)", amzDate, f(now.Add(-d)), f(now), expires)
		}
		return ""
	}
	if t.Before(now.Add(-maxClockSkew)) {
		return fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)", amzDate, f(now.Add(-maxClockSkew)), f(now))
	}
	return ""
}
