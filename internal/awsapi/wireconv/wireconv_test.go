package wireconv

import (
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/model"
)

func TestDeref(t *testing.T) {
	if got := Deref[string](nil); got != "" {
		t.Errorf("Deref(nil) = %q, want \"\"", got)
	}
	if got := Deref(new(int32(7))); got != 7 {
		t.Errorf("Deref(&7) = %d, want 7", got)
	}
}

func TestOptString(t *testing.T) {
	if got := OptString(""); got != nil {
		t.Errorf("OptString(\"\") = %q, want nil", *got)
	}
	if got := OptString("x"); got == nil || *got != "x" {
		t.Errorf("OptString(\"x\") = %v, want a pointer to \"x\"", got)
	}
}

func TestAll(t *testing.T) {
	tests := []struct {
		in   []int
		want []string
	}{
		{nil, []string{}},
		{[]int{}, []string{}},
		{[]int{1, 2}, []string{"1", "2"}},
	}
	for _, tt := range tests {
		got := All(tt.in, strconv.Itoa)
		if got == nil {
			t.Errorf("All(%v) = nil, want a non-nil slice", tt.in)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("All(%v) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestAllOrNil(t *testing.T) {
	tests := []struct {
		in   []int
		want []string
	}{
		{nil, nil},
		{[]int{}, nil},
		{[]int{1, 2}, []string{"1", "2"}},
	}
	for _, tt := range tests {
		got := AllOrNil(tt.in, strconv.Itoa)
		if (got == nil) != (tt.want == nil) {
			t.Errorf("AllOrNil(%v) = %#v, want %#v", tt.in, got, tt.want)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("AllOrNil(%v) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

// wireTag has the shape of the generated Tag types.
type wireTag struct {
	Key   *string
	Value *string
}

func TestTags(t *testing.T) {
	tests := []struct {
		in   []wireTag
		want []model.Tag
	}{
		{nil, nil},
		{[]wireTag{}, nil},
		{[]wireTag{{Key: new("k"), Value: new("v")}, {Key: new("empty")}}, []model.Tag{{Key: "k", Value: "v"}, {Key: "empty"}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Tags(tt.in)); diff != "" {
			t.Errorf("Tags(%v) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}
