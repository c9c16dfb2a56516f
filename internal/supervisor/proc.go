package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// procStat is what the supervisor reads from /proc/<pid>/stat.
type procStat struct {
	State     byte   // R, S, D, Z, X, …
	StartTime uint64 // clock ticks after boot
}

// dead reports whether the process has ended (a zombie waiting for its
// parent counts as ended).
func (p procStat) dead() bool { return p.State == 'Z' || p.State == 'X' || p.State == 'x' }

// parseStat parses the contents of /proc/<pid>/stat. The command name, in
// parentheses, may hold spaces and parentheses itself, so the fields are
// counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("stat: no command name")
	}
	// Fields 3 (state) onwards; starttime is field 22.
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("stat: %d fields after the command name, want at least 20", len(f))
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("stat: starttime: %w", err)
	}
	return procStat{State: f[0][0], StartTime: start}, nil
}

// parseNSLink parses the target of /proc/<pid>/ns/net, "net:[4026531840]".
func parseNSLink(link string) (uint64, error) {
	s, ok := strings.CutPrefix(link, "net:[")
	if !ok || !strings.HasSuffix(s, "]") {
		return 0, fmt.Errorf("unexpected namespace link %q", link)
	}
	return strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
}
