// Package procfs parses the few /proc files privlink reads about other
// processes: a process's stat line (to tell a live process from a reused
// pid or a zombie) and its namespace links. It reads no files itself, so
// that callers can point it at a fake procfs in tests.
package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Stat is what privlink reads from /proc/<pid>/stat.
type Stat struct {
	State     byte   // R, S, D, Z, X, …
	StartTime uint64 // clock ticks after boot (field 22)
}

// Dead reports whether the process has ended; a zombie waiting for its
// parent counts as ended.
func (s Stat) Dead() bool { return s.State == 'Z' || s.State == 'X' || s.State == 'x' }

// ParseStat parses the contents of /proc/<pid>/stat. The command name, in
// parentheses, may hold spaces and parentheses itself, so the fields are
// counted from the last ')'.
func ParseStat(b []byte) (Stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, errors.New("stat: no command name")
	}
	// Fields 3 (state) onwards; starttime is field 22.
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return Stat{}, fmt.Errorf("stat: %d fields after the command name, want at least 20", len(f))
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return Stat{}, fmt.Errorf("stat: starttime: %w", err)
	}
	return Stat{State: f[0][0], StartTime: start}, nil
}

// ParseNSLink parses the target of /proc/<pid>/ns/<kind>, such as
// "net:[4026531840]", and returns the namespace's inode.
func ParseNSLink(kind, link string) (uint64, error) {
	s, ok := strings.CutPrefix(link, kind+":[")
	if !ok || !strings.HasSuffix(s, "]") {
		return 0, fmt.Errorf("unexpected %s namespace link %q", kind, link)
	}
	return strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
}
