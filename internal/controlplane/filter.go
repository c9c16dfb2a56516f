package controlplane

import (
	"strings"

	"github.com/privlink/privlink/internal/awsapi"
	"github.com/privlink/privlink/internal/model"
)

// Filter is one Describe* filter: values are OR'ed, filters are AND'ed.
type Filter struct {
	Name   string
	Values []string
}

// filterDefs are the filters AWS documents for one resource type. fields maps
// a filter name to the values a resource has for it; tags, if set, enables
// "tag:<key>", "tag-key" and "tag-value".
type filterDefs[T any] struct {
	fields map[string]func(T) []string
	tags   func(T) []model.Tag
}

// validate rejects filter names the resource type does not have, as AWS does
// ("The filter 'x' is invalid"), instead of silently matching nothing.
func (d filterDefs[T]) validate(filters []Filter) error {
	for _, f := range filters {
		if f.Name == "" {
			return awsapi.Errorf("InvalidParameterValue", "The filter 'null' is invalid")
		}
		if _, ok := d.fields[f.Name]; ok {
			continue
		}
		if d.tags != nil && (f.Name == "tag-key" || f.Name == "tag-value" || strings.HasPrefix(f.Name, "tag:")) {
			continue
		}
		return awsapi.Errorf("InvalidParameterValue", "The filter '%s' is invalid", f.Name)
	}
	return nil
}

// match reports whether r passes every filter. Call validate first.
func (d filterDefs[T]) match(r T, filters []Filter) bool {
	for _, f := range filters {
		if !matchAny(d.values(r, f.Name), f.Values) {
			return false
		}
	}
	return true
}

func (d filterDefs[T]) values(r T, name string) []string {
	if fn, ok := d.fields[name]; ok {
		return fn(r)
	}
	var out []string
	for _, t := range d.tags(r) {
		switch {
		case name == "tag-key":
			out = append(out, t.Key)
		case name == "tag-value":
			out = append(out, t.Value)
		case name == "tag:"+t.Key:
			out = append(out, t.Value)
		}
	}
	return out
}

// apply validates filters and returns the items that pass them.
func (d filterDefs[T]) apply(items []T, filters []Filter) ([]T, error) {
	if err := d.validate(filters); err != nil {
		return nil, err
	}
	if len(filters) == 0 {
		return items, nil
	}
	out := items[:0:0]
	for _, it := range items {
		if d.match(it, filters) {
			out = append(out, it)
		}
	}
	return out, nil
}

// matchAny reports whether any of have matches any pattern. Patterns use the
// EC2 wildcards: * for any run of characters and ? for exactly one.
func matchAny(have, patterns []string) bool {
	for _, h := range have {
		for _, p := range patterns {
			if globMatch(p, h) {
				return true
			}
		}
	}
	return false
}

// globMatch matches s against pattern, where * is any run of characters and
// ? exactly one. Everything else is literal.
func globMatch(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	pi, ti, star, mark := 0, 0, -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == t[ti]):
			pi++
			ti++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case star >= 0:
			pi, mark = star+1, mark+1
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
