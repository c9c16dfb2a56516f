package awsapi

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/. Run, e.g.:
//
//	go test -run='^$' -fuzz=FuzzParseForm -fuzztime=2m ./internal/awsapi/

// encodeForm is the inverse of decodeForm.
func encodeForm(ps []param) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.Name) + "=" + url.QueryEscape(p.Value))
	}
	return b.String()
}

func sortedParams(ps []param) []param {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b param) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	return ps
}

func FuzzParseForm(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		_ = lenientLookup(s, "Version")
		ps, err := decodeForm(s)
		if err != nil {
			return
		}
		// Round trip through the form encoding.
		again, err := decodeForm(encodeForm(ps))
		if err != nil {
			t.Fatalf("decodeForm(encodeForm(%q)): %v", ps, err)
		}
		if diff := cmp.Diff(ps, again); diff != "" {
			t.Fatalf("form round trip mismatch (-want +got):\n%s", diff)
		}
		// The SigV4 canonical query holds the same pairs, sorted by their
		// encoded form.
		cq := canonicalQuery(ps, false)
		canon, err := decodeForm(cq)
		if err != nil {
			t.Fatalf("decodeForm(canonicalQuery(%q)): %v", ps, err)
		}
		if diff := cmp.Diff(sortedParams(ps), sortedParams(canon)); diff != "" {
			t.Fatalf("canonical query mismatch (-want +got):\n%s", diff)
		}
		var enc []param
		if cq != "" {
			for seg := range strings.SplitSeq(cq, "&") {
				k, v, _ := strings.Cut(seg, "=")
				enc = append(enc, param{k, v})
			}
		}
		if !slices.Equal(enc, sortedParams(enc)) {
			t.Fatalf("canonicalQuery(%q) = %q is not sorted", ps, cq)
		}

		params, action, version, perr := buildParams(ps)
		if perr != nil {
			if perr.Code != "InvalidParameterValue" {
				t.Fatalf("buildParams error %v", perr)
			}
			return
		}
		want := map[string]string{}
		for _, p := range ps {
			want[p.Name] = p.Value
		}
		if action != want["Action"] || version != want["Version"] {
			t.Fatalf("buildParams() action, version = %q, %q", action, version)
		}
		for k, v := range want {
			got, ok := params.Get(k)
			if k == "Action" || k == "Version" || isAuthParam(k) {
				if ok {
					t.Fatalf("Params holds %q", k)
				}
				continue
			}
			if !ok || got != v {
				t.Fatalf("Params[%q] = %q, %v; want %q", k, got, ok, v)
			}
		}
		// Indexes over every dotted prefix of every name.
		for k := range params {
			for i := range len(k) {
				if k[i] != '.' {
					continue
				}
				checkIndexes(t, params, k[:i])
			}
		}
	})
}

func checkIndexes(t *testing.T, p Params, prefix string) {
	idx, bad := p.Indexes(prefix)
	if !slices.IsSorted(idx) || !slices.IsSorted(bad) {
		t.Fatalf("Indexes(%q) not sorted: %v %v", prefix, idx, bad)
	}
	for i, n := range idx {
		if n < 1 || i > 0 && idx[i-1] == n {
			t.Fatalf("Indexes(%q) = %v: not distinct positive", prefix, idx)
		}
		// Each index names a parameter under the prefix.
		key := prefix + "." + strconv.Itoa(n)
		if !p.Has(key) && !p.HasPrefix(key) {
			t.Fatalf("Indexes(%q) = %v, but nothing is named %s", prefix, idx, key)
		}
	}
	for _, k := range bad {
		if !strings.HasPrefix(k, prefix+".") || !p.Has(k) {
			t.Fatalf("Indexes(%q) bad = %q", prefix, bad)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Fuzz(func(t *testing.T, header, query string) {
		// The Authorization header.
		if a, err := parseAuthorization(header); err == nil {
			checkAuthorization(t, a)
			again, err := parseAuthorization(a.String())
			if err != nil {
				t.Fatalf("parseAuthorization(%q) (from %q): %v", a.String(), header, err)
			}
			if diff := cmp.Diff(a, again); diff != "" {
				t.Fatalf("Authorization round trip mismatch (-want +got):\n%s", diff)
			}
		}
		// The envelope guess reads either form without verifying it.
		r := &http.Request{Header: http.Header{"Authorization": {header}}, URL: &url.URL{RawQuery: query}}
		_ = scopeServiceHint(r)
		_ = guessService(r, []byte(query))

		// The presigned query.
		q, err := decodeForm(query)
		if err != nil {
			return
		}
		pre := isPresigned(q)
		p, err := parsePresigned(q)
		if err != nil {
			return
		}
		if !pre {
			t.Fatalf("parsePresigned(%q) succeeded but isPresigned is false", query)
		}
		checkAuthorization(t, p.authorization)
		if _, err := parseAmzDate(p.AmzDate); err != nil || p.Expires < -1 || p.Expires > maxPresignExpires {
			t.Fatalf("parsePresigned(%q) = %+v", query, p)
		}
		// Round trip through the query encoding, as a URL carries it.
		again, err := decodeForm(encodeForm(p.params()))
		if err != nil {
			t.Fatal(err)
		}
		p2, err := parsePresigned(again)
		if err != nil {
			t.Fatalf("parsePresigned(params()) of %q: %v", query, err)
		}
		if diff := cmp.Diff(p, p2, cmp.AllowUnexported(presigned{})); diff != "" {
			t.Fatalf("presigned round trip mismatch (-want +got):\n%s", diff)
		}
		_ = canonicalQuery(q, true)
	})
}

func checkAuthorization(t *testing.T, a authorization) {
	t.Helper()
	c := a.Credential
	if c.AccessKeyID == "" || c.Region == "" || c.Service == "" || !validScopeDate(c.Date) ||
		strings.Contains(c.String()[len(c.AccessKeyID)+1:], "//") {
		t.Fatalf("bad credential %+v", c)
	}
	if len(a.Signature) != 64 {
		t.Fatalf("bad signature %q", a.Signature)
	}
	if !slices.ContainsFunc(a.SignedHeaders, func(h string) bool { return strings.EqualFold(h, "host") }) {
		t.Fatalf("SignedHeaders %q lack host", a.SignedHeaders)
	}
}

// FuzzServeHTTP sends arbitrary requests through the whole front. With
// handlers and credentials that cannot fail, every answer must be a 200 or
// a 4xx with an AWS XML body; a 500 would mean the front itself broke.
func FuzzServeHTTP(f *testing.F) {
	env := newTestEnv(f)
	env.srv.log = slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, method, target, authorization, amzDate, body string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		r := &http.Request{
			Method:        method,
			URL:           u,
			Host:          testHost,
			Header:        http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			Body:          readCloser(body),
			ContentLength: int64(len(body)),
		}
		if body != "" {
			r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		}
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		if amzDate != "" {
			r.Header.Set("X-Amz-Date", amzDate)
		}
		rec := httptest.NewRecorder()
		env.srv.ServeHTTP(rec, r.WithContext(t.Context()))
		if rec.Code != http.StatusOK && (rec.Code < 400 || rec.Code > 499) {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if b := rec.Body.String(); !strings.HasPrefix(b, "<") || rec.Header().Get("Content-Length") != strconv.Itoa(len(b)) {
			t.Fatalf("body %q, Content-Length %q", b, rec.Header().Get("Content-Length"))
		}
	})
}
