// Package storetest is the conformance suite for store.Store: the tests of
// every implementation (boltstore, later etcdstore) call Run.
//
// It must not import any store implementation, nor any privlink package
// other than internal/store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privlink/privlink/internal/store"
)

// Options says what kind of store a test needs from the open function.
type Options struct {
	// Retention, if positive, asks for a store whose Watch remembers the
	// changes of exactly the newest Retention revisions: each commit
	// compacts the revisions that fall out of that window. Zero means the
	// implementation's default.
	Retention int
}

// waitTimeout bounds every wait for a watch event or a closed channel.
const waitTimeout = 10 * time.Second

// Run runs the conformance suite. open must return a new, empty store
// configured as opts asks, and close it when t ends (Close is idempotent, so
// tests may close it first).
func Run(t *testing.T, open func(t *testing.T, opts Options) store.Store) {
	newStore := func(t *testing.T) store.Store { return open(t, Options{}) }
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGet", testPutGet},
		{"EmptyValue", testEmptyValue},
		{"ListPrefix", testListPrefix},
		{"Delete", testDelete},
		{"UpdateRollback", testUpdateRollback},
		{"ReadYourWrites", testReadYourWrites},
		{"Revision", testRevision},
		{"ViewConsistency", testViewConsistency},
		{"ValueCopies", testValueCopies},
		{"WatchReplay", testWatchReplay},
		{"WatchFromRev", testWatchFromRev},
		{"WatchInvalidRev", testWatchInvalidRev},
		{"WatchConcurrent", testWatchConcurrent},
		{"WatchSlowConsumer", testWatchSlowConsumer},
		{"WatchCancel", testWatchCancel},
		{"ContextDone", testContextDone},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
	t.Run("Compacted", func(t *testing.T) {
		t.Parallel()
		testCompacted(t, open(t, Options{Retention: 3}))
	})
}

var errBoom = errors.New("boom")

// put commits the key/value pairs kv in one transaction.
func put(t *testing.T, s store.Store, kv ...string) int64 {
	t.Helper()
	rev, err := s.Update(t.Context(), func(tx store.Tx) error {
		for i := 0; i < len(kv); i += 2 {
			if err := tx.Put(kv[i], []byte(kv[i+1])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update(put %q) = %v", kv, err)
	}
	return rev
}

// del deletes keys in one transaction.
func del(t *testing.T, s store.Store, keys ...string) int64 {
	t.Helper()
	rev, err := s.Update(t.Context(), func(tx store.Tx) error {
		for _, k := range keys {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update(delete %q) = %v", keys, err)
	}
	return rev
}

func rev(t *testing.T, s store.Store) int64 {
	t.Helper()
	r, err := s.Rev(t.Context())
	if err != nil {
		t.Fatalf("Rev() = %v", err)
	}
	return r
}

func list(t *testing.T, s store.Store, prefix string) []store.KV {
	t.Helper()
	kvs, err := s.List(t.Context(), prefix)
	if err != nil {
		t.Fatalf("List(%q) = %v", prefix, err)
	}
	return kvs
}

func watch(t *testing.T, s store.Store, ctx context.Context, fromRev int64) <-chan store.Event {
	t.Helper()
	ch, err := s.Watch(ctx, fromRev)
	if err != nil {
		t.Fatalf("Watch(%d) = %v", fromRev, err)
	}
	return ch
}

// collect receives n events from ch, failing if ch closes or waitTimeout
// passes first.
func collect(t *testing.T, ch <-chan store.Event, n int) []store.Event {
	t.Helper()
	got, err := receive(ch, n)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// receive is collect for goroutines other than the test's.
func receive(ch <-chan store.Event, n int) ([]store.Event, error) {
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	var got []store.Event
	for len(got) < n {
		select {
		case ev, ok := <-ch:
			if !ok {
				return got, fmt.Errorf("watch channel closed after %d of %d events", len(got), n)
			}
			got = append(got, ev)
		case <-deadline.C:
			return got, fmt.Errorf("got %d of %d events after %v", len(got), n, waitTimeout)
		}
	}
	return got, nil
}

// waitClosed drains ch until it is closed, failing after waitTimeout.
func waitClosed(t *testing.T, ch <-chan store.Event) []store.Event {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
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
			t.Fatalf("watch channel still open after %v", waitTimeout)
		}
	}
}

func testGetMissing(t *testing.T, s store.Store) {
	put(t, s, "a/b", "1")
	for _, key := range []string{"a", "a/", "a/bc", "missing"} {
		if _, err := s.Get(t.Context(), key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q) error = %v, want ErrNotFound", key, err)
		}
		err := s.View(t.Context(), func(tx store.ReadTx) error {
			_, err := tx.Get(key)
			return err
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ReadTx.Get(%q) error = %v, want ErrNotFound", key, err)
		}
	}
}

func testPutGet(t *testing.T, s store.Store) {
	const key = "vpc/000000000000/vpc-0123456789abcdef0"
	steps := []struct {
		name string
		kv   []string // written in one transaction
		want store.KV // Get(key) afterwards
	}{
		{"first put", []string{key, "v1"}, store.KV{Key: key, Value: []byte("v1"), ModRev: 1}},
		{"other key", []string{"other", "x"}, store.KV{Key: key, Value: []byte("v1"), ModRev: 1}},
		{"overwrite", []string{key, "v2", "other", "y"}, store.KV{Key: key, Value: []byte("v2"), ModRev: 3}},
	}
	for _, st := range steps {
		if r := put(t, s, st.kv...); r != st.want.ModRev && st.kv[0] == key {
			t.Errorf("%s: Update() = %d, want %d", st.name, r, st.want.ModRev)
		}
		got, err := s.Get(t.Context(), key)
		if err != nil {
			t.Fatalf("%s: Get() = %v", st.name, err)
		}
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("%s: Get() mismatch (-want +got):\n%s", st.name, diff)
		}
	}
}

func testEmptyValue(t *testing.T, s store.Store) {
	r := put(t, s, "empty", "")
	got, err := s.Get(t.Context(), "empty")
	if err != nil {
		t.Fatalf("Get() = %v", err)
	}
	if diff := cmp.Diff(store.KV{Key: "empty", Value: []byte{}, ModRev: r}, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Get() mismatch (-want +got):\n%s", diff)
	}
}

func testListPrefix(t *testing.T, s store.Store) {
	keys := []string{"b", "a/c", "a/bc", "a/b/c", "a/b/", "a/b", "a", "a/b\x00", "a/b\xff", "a\xff"}
	var kv []string
	for _, k := range keys {
		kv = append(kv, k, "v:"+k)
	}
	r := put(t, s, kv...)
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a", "a/b", "a/b\x00", "a/b/", "a/b/c", "a/bc", "a/b\xff", "a/c", "a\xff", "b"}},
		{"a/b", []string{"a/b", "a/b\x00", "a/b/", "a/b/c", "a/bc", "a/b\xff"}},
		{"a/b/", []string{"a/b/", "a/b/c"}},
		{"a/bc", []string{"a/bc"}},
		{"a/bcd", nil},
		{"a/", []string{"a/b", "a/b\x00", "a/b/", "a/b/c", "a/bc", "a/b\xff", "a/c"}},
		{"a\xff", []string{"a\xff"}},
		{"c", nil},
		{"\x00", nil},
	}
	for _, tt := range tests {
		var want []store.KV
		for _, k := range tt.want {
			want = append(want, store.KV{Key: k, Value: []byte("v:" + k), ModRev: r})
		}
		if diff := cmp.Diff(want, list(t, s, tt.prefix), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("List(%q) mismatch (-want +got):\n%s", tt.prefix, diff)
		}
	}
}

func testDelete(t *testing.T, s store.Store) {
	put(t, s, "a", "1", "b", "2")
	r := del(t, s, "a")
	if _, err := s.Get(t.Context(), "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(deleted) error = %v, want ErrNotFound", err)
	}
	if diff := cmp.Diff([]store.KV{{Key: "b", Value: []byte("2"), ModRev: r - 1}}, list(t, s, "")); diff != "" {
		t.Errorf("List() mismatch (-want +got):\n%s", diff)
	}
	if got := del(t, s, "a"); got != r {
		t.Errorf("Update(delete again) = %d, want %d (unchanged)", got, r)
	}
}

func testUpdateRollback(t *testing.T, s store.Store) {
	r := put(t, s, "a", "1", "c", "3")
	got, err := s.Update(t.Context(), func(tx store.Tx) error {
		for _, op := range []func() error{
			func() error { return tx.Put("a", []byte("2")) },
			func() error { return tx.Put("b", []byte("new")) },
			func() error { return tx.Delete("c") },
		} {
			if err := op(); err != nil {
				return err
			}
		}
		return errBoom
	})
	if err != errBoom { // the very same value, not a wrapper
		t.Errorf("Update() error = %v, want errBoom unchanged", err)
	}
	if got != 0 && got != r {
		t.Errorf("Update() rev = %d, want 0 or %d", got, r)
	}
	want := []store.KV{
		{Key: "a", Value: []byte("1"), ModRev: r},
		{Key: "c", Value: []byte("3"), ModRev: r},
	}
	if diff := cmp.Diff(want, list(t, s, "")); diff != "" {
		t.Errorf("List() after rollback mismatch (-want +got):\n%s", diff)
	}
	if got := rev(t, s); got != r {
		t.Errorf("Rev() after rollback = %d, want %d", got, r)
	}
}

func testReadYourWrites(t *testing.T, s store.Store) {
	r := put(t, s, "k/old", "o", "k/gone", "g")
	_, err := s.Update(t.Context(), func(tx store.Tx) error {
		steps := []struct {
			name string
			op   func() error
			want []store.KV
		}{
			{"put new", func() error { return tx.Put("k/new", []byte("n")) }, []store.KV{
				{Key: "k/gone", Value: []byte("g"), ModRev: r},
				{Key: "k/new", Value: []byte("n"), ModRev: r + 1},
				{Key: "k/old", Value: []byte("o"), ModRev: r},
			}},
			{"delete existing", func() error { return tx.Delete("k/gone") }, []store.KV{
				{Key: "k/new", Value: []byte("n"), ModRev: r + 1},
				{Key: "k/old", Value: []byte("o"), ModRev: r},
			}},
			{"overwrite", func() error { return tx.Put("k/old", []byte("o2")) }, []store.KV{
				{Key: "k/new", Value: []byte("n"), ModRev: r + 1},
				{Key: "k/old", Value: []byte("o2"), ModRev: r + 1},
			}},
			{"put then delete", func() error {
				if err := tx.Put("k/tmp", []byte("t")); err != nil {
					return err
				}
				return tx.Delete("k/tmp")
			}, []store.KV{
				{Key: "k/new", Value: []byte("n"), ModRev: r + 1},
				{Key: "k/old", Value: []byte("o2"), ModRev: r + 1},
			}},
		}
		for _, st := range steps {
			if err := st.op(); err != nil {
				return fmt.Errorf("%s: %w", st.name, err)
			}
			got, err := tx.List("k/")
			if err != nil {
				return fmt.Errorf("%s: list: %w", st.name, err)
			}
			// The revision of an uncommitted write is not specified.
			if diff := cmp.Diff(st.want, got, cmpopts.IgnoreFields(store.KV{}, "ModRev")); diff != "" {
				t.Errorf("%s: Tx.List() mismatch (-want +got):\n%s", st.name, diff)
			}
			for _, kv := range st.want {
				v, err := tx.Get(kv.Key)
				if err != nil {
					return fmt.Errorf("%s: get %s: %w", st.name, kv.Key, err)
				}
				if diff := cmp.Diff(kv.Value, v); diff != "" {
					t.Errorf("%s: Tx.Get(%q) mismatch (-want +got):\n%s", st.name, kv.Key, diff)
				}
			}
		}
		for _, k := range []string{"k/gone", "k/tmp"} {
			if _, err := tx.Get(k); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Tx.Get(%q) error = %v, want ErrNotFound", k, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update() = %v", err)
	}
	want := []store.KV{
		{Key: "k/new", Value: []byte("n"), ModRev: r + 1},
		{Key: "k/old", Value: []byte("o2"), ModRev: r + 1},
	}
	if diff := cmp.Diff(want, list(t, s, "k/")); diff != "" {
		t.Errorf("List() after commit mismatch (-want +got):\n%s", diff)
	}
}

func testRevision(t *testing.T, s store.Store) {
	if got := rev(t, s); got != 0 {
		t.Fatalf("Rev() of empty store = %d, want 0", got)
	}
	tests := []struct {
		name    string
		fn      func(tx store.Tx) error
		wantErr error
		bump    int64
	}{
		{"put one", func(tx store.Tx) error { return tx.Put("a", []byte("1")) }, nil, 1},
		{"put many", func(tx store.Tx) error {
			for i := range 10 {
				if err := tx.Put("m/"+strconv.Itoa(i), []byte("x")); err != nil {
					return err
				}
			}
			return nil
		}, nil, 1},
		{"read only", func(tx store.Tx) error {
			_, err := tx.Get("a")
			return err
		}, nil, 0},
		{"nothing", func(tx store.Tx) error { return nil }, nil, 0},
		{"delete missing", func(tx store.Tx) error { return tx.Delete("missing") }, nil, 0},
		{"put then delete new key", func(tx store.Tx) error {
			if err := tx.Put("tmp", []byte("t")); err != nil {
				return err
			}
			return tx.Delete("tmp")
		}, nil, 0},
		{"put same value", func(tx store.Tx) error { return tx.Put("a", []byte("1")) }, nil, 1},
		{"delete existing", func(tx store.Tx) error { return tx.Delete("m/0") }, nil, 1},
		{"error", func(tx store.Tx) error {
			if err := tx.Put("a", []byte("2")); err != nil {
				return err
			}
			return errBoom
		}, errBoom, 0},
	}
	want := int64(0)
	for _, tt := range tests {
		want += tt.bump
		got, err := s.Update(t.Context(), tt.fn)
		if !errors.Is(err, tt.wantErr) {
			t.Fatalf("%s: Update() error = %v, want %v", tt.name, err, tt.wantErr)
		}
		if err == nil && got != want {
			t.Errorf("%s: Update() = %d, want %d", tt.name, got, want)
		}
		if got := rev(t, s); got != want {
			t.Errorf("%s: Rev() = %d, want %d", tt.name, got, want)
		}
	}
}

// testViewConsistency checks that a View sees either all or none of a
// concurrent transaction: a writer keeps two keys equal, readers must never
// see them differ.
func testViewConsistency(t *testing.T, s store.Store) {
	put(t, s, "bank/a", "0", "bank/b", "0")
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for i := 1; i <= 50; i++ {
			v := strconv.Itoa(i)
			if _, err := s.Update(t.Context(), func(tx store.Tx) error {
				if err := tx.Put("bank/a", []byte(v)); err != nil {
					return err
				}
				return tx.Put("bank/b", []byte(v))
			}); err != nil {
				t.Errorf("Update(%d) = %v", i, err)
				return
			}
		}
	})
	for running := true; running; {
		select {
		case <-done:
			running = false // one last View after the writer finished
		default:
		}
		err := s.View(t.Context(), func(tx store.ReadTx) error {
			a, err := tx.Get("bank/a")
			if err != nil {
				return err
			}
			kvs, err := tx.List("bank/")
			if err != nil {
				return err
			}
			want := []store.KV{
				{Key: "bank/a", Value: a, ModRev: kvs[0].ModRev},
				{Key: "bank/b", Value: a, ModRev: kvs[0].ModRev},
			}
			if diff := cmp.Diff(want, kvs); diff != "" {
				return fmt.Errorf("inconsistent view (-want +got):\n%s", diff)
			}
			return nil
		})
		if err != nil {
			t.Errorf("View() = %v", err)
			break
		}
	}
	wg.Wait()
	if err := s.View(t.Context(), func(store.ReadTx) error { return errBoom }); err != errBoom { // unchanged
		t.Errorf("View() error = %v, want errBoom unchanged", err)
	}
}

func testValueCopies(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := watch(t, s, ctx, 0)

	buf := []byte("one")
	if _, err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put("k", buf); err != nil {
			return err
		}
		copy(buf, "XXX") // Put must have copied the value
		return nil
	}); err != nil {
		t.Fatalf("Update() = %v", err)
	}
	copy(buf, "YYY")

	got := make(map[string][]byte)
	kv, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatalf("Get() = %v", err)
	}
	got["Get"] = kv.Value
	got["List"] = list(t, s, "k")[0].Value
	got["Watch"] = collect(t, ch, 1)[0].Value
	if err := s.View(ctx, func(tx store.ReadTx) error {
		got["ReadTx.Get"], err = tx.Get("k")
		return err
	}); err != nil {
		t.Fatalf("View() = %v", err)
	}

	put(t, s, "k", "two")
	for name, v := range got {
		if diff := cmp.Diff([]byte("one"), v); diff != "" {
			t.Errorf("%s value after later writes mismatch (-want +got):\n%s", name, diff)
		}
		v[0] = 'Z' // scribbling on a returned value must not reach the store
	}
	kv, err = s.Get(ctx, "k")
	if err != nil {
		t.Fatalf("Get() = %v", err)
	}
	if diff := cmp.Diff([]byte("two"), kv.Value); diff != "" {
		t.Errorf("Get() value mismatch (-want +got):\n%s", diff)
	}
}

// seedHistory writes a fixed history and returns the events it must produce.
func seedHistory(t *testing.T, s store.Store) []store.Event {
	put(t, s, "a", "1")
	put(t, s, "z", "1", "y", "2") // delivered in key order: y, z
	del(t, s, "a", "missing")
	put(t, s, "y", "3")
	return []store.Event{
		{Type: store.EventPut, Key: "a", Value: []byte("1"), Rev: 1},
		{Type: store.EventPut, Key: "y", Value: []byte("2"), Rev: 2},
		{Type: store.EventPut, Key: "z", Value: []byte("1"), Rev: 2},
		{Type: store.EventDelete, Key: "a", Rev: 3},
		{Type: store.EventPut, Key: "y", Value: []byte("3"), Rev: 4},
	}
}

func testWatchReplay(t *testing.T, s store.Store) {
	want := seedHistory(t, s)
	got := collect(t, watch(t, s, t.Context(), 0), len(want))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Watch(0) mismatch (-want +got):\n%s", diff)
	}
}

// testWatchFromRev checks that Watch(fromRev) starts exactly after fromRev:
// after the replay, the next event is a fresh commit.
func testWatchFromRev(t *testing.T, s store.Store) {
	history := seedHistory(t, s)
	var chans []<-chan store.Event
	for from := range int64(5) {
		chans = append(chans, watch(t, s, t.Context(), from))
	}
	r := put(t, s, "next", "n")
	next := store.Event{Type: store.EventPut, Key: "next", Value: []byte("n"), Rev: r}
	for from, ch := range chans {
		var want []store.Event
		for _, ev := range history {
			if ev.Rev > int64(from) {
				want = append(want, ev)
			}
		}
		want = append(want, next)
		if diff := cmp.Diff(want, collect(t, ch, len(want))); diff != "" {
			t.Errorf("Watch(%d) mismatch (-want +got):\n%s", from, diff)
		}
	}
}

// testWatchInvalidRev checks that revisions after the current one, and
// negative ones, are refused rather than silently skipping changes.
func testWatchInvalidRev(t *testing.T, s store.Store) {
	r := put(t, s, "a", "1")
	for _, from := range []int64{-1, r + 1, r + 100} {
		ch, err := s.Watch(t.Context(), from)
		if err == nil || errors.Is(err, store.ErrCompacted) {
			t.Errorf("Watch(%d) = %v, %v; want an error other than ErrCompacted", from, ch, err)
		}
	}
}

// testWatchConcurrent races 8 writers against a live watcher and a watcher
// replaying from 0, both read while the writers run; each must see every
// revision exactly once, in order.
func testWatchConcurrent(t *testing.T, s store.Store) {
	const writers, updates = 8, 50
	const total = writers * updates
	start := put(t, s, "seed", "s")

	type result struct {
		events []store.Event
		err    error
	}
	var wg sync.WaitGroup
	consume := func(ch <-chan store.Event, n int, res *result) {
		wg.Go(func() { res.events, res.err = receive(ch, n) })
	}
	var live, replay result
	consume(watch(t, s, t.Context(), start), total, &live)
	for w := range writers {
		wg.Go(func() {
			for i := range updates {
				key := fmt.Sprintf("c/%d/%03d", w, i)
				if _, err := s.Update(t.Context(), func(tx store.Tx) error {
					return tx.Put(key, []byte(key))
				}); err != nil {
					t.Errorf("Update(%s) = %v", key, err)
					return
				}
			}
		})
	}
	consume(watch(t, s, t.Context(), 0), int(start)+total, &replay) // while the writers run
	wg.Wait()

	for _, c := range []struct {
		name string
		from int64
		res  result
	}{{"live", start, live}, {"replay", 0, replay}} {
		if c.res.err != nil {
			t.Errorf("%s: %v", c.name, c.res.err)
			continue
		}
		seen := make(map[string]bool)
		last := make(map[string]string) // writer prefix -> last key
		for i, ev := range c.res.events {
			if want := c.from + 1 + int64(i); ev.Rev != want {
				t.Fatalf("%s: event %d has Rev %d, want %d (gap or duplicate)", c.name, i, ev.Rev, want)
			}
			if ev.Rev <= start {
				continue
			}
			if ev.Type != store.EventPut || string(ev.Value) != ev.Key || seen[ev.Key] {
				t.Fatalf("%s: unexpected event %+v", c.name, ev)
			}
			seen[ev.Key] = true
			w := ev.Key[:len("c/0/")]
			if ev.Key <= last[w] {
				t.Fatalf("%s: %s delivered after %s", c.name, ev.Key, last[w])
			}
			last[w] = ev.Key
		}
		if len(seen) != total {
			t.Errorf("%s: got %d distinct keys, want %d", c.name, len(seen), total)
		}
	}
}

// testWatchSlowConsumer checks that a watcher nobody reads does not hold up
// commits, and still delivers everything afterwards.
func testWatchSlowConsumer(t *testing.T, s store.Store) {
	const n = 20
	ch := watch(t, s, t.Context(), 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			if _, err := s.Update(t.Context(), func(tx store.Tx) error {
				return tx.Put("k", []byte(strconv.Itoa(i)))
			}); err != nil {
				t.Errorf("Update(%d) = %v", i, err)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatalf("Update blocked for %v behind an unread watcher", waitTimeout)
	}
	var want []store.Event
	for i := range n {
		want = append(want, store.Event{Type: store.EventPut, Key: "k", Value: []byte(strconv.Itoa(i)), Rev: int64(i + 1)})
	}
	if diff := cmp.Diff(want, collect(t, ch, n)); diff != "" {
		t.Errorf("Watch(0) mismatch (-want +got):\n%s", diff)
	}
}

func testWatchCancel(t *testing.T, s store.Store) {
	put(t, s, "a", "1")
	ctx, cancel := context.WithCancel(t.Context())
	ch := watch(t, s, ctx, 0)
	collect(t, ch, 1)
	cancel()
	put(t, s, "a", "2") // must not block on the cancelled watcher
	got := waitClosed(t, ch)
	if len(got) > 1 {
		t.Errorf("after cancel got %d events, want at most 1: %v", len(got), got)
	}
	if _, err := s.Watch(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Watch(cancelled ctx) error = %v, want context.Canceled", err)
	}
}

func testContextDone(t *testing.T, s store.Store) {
	put(t, s, "a", "1")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, call := range calls(ctx, s) {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with cancelled ctx error = %v, want context.Canceled", name, err)
		}
	}
	if got := rev(t, s); got != 1 {
		t.Errorf("Rev() = %d, want 1", got)
	}
}

// calls returns one call of every Store method except Close.
func calls(ctx context.Context, s store.Store) map[string]func() error {
	return map[string]func() error{
		"Get": func() error { _, err := s.Get(ctx, "a"); return err },
		"List": func() error {
			_, err := s.List(ctx, "")
			return err
		},
		"View": func() error { return s.View(ctx, func(store.ReadTx) error { return nil }) },
		"Update": func() error {
			_, err := s.Update(ctx, func(tx store.Tx) error { return tx.Put("b", nil) })
			return err
		},
		"Rev": func() error { _, err := s.Rev(ctx); return err },
		"Watch": func() error {
			_, err := s.Watch(ctx, 0)
			return err
		},
	}
}

func testClosed(t *testing.T, s store.Store) {
	put(t, s, "a", "1")
	ch := watch(t, s, t.Context(), 1)
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	waitClosed(t, ch)
	if err := s.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	for name, call := range calls(t.Context(), s) {
		if err := call(); !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close error = %v, want ErrClosed", name, err)
		}
	}
}

// testCompacted runs on a store opened with Retention 3.
func testCompacted(t *testing.T, s store.Store) {
	for i := range 10 {
		put(t, s, "k", strconv.Itoa(i))
	}
	for _, from := range []int64{0, 1, 6} {
		if _, err := s.Watch(t.Context(), from); !errors.Is(err, store.ErrCompacted) {
			t.Errorf("Watch(%d) error = %v, want ErrCompacted", from, err)
		}
	}
	var want []store.Event
	for r := int64(8); r <= 10; r++ {
		want = append(want, store.Event{Type: store.EventPut, Key: "k", Value: []byte(strconv.Itoa(int(r - 1))), Rev: r})
	}
	if diff := cmp.Diff(want, collect(t, watch(t, s, t.Context(), 7), 3)); diff != "" {
		t.Errorf("Watch(7) mismatch (-want +got):\n%s", diff)
	}
}
