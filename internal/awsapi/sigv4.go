package awsapi

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/privlink/privlink/internal/sigv4"
)

// SigV4 wire constants.
const (
	sigV4Algorithm    = sigv4.Algorithm
	amzDateLayout     = "20060102T150405Z"
	scopeDateLayout   = "20060102"
	scopeTerminator   = sigv4.ScopeTerminator
	unsignedPayload   = "UNSIGNED-PAYLOAD"
	maxClockSkew      = 15 * time.Minute
	maxPresignExpires = 7 * 24 * 60 * 60 // seconds, as for every AWS presigned URL
)

// Names of the SigV4 query (presigned URL) parameters.
const (
	qAlgorithm     = "X-Amz-Algorithm"
	qCredential    = "X-Amz-Credential"
	qDate          = "X-Amz-Date"
	qExpires       = "X-Amz-Expires"
	qSignedHeaders = "X-Amz-SignedHeaders"
	qSignature     = "X-Amz-Signature"
)

// credential is the Credential element of a signature:
// <access key>/<YYYYMMDD>/<region>/<service>/aws4_request.
type credential struct {
	AccessKeyID string
	Date        string // YYYYMMDD
	Region      string
	Service     string
}

// scope returns the credential scope: date/region/service/aws4_request.
func (c credential) scope() string {
	return sigv4.Scope(c.Date, c.Region, c.Service)
}

// String returns the credential as it appears on the wire.
func (c credential) String() string { return c.AccessKeyID + "/" + c.scope() }

// parseCredential parses a Credential value. Messages follow AWS's.
func parseCredential(s string) (credential, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 5 {
		return credential{}, fmt.Errorf("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", truncate(s))
	}
	c := credential{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}
	switch {
	case c.AccessKeyID == "":
		return credential{}, fmt.Errorf("Credential has an empty access key id: '%s'", truncate(s))
	case !validScopeDate(c.Date):
		return credential{}, fmt.Errorf("Credential should be scoped to a valid date in the format YYYYMMDD, not '%s'.", truncate(c.Date))
	case c.Region == "":
		return credential{}, errors.New("Credential should be scoped to a valid region, not ''.")
	case c.Service == "":
		return credential{}, errors.New("Credential should be scoped to correct service, not ''.")
	case parts[4] != scopeTerminator:
		return credential{}, fmt.Errorf("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", truncate(parts[4]))
	}
	return c, nil
}

func validScopeDate(s string) bool {
	if len(s) != len(scopeDateLayout) {
		return false
	}
	t, err := time.Parse(scopeDateLayout, s)
	return err == nil && t.Format(scopeDateLayout) == s
}

// parseAmzDate parses an X-Amz-Date value strictly (ISO 8601 basic format,
// UTC).
func parseAmzDate(s string) (time.Time, error) {
	t, err := time.Parse(amzDateLayout, s)
	if err != nil || t.Format(amzDateLayout) != s {
		return time.Time{}, fmt.Errorf("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", got '%s'", truncate(s))
	}
	return t, nil
}

// authorization is the part of a SigV4 signature shared by the
// Authorization header and presigned URLs. The algorithm is always
// AWS4-HMAC-SHA256: nothing else is accepted.
type authorization struct {
	Credential    credential
	SignedHeaders []string // as sent: lower-case names, in the client's order
	Signature     string   // 64 hex digits
}

// String formats a as an Authorization header value, as the AWS SDKs do.
func (a authorization) String() string {
	return sigV4Algorithm + " Credential=" + a.Credential.String() +
		", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") +
		", Signature=" + a.Signature
}

// parseAuthorization parses an Authorization header of the form
// "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…". Components
// may be separated by "," or ", " and come in any order; each must appear
// exactly once and no other may appear. Errors carry AWS's messages and
// become IncompleteSignature.
func parseAuthorization(h string) (authorization, error) {
	h = strings.TrimSpace(h)
	i := strings.IndexAny(h, " \t")
	if i < 0 {
		if h == sigV4Algorithm {
			return authorization{}, errors.New("Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.")
		}
		return authorization{}, fmt.Errorf("Unsupported AWS 'algorithm': '%s'", truncate(h))
	}
	alg, rest := h[:i], h[i+1:]
	if alg != sigV4Algorithm {
		return authorization{}, fmt.Errorf("Unsupported AWS 'algorithm': '%s'", truncate(alg))
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for comp := range strings.SplitSeq(rest, ",") {
		comp = strings.TrimSpace(comp)
		if comp == "" {
			continue
		}
		k, v, ok := strings.Cut(comp, "=")
		if !ok {
			return authorization{}, fmt.Errorf("Authorization header format error: '%s' is not a key=value pair", truncate(comp))
		}
		var dst *string
		var seen *bool
		switch k {
		case "Credential":
			dst, seen = &cred, &haveCred
		case "SignedHeaders":
			dst, seen = &signed, &haveSigned
		case "Signature":
			dst, seen = &sig, &haveSig
		default:
			return authorization{}, fmt.Errorf("Authorization header has an unknown component '%s'", truncate(k))
		}
		if *seen {
			return authorization{}, fmt.Errorf("Authorization header has a repeated component '%s'", k)
		}
		*dst, *seen = v, true
	}
	var missing strings.Builder
	for _, m := range []struct {
		name string
		have bool
	}{{"Credential", haveCred}, {"Signature", haveSig}, {"SignedHeaders", haveSigned}} {
		if !m.have {
			fmt.Fprintf(&missing, "Authorization header requires '%s' parameter. ", m.name)
		}
	}
	if missing.Len() > 0 {
		return authorization{}, fmt.Errorf("%s", strings.TrimSpace(missing.String()))
	}
	return newAuthorization(cred, signed, sig)
}

// newAuthorization validates the three components common to both forms of
// a signature.
func newAuthorization(cred, signed, sig string) (authorization, error) {
	c, err := parseCredential(cred)
	if err != nil {
		return authorization{}, err
	}
	names, err := parseSignedHeaders(signed)
	if err != nil {
		return authorization{}, err
	}
	if len(sig) != sha256.Size*2 {
		return authorization{}, fmt.Errorf("Signature must be %d hexadecimal digits, got %d characters", sha256.Size*2, len(sig))
	}
	if _, err := hex.DecodeString(sig); err != nil {
		return authorization{}, fmt.Errorf("Signature must be hexadecimal, got '%s'", truncate(sig))
	}
	return authorization{Credential: c, SignedHeaders: names, Signature: sig}, nil
}

// parseSignedHeaders parses the ';'-separated SignedHeaders list. The list is
// kept as sent (the canonical request repeats it verbatim); it must name each
// header once and include host, as AWS requires.
func parseSignedHeaders(s string) ([]string, error) {
	if s == "" {
		return nil, errors.New("SignedHeaders must not be empty; 'host' must be a signed header")
	}
	names := strings.Split(s, ";")
	haveHost := false
	for i, n := range names {
		if n == "" {
			return nil, fmt.Errorf("SignedHeaders has an empty header name: '%s'", truncate(s))
		}
		for _, prev := range names[:i] {
			if strings.EqualFold(prev, n) {
				return nil, fmt.Errorf("SignedHeaders names '%s' more than once", truncate(n))
			}
		}
		haveHost = haveHost || strings.EqualFold(n, "host")
	}
	if !haveHost {
		return nil, errors.New("'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return names, nil
}

// presigned is the SigV4 authentication of a presigned URL.
type presigned struct {
	authorization
	AmzDate string // X-Amz-Date, validated
	Expires int64  // X-Amz-Expires in seconds; -1 when absent
}

// isPresigned reports whether a query string carries SigV4 query
// authentication.
func isPresigned(query []param) bool {
	for _, p := range query {
		switch p.Name {
		case qAlgorithm, qCredential, qSignature:
			return true
		}
	}
	return false
}

// parsePresigned reads the X-Amz-* authentication parameters of a presigned
// URL from its decoded query. X-Amz-Expires is optional (without it the
// request gets the ordinary ±15 minute window).
func parsePresigned(query []param) (presigned, error) {
	vals := map[string]string{}
	for _, p := range query {
		switch p.Name {
		case qAlgorithm, qCredential, qDate, qExpires, qSignedHeaders, qSignature:
			if _, dup := vals[p.Name]; dup {
				return presigned{}, fmt.Errorf("The query-string parameter '%s' is specified more than once.", p.Name)
			}
			vals[p.Name] = p.Value
		}
	}
	for _, name := range []string{qAlgorithm, qCredential, qSignature, qDate, qSignedHeaders} {
		if _, ok := vals[name]; !ok {
			return presigned{}, errors.New("AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.")
		}
	}
	if alg := vals[qAlgorithm]; alg != sigV4Algorithm {
		return presigned{}, fmt.Errorf("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\", not '%s'", truncate(alg))
	}
	if _, err := parseAmzDate(vals[qDate]); err != nil {
		return presigned{}, err
	}
	p := presigned{AmzDate: vals[qDate], Expires: -1}
	if e, ok := vals[qExpires]; ok {
		n, err := parseExpires(e)
		if err != nil {
			return presigned{}, err
		}
		p.Expires = n
	}
	a, err := newAuthorization(vals[qCredential], vals[qSignedHeaders], vals[qSignature])
	if err != nil {
		return presigned{}, err
	}
	p.authorization = a
	return p, nil
}

func parseExpires(s string) (int64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("X-Amz-Expires should be a number of seconds, not '%s'", truncate(s))
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxPresignExpires {
		return 0, fmt.Errorf("X-Amz-Expires must be less than a week (in seconds) that is %d", maxPresignExpires)
	}
	return n, nil
}

// params returns p as query parameters, the inverse of parsePresigned.
func (p presigned) params() []param {
	ps := []param{
		{qAlgorithm, sigV4Algorithm},
		{qCredential, p.Credential.String()},
		{qDate, p.AmzDate},
	}
	if p.Expires >= 0 {
		ps = append(ps, param{qExpires, strconv.FormatInt(p.Expires, 10)})
	}
	return append(ps,
		param{qSignedHeaders, strings.Join(p.SignedHeaders, ";")},
		param{qSignature, p.Signature},
	)
}

// canonicalQuery encodes the decoded query parameters as SigV4 requires:
// names and values URI-encoded, then sorted by name and value (after
// encoding). X-Amz-Signature is left out when presigned is set.
func canonicalQuery(query []param, presigned bool) string {
	enc := make([]param, 0, len(query))
	for _, p := range query {
		if presigned && p.Name == qSignature {
			continue
		}
		enc = append(enc, param{sigv4.URIEncode(p.Name, false), sigv4.URIEncode(p.Value, false)})
	}
	slices.SortFunc(enc, func(a, b param) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Value, b.Value))
	})
	var b strings.Builder
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.Name)
		b.WriteByte('=')
		b.WriteString(p.Value)
	}
	return b.String()
}

// canonicalHeaders renders the signed headers of r, one "name:value\n" line
// each in the order of names. host is r.Host (net/http moves the Host header
// there); repeated headers are joined with ','; values are trimmed and runs
// of spaces collapsed.
func canonicalHeaders(r *http.Request, names []string) string {
	var b strings.Builder
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic order if a name arrived in two spellings
	for _, name := range names {
		b.WriteString(name)
		b.WriteByte(':')
		var vals []string
		switch lname := strings.ToLower(name); lname {
		case "host":
			vals = []string{r.Host}
		default:
			for _, k := range keys {
				if strings.EqualFold(k, lname) {
					vals = append(vals, r.Header[k]...)
				}
			}
			if len(vals) == 0 && lname == "transfer-encoding" {
				vals = r.TransferEncoding // net/http removes the header
			}
		}
		for i, v := range vals {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(trimAll(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// trimAll trims spaces and tabs around v and collapses inner runs of spaces
// to one (the SigV4 "Trimall").
func trimAll(v string) string {
	v = strings.Trim(v, " \t")
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	space := false
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// isUnsignedPayload reports whether an X-Amz-Content-Sha256 value declares
// the body unsigned.
func isUnsignedPayload(v string) bool {
	return strings.HasPrefix(v, unsignedPayload) || strings.HasPrefix(v, "STREAMING-UNSIGNED-PAYLOAD")
}

// payloadHashes returns the payload hashes a correct client may have signed
// with, most likely first. The rule guarantees that every parameter a
// Handler sees is covered by the signature:
//   - An X-Amz-Content-Sha256 header holding a hash must equal the body's
//     hash (else the body was altered: ok is false) and is used as sent.
//   - Otherwise the body's own hash is used. An unsigned payload
//     (UNSIGNED-PAYLOAD, declared in the header or, for a presigned URL,
//     implied) is accepted only when the body is empty.
//
// Presigned URLs are signed over the empty body's hash by botocore and over
// UNSIGNED-PAYLOAD by S3-style signers; both verify.
func payloadHashes(declared string, haveDeclared, presigned bool, body []byte) (hashes []string, ok bool) {
	sum := sha256.Sum256(body)
	bodyHash := hex.EncodeToString(sum[:])
	switch {
	case haveDeclared && !isUnsignedPayload(declared) && len(declared) == sha256.Size*2:
		if !strings.EqualFold(declared, bodyHash) {
			return nil, false
		}
		return []string{declared}, true
	case haveDeclared && isUnsignedPayload(declared) && len(body) == 0:
		return []string{declared, bodyHash}, true
	case !haveDeclared && presigned && len(body) == 0:
		return []string{bodyHash, unsignedPayload}, true
	default:
		return []string{bodyHash}, true
	}
}

// signatureMethods returns the methods a correct client may have signed
// with. A presigned URL is also tried with the other of GET and POST:
// botocore's generate_presigned_url signs query-protocol operations as POST
// (the serializer's method) although the URL is then fetched with GET, and
// AWS accepts it. For the Query APIs the two methods mean the same, and a
// presigned request carries its parameters in the signed query.
func signatureMethods(method string, presigned bool) []string {
	switch {
	case presigned && method == http.MethodGet:
		return []string{method, http.MethodPost}
	case presigned && method == http.MethodPost:
		return []string{method, http.MethodGet}
	default:
		return []string{method}
	}
}

// signatureMatches reports, in constant time per candidate, whether the
// signature sent equals the one computed for any of the methods and payload
// hashes.
func signatureMatches(key []byte, sent string, amzDate string, a authorization, methods []string, uri, query, headers string, hashes []string) bool {
	want, err := hex.DecodeString(sent)
	if err != nil {
		return false
	}
	match := false
	for _, m := range methods {
		for _, ph := range hashes {
			cr := sigv4.CanonicalRequest(m, uri, query, headers, a.SignedHeaders, ph)
			got := sigv4.HMAC(key, sigv4.StringToSign(amzDate, a.Credential.scope(), cr))
			if hmac.Equal(got, want) {
				match = true
			}
		}
	}
	return match
}

// authFailure classifies why a request failed authentication. EC2 and the
// query-protocol services answer the same failure with different codes.
type authFailure int

const (
	authMissing    authFailure = iota // no signature at all
	authIncomplete                    // a signature that cannot be parsed
	authScope                         // credential scope: wrong region, service or date
	authExpired                       // outside the clock-skew window or past X-Amz-Expires
	authUnknownKey                    // access key not found
	authMismatch                      // the signature (or payload hash) does not match
)

// authError is an authentication failure with its detailed message.
type authError struct {
	kind authFailure
	msg  string
}

func (e *authError) Error() string { return e.msg }

const (
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgEC2AuthFailure    = "AWS was not able to validate the provided access credentials"
)

// forService returns the AWS error that service answers e with, as real AWS
// does: EC2 uses AuthFailure (401) and RequestExpired (400) where the query
// protocol uses InvalidClientTokenId and SignatureDoesNotMatch (403).
func (e *authError) forService(service string) *Error {
	ec2 := service != ServiceELBv2
	switch e.kind {
	case authMissing:
		if ec2 {
			return &Error{Code: "MissingAuthenticationToken", Message: "The request must contain either a valid (registered) AWS access key ID or X.509 certificate.", Status: http.StatusForbidden}
		}
		return &Error{Code: "MissingAuthenticationToken", Message: "Request is missing Authentication Token", Status: http.StatusForbidden}
	case authIncomplete:
		return &Error{Code: "IncompleteSignature", Message: e.msg, Status: http.StatusForbidden}
	case authScope:
		if ec2 {
			return &Error{Code: "AuthFailure", Message: e.msg, Status: http.StatusUnauthorized}
		}
		return &Error{Code: "SignatureDoesNotMatch", Message: e.msg, Status: http.StatusForbidden}
	case authExpired:
		if ec2 {
			return &Error{Code: "RequestExpired", Message: "Request has expired.", Status: http.StatusBadRequest}
		}
		return &Error{Code: "SignatureDoesNotMatch", Message: e.msg, Status: http.StatusForbidden}
	case authUnknownKey:
		if ec2 {
			return &Error{Code: "AuthFailure", Message: msgEC2AuthFailure, Status: http.StatusUnauthorized}
		}
		return &Error{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid.", Status: http.StatusForbidden}
	default:
		msg := e.msg
		if msg == "" {
			msg = msgSignatureMismatch
		}
		return &Error{Code: "SignatureDoesNotMatch", Message: msg, Status: http.StatusForbidden}
	}
}
