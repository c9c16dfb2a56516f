package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The host's IPv4 neighbour (ARP) table is one table for every network
// namespace, and its garbage-collection thresholds are global sysctls of
// the initial namespace: beyond gc_thresh3 entries (1024 by default),
// however many namespaces hold them, no new entry is created, ARP
// resolution fails and packets to unresolved neighbours are dropped.
// /proc/net/stat/arp_cache counts these refusals (table_fulls). The
// daemon raises the thresholds at start (internal/daemon/neigh.go); the
// bench reports them and the refusals.

const neighSysctl = "/proc/sys/net/ipv4/neigh/default/"

// neighThresholds are gc_thresh1, 2 and 3.
type neighThresholds [3]int

func (t neighThresholds) String() string { return fmt.Sprintf("%d/%d/%d", t[0], t[1], t[2]) }

func readNeighThresholds() (neighThresholds, error) {
	var t neighThresholds
	for i := range t {
		b, err := os.ReadFile(fmt.Sprintf("%sgc_thresh%d", neighSysctl, i+1))
		if err != nil {
			return t, err
		}
		if t[i], err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			return t, fmt.Errorf("gc_thresh%d: %w", i+1, err)
		}
	}
	return t, nil
}

// arpTableFulls is the sum over CPUs of /proc/net/stat/arp_cache's
// table_fulls: how often the table refused a new entry.
func arpTableFulls() int64 {
	b, err := os.ReadFile("/proc/net/stat/arp_cache")
	if err != nil {
		return -1
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	col := -1
	for i, h := range strings.Fields(lines[0]) {
		if h == "table_fulls" {
			col = i
		}
	}
	if col < 0 {
		return -1
	}
	var sum int64
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if col < len(f) {
			v, _ := strconv.ParseInt(f[col], 16, 64)
			sum += v
		}
	}
	return sum
}
