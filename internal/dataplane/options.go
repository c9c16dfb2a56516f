package dataplane

import (
	"path/filepath"
	"time"
)

// DefaultFullResyncEvery is how often, by default, the Linux data plane
// reads every namespace back from the kernel instead of trusting what it
// last applied. See FullResyncEvery.
const DefaultFullResyncEvery = 30 * time.Second

// LinuxOption configures NewLinux.
type LinuxOption func(*linuxOptions)

type linuxOptions struct {
	fullResyncEvery time.Duration
}

// FullResyncEvery sets how often Set reads back every namespace under its
// prefix. Between full resyncs, Set re-reads only the namespaces whose
// desired config changed, whose namespace was deleted or replaced, or which
// are linked (by a veth pair) to one of those; it trusts that the others
// still hold what it last applied. A change made behind its back inside a
// namespace, such as a bridge deleted by hand, is therefore repaired within
// d. A d of zero or less makes every Set a full resync.
func FullResyncEvery(d time.Duration) LinuxOption {
	return func(o *linuxOptions) { o.fullResyncEvery = d }
}

// etcNetns is where `ip netns exec` finds a namespace's own /etc files.
const etcNetns = "/etc/netns"

// ResolvConfPath returns the path of the resolv.conf that Set writes for
// the host namespace ns: /etc/netns/<ns>/resolv.conf, which `ip netns exec`
// bind-mounts over /etc/resolv.conf.
func ResolvConfPath(ns string) string {
	return filepath.Join(etcNetns, ns, "resolv.conf")
}
