package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/privlink/privlink/internal/testenv"
)

// netnsDir is where named namespaces are bind-mounted (/var/run/netns is a
// symlink to it on every current distribution).
const netnsDir = "/run/netns"

// NamespaceName is the namespace the daemon makes for a VPC router, a load
// balancer node or an endpoint's network interface: "plk-<id>".
func NamespaceName(id string) string { return "plk-" + id }

// Namespaces lists the named namespaces with the plk- prefix: this Env's,
// and any other daemon's on the host.
func (e *Env) Namespaces(t testing.TB) []string {
	t.Helper()
	names, err := testenv.ListNamespaces("plk-")
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// HasNamespace reports whether /run/netns/name exists and is a namespace
// (an nsfs bind mount), not a leftover empty file.
func HasNamespace(name string) bool {
	_, err := namespaceInode(name)
	return err == nil
}

func namespaceInode(name string) (uint64, error) {
	path := filepath.Join(netnsDir, name)
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		return 0, err
	}
	if fs.Type != unix.NSFS_MAGIC {
		return 0, fmt.Errorf("%s is not a namespace (fs type %#x)", path, fs.Type)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// NamespaceInode returns the nsfs inode of a named namespace: its identity.
// The same inode after a restart means the daemon adopted the namespace
// rather than recreating it.
func NamespaceInode(t testing.TB, name string) uint64 {
	t.Helper()
	ino, err := namespaceInode(name)
	if err != nil {
		t.Fatalf("namespace %s: %v", name, err)
	}
	return ino
}

// HoldNamespace keeps the named namespace alive, even once its name is
// deleted, until release is called or the test ends. A freed namespace's
// inode number is handed out again, so a test that compares inodes across
// a deletion or a restart must hold the old one for the comparison to mean
// anything. Release it soon after: a held namespace keeps its links, and
// with them the peers of its veths in other namespaces.
func HoldNamespace(t testing.TB, name string) (release func()) {
	t.Helper()
	f, err := os.Open(filepath.Join(netnsDir, name))
	if err != nil {
		t.Fatalf("hold namespace %s: %v", name, err)
	}
	var once sync.Once
	release = func() { once.Do(func() { f.Close() }) }
	t.Cleanup(release)
	return release
}

// WaitNamespace waits until the namespace of vpcID exists (present) or is
// gone (!present).
func WaitNamespace(t testing.TB, vpcID string, present bool, timeout time.Duration) {
	t.Helper()
	name := NamespaceName(vpcID)
	what := "namespace " + name + " to appear"
	if !present {
		what = "namespace " + name + " to disappear"
	}
	testenv.WaitFor(t, timeout, what, func() error {
		if HasNamespace(name) != present {
			return fmt.Errorf("exists=%v", !present)
		}
		return nil
	})
}

// DeleteNamespace removes a named namespace behind the daemon's back, as an
// operator's `ip netns delete` would.
func DeleteNamespace(t testing.TB, name string) {
	t.Helper()
	if err := removeNamespace(name); err != nil {
		t.Fatalf("delete namespace %s: %v", name, err)
	}
	if HasNamespace(name) {
		t.Fatalf("namespace %s still exists after deletion", name)
	}
}

// removeNamespace does what `ip netns delete` does (and netns.DeleteNamed,
// which stops at the first error): detach the bind mount, remove the file.
// The namespace itself goes once nothing holds it any more.
func removeNamespace(name string) error {
	path := filepath.Join(netnsDir, name)
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// removeNetnsEtc removes /etc/netns/<name>, the per-namespace files that
// `ip netns exec` and privlink exec bind over /etc, once the namespace is
// gone.
func removeNetnsEtc(t testing.TB, name string) {
	if HasNamespace(name) {
		return
	}
	if err := os.RemoveAll(filepath.Join("/etc/netns", name)); err != nil {
		t.Errorf("cleanup: remove /etc/netns/%s: %v", name, err)
	}
}

// NamespaceAddrs lists the IPv4 addresses (as "a.b.c.d/len") configured in a
// named namespace, sorted.
func NamespaceAddrs(t testing.TB, name string) []string {
	t.Helper()
	addrs, err := namespaceAddrs(name)
	if err != nil {
		t.Fatalf("addresses in %s: %v", name, err)
	}
	return addrs
}

func namespaceAddrs(name string) ([]string, error) {
	ns, err := netns.GetFromName(name)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	var list []netlink.Addr
	for range 5 { // netlink ≥ v1.3 may return partial dumps: retry them
		list, err = h.AddrList(nil, netlink.FAMILY_V4)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		out = append(out, a.IPNet.String())
	}
	slices.Sort(out)
	return out, nil
}

// WaitNamespaceAddr waits until the namespace of vpcID holds addr (e.g. the
// router's "10.0.1.1/24" on a subnet bridge).
func WaitNamespaceAddr(t testing.TB, vpcID, addr string, timeout time.Duration) {
	t.Helper()
	name := NamespaceName(vpcID)
	testenv.WaitFor(t, timeout, addr+" in "+name, func() error {
		addrs, err := namespaceAddrs(name)
		if err != nil {
			return err
		}
		if !slices.Contains(addrs, addr) {
			return fmt.Errorf("have %v", addrs)
		}
		return nil
	})
}
