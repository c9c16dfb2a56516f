package boltstore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/store"
	"github.com/privlink/privlink/internal/store/boltstore"
	"github.com/privlink/privlink/internal/store/storetest"
)

// open opens a store at path and closes it when t ends.
func open(t *testing.T, path string, opts ...boltstore.Option) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open(%s) = %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return s
}

func dbPath(t *testing.T) string {
	return filepath.Join(t.TempDir(), "privlink.db")
}

func put(t *testing.T, s store.Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Put(key, []byte(value)) })
	if err != nil {
		t.Fatalf("Update(put %s) = %v", key, err)
	}
	return rev
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts storetest.Options) store.Store {
		var o []boltstore.Option
		if opts.Retention > 0 {
			o = append(o, boltstore.WithRetention(opts.Retention))
		}
		return open(t, dbPath(t), o...)
	})
}

func TestFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions on Windows")
	}
	tests := []struct {
		name     string
		existing fs.FileMode // 0: no file before Open
		want     fs.FileMode
	}{
		{"new file", 0, 0o600},
		{"already private", 0o600, 0o600},
		{"world readable", 0o644, 0o600},
		{"group writable", 0o660, 0o600},
		{"everything", 0o777, 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := dbPath(t)
			if tt.existing != 0 {
				// An empty file is initialised by bbolt.
				if err := os.WriteFile(path, nil, tt.existing); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tt.existing); err != nil { // despite the umask
					t.Fatal(err)
				}
			}
			open(t, path)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tt.want {
				t.Errorf("mode = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		opts []boltstore.Option
		path string
	}{
		{"cancelled", cancelled, nil, ""},
		{"zero retention", t.Context(), []boltstore.Option{boltstore.WithRetention(0)}, ""},
		{"zero lock timeout", t.Context(), []boltstore.Option{boltstore.WithLockTimeout(0)}, ""},
		{"directory", t.Context(), nil, t.TempDir()},
		{"not bolt", t.Context(), nil, "garbage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			switch path {
			case "":
				path = dbPath(t)
			case "garbage":
				path = dbPath(t)
				if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 8192), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := boltstore.Open(tt.ctx, path, tt.opts...)
			if err == nil {
				s.Close()
				t.Fatalf("Open() succeeded, want error")
			}
		})
	}
}

func TestReopen(t *testing.T) {
	path := dbPath(t)
	s := open(t, path)
	put(t, s, "a", "1")
	put(t, s, "b", "2")
	r := put(t, s, "a", "3")
	if _, err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Delete("b") }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}

	s = open(t, path)
	if got, err := s.Rev(t.Context()); err != nil || got != 4 {
		t.Errorf("Rev() after reopen = %d, %v; want 4", got, err)
	}
	kvs, err := s.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.KV{{Key: "a", Value: []byte("3"), ModRev: r}}, kvs); diff != "" {
		t.Errorf("List() after reopen mismatch (-want +got):\n%s", diff)
	}
	ch, err := s.Watch(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := put(t, s, "c", "4"); got != 5 {
		t.Errorf("Update() after reopen = %d, want 5", got)
	}
	want := []store.Event{
		{Type: store.EventPut, Key: "a", Value: []byte("3"), Rev: 3},
		{Type: store.EventDelete, Key: "b", Rev: 4},
		{Type: store.EventPut, Key: "c", Value: []byte("4"), Rev: 5},
	}
	if diff := cmp.Diff(want, receive(t, ch, len(want))); diff != "" {
		t.Errorf("Watch(2) after reopen mismatch (-want +got):\n%s", diff)
	}
}

func TestReopenSmallerRetention(t *testing.T) {
	path := dbPath(t)
	s := open(t, path)
	for i := range 5 {
		put(t, s, "k", strconv.Itoa(i))
	}
	s.Close()
	s = open(t, path, boltstore.WithRetention(2))
	if _, err := s.Watch(t.Context(), 0); err != nil {
		t.Errorf("Watch(0) before any commit = %v, want the old log still there", err)
	}
	put(t, s, "k", "5")
	for from, want := range map[int64]error{3: store.ErrCompacted, 4: nil} {
		if _, err := s.Watch(t.Context(), from); !errors.Is(err, want) {
			t.Errorf("Watch(%d) = %v, want %v", from, err, want)
		}
	}
}

func TestLocked(t *testing.T) {
	path := dbPath(t)
	first := open(t, path)
	const timeout = 100 * time.Millisecond
	start := time.Now()
	s, err := boltstore.Open(t.Context(), path, boltstore.WithLockTimeout(timeout))
	elapsed := time.Since(start)
	if err == nil {
		s.Close()
		t.Fatal("second Open() succeeded, want ErrLocked")
	}
	if !errors.Is(err, boltstore.ErrLocked) || !strings.Contains(err.Error(), "store "+path+" is locked by another process") {
		t.Errorf("second Open() error = %q, want ErrLocked naming %s", err, path)
	}
	if elapsed > 5*time.Second { // bbolt polls the lock every 50ms
		t.Errorf("second Open() failed after %v, want about %v", elapsed, timeout)
	}

	// A context deadline shorter than the lock timeout wins.
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	start = time.Now()
	if _, err := boltstore.Open(ctx, path); !errors.Is(err, boltstore.ErrLocked) {
		t.Errorf("Open(ctx with deadline) error = %v, want ErrLocked", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Open(ctx with deadline) took %v, want about %v", elapsed, timeout)
	}

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	open(t, path, boltstore.WithLockTimeout(timeout))
}

// TestWatchFallsBehind checks that a watcher whose next revision has been
// compacted closes its channel, and that watching again from where it
// stopped reports ErrCompacted.
func TestWatchFallsBehind(t *testing.T) {
	s := open(t, dbPath(t), boltstore.WithRetention(2))
	put(t, s, "k", "0")
	ch, err := s.Watch(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 10; i++ { // nobody reads ch meanwhile
		put(t, s, "k", strconv.Itoa(i))
	}
	got := drain(t, ch)
	var last int64
	for _, ev := range got {
		if ev.Rev != last+1 {
			t.Fatalf("got %v, want contiguous revisions from 1", got)
		}
		last = ev.Rev
	}
	if last >= 8 {
		t.Fatalf("got events up to %d after compaction to [9,10]: %v", last, got)
	}
	if _, err := s.Watch(t.Context(), last); !errors.Is(err, store.ErrCompacted) {
		t.Errorf("Watch(%d) = %v, want ErrCompacted", last, err)
	}
}

// childEnv, when set, makes TestKillDurability the child: it commits
// updates to the store at that path until it is killed.
const childEnv = "BOLTSTORE_TEST_DURABILITY_CHILD"

// TestKillDurability kills a process writing to the store with SIGKILL and
// checks that every Update it acknowledged survived.
func TestKillDurability(t *testing.T) {
	if path := os.Getenv(childEnv); path != "" {
		durabilityChild(t, path)
		return
	}
	const killAfter = 40
	path := dbPath(t)
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestKillDurability$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := make(map[string]int64) // key -> revision the child acknowledged
	var maxRev int64
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		rev, key, ok := strings.Cut(sc.Text(), " ")
		r, err := strconv.ParseInt(rev, 10, 64)
		if !ok || err != nil {
			continue // the test binary's own output
		}
		acked[key], maxRev = r, max(maxRev, r)
		if len(acked) == killAfter {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Lines written before the kill are still read above, up to EOF.
	err = cmd.Wait()
	if len(acked) < killAfter {
		t.Fatalf("child acknowledged %d updates, want %d (wait: %v); stderr:\n%s", len(acked), killAfter, err, stderr.String())
	}
	if err == nil {
		t.Fatalf("child exited cleanly, want killed; stderr:\n%s", stderr.String())
	}

	s := open(t, path)
	rev, err := s.Rev(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rev < maxRev {
		t.Errorf("Rev() after kill = %d, want >= %d", rev, maxRev)
	}
	for key, r := range acked {
		kv, err := s.Get(t.Context(), key)
		if err != nil {
			t.Errorf("Get(%s) acknowledged at revision %d: %v", key, r, err)
			continue
		}
		if kv.ModRev != r || string(kv.Value) != key {
			t.Errorf("Get(%s) = %+v, want revision %d and value %s", key, kv, r, key)
		}
	}
}

// durabilityChild commits one key per Update and prints "<rev> <key>" after
// each acknowledged commit, until it is killed (or, as a safety net, after
// 100000 updates).
func durabilityChild(t *testing.T, path string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	s, err := boltstore.Open(t.Context(), path)
	if err != nil {
		fail(err)
	}
	for i := range 100000 {
		key := fmt.Sprintf("d/%06d", i)
		rev, err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Put(key, []byte(key)) })
		if err != nil {
			fail(err)
		}
		// One write per line: a line is either wholly in the pipe or absent.
		if _, err := fmt.Fprintf(os.Stdout, "%d %s\n", rev, key); err != nil {
			fail(err)
		}
	}
	fail(errors.New("not killed after 100000 updates"))
}

// receive returns n events from ch, failing after a deadline.
func receive(t *testing.T, ch <-chan store.Event, n int) []store.Event {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	var got []store.Event
	for len(got) < n {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("watch channel closed after %v", got)
			}
			got = append(got, ev)
		case <-deadline.C:
			t.Fatalf("timed out after %v", got)
		}
	}
	return got
}

// drain returns what ch delivers until it closes, failing after a deadline.
func drain(t *testing.T, ch <-chan store.Event) []store.Event {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	var got []store.Event
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, ev)
		case <-deadline.C:
			t.Fatalf("watch channel still open after %v", got)
		}
	}
}
