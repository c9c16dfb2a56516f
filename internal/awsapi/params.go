package awsapi

import (
	"sort"
	"strconv"
	"strings"
)

// Params is the flattened form of a Query/EC2 request: "Filter.1.Name" →
// "vpc-id". Generated decoders read from it by wire name.
type Params map[string]string

// Has reports whether name was sent.
func (p Params) Has(name string) bool { _, ok := p[name]; return ok }

// Get returns the value of name and whether it was sent.
func (p Params) Get(name string) (string, bool) { v, ok := p[name]; return v, ok }

// Indexes returns, in ascending order, the distinct N of every parameter
// named "<prefix>.N" or "<prefix>.N.<anything>". Indexes that are not
// positive decimal integers are reported in bad. AWS lists are 1-based but
// may be sparse on the wire; callers keep the order of N.
func (p Params) Indexes(prefix string) (idx []int, bad []string) {
	seen := map[int]bool{}
	pre := prefix + "."
	for k := range p {
		if !strings.HasPrefix(k, pre) {
			continue
		}
		rest := k[len(pre):]
		n, _, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(n)
		if err != nil || i < 1 || n[0] == '0' || n[0] == '+' {
			bad = append(bad, k)
			continue
		}
		if !seen[i] {
			seen[i] = true
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	sort.Strings(bad)
	return idx, bad
}

// HasPrefix reports whether any parameter starts with prefix + ".".
func (p Params) HasPrefix(prefix string) bool {
	pre := prefix + "."
	for k := range p {
		if strings.HasPrefix(k, pre) {
			return true
		}
	}
	return false
}
