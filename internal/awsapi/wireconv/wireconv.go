// Package wireconv holds the conversions that the hand-written handlers of
// every generated service package (ec2, elbv2) share between the generated
// wire types, whose optional scalars are pointers, and plain Go values.
// A pointer to a value needs no helper: Go's new(v) makes one.
//
// The generated code does not use it. It must not import anything from
// privlink but model, so that any handler package can.
package wireconv

import "github.com/privlink/privlink/internal/model"

// Deref returns *p, or the zero value for nil (a parameter not sent).
func Deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// OptString returns a pointer to s, or nil for "" (an absent output field).
func OptString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// All converts every item with f. The result is never nil, so that a list
// AWS always sends goes out as an empty wrapper when it has no items.
func All[A, B any](in []A, f func(A) B) []B {
	out := make([]B, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}

// AllOrNil is All for a list that is left out when it has no items: nil
// for none.
func AllOrNil[A, B any](in []A, f func(A) B) []B {
	if len(in) == 0 {
		return nil
	}
	return All(in, f)
}

// Tags converts the Key/Value tag lists of requests (Tag.N,
// Tags.member.N), whichever service's generated Tag type they are. A tag
// without a value has the value "", as AWS documents; no tags is nil.
func Tags[T ~struct{ Key, Value *string }](in []T) []model.Tag {
	return AllOrNil(in, func(t T) model.Tag {
		kv := struct{ Key, Value *string }(t)
		return model.Tag{Key: Deref(kv.Key), Value: Deref(kv.Value)}
	})
}
