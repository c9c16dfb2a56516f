// Package neigh raises the host's neighbour (ARP and NDP) table
// thresholds, which every network namespace shares, and reads them.
package neigh

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcSysNet is where the kernel shows the net.* sysctls.
const ProcSysNet = "/proc/sys/net"

// Thresholds are a neighbour table's gc_thresh1, 2 and 3.
type Thresholds [3]int

func (t Thresholds) String() string { return fmt.Sprintf("%d/%d/%d", t[0], t[1], t[2]) }

// Dir is the directory of a family's ("ipv4", "ipv6") default neighbour
// table sysctls under procSysNet (ProcSysNet).
func Dir(procSysNet, family string) string {
	return filepath.Join(procSysNet, family, "neigh", "default")
}

// Read returns the gc_thresh1/2/3 in dir (Dir).
func Read(dir string) (Thresholds, error) {
	var t Thresholds
	for i := range t {
		b, err := os.ReadFile(threshPath(dir, i))
		if err != nil {
			return t, err
		}
		if t[i], err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			return t, fmt.Errorf("gc_thresh%d: %w", i+1, err)
		}
	}
	return t, nil
}

// Want is what Raise raises the host's neighbour
// tables' gc_thresh1/2/3 to. The kernel keeps one ARP table (and one NDP
// table) for all network namespaces, and the thresholds are sysctls of the
// initial one. Beyond gc_thresh3 entries (1024 by default) no entry is
// made, and packets to an unresolved neighbour are dropped. Every VPC,
// instance, NLB node and endpoint interface is a namespace, and an
// endpoint in use needs about two entries (in its client's namespace and
// in its own): with the defaults, bench/privatelink saw ~40% of 1,000
// endpoints never answer.
var Want = Thresholds{1024, 8192, 16384}

// kernelThresh3 is the kernel's default gc_thresh3.
const kernelThresh3 = 1024

// families are the directories under ProcSysNet whose
// neigh/default/gc_thresh* are raised, and whether the host may lack them
// (IPv6 may be disabled).
var families = []struct {
	name     string
	optional bool
}{
	{"ipv4", false},
	{"ipv6", true},
}

// Raise raises the gc_thresh1/2/3 of the host's IPv4 and IPv6 neighbour
// tables, read and written under procSysNet (ProcSysNet), to at least
// Want, and logs what it changed. It never lowers a
// value. The sysctls are writable only from the initial network namespace,
// where the daemon runs; a failure is logged, not fatal.
func Raise(logger *slog.Logger, procSysNet string) {
	for _, f := range families {
		from, to, err := raise(Dir(procSysNet, f.name), Want)
		switch {
		case err != nil && f.optional && errors.Is(err, fs.ErrNotExist):
			logger.Debug("no neighbour table thresholds to raise", "family", f.name, "err", err)
		case err != nil:
			attrs := []any{"family", f.name, "err", err}
			limit := to[2]
			if limit == 0 { // not read
				limit = kernelThresh3
			} else {
				attrs = append(attrs, "gc_thresh", to.String())
			}
			logger.Warn(fmt.Sprintf("could not raise the host's neighbour table thresholds (writable only from the initial network namespace): endpoints beyond ~%d may not answer; set net.%s.neigh.default.gc_thresh1/2/3 to at least %s",
				limit/2, f.name, Want), attrs...)
		case from != to:
			logger.Info("raised the host's neighbour table thresholds (one table for all namespaces)",
				"family", f.name, "gc_thresh", to.String(), "was", from.String())
		}
	}
}

// raise raises the gc_thresh1/2/3 files in dir to want where they
// are lower. It returns the values it read and those in effect after: the
// same on error, except for those written before it.
func raise(dir string, want Thresholds) (from, to Thresholds, err error) {
	if from, err = Read(dir); err != nil {
		return from, from, err
	}
	next := raised(from, want)
	to = from
	// From 3 down to 1: raising in this order keeps 1 ≤ 2 ≤ 3 at every step.
	for i := len(to) - 1; i >= 0; i-- {
		if next[i] == to[i] {
			continue
		}
		if err := os.WriteFile(threshPath(dir, i), []byte(strconv.Itoa(next[i])), 0o644); err != nil {
			return from, to, err
		}
		to[i] = next[i]
	}
	return from, to, nil
}

// raised is cur with every value below want's raised to it.
func raised(cur, want Thresholds) Thresholds {
	for i := range cur {
		cur[i] = max(cur[i], want[i])
	}
	return cur
}

func threshPath(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("gc_thresh%d", i+1))
}
