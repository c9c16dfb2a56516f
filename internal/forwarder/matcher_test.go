package forwarder

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseMatcher(t *testing.T) {
	tests := []struct {
		in      string
		want    matcher
		wantErr bool
	}{
		{in: "", want: matcher{{200, 399}}},
		{in: "  ", want: matcher{{200, 399}}},
		{in: "200", want: matcher{{200, 200}}},
		{in: "200,202", want: matcher{{200, 200}, {202, 202}}},
		{in: "200-399", want: matcher{{200, 399}}},
		{in: " 200 , 300-302 ", want: matcher{{200, 200}, {300, 302}}},
		{in: "abc", wantErr: true},
		{in: "200-", wantErr: true},
		{in: "399-200", wantErr: true},
		{in: "99", wantErr: true},
		{in: "600", wantErr: true},
		{in: "200,,202", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseMatcher(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseMatcher(%q) error = %v, want error: %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(codeRange{})); diff != "" {
			t.Errorf("parseMatcher(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestMatcherMatch(t *testing.T) {
	tests := []struct {
		matcher string
		code    int
		want    bool
	}{
		{"", 200, true},
		{"", 302, true},
		{"", 399, true},
		{"", 400, false},
		{"", 199, false},
		{"200", 200, true},
		{"200", 201, false},
		{"200,202", 202, true},
		{"200,202", 201, false},
		{"200-299", 250, true},
	}
	for _, tt := range tests {
		m, err := parseMatcher(tt.matcher)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.match(tt.code); got != tt.want {
			t.Errorf("matcher %q match(%d) = %v, want %v", tt.matcher, tt.code, got, tt.want)
		}
	}
	if (matcher(nil)).match(200) {
		t.Error("the empty matcher matched 200")
	}
}
