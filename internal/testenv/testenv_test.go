package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPrefix(t *testing.T) {
	re := regexp.MustCompile(`^plktest-[0-9a-f]{6}-$`)
	seen := make(map[string]bool)
	for range 100 {
		p := newPrefix()
		if !re.MatchString(p) {
			t.Fatalf("newPrefix() = %q, want match for %v", p, re)
		}
		if err := checkPrefix(p); err != nil {
			t.Fatalf("checkPrefix(%q) = %v, want nil", p, err)
		}
		seen[p] = true
	}
	// 100 draws from 2^24: a collision is a broken generator, not bad luck
	// (probability about 3e-4).
	if len(seen) < 99 {
		t.Errorf("newPrefix() returned %d distinct prefixes in 100 calls", len(seen))
	}
	if p := Prefix(t); !re.MatchString(p) {
		t.Errorf("Prefix() = %q, want match for %v", p, re)
	}
}

func TestCheckPrefix(t *testing.T) {
	tests := []struct {
		prefix string
		ok     bool
	}{
		{"plktest-ab12cd-", true},
		{"plktest-x", true},
		{"", false},
		{"plk-", false},
		{"plktest-", false},
		{"plktest", false},
		{"plktest-a/b", false},
		{"foo-plktest-ab12cd-", false},
	}
	for _, tt := range tests {
		err := checkPrefix(tt.prefix)
		if (err == nil) != tt.ok {
			t.Errorf("checkPrefix(%q) = %v, want ok=%v", tt.prefix, err, tt.ok)
		}
		if !tt.ok {
			if err := RemoveNamespaces(tt.prefix); err == nil {
				t.Errorf("RemoveNamespaces(%q) = nil, want an error", tt.prefix)
			}
		}
	}
}

func TestListDir(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"plktest-aaaaaa-b", "plktest-aaaaaa-a", "plktest-bbbbbb-a", "plk-vpc-1", "other"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	got, err := listDir(dir, "plktest-aaaaaa-")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"plktest-aaaaaa-a", "plktest-aaaaaa-b"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listDir() mismatch (-want +got):\n%s", diff)
	}
	got, err = listDir(filepath.Join(dir, "missing"), "plktest-")
	if err != nil || len(got) != 0 {
		t.Errorf("listDir(missing) = %v, %v; want nothing, nil", got, err)
	}
}

func TestPoll(t *testing.T) {
	errNotYet := errors.New("not yet")
	tests := []struct {
		name      string
		okAfter   int // cond succeeds on this call; 0: never
		timeout   time.Duration
		wantErr   bool
		wantCalls int
	}{
		{name: "immediately", okAfter: 1, timeout: time.Second, wantCalls: 1},
		{name: "after a few", okAfter: 4, timeout: time.Second, wantCalls: 4},
		// Calls at 0, 5, 15, 35, 75, 155ms, then every 100ms up to
		// 955ms (the 14th), and a last one at the deadline.
		{name: "timeout", okAfter: 0, timeout: time.Second, wantErr: true, wantCalls: 15},
		{name: "zero timeout", okAfter: 0, timeout: 0, wantErr: true, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				calls := 0
				start := time.Now()
				err := poll(t.Context(), tt.timeout, func() error {
					calls++
					if calls == tt.okAfter {
						return nil
					}
					return fmt.Errorf("call %d: %w", calls, errNotYet)
				})
				if (err != nil) != tt.wantErr {
					t.Fatalf("poll() = %v, want error: %v", err, tt.wantErr)
				}
				if calls != tt.wantCalls {
					t.Errorf("poll() called cond %d times, want %d", calls, tt.wantCalls)
				}
				if tt.wantErr {
					if !errors.Is(err, errNotYet) {
						t.Errorf("poll() = %v, want it to wrap cond's last error", err)
					}
					if elapsed := time.Since(start); elapsed != tt.timeout {
						t.Errorf("poll() gave up after %v, want %v", elapsed, tt.timeout)
					}
				}
			})
		})
	}
}

func TestPollContextDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		err := poll(ctx, time.Hour, func() error { return errors.New("never") })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("poll() = %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestWaitFor(t *testing.T) {
	n := 0
	WaitFor(t, time.Second, "third call", func() error {
		n++
		if n < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if n != 3 {
		t.Errorf("WaitFor() called cond %d times, want 3", n)
	}
}

// recorder is a testing.TB that records how a test ended.
type recorder struct {
	testing.TB
	ended string // "skip", "fatal" or ""
	msg   string
}

func (r *recorder) Helper()          {}
func (r *recorder) Log(args ...any)  {}
func (r *recorder) Skip(args ...any) { r.end("skip", args) }
func (r *recorder) Fatal(args ...any) {
	r.end("fatal", args)
}

func (r *recorder) end(how string, args []any) {
	r.ended, r.msg = how, fmt.Sprint(args...)
	runtime.Goexit()
}

func TestGate(t *testing.T) {
	tests := []struct {
		require bool
		want    string
	}{
		{require: false, want: "skip"},
		{require: true, want: "fatal"},
	}
	for _, tt := range tests {
		r := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			gate(r, errors.New("not root"), tt.require)
		}()
		<-done
		if r.ended != tt.want || r.msg != SkipReason {
			t.Errorf("gate(require=%v) ended with %s %q, want %s %q", tt.require, r.ended, r.msg, tt.want, SkipReason)
		}
	}
}

func TestRequirePrivileged(t *testing.T) {
	// As root this passes; otherwise it skips (or fails under
	// PRIVLINK_REQUIRE_PRIVILEGED=1), which is the behaviour under test.
	RequirePrivileged(t)
	if os.Geteuid() != 0 {
		t.Fatal("RequirePrivileged() let a non-root test through")
	}
}
