package controlplane

import "testing"

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"vpc-1", "vpc-1", true},
		{"vpc-1", "vpc-12", false},
		{"vpc-*", "vpc-12", true},
		{"*", "", true},
		{"?", "", false},
		{"10.0.?.0/24", "10.0.1.0/24", true},
		{"10.0.*/24", "10.0.1.0/24", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"[x]", "[x]", true},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
