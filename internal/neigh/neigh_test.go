package neigh

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeThresholds writes t as dir's gc_thresh1/2/3.
func writeThresholds(t *testing.T, dir string, v Thresholds) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range v {
		if err := os.WriteFile(threshPath(dir, i), []byte(strconv.Itoa(v[i])+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRaiseNeigh(t *testing.T) {
	want := Thresholds{1024, 8192, 16384}
	tests := []struct {
		name string
		cur  Thresholds
		to   Thresholds
	}{
		{"kernel defaults", Thresholds{128, 512, 1024}, want},
		{"already as wanted", want, want},
		{"admin set all higher", Thresholds{4096, 32768, 65536}, Thresholds{4096, 32768, 65536}},
		{"admin set thresh3 higher only", Thresholds{128, 512, 100000}, Thresholds{1024, 8192, 100000}},
		{"admin set thresh1 higher only", Thresholds{2048, 512, 1024}, Thresholds{2048, 8192, 16384}},
		{"one below", Thresholds{1024, 8192, 16383}, want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeThresholds(t, dir, tt.cur)
			from, to, err := raise(dir, want)
			if err != nil {
				t.Fatalf("raise() error = %v", err)
			}
			if diff := cmp.Diff(tt.cur, from); diff != "" {
				t.Errorf("raise() from mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.to, to); diff != "" {
				t.Errorf("raise() to mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.to, mustRead(t, dir)); diff != "" {
				t.Errorf("files after raise() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRaiseNeighThresholdsLogs(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  []string // substrings of the log, in order
		not   []string
	}{
		{
			name: "both raised",
			setup: func(t *testing.T, dir string) {
				writeThresholds(t, filepath.Join(dir, "ipv4/neigh/default"), Thresholds{128, 512, 1024})
				writeThresholds(t, filepath.Join(dir, "ipv6/neigh/default"), Thresholds{128, 512, 1024})
			},
			want: []string{
				"level=INFO msg=\"raised the host's neighbour table thresholds", "family=ipv4 gc_thresh=1024/8192/16384 was=128/512/1024",
				"level=INFO", "family=ipv6",
			},
			not: []string{"WARN"},
		},
		{
			name: "nothing to do",
			setup: func(t *testing.T, dir string) {
				writeThresholds(t, filepath.Join(dir, "ipv4/neigh/default"), Thresholds{1024, 8192, 16384})
				writeThresholds(t, filepath.Join(dir, "ipv6/neigh/default"), Thresholds{2048, 8192, 16384})
			},
			not: []string{"INFO", "WARN"},
		},
		{
			name: "no ipv6",
			setup: func(t *testing.T, dir string) {
				writeThresholds(t, filepath.Join(dir, "ipv4/neigh/default"), Thresholds{128, 512, 1024})
			},
			want: []string{"level=INFO", "family=ipv4"},
			not:  []string{"WARN", "family=ipv6"},
		},
		{
			name:  "no ipv4",
			setup: func(t *testing.T, dir string) {},
			want:  []string{"level=WARN", "endpoints beyond ~512 may not answer", "family=ipv4"},
			not:   []string{"family=ipv6"},
		},
		{
			// A read-only sysctl stands for a read-only /proc/sys: not
			// even root may write it.
			name: "not writable",
			setup: func(t *testing.T, dir string) {
				ro := "/proc/sys/kernel/cap_last_cap"
				if _, err := os.Stat(ro); err != nil {
					t.Skipf("no %s: %v", ro, err)
				}
				d := filepath.Join(dir, "ipv4/neigh/default")
				writeThresholds(t, d, Thresholds{128, 512, 1024})
				if err := os.Remove(threshPath(d, 0)); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(ro, threshPath(d, 0)); err != nil {
					t.Fatal(err)
				}
			},
			// gc_thresh3 and 2 were raised before gc_thresh1 failed.
			want: []string{"level=WARN", "endpoints beyond ~8192 may not answer", "family=ipv4"},
			not:  []string{"INFO"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			var buf bytes.Buffer
			Raise(slog.New(slog.NewTextHandler(&buf, nil)), dir)
			got := buf.String()
			rest := got
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("log lacks %q (in order):\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("log has %q:\n%s", n, got)
				}
			}
		})
	}
}

func mustRead(t *testing.T, dir string) Thresholds {
	t.Helper()
	v, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
