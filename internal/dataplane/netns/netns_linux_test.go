package netns

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/privlink/privlink/internal/testenv"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// rootNS returns a handle to the namespace the scheduler's threads are in.
// (Not /proc/self/ns/net: that is the main thread's, and the main thread may
// have run a goroutine that exited locked in another namespace.)
func rootNS(t *testing.T) Handle {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, err := vnetns.Get()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// threadsAreHome checks that no thread of the scheduler's pool was left in
// another namespace: it samples many threads.
func threadsAreHome(t *testing.T, root Handle) {
	t.Helper()
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			h, err := vnetns.Get()
			if err != nil {
				errc <- err
				return
			}
			defer h.Close()
			if !h.Equal(root) {
				errc <- errors.New("a thread is in another namespace")
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

func TestPrivilegedCreateDoDelete(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	root := rootNS(t)
	name := p + "a"

	if err := Create(name); err != nil {
		t.Fatalf("Create() = %v", err)
	}
	if err := Create(name); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create() again = %v, want fs.ErrExist", err)
	}
	threadsAreHome(t, root)

	h, err := Open(name)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	defer h.Close()
	if h.Equal(root) {
		t.Fatal("Open() returned the root namespace")
	}

	// Do runs fn in the namespace, returns its error, and restores.
	errFn := errors.New("from fn")
	for range 100 {
		err := Do(h, func() error {
			cur, err := vnetns.Get()
			if err != nil {
				return err
			}
			defer cur.Close()
			if !cur.Equal(h) {
				return errors.New("fn does not run in the namespace")
			}
			return errFn
		})
		if !errors.Is(err, errFn) {
			t.Fatalf("Do() = %v, want fn's error", err)
		}
	}
	if err := DoNamed(name, func() error { return nil }); err != nil {
		t.Errorf("DoNamed() = %v", err)
	}
	threadsAreHome(t, root)

	entries, err := List(p)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(h), &st); err != nil {
		t.Fatal(err)
	}
	wantID := ID{Ino: st.Ino, Ctime: st.Ctim.Nano()}
	if diff := cmp.Diff([]Entry{{Name: name, Mounted: true, ID: wantID}}, entries); diff != "" {
		t.Errorf("List() mismatch (-want +got):\n%s", diff)
	}
	if id, ok, err := IDOf(name); err != nil || !ok || id != wantID {
		t.Errorf("IDOf() = %v, %v, %v; want %v, true, nil", id, ok, err, wantID)
	}

	if err := Delete(name); err != nil {
		t.Fatalf("Delete() = %v", err)
	}
	if err := Delete(name); err != nil {
		t.Errorf("Delete() of a missing name = %v, want nil", err)
	}
	if _, err := Open(name); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open() after Delete() = %v, want fs.ErrNotExist", err)
	}
	if _, ok, err := IDOf(name); err != nil || ok {
		t.Errorf("IDOf() after Delete() = %v, %v; want false, nil", ok, err)
	}

	// The same name again: another namespace, another ID, even if the
	// kernel hands out the same inode number.
	if err := Create(name); err != nil {
		t.Fatal(err)
	}
	defer Delete(name)
	if id, ok, err := IDOf(name); err != nil || !ok || id == wantID {
		t.Errorf("IDOf() after re-create = %v, %v, %v; want an ID other than %v", id, ok, err, wantID)
	}
}

func TestPrivilegedStaleName(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	name := p + "stale"
	// The leftover of a create interrupted between the mount point and
	// the mount.
	if err := os.WriteFile(filepath.Join(RunDir, name), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	entries, err := List(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Entry{{Name: name, Mounted: false}}, entries); diff != "" {
		t.Errorf("List() mismatch (-want +got):\n%s", diff)
	}
	if h, err := Open(name); err == nil {
		h.Close()
		t.Error("Open() of an unmounted name = nil error")
	}
	if err := Delete(name); err != nil {
		t.Fatalf("Delete() = %v", err)
	}
	if entries, _ := List(p); len(entries) != 0 {
		t.Errorf("List() after Delete() = %v, want nothing", entries)
	}
}

func TestCheckName(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b", "../x", "a\x00"} {
		if err := Create(name); err == nil {
			t.Errorf("Create(%q) = nil, want an error", name)
		}
		if err := Delete(name); err == nil {
			t.Errorf("Delete(%q) = nil, want an error", name)
		}
	}
}
