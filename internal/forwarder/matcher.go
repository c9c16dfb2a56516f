package forwarder

import (
	"fmt"
	"strconv"
	"strings"
)

// defaultMatcher is the range that passes when a check has no Matcher, as
// for an NLB's HTTP health checks.
const defaultMatcher = "200-399"

// codeRange is an inclusive range of HTTP status codes.
type codeRange struct{ lo, hi int }

// matcher is the set of HTTP status codes that pass a check. The empty
// matcher passes nothing.
type matcher []codeRange

// parseMatcher parses a Matcher: codes and ranges separated by commas,
// "200", "200,202" or "200-399". The empty string is the default,
// 200-399.
func parseMatcher(s string) (matcher, error) {
	if strings.TrimSpace(s) == "" {
		s = defaultMatcher
	}
	var m matcher
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		l, err1 := parseCode(lo)
		h, err2 := parseCode(hi)
		if err1 != nil || err2 != nil || l > h {
			return nil, fmt.Errorf("matcher %q: bad code or range %q", s, part)
		}
		m = append(m, codeRange{l, h})
	}
	return m, nil
}

func parseCode(s string) (int, error) {
	c, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	if c < 100 || c > 599 {
		return 0, fmt.Errorf("status %d out of range", c)
	}
	return c, nil
}

// match reports whether code passes.
func (m matcher) match(code int) bool {
	for _, r := range m {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}
