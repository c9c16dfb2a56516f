package awsclient

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// SigV4 constants.
const (
	sigV4Algorithm = "AWS4-HMAC-SHA256"
	amzDateLayout  = "20060102T150405Z"
	scopeTerm      = "aws4_request"
)

// Credentials are an access key and its secret.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// signedHeaders are the headers Sign signs, in canonical (sorted) order;
// host is always one, as SigV4 requires.
var signedHeaders = []string{"content-type", "host", "x-amz-date"}

// Sign adds the SigV4 Authorization and X-Amz-Date headers to req for
// service in region, at time t. body is the request body exactly as it is
// sent (the payload hash covers it); req's own Body is not read. It signs
// the Content-Type, Host and X-Amz-Date headers, as botocore does for the
// Query APIs.
func Sign(req *http.Request, body []byte, creds Credentials, region, service string, t time.Time) {
	t = t.UTC()
	amzDate := t.Format(amzDateLayout)
	req.Header.Set("X-Amz-Date", amzDate)
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	sum := sha256.Sum256(body)
	cr := strings.Join([]string{
		req.Method,
		canonicalURI(req.URL.EscapedPath()),
		canonicalQuery(req.URL.RawQuery),
		canonicalHeaders(req.Header, host),
		strings.Join(signedHeaders, ";"),
		hex.EncodeToString(sum[:]),
	}, "\n")
	scope := amzDate[:8] + "/" + region + "/" + service + "/" + scopeTerm
	crSum := sha256.Sum256([]byte(cr))
	sts := sigV4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crSum[:])
	k := hmacSHA256([]byte("AWS4"+creds.SecretAccessKey), amzDate[:8])
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, scopeTerm)
	sig := hex.EncodeToString(hmacSHA256(k, sts))
	req.Header.Set("Authorization", sigV4Algorithm+" Credential="+creds.AccessKeyID+"/"+scope+
		", SignedHeaders="+strings.Join(signedHeaders, ";")+", Signature="+sig)
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// canonicalHeaders renders the signed headers: host is the request's host,
// the others come from h, trimmed with inner runs of spaces collapsed.
func canonicalHeaders(h http.Header, host string) string {
	var b strings.Builder
	for _, name := range signedHeaders {
		v := host
		if name != "host" {
			v = strings.Join(h.Values(name), ",")
		}
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(strings.Join(strings.Fields(v), " "))
		b.WriteByte('\n')
	}
	return b.String()
}

// canonicalURI encodes the (already escaped) path once more, as every AWS
// service but S3 expects.
func canonicalURI(escapedPath string) string {
	if escapedPath == "" {
		return "/"
	}
	return uriEncode(escapedPath, true)
}

// canonicalQuery sorts and encodes the query parameters. A query that does
// not parse is signed as it would be decoded leniently; the client never
// sends one.
func canonicalQuery(raw string) string {
	vals, _ := url.ParseQuery(raw)
	type kv struct{ k, v string }
	var ps []kv
	for k, vs := range vals {
		for _, v := range vs {
			ps = append(ps, kv{uriEncode(k, false), uriEncode(v, false)})
		}
	}
	slices.SortFunc(ps, func(a, b kv) int { return cmp.Or(strings.Compare(a.k, b.k), strings.Compare(a.v, b.v)) })
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

// uriEncode percent-encodes every byte outside the RFC 3986 unreserved set
// with upper-case hex; '/' is kept when keepSlash is set.
func uriEncode(s string, keepSlash bool) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '/' && keepSlash {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}
