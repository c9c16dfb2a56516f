package testenv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/privlink/privlink/internal/procfs"
)

// recordsDir holds one owner record per prefix that Prefix handed out and
// whose test has not ended yet, named for the prefix's id.
const recordsDir = "/run/privlink-testenv"

// orphanAge is how old the namespaces and /etc/netns directories of a prefix
// without a record (left before records existed) must all be before a sweep
// removes them. No test runs that long.
const orphanAge = time.Hour

// idLen is the length of a prefix's id: the hex digits between BasePrefix
// and the final "-".
const idLen = 6

// owner identifies the process that owns a prefix, also across pid reuse.
type owner struct {
	PID   int
	Start uint64 // field 22 of /proc/<pid>/stat: clock ticks after boot
	PidNS uint64 // inode of the pid namespace in which PID is valid
}

func (o owner) marshal() string {
	return fmt.Sprintf("pid=%d start=%d pidns=%d\n", o.PID, o.Start, o.PidNS)
}

// parseOwner parses what marshal writes, and skips the claims that
// ClaimNamespaces adds (see parseClaims).
func parseOwner(data []byte) (owner, error) {
	var o owner
	seen := 0
	for _, f := range strings.Fields(string(data)) {
		k, v, _ := strings.Cut(f, "=")
		if k == claimKey {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return owner{}, fmt.Errorf("owner record: field %q: %w", f, err)
		}
		switch k {
		case "pid":
			if n == 0 || n > 1<<22 { // PID_MAX_LIMIT
				return owner{}, fmt.Errorf("owner record: bad pid %d", n)
			}
			o.PID = int(n)
		case "start":
			o.Start = n
		case "pidns":
			o.PidNS = n
		default:
			return owner{}, fmt.Errorf("owner record: unknown field %q", f)
		}
		seen++
	}
	if seen != 3 || o.PID == 0 || o.PidNS == 0 {
		return owner{}, fmt.Errorf("owner record %q: want pid, start and pidns", data)
	}
	return o, nil
}

// claimKey starts a record's field that names a namespace its owner claims
// beside its prefix's: "ns=<name>".
const claimKey = "ns"

// parseClaims returns the namespace names that a record claims, those that
// are valid names of a file in a directory; others are skipped.
func parseClaims(data []byte) []string {
	var names []string
	for _, f := range strings.Fields(string(data)) {
		if k, v, _ := strings.Cut(f, "="); k == claimKey && validName(v) {
			names = append(names, v)
		}
	}
	return names
}

// validName reports whether name can name a namespace under /run/netns:
// one path element.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// appendClaims adds names, as claims, to the record id in dir, which must
// exist.
func appendClaims(dir, id string, names []string) error {
	for _, name := range names {
		if !validName(name) {
			return fmt.Errorf("claim namespace %q: not a name", name)
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, id), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, name := range names {
		b.WriteString(claimKey + "=" + name + "\n")
	}
	_, err = f.WriteString(b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// currentOwner returns the calling process as an owner, from the procfs at
// proc.
func currentOwner(proc string) (owner, error) {
	data, err := os.ReadFile(filepath.Join(proc, "self", "stat"))
	if err != nil {
		return owner{}, err
	}
	st, err := procfs.ParseStat(data)
	if err != nil {
		return owner{}, err
	}
	link, err := os.Readlink(filepath.Join(proc, "self", "ns", "pid"))
	if err != nil {
		return owner{}, err
	}
	ns, err := procfs.ParseNSLink("pid", link)
	if err != nil {
		return owner{}, err
	}
	return owner{PID: os.Getpid(), Start: st.StartTime, PidNS: ns}, nil
}

// ownerGone reports whether o has exited, as seen from the procfs at proc of
// a process in the pid namespace pidNS: its pid is gone, is now another
// process's (another start time), or is a zombie, which runs no cleanup.
// It reports false when it cannot tell, in particular for an owner in
// another pid namespace.
func ownerGone(proc string, pidNS uint64, o owner) (bool, error) {
	if o.PidNS != pidNS {
		return false, nil
	}
	path := filepath.Join(proc, strconv.Itoa(o.PID), "stat")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	st, err := procfs.ParseStat(data)
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return st.StartTime != o.Start || st.Dead(), nil
}

// prefixID returns the id of a prefix that Prefix returns.
func prefixID(prefix string) string {
	return strings.TrimSuffix(strings.TrimPrefix(prefix, BasePrefix), "-")
}

// idOf returns the id of the prefix that name starts with, if it starts
// with one that Prefix returns: "plktest-<6 lower-case hex digits>-".
func idOf(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, BasePrefix)
	if !ok || len(rest) <= idLen || rest[idLen] != '-' || !validID(rest[:idLen]) {
		return "", false
	}
	return rest[:idLen], true
}

func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for _, c := range []byte(id) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// writeRecord records o as the owner of the prefix with id in dir, which it
// creates (mode 0700) if needed. The record appears whole or not at all: it
// is written to a temporary file and then linked to its name, which, unlike
// a rename, never replaces another process's record of the same id; that
// case returns an error matching fs.ErrExist.
func writeRecord(dir, id string, o owner) error {
	if !validID(id) {
		return fmt.Errorf("owner record: bad id %q", id)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+id+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // the record, once linked, stays
	_, err = f.WriteString(o.marshal())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	return os.Link(f.Name(), filepath.Join(dir, id))
}

func readRecord(dir, id string) (owner, error) {
	data, err := os.ReadFile(filepath.Join(dir, id))
	if err != nil {
		return owner{}, err
	}
	o, err := parseOwner(data)
	if err != nil {
		return owner{}, fmt.Errorf("%s: %w", filepath.Join(dir, id), err)
	}
	return o, nil
}

// removeRecord removes the record of id in dir, if there is one.
func removeRecord(dir, id string) error {
	if err := os.Remove(filepath.Join(dir, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
