package testenv

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// dirs are where owner records and what prefixes name live: the host's
// (hostDirs) for Prefix, temporary ones in tests.
type dirs struct {
	records string // owner records, one per prefix
	netns   string // named network namespaces
	etc     string // per-namespace /etc files
	proc    string // procfs
}

func hostDirs() dirs {
	return dirs{records: recordsDir, netns: runDir, etc: etcNetnsDir, proc: "/proc"}
}

// claimPrefix sweeps what tests that were killed left behind, then returns a
// fresh prefix with an owner record, and a func that removes the record.
// Without root there is no record (nor anything to sweep: the test cannot
// have created namespaces), and release is nil. Failures are logged on t
// and do not fail it.
func claimPrefix(t testing.TB) (prefix string, release func()) {
	t.Helper()
	return claimPrefixIn(t, hostDirs())
}

// claimPrefixIn is claimPrefix with the owner records and what prefixes
// name in d.
func claimPrefixIn(t testing.TB, d dirs) (prefix string, release func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		return newPrefix(), nil
	}
	self, err := currentOwner(d.proc)
	if err != nil {
		t.Logf("testenv: no owner record: %v", err)
		return newPrefix(), nil
	}
	s := sweeper{dirs: d, self: self, now: time.Now()}
	swept, err := s.sweep()
	for _, m := range swept {
		t.Logf("testenv: swept %s", m)
	}
	if err != nil {
		t.Logf("testenv: sweep: %v", err)
	}
	for range 5 {
		p := newPrefix()
		id := prefixID(p)
		err := writeRecord(d.records, id, self)
		if errors.Is(err, fs.ErrExist) {
			continue // another live or dead test's id
		}
		if err != nil {
			t.Logf("testenv: owner record of %s: %v", p, err)
			return p, nil
		}
		return p, func() {
			if err := removeRecord(d.records, id); err != nil {
				t.Logf("testenv: %v", err)
			}
		}
	}
	p := newPrefix()
	t.Logf("testenv: no owner record of %s: every id drawn had one", p)
	return p, nil
}

// sweeper removes what the prefixes of gone owners left, and what prefixes
// without a record left long ago.
type sweeper struct {
	dirs
	self owner     // the sweeping process: never killed, and its pid namespace is the one records are read in
	now  time.Time // compared with mtimes to find orphans
}

// sweep sweeps the prefix of every record in s.records whose owner is gone,
// and then every orphan prefix. It returns a line on each prefix swept.
// Nothing it does fails when another process sweeps at the same time.
func (s sweeper) sweep() ([]string, error) {
	des, err := os.ReadDir(s.records)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var swept []string
	var errs []error
	recorded := make(map[string]bool)
	gone := make(map[owner]bool) // many records share an owner
	for _, de := range des {
		id := de.Name()
		if strings.HasPrefix(id, ".") {
			errs = append(errs, s.removeStaleTemp(de))
			continue
		}
		if !validID(id) {
			continue
		}
		recorded[id] = true
		o, err := readRecord(s.records, id)
		if errors.Is(err, fs.ErrNotExist) {
			continue // swept by another process, or its test ended
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		g, ok := gone[o]
		if !ok {
			g, err = ownerGone(s.proc, s.self.PidNS, o)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			gone[o] = g
		}
		if !g {
			continue
		}
		line, err := s.sweepRecord(id)
		errs = append(errs, err)
		if line != "" {
			swept = append(swept, line)
		}
	}
	ids, err := s.orphans(recorded)
	errs = append(errs, err)
	for _, id := range ids {
		p := BasePrefix + id + "-"
		what, err := s.sweepPrefix(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s (no owner record): %w", p, err))
			continue
		}
		swept = append(swept, fmt.Sprintf("%s (no owner record, older than %v): %s", p, orphanAge, what))
	}
	return swept, errors.Join(errs...)
}

// sweepRecord sweeps the prefix of the record id, whose owner is gone, and
// then removes the record. Only one sweeper at a time does a record: it
// holds an exclusive lock on the open record, and the others skip the
// record rather than wait. The lock goes with the sweeper, so a record
// whose sweeper dies is left for the next one, as is one whose sweep
// failed.
func (s sweeper) sweepRecord(id string) (string, error) {
	path := filepath.Join(s.records, id)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return "", nil
		}
		return "", fmt.Errorf("lock %s: %w", path, err)
	}
	// Another sweeper may have removed the record between our look and
	// the lock, and a new test may even have made one of the same id: go
	// on only with the record that path names now, and read it again.
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	now, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if !os.SameFile(fi, now) {
		return "", nil
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return "", err
	}
	o, err := parseOwner(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if g, err := ownerGone(s.proc, s.self.PidNS, o); !g || err != nil {
		return "", err
	}
	p := BasePrefix + id + "-"
	what, err := s.sweepPrefix(p)
	if err != nil {
		return "", fmt.Errorf("%s of gone pid %d: %w", p, o.PID, err)
	}
	if claims := parseClaims(data); len(claims) > 0 {
		more, err := s.sweepNames(claims)
		if err != nil {
			return "", fmt.Errorf("%s of gone pid %d, claimed namespaces: %w", p, o.PID, err)
		}
		what += "; claimed: " + more
	}
	if err := removeRecord(s.records, id); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s of gone pid %d: %s", p, o.PID, what), nil
}

// sweepPrefix kills the processes in the namespaces under s.netns whose
// names start with prefix, removes those namespaces and the directories of
// the same names under s.etc, and says what it did. A test's links go with
// its namespaces: none lives in the root namespace (nor could have a name
// that starts with a prefix: at 15 characters, a prefix is as long as a
// link name can be).
func (s sweeper) sweepPrefix(prefix string) (string, error) {
	if err := checkPrefix(prefix); err != nil {
		return "", err
	}
	names, err := listDir(s.netns, prefix)
	if err != nil {
		return "", err
	}
	nss := make(map[fileID]bool)
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(s.netns, name), &st); err == nil {
			nss[fileID{st.Dev, st.Ino}] = true
		}
	}
	killed, err := s.killIn(nss)
	errs := []error{err, removeNamespaces(s.netns, prefix)}
	etcs, err := listDir(s.etc, prefix)
	errs = append(errs, err)
	for _, name := range etcs {
		errs = append(errs, os.RemoveAll(filepath.Join(s.etc, name)))
	}
	return fmt.Sprintf("removed %d namespaces and %d %s directories, killed %d processes", len(names), len(etcs), s.etc, killed), errors.Join(errs...)
}

// sweepNames is sweepPrefix for the namespaces names exactly, those a
// record claims: it kills the processes in the ones that exist, removes
// them and their directories under s.etc, and says what it did.
func (s sweeper) sweepNames(names []string) (string, error) {
	nss := make(map[fileID]bool)
	var there []string
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(s.netns, name), &st); err == nil {
			nss[fileID{st.Dev, st.Ino}] = true
			there = append(there, name)
		}
	}
	killed, err := s.killIn(nss)
	errs := []error{err}
	etcs := 0
	for _, name := range names {
		errs = append(errs, removeNamespace(s.netns, name))
		dir := filepath.Join(s.etc, name)
		if _, err := os.Stat(dir); err == nil {
			etcs++
			errs = append(errs, os.RemoveAll(dir))
		}
	}
	return fmt.Sprintf("removed %d namespaces and %d %s directories, killed %d processes", len(there), etcs, s.etc, killed), errors.Join(errs...)
}

// fileID identifies a file, here a network namespace.
type fileID struct{ dev, ino uint64 }

// killIn sends SIGKILL to every process (but s.self) whose network
// namespace is one of nss, and returns how many it killed.
func (s sweeper) killIn(nss map[fileID]bool) (int, error) {
	if len(nss) == 0 {
		return 0, nil
	}
	des, err := os.ReadDir(s.proc)
	if err != nil {
		return 0, err
	}
	killed := 0
	var errs []error
	for _, de := range des {
		pid, err := strconv.Atoi(de.Name())
		if err != nil || pid == s.self.PID || !s.inNamespace(pid, nss) {
			continue
		}
		// Through a pidfd, so that a pid reused since the check is not
		// signalled: check again once the pidfd pins the process.
		fd, err := unix.PidfdOpen(pid, 0)
		if errors.Is(err, unix.ESRCH) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("pidfd_open %d: %w", pid, err))
			continue
		}
		if s.inNamespace(pid, nss) {
			err = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
			switch {
			case err == nil:
				killed++
			case !errors.Is(err, unix.ESRCH):
				errs = append(errs, fmt.Errorf("kill %d: %w", pid, err))
			}
		}
		unix.Close(fd)
	}
	return killed, errors.Join(errs...)
}

// inNamespace reports whether the network namespace of pid is one of nss.
func (s sweeper) inNamespace(pid int, nss map[fileID]bool) bool {
	var st unix.Stat_t
	err := unix.Stat(filepath.Join(s.proc, strconv.Itoa(pid), "ns", "net"), &st)
	return err == nil && nss[fileID{st.Dev, st.Ino}]
}

// orphans returns, sorted, the ids of the prefixes that have namespaces or
// /etc/netns directories but no record in recorded (left by tests from
// before records, or whose records were lost), if every one of them is
// older than orphanAge: a test younger than that may still run.
func (s sweeper) orphans(recorded map[string]bool) ([]string, error) {
	youngest := make(map[string]time.Time)
	var errs []error
	for _, dir := range []string{s.netns, s.etc} {
		des, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, de := range des {
			id, ok := idOf(de.Name())
			if !ok || recorded[id] {
				continue
			}
			if mt, ok := youngest[id]; ok && s.now.Sub(mt) <= orphanAge {
				continue // young already: no need to look further
			}
			fi, err := de.Info()
			if err != nil {
				youngest[id] = s.now // cannot tell: leave the prefix alone
				if !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, err)
				}
				continue
			}
			if mt := fi.ModTime(); mt.After(youngest[id]) {
				youngest[id] = mt
			}
		}
	}
	var ids []string
	for id, mt := range youngest {
		if s.now.Sub(mt) > orphanAge {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, errors.Join(errs...)
}

// removeStaleTemp removes a temporary file that a writeRecord killed before
// it finished left in s.records.
func (s sweeper) removeStaleTemp(de fs.DirEntry) error {
	fi, err := de.Info()
	if err != nil || s.now.Sub(fi.ModTime()) <= orphanAge {
		return nil // gone already, or still being written
	}
	if err := os.Remove(filepath.Join(s.records, de.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
