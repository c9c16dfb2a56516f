package procfs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseStat(t *testing.T) {
	tail := " 1 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 123456 8192 100 18446744073709551615"
	tests := []struct {
		name    string
		in      string
		want    Stat
		wantErr bool
	}{
		{name: "plain", in: "42 (sleep) S" + tail, want: Stat{State: 'S', StartTime: 123456}},
		{name: "spaces and parentheses in the name", in: "42 (a) b (c)) Z" + tail, want: Stat{State: 'Z', StartTime: 123456}},
		{name: "no name", in: "42 sleep S" + tail, wantErr: true},
		{name: "short", in: "42 (sleep) S 1 1", wantErr: true},
		{name: "bad starttime", in: "42 (sleep) S 1 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 x 8192", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStat([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseStat() error = %v, want error: %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseStat() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (sleep) S 1 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 123456 8192"))
	f.Add([]byte("1 ()) R"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseStat(b)
		if err == nil && st.State == 0 {
			t.Errorf("ParseStat(%q) = %+v with no state", b, st)
		}
	})
}

func TestParseNSLink(t *testing.T) {
	if got, err := ParseNSLink("net", "net:[4026531840]"); err != nil || got != 4026531840 {
		t.Errorf("ParseNSLink() = %d, %v; want 4026531840", got, err)
	}
	for _, bad := range []string{"", "mnt:[1]", "net:[x]", "net:[1"} {
		if _, err := ParseNSLink("net", bad); err == nil {
			t.Errorf("ParseNSLink(%q) = nil error", bad)
		}
	}
}

func TestDead(t *testing.T) {
	for state, want := range map[byte]bool{'R': false, 'S': false, 'D': false, 'Z': true, 'X': true, 'x': true} {
		if got := (Stat{State: state}).Dead(); got != want {
			t.Errorf("Stat{State: %c}.Dead() = %v, want %v", state, got, want)
		}
	}
}
