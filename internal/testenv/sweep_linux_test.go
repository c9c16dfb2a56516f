package testenv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privlink/privlink/internal/procfs"
	"golang.org/x/sys/unix"
)

// testDirs returns empty temporary dirs for a sweeper, with proc as its
// procfs.
func testDirs(t *testing.T, proc string) dirs {
	d := dirs{records: t.TempDir(), netns: t.TempDir(), etc: t.TempDir(), proc: proc}
	return d
}

// touch creates path (a directory if dir) with an mtime age ago.
func touch(t *testing.T, path string, dir bool, age time.Duration) {
	t.Helper()
	var err error
	if dir {
		err = os.Mkdir(path, 0o755)
	} else {
		err = os.WriteFile(path, nil, 0o444)
	}
	if err != nil {
		t.Fatal(err)
	}
	mt := time.Now().Add(-age)
	if err := os.Chtimes(path, mt, mt); err != nil {
		t.Fatal(err)
	}
}

func TestOrphans(t *testing.T) {
	const old, young = 2 * orphanAge, orphanAge / 2
	tests := []struct {
		name   string
		etc    bool // under /etc/netns rather than /run/netns
		age    time.Duration
		orphan bool // its id is an orphan's
	}{
		{name: "plktest-aaaaaa-r-vpc-1", age: old, orphan: true},
		{name: "plktest-aaaaaa-i-1", age: old, orphan: true},
		{name: "plktest-aaaaaa-r-vpc-1", etc: true, age: old, orphan: true},
		{name: "plktest-bbbbbb-x", age: old},              // recorded
		{name: "plktest-cccccc-x", age: young},            // too young
		{name: "plktest-dddddd-a", age: old},              // a sibling is young
		{name: "plktest-dddddd-b", etc: true, age: young}, // the young sibling
		{name: "plktest-eeeeee-x", etc: true, age: old, orphan: true},
		{name: "plk-vpc-0123456789abcdef0", age: old}, // the daemon's
		{name: "plktest-x", age: old},                 // not a Prefix's
		{name: "plktest-ABCDEF-x", age: old},          // not a Prefix's
		{name: "other", etc: true, age: old},          // not a Prefix's
	}
	d := testDirs(t, "/proc")
	for _, tt := range tests {
		dir := d.netns
		if tt.etc {
			dir = d.etc
		}
		touch(t, filepath.Join(dir, tt.name), tt.etc, tt.age)
	}
	var want []string
	for _, tt := range tests {
		if id, _ := idOf(tt.name); tt.orphan && !slices.Contains(want, id) {
			want = append(want, id)
		}
	}
	s := sweeper{dirs: d, now: time.Now()}
	got, err := s.orphans(map[string]bool{"bbbbbb": true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("orphans() mismatch (-want +got):\n%s", diff)
	}
}

// TestSweepRecords sweeps records and /etc/netns directories (no
// namespaces, which need root) against a fake procfs.
func TestSweepRecords(t *testing.T) {
	const pidNS = 4026531836
	// Pid 100 runs since tick 5000, 101 is a zombie.
	proc := fakeProc(t, map[int]string{100: statLine(100, "a.test", 'S', 5000), 101: statLine(101, "b.test", 'Z', 1)})
	tests := []struct {
		id    string
		owner owner
		swept bool
	}{
		{id: "aaaaaa", owner: owner{PID: 100, Start: 5000, PidNS: pidNS}},              // alive
		{id: "bbbbbb", owner: owner{PID: 100, Start: 5000, PidNS: pidNS}},              // alive, a second prefix
		{id: "cccccc", owner: owner{PID: 200, Start: 5000, PidNS: pidNS}, swept: true}, // dead
		{id: "dddddd", owner: owner{PID: 100, Start: 4000, PidNS: pidNS}, swept: true}, // pid reused
		{id: "eeeeee", owner: owner{PID: 101, Start: 1, PidNS: pidNS}, swept: true},    // zombie
		{id: "ffffff", owner: owner{PID: 200, Start: 5000, PidNS: pidNS + 1}},          // another pid namespace's
	}
	d := testDirs(t, proc)
	var wantRecords, wantEtc, wantSwept []string
	for _, tt := range tests {
		if err := writeRecord(d.records, tt.id, tt.owner); err != nil {
			t.Fatal(err)
		}
		// Old, so that only the records protect the live ones.
		name := BasePrefix + tt.id + "-r-vpc-1"
		touch(t, filepath.Join(d.etc, name), true, 2*orphanAge)
		if err := os.WriteFile(filepath.Join(d.etc, name, "resolv.conf"), []byte("nameserver 10.0.0.2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if tt.swept {
			wantSwept = append(wantSwept, fmt.Sprintf("%s%s- of gone pid %d", BasePrefix, tt.id, tt.owner.PID))
			continue
		}
		wantRecords = append(wantRecords, tt.id)
		wantEtc = append(wantEtc, name)
	}
	// Temporary files of writeRecords that were killed: only the old one
	// goes.
	touch(t, filepath.Join(d.records, ".abcdef.tmp1"), false, 2*orphanAge)
	touch(t, filepath.Join(d.records, ".abcdef.tmp2"), false, 0)
	wantRecords = append([]string{".abcdef.tmp2"}, wantRecords...)

	s := sweeper{dirs: d, self: owner{PID: 100, Start: 5000, PidNS: pidNS}, now: time.Now()}
	swept, err := s.sweep()
	if err != nil {
		t.Fatalf("sweep() = %v", err)
	}
	var gotSwept []string
	for _, line := range swept {
		before, _, _ := strings.Cut(line, ":")
		gotSwept = append(gotSwept, before)
	}
	if diff := cmp.Diff(wantSwept, gotSwept); diff != "" {
		t.Errorf("sweep() swept mismatch (-want +got):\n%s", diff)
	}
	for _, c := range []struct {
		dir  string
		want []string
	}{{d.records, wantRecords}, {d.etc, wantEtc}} {
		got, err := listDir(c.dir, "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("after sweep(), %s mismatch (-want +got):\n%s", c.dir, diff)
		}
	}
	if swept, err := s.sweep(); len(swept) != 0 || err != nil {
		t.Errorf("second sweep() = %q, %v; want nothing", swept, err)
	}
}

// nsProc is a process in a network namespace of its own.
type nsProc struct {
	pid  int
	done chan struct{} // closed when it has exited
	err  error         // its exit, once done
}

func (p *nsProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// newNamespace starts a process in a new network namespace and bind-mounts
// that namespace at path, as `ip netns add` does; the test's cleanup
// removes both.
func newNamespace(t *testing.T, path string) *nsProc {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nsProc{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	if err := os.WriteFile(path, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The sweep may have removed it already.
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			t.Errorf("cleanup: unmount %s: %v", path, err)
		}
	})
	if err := unix.Mount(fmt.Sprintf("/proc/%d/ns/net", p.pid), path, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind-mount the namespace of pid %d at %s: %v", p.pid, path, err)
	}
	return p
}

// deadOwner returns the owner record of a process that has exited.
func deadOwner(t *testing.T, pidNS uint64) owner {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	cmd.Process.Kill()
	cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	st, err := procfs.ParseStat(data)
	if err != nil {
		t.Fatal(err)
	}
	return owner{PID: pid, Start: st.StartTime, PidNS: pidNS}
}

// TestPrivilegedSweep runs sweeps over real namespaces, mounted in a
// temporary directory rather than /run/netns so that nothing of other
// tests on the host is in reach: the namespace of a dead owner goes with
// its process and record, a live owner's stays, and one without a record
// goes only once it is old.
func TestPrivilegedSweep(t *testing.T) {
	RequirePrivileged(t)
	self, err := currentOwner("/proc")
	if err != nil {
		t.Fatal(err)
	}
	d := testDirs(t, "/proc")
	dead, live, orphan := newPrefix(), newPrefix(), newPrefix()
	if err := writeRecord(d.records, prefixID(dead), deadOwner(t, self.PidNS)); err != nil {
		t.Fatal(err)
	}
	if err := writeRecord(d.records, prefixID(live), self); err != nil {
		t.Fatal(err)
	}
	procs := make(map[string]*nsProc)
	for _, p := range []string{dead, live, orphan} {
		for _, name := range []string{p + "a", p + "b"} {
			procs[name] = newNamespace(t, filepath.Join(d.netns, name))
		}
		if err := os.Mkdir(filepath.Join(d.etc, p+"a"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	check := func(t *testing.T, step string, gone ...string) {
		t.Helper()
		var wantNS, wantEtc []string
		for _, p := range []string{dead, live, orphan} {
			if slices.Contains(gone, p) {
				continue
			}
			wantNS = append(wantNS, p+"a", p+"b")
			wantEtc = append(wantEtc, p+"a")
		}
		slices.Sort(wantNS)
		slices.Sort(wantEtc)
		for _, c := range []struct {
			dir  string
			want []string
		}{{d.netns, wantNS}, {d.etc, wantEtc}} {
			got, err := listDir(c.dir, "")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("%s: %s mismatch (-want +got):\n%s", step, c.dir, diff)
			}
		}
		for name, p := range procs {
			if slices.ContainsFunc(gone, func(g string) bool { return strings.HasPrefix(name, g) }) {
				WaitFor(t, 10*time.Second, "process "+strconv.Itoa(p.pid)+" in "+name+" to be killed", func() error {
					if !p.exited() {
						return errors.New("still running")
					}
					return nil
				})
				var ee *exec.ExitError
				if !errors.As(p.err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
					t.Errorf("%s: process in %s ended with %v, want SIGKILL", step, name, p.err)
				}
			} else if p.exited() {
				t.Errorf("%s: process in %s exited (%v), want it running", step, name, p.err)
			}
		}
	}

	// Two sweepers at once, as two test processes starting together: one
	// of them sweeps the dead owner's prefix, the other skips it.
	var wg sync.WaitGroup
	results := make([][]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			s := sweeper{dirs: d, self: self, now: time.Now()}
			results[i], errs[i] = s.sweep()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Errorf("concurrent sweep() = %v", err)
	}
	all := slices.Concat(results...)
	if len(all) != 1 || !strings.HasPrefix(all[0], dead+" of gone pid") || !strings.Contains(all[0], "removed 2 namespaces and 1 ") || !strings.HasSuffix(all[0], "killed 2 processes") {
		t.Errorf("concurrent sweep() swept %q, want the dead owner's %s once, with 2 namespaces, 1 directory and 2 processes", all, dead)
	}
	check(t, "first sweep", dead)
	if got, err := listDir(d.records, ""); err != nil || !slices.Equal(got, []string{prefixID(live)}) {
		t.Errorf("records after first sweep = %q, %v; want only %s", got, err, prefixID(live))
	}

	// Two hours on, the orphan goes; the live owner's prefix, as old,
	// stays.
	s := sweeper{dirs: d, self: self, now: time.Now().Add(2 * orphanAge)}
	swept, err := s.sweep()
	if err != nil {
		t.Errorf("sweep() two hours on = %v", err)
	}
	if len(swept) != 1 || !strings.HasPrefix(swept[0], orphan+" (no owner record") {
		t.Errorf("sweep() two hours on swept %q, want %s", swept, orphan)
	}
	check(t, "sweep two hours on", dead, orphan)
}

// TestPrivilegedPrefixRecord checks that Prefix records its owner in the
// host's records directory, and that the cleanup removes the record.
func TestPrivilegedPrefixRecord(t *testing.T) {
	RequirePrivileged(t)
	self, err := currentOwner("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var id string
	t.Run("prefix", func(t *testing.T) {
		id = prefixID(Prefix(t))
		got, err := readRecord(recordsDir, id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(self, got); diff != "" {
			t.Errorf("record of Prefix() mismatch (-want +got):\n%s", diff)
		}
	})
	if _, err := readRecord(recordsDir, id); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("record of Prefix() after its test = %v, want it gone", err)
	}
}

// TestPrivilegedClaimPrefix checks that claimPrefixIn records its owner
// and that release removes the record.
func TestPrivilegedClaimPrefix(t *testing.T) {
	RequirePrivileged(t)
	d := testDirs(t, "/proc")
	p, release := claimPrefixIn(t, d)
	if release == nil {
		t.Fatal("claimPrefixIn() made no record")
	}
	id := prefixID(p)
	if _, err := readRecord(d.records, id); err != nil {
		t.Fatal(err)
	}
	release()
	if _, err := readRecord(d.records, id); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("record after release() = %v, want it gone", err)
	}
}

// cleanupTB is a testing.TB that collects cleanups and errors.
type cleanupTB struct {
	testing.TB
	cleanups []func()
	errs     []string
}

func (c *cleanupTB) Helper()          {}
func (c *cleanupTB) Cleanup(f func()) { c.cleanups = append(c.cleanups, f) }
func (c *cleanupTB) Errorf(f string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(f, args...))
}

// TestPrivilegedCleanupRelease checks that the cleanup of a prefix releases
// its owner record only when no namespace of it is left, so that a sweep
// retries the others once the process has exited.
func TestPrivilegedCleanupRelease(t *testing.T) {
	RequirePrivileged(t)
	tests := []struct {
		name         string
		stuck        bool // a namespace that cannot be removed is left
		wantReleased bool
	}{
		{name: "clean", wantReleased: true},
		{name: "namespace left", stuck: true, wantReleased: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPrefix()
			if tt.stuck {
				// A non-empty directory: not a mount point, and
				// os.Remove fails on it.
				stuck := filepath.Join(runDir, p+"stuck")
				t.Cleanup(func() { os.RemoveAll(stuck) })
				if err := os.MkdirAll(filepath.Join(stuck, "x"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			released := false
			c := &cleanupTB{TB: t}
			cleanupNamespaces(c, p, func() { released = true })
			for _, f := range slices.Backward(c.cleanups) {
				f()
			}
			if released != tt.wantReleased || (len(c.errs) > 0) != tt.stuck {
				t.Errorf("cleanup released: %v, errors %q; want released: %v, errors: %v", released, c.errs, tt.wantReleased, tt.stuck)
			}
		})
	}
}

// The namespaces a record claims (a daemon's "plk-<id>") go with its
// prefix when its owner is gone, and stay while the owner lives.
func TestPrivilegedSweepClaims(t *testing.T) {
	RequirePrivileged(t)
	self, err := currentOwner("/proc")
	if err != nil {
		t.Fatal(err)
	}
	d := testDirs(t, "/proc")
	dead, live := newPrefix(), newPrefix()
	if err := writeRecord(d.records, prefixID(dead), deadOwner(t, self.PidNS)); err != nil {
		t.Fatal(err)
	}
	if err := writeRecord(d.records, prefixID(live), self); err != nil {
		t.Fatal(err)
	}
	deadNS, liveNS := "plk-vpc-0dead", "plk-vpc-0live"
	for _, c := range []struct{ prefix, name string }{{dead, deadNS}, {live, liveNS}} {
		if err := appendClaims(d.records, prefixID(c.prefix), []string{c.name}); err != nil {
			t.Fatal(err)
		}
	}
	if err := appendClaims(d.records, prefixID(live), []string{"../etc"}); err == nil {
		t.Error("appendClaims(../etc) = nil, want an error")
	}
	deadProc := newNamespace(t, filepath.Join(d.netns, deadNS))
	liveProc := newNamespace(t, filepath.Join(d.netns, liveNS))
	for _, name := range []string{deadNS, liveNS} {
		if err := os.Mkdir(filepath.Join(d.etc, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The claims do not disturb the records' owners.
	for _, p := range []string{dead, live} {
		if _, err := readRecord(d.records, prefixID(p)); err != nil {
			t.Fatalf("readRecord(%s) with claims: %v", p, err)
		}
	}

	s := sweeper{dirs: d, self: self, now: time.Now()}
	swept, err := s.sweep()
	if err != nil {
		t.Fatalf("sweep() = %v", err)
	}
	if len(swept) != 1 || !strings.Contains(swept[0], "claimed: removed 1 namespaces and 1 ") {
		t.Errorf("sweep() = %q, want one line with the claimed namespace", swept)
	}
	for _, dir := range []string{d.netns, d.etc} {
		got, err := listDir(dir, "plk-")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{liveNS}, got); diff != "" {
			t.Errorf("%s after the sweep mismatch (-want +got):\n%s", dir, diff)
		}
	}
	WaitFor(t, 10*time.Second, "the process in the dead owner's claimed namespace to be killed", func() error {
		if !deadProc.exited() {
			return errors.New("still running")
		}
		return nil
	})
	if liveProc.exited() {
		t.Errorf("the process in the live owner's claimed namespace exited: %v", liveProc.err)
	}
	if _, err := os.Stat(filepath.Join(d.records, prefixID(dead))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dead record after the sweep: %v, want it gone", err)
	}
}

func TestParseClaims(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"pid=1 start=2 pidns=3\n", nil},
		{"pid=1 start=2 pidns=3\nns=plk-vpc-1\nns=plk-i-2\n", []string{"plk-vpc-1", "plk-i-2"}},
		{"ns=../x ns=a/b ns=. ns= ns=ok", []string{"ok"}},
	} {
		if got := parseClaims([]byte(tt.in)); !cmp.Equal(tt.want, got) {
			t.Errorf("parseClaims(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
