package awsapi

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// param is one decoded name=value pair of a query string or form body, in
// wire order.
type param struct {
	Name, Value string
}

// decodeForm splits an application/x-www-form-urlencoded string (a URL query
// or a form body) into its pairs. Pairs are separated by '&' only (';' is an
// ordinary character, as it is for AWS); empty segments are skipped; '+' is a
// space. A bad percent escape, an empty name or a name or value that is not
// UTF-8 is an error: the front answers MalformedQueryString and never guesses.
func decodeForm(s string) ([]param, error) {
	if s == "" {
		return nil, nil
	}
	ps := make([]param, 0, strings.Count(s, "&")+1)
	for seg := range strings.SplitSeq(s, "&") {
		if seg == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(seg, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			return nil, fmt.Errorf("bad percent-escape in the name %q", truncate(rawName))
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, fmt.Errorf("bad percent-escape in the value of %q", truncate(name))
		}
		switch {
		case name == "":
			return nil, errors.New("a parameter has an empty name")
		case !utf8.ValidString(name):
			return nil, errors.New("a parameter name is not valid UTF-8")
		case !utf8.ValidString(value):
			return nil, fmt.Errorf("the value of %q is not valid UTF-8", truncate(name))
		}
		ps = append(ps, param{Name: name, Value: value})
	}
	if len(ps) == 0 {
		return nil, nil
	}
	return ps, nil
}

// buildParams merges the URL query and the form body into the Params a
// Handler sees. Action and Version are returned separately and, like every
// X-Amz-* authentication parameter, left out of Params. A name sent twice
// (in one source or across both) is an InvalidParameterValue error: AWS lists
// are indexed (Name.N), so a repeat is never meaningful and taking either
// copy would be a guess.
func buildParams(sources ...[]param) (p Params, action, version string, err *Error) {
	n := 0
	for _, src := range sources {
		n += len(src)
	}
	all := make(map[string]string, n)
	for _, src := range sources {
		for _, kv := range src {
			if _, dup := all[kv.Name]; dup {
				return nil, "", "", ErrInvalidParameterValue("The parameter %s is specified more than once.", truncate(kv.Name))
			}
			all[kv.Name] = kv.Value
		}
	}
	action, version = all["Action"], all["Version"]
	delete(all, "Action")
	delete(all, "Version")
	for k := range all {
		if isAuthParam(k) {
			delete(all, k)
		}
	}
	return Params(all), action, version, nil
}

// isAuthParam reports whether name is a SigV4 query authentication parameter
// (X-Amz-Algorithm, X-Amz-Credential, …), which is not an API parameter.
func isAuthParam(name string) bool {
	return len(name) >= 6 && strings.EqualFold(name[:6], "X-Amz-")
}

// lenientLookup returns the first value of name in the form-encoded s,
// skipping undecodable pairs. It serves only to pick an error envelope for a
// request that could not be decoded.
func lenientLookup(s, name string) string {
	for seg := range strings.SplitSeq(s, "&") {
		k, v, _ := strings.Cut(seg, "=")
		if k, err := url.QueryUnescape(k); err != nil || k != name {
			continue
		}
		if v, err := url.QueryUnescape(v); err == nil {
			return v
		}
	}
	return ""
}

// truncate shortens client-supplied text that is echoed in an error message.
func truncate(s string) string {
	const max = 128
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
