package main

import (
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
// daemon raises the thresholds at start (internal/neigh); the
// bench reports them and the refusals.

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
