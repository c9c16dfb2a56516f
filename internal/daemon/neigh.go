package daemon

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

// procSysNet is where the kernel shows the net.* sysctls.
const procSysNet = "/proc/sys/net"

// neighThresholds are a neighbour table's gc_thresh1, 2 and 3.
type neighThresholds [3]int

func (t neighThresholds) String() string { return fmt.Sprintf("%d/%d/%d", t[0], t[1], t[2]) }

// wantNeighThresholds is what the daemon raises the host's neighbour
// tables' gc_thresh1/2/3 to. The kernel keeps one ARP table (and one NDP
// table) for all network namespaces, and the thresholds are sysctls of the
// initial one. Beyond gc_thresh3 entries (1024 by default) no entry is
// made, and packets to an unresolved neighbour are dropped. Every VPC,
// instance, NLB node and endpoint interface is a namespace, and an
// endpoint in use needs about two entries (in its client's namespace and
// in its own): with the defaults, bench/privatelink saw ~40% of 1,000
// endpoints never answer.
var wantNeighThresholds = neighThresholds{1024, 8192, 16384}

// kernelNeighThresh3 is the kernel's default gc_thresh3.
const kernelNeighThresh3 = 1024

// neighFamilies are the directories under procSysNet whose
// neigh/default/gc_thresh* are raised, and whether the host may lack them
// (IPv6 may be disabled).
var neighFamilies = []struct {
	name     string
	optional bool
}{
	{"ipv4", false},
	{"ipv6", true},
}

// raiseNeighThresholds raises the gc_thresh1/2/3 of the host's IPv4 and
// IPv6 neighbour tables, read and written under dir (procSysNet), to at
// least wantNeighThresholds, and logs what it changed. It never lowers a
// value. The sysctls are writable only from the initial network namespace,
// where the daemon runs; a failure is logged, not fatal.
func raiseNeighThresholds(logger *slog.Logger, dir string) {
	for _, f := range neighFamilies {
		from, to, err := raiseNeigh(filepath.Join(dir, f.name, "neigh", "default"), wantNeighThresholds)
		switch {
		case err != nil && f.optional && errors.Is(err, fs.ErrNotExist):
			logger.Debug("no neighbour table thresholds to raise", "family", f.name, "err", err)
		case err != nil:
			attrs := []any{"family", f.name, "err", err}
			limit := to[2]
			if limit == 0 { // not read
				limit = kernelNeighThresh3
			} else {
				attrs = append(attrs, "gc_thresh", to.String())
			}
			logger.Warn(fmt.Sprintf("could not raise the host's neighbour table thresholds (writable only from the initial network namespace): endpoints beyond ~%d may not answer; set net.%s.neigh.default.gc_thresh1/2/3 to at least %s",
				limit/2, f.name, wantNeighThresholds), attrs...)
		case from != to:
			logger.Info("raised the host's neighbour table thresholds (one table for all namespaces)",
				"family", f.name, "gc_thresh", to.String(), "was", from.String())
		}
	}
}

// raiseNeigh raises the gc_thresh1/2/3 files in dir to want where they
// are lower. It returns the values it read and those in effect after: the
// same on error, except for those written before it.
func raiseNeigh(dir string, want neighThresholds) (from, to neighThresholds, err error) {
	for i := range from {
		b, err := os.ReadFile(threshPath(dir, i))
		if err != nil {
			return from, from, err
		}
		if from[i], err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			return from, from, fmt.Errorf("gc_thresh%d: %w", i+1, err)
		}
	}
	next := raisedNeigh(from, want)
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

// raisedNeigh is cur with every value below want's raised to it.
func raisedNeigh(cur, want neighThresholds) neighThresholds {
	for i := range cur {
		cur[i] = max(cur[i], want[i])
	}
	return cur
}

func threshPath(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("gc_thresh%d", i+1))
}
