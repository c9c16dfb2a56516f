package awsclient

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/privlink/privlink/internal/sigv4"
)

// amzDateLayout is X-Amz-Date's format.
const amzDateLayout = "20060102T150405Z"

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
	cr := sigv4.CanonicalRequest(req.Method, sigv4.CanonicalURI(req.URL.EscapedPath()), canonicalQuery(req.URL.RawQuery),
		canonicalHeaders(req.Header, host), signedHeaders, hex.EncodeToString(sum[:]))
	scope := sigv4.Scope(amzDate[:8], region, service)
	key := sigv4.SigningKey(creds.SecretAccessKey, amzDate[:8], region, service)
	sig := hex.EncodeToString(sigv4.HMAC(key, sigv4.StringToSign(amzDate, scope, cr)))
	req.Header.Set("Authorization", sigv4.Algorithm+" Credential="+creds.AccessKeyID+"/"+scope+
		", SignedHeaders="+strings.Join(signedHeaders, ";")+", Signature="+sig)
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

// canonicalQuery sorts and encodes the query parameters. A query that does
// not parse is signed as it would be decoded leniently; the client never
// sends one.
func canonicalQuery(raw string) string {
	vals, _ := url.ParseQuery(raw)
	type kv struct{ k, v string }
	var ps []kv
	for k, vs := range vals {
		for _, v := range vs {
			ps = append(ps, kv{sigv4.URIEncode(k, false), sigv4.URIEncode(v, false)})
		}
	}
	slices.SortFunc(ps, func(a, b kv) int { return cmp.Or(strings.Compare(a.k, b.k), strings.Compare(a.v, b.v)) })
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}
