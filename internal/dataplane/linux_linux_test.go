package dataplane

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/privlink/privlink/internal/testenv"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// linuxOutOfBand changes the kernel behind the data plane's back.
type linuxOutOfBand struct{}

func (linuxOutOfBand) AddNamespace(t *testing.T, name string) {
	t.Helper()
	if err := netns.Create(name); err != nil {
		t.Fatal(err)
	}
}

func (linuxOutOfBand) AddForeignNamespace(t *testing.T, name, owner string) {
	t.Helper()
	if err := netns.Create(name); err != nil {
		t.Fatal(err)
	}
	stamp(t, name, "privlink owner="+owner)
}

// stamp sets the alias of lo in the namespace name, as a data plane with
// another owner would.
func stamp(t *testing.T, name, alias string) {
	t.Helper()
	ns, err := netns.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetAlias(lo, alias); err != nil {
		t.Fatal(err)
	}
}

// DeleteNamespace deletes the namespace name as `ip netns del` does once
// nothing else holds it. The kernel then frees its links, and with them
// the other ends of its veths in other namespaces, but asynchronously; so
// that the next Set sees a settled kernel, the veths go first.
func (linuxOutOfBand) DeleteNamespace(t *testing.T, name string) {
	t.Helper()
	err := netns.DoNamed(name, func() error {
		links, err := dump(netlink.LinkList)
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Type() == "veth" {
				if err := netlink.LinkDel(l); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := vnetns.DeleteNamed(name); err != nil {
		t.Fatal(err)
	}
}

// cleanupEtcNetns registers a cleanup that removes the directories under
// /etc/netns whose names start with prefix, a test's: the resolv.conf files
// of the namespaces that testenv's cleanup deletes behind Set's back.
func cleanupEtcNetns(t testing.TB, prefix string) {
	t.Helper()
	if !strings.HasPrefix(prefix, testenv.BasePrefix) {
		t.Fatalf("refusing to clean up /etc/netns/%s*", prefix)
	}
	t.Cleanup(func() {
		for _, m := range etcNetnsLeft(t, prefix) {
			if err := os.RemoveAll(filepath.Join(etcNetns, m)); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
}

// etcNetnsLeft returns the names under /etc/netns that start with prefix.
func etcNetnsLeft(t testing.TB, prefix string) []string {
	t.Helper()
	des, err := os.ReadDir(etcNetns)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		if strings.HasPrefix(de.Name(), prefix) {
			out = append(out, de.Name())
		}
	}
	return out
}

// logBuffer collects a Linux data plane's log; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// take returns the changes logged since the last take.
func (b *logBuffer) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for line := range strings.Lines(b.buf.String()) {
		if strings.Contains(line, "dataplane change") {
			out = append(out, line)
		}
	}
	b.buf.Reset()
	return out
}

// testAlias is the alias of lo in the namespaces of testOwner.
const testAlias = "privlink owner=" + testOwner

func newTestLinux(opts ...LinuxOption) (*Linux, *logBuffer) {
	logs := &logBuffer{}
	return NewLinux(slog.New(slog.NewTextHandler(logs, nil)), opts...), logs
}

// TestPrivilegedLinuxStates runs the Fake's state-transition steps against
// the kernel: before each Set, Plan must report exactly the ops the Fake
// applies, and after it, nothing.
func TestPrivilegedLinuxStates(t *testing.T) {
	testenv.RequirePrivileged(t)
	base := testenv.Prefix(t)
	l, logs := newTestLinux()
	for _, step := range stateSteps(base) {
		if step.failNext != nil {
			continue // a Fake-only step
		}
		if step.before != nil {
			step.before(t, linuxOutOfBand{})
		}
		got, err := l.Plan(t.Context(), step.cfg)
		checkErr(t, step.name+": Plan()", err, step.wantErr)
		if diff := cmp.Diff(step.want, got); diff != "" {
			t.Errorf("%s: Plan() mismatch (-want +got):\n%s", step.name, diff)
		}
		err = l.Set(t.Context(), step.cfg)
		checkErr(t, step.name+": Set()", err, step.wantErr)
		if changes := logs.take(); len(changes) != len(step.want) {
			t.Errorf("%s: Set() applied %d changes, want %d: %q", step.name, len(changes), len(step.want), changes)
		}
		again, err := l.Plan(t.Context(), step.cfg)
		checkErr(t, step.name+": Plan() after Set()", err, step.wantErr)
		if len(again) != 0 {
			t.Fatalf("%s: Plan() after Set() = %q; want nothing", step.name, again)
		}
	}
	got, err := l.Namespaces(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stateStepsLeft(base), got); diff != "" {
		t.Errorf("Namespaces() mismatch (-want +got):\n%s", diff)
	}
	if got := inspect(t, base+"r-vpc-o").LoAlias; got != "privlink owner="+statesOther {
		t.Errorf("alias of lo in the other daemon's namespace = %q, want it unchanged", got)
	}
	if got := inspect(t, base+"r-vpc-h").LoAlias; got != "" {
		t.Errorf("alias of lo in the hand-made namespace = %q, want it unchanged", got)
	}
}

// nsView is what a namespace holds, read with plain netlink calls
// independent of the code under test.
type nsView struct {
	LoUp       bool
	LoAlias    string
	Forwarding string
	Links      map[string]linkView // without lo
}

type linkView struct {
	Kind  string
	Up    bool
	Addrs []string // without IPv6 link-local addresses
}

func inspect(t *testing.T, name string) nsView {
	t.Helper()
	ns, err := vnetns.GetFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	links, err := dump(h.LinkList)
	if err != nil {
		t.Fatal(err)
	}
	v := nsView{Links: map[string]linkView{}}
	for _, l := range links {
		a := l.Attrs()
		up := a.Flags&net.FlagUp != 0
		if a.Name == "lo" {
			v.LoUp, v.LoAlias = up, a.Alias
			continue
		}
		addrs, err := dump(func() ([]netlink.Addr, error) { return h.AddrList(l, netlink.FAMILY_ALL) })
		if err != nil {
			t.Fatal(err)
		}
		lv := linkView{Kind: l.Type(), Up: up}
		for _, ad := range addrs {
			if ad.IP.To4() == nil && ad.IP.IsLinkLocalUnicast() {
				continue
			}
			lv.Addrs = append(lv.Addrs, ad.IPNet.String())
		}
		slices.Sort(lv.Addrs)
		v.Links[a.Name] = lv
	}
	err = netns.Do(ns, func() error {
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		v.Forwarding = strings.TrimSpace(string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func rootForwarding(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// nsIno returns the inode of a named namespace: it changes when the
// namespace is recreated.
func nsIno(t *testing.T, name string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(netns.RunDir, name), &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// twoOverlappingVPCs returns a Config with two routers that share a bridge
// name and address, as two VPCs with the same CIDR do.
func twoOverlappingVPCs(p string) Config {
	return Config{Prefix: p, Owner: testOwner, Routers: []Router{
		{Namespace: p + "vpc-a", Bridges: []Bridge{
			{Name: "b1", Address: netip.MustParsePrefix("10.0.1.1/24")},
			{Name: "b2", Address: netip.MustParsePrefix("10.0.2.1/24")},
		}},
		{Namespace: p + "vpc-b", Bridges: []Bridge{
			{Name: "b1", Address: netip.MustParsePrefix("10.0.1.1/24")},
			{Name: "b7", Address: netip.MustParsePrefix("10.0.7.1/24")},
		}},
	}}
}

func TestPrivilegedSet(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	rootFwd := rootForwarding(t)
	l, _ := newTestLinux()
	cfg := twoOverlappingVPCs(p)
	if err := l.Set(t.Context(), cfg); err != nil {
		t.Fatalf("Set() = %v", err)
	}

	got, err := l.Namespaces(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{p + "vpc-a", p + "vpc-b"}, got); diff != "" {
		t.Errorf("Namespaces() mismatch (-want +got):\n%s", diff)
	}
	want := map[string]nsView{
		p + "vpc-a": {LoUp: true, LoAlias: testAlias, Forwarding: "1", Links: map[string]linkView{
			"b1": {Kind: "bridge", Up: true, Addrs: []string{"10.0.1.1/24"}},
			"b2": {Kind: "bridge", Up: true, Addrs: []string{"10.0.2.1/24"}},
		}},
		p + "vpc-b": {LoUp: true, LoAlias: testAlias, Forwarding: "1", Links: map[string]linkView{
			"b1": {Kind: "bridge", Up: true, Addrs: []string{"10.0.1.1/24"}},
			"b7": {Kind: "bridge", Up: true, Addrs: []string{"10.0.7.1/24"}},
		}},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, inspect(t, name)); diff != "" {
			t.Errorf("namespace %s mismatch (-want +got):\n%s", name, diff)
		}
	}
	if got := rootForwarding(t); got != rootFwd {
		t.Errorf("root namespace ip_forward = %s after Set(), was %s", got, rootFwd)
	}
}

// TestPrivilegedOverlappingRoutersIsolated checks that two routers with the
// same addresses coexist with no path between them or to the host: their
// only links are lo and port-less bridges, their only routes are the
// kernel's connected and local ones, and neither can route to the other's
// subnets.
func TestPrivilegedOverlappingRoutersIsolated(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	l, _ := newTestLinux()
	cfg := twoOverlappingVPCs(p)
	if err := l.Set(t.Context(), cfg); err != nil {
		t.Fatalf("Set() = %v", err)
	}
	if nsIno(t, p+"vpc-a") == nsIno(t, p+"vpc-b") {
		t.Fatal("the two routers share a namespace")
	}
	for _, r := range cfg.Routers {
		ns, err := vnetns.GetFromName(r.Namespace)
		if err != nil {
			t.Fatal(err)
		}
		defer ns.Close()
		h, err := netlink.NewHandleAt(ns)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()

		links, err := dump(h.LinkList)
		if err != nil {
			t.Fatal(err)
		}
		var connected []string
		for _, b := range r.Bridges {
			connected = append(connected, b.Address.Masked().String())
		}
		for _, link := range links {
			a := link.Attrs()
			switch {
			case a.Name == "lo":
			case reservedLinks[a.Name]:
				// A fallback tunnel device: not connected to anything.
			case link.Type() != "bridge":
				t.Errorf("%s: link %s of kind %s, want only lo and bridges", r.Namespace, a.Name, link.Type())
			}
			if a.MasterIndex != 0 || a.ParentIndex != 0 || a.NetNsID != -1 {
				t.Errorf("%s: link %s is attached to something (master %d, parent %d, peer netns %d)", r.Namespace, a.Name, a.MasterIndex, a.ParentIndex, a.NetNsID)
			}
		}

		routes, err := dump(func() ([]netlink.Route, error) {
			return h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
		})
		if err != nil {
			t.Fatal(err)
		}
		var main4 []string
		for _, rt := range routes {
			if rt.Protocol != unix.RTPROT_KERNEL || rt.Gw != nil || len(rt.MultiPath) > 0 {
				t.Errorf("%s: route %v is not a connected or local one", r.Namespace, rt)
			}
			if rt.Table == unix.RT_TABLE_MAIN && rt.Family == netlink.FAMILY_V4 {
				main4 = append(main4, rt.Dst.String())
			}
		}
		slices.Sort(main4)
		if diff := cmp.Diff(connected, main4); diff != "" {
			t.Errorf("%s: IPv4 main table mismatch (-want +got):\n%s", r.Namespace, diff)
		}
	}

	// vpc-a cannot route to vpc-b's own subnet 10.0.7.0/24 (nor to
	// anything else outside its subnets).
	ns, err := vnetns.GetFromName(p + "vpc-a")
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, dst := range []string{"10.0.7.1", "10.0.7.9", "8.8.8.8"} {
		if rts, err := h.RouteGet(net.ParseIP(dst)); err == nil {
			t.Errorf("vpc-a has a route to %s: %v", dst, rts)
		}
	}
	if _, err := h.RouteGet(net.ParseIP("10.0.1.9")); err != nil {
		t.Errorf("vpc-a has no route to its own subnet: %v", err)
	}
}

func TestPrivilegedIdempotentAcrossRestart(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	l, logs := newTestLinux()
	cfg := twoOverlappingVPCs(p)
	if err := l.Set(t.Context(), cfg); err != nil {
		t.Fatalf("Set() = %v", err)
	}
	if len(logs.take()) == 0 {
		t.Fatal("first Set() applied nothing")
	}
	type identity struct {
		Ino     uint64
		Indexes map[string]int
	}
	snapshot := func() map[string]identity {
		out := map[string]identity{}
		for _, r := range cfg.Routers {
			id := identity{Ino: nsIno(t, r.Namespace), Indexes: map[string]int{}}
			ns, err := vnetns.GetFromName(r.Namespace)
			if err != nil {
				t.Fatal(err)
			}
			h, err := netlink.NewHandleAt(ns)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range r.Bridges {
				link, err := h.LinkByName(b.Name)
				if err != nil {
					t.Fatal(err)
				}
				id.Indexes[b.Name] = link.Attrs().Index
			}
			h.Close()
			ns.Close()
			out[r.Namespace] = id
		}
		return out
	}
	before := snapshot()

	if err := l.Set(t.Context(), cfg); err != nil {
		t.Fatalf("second Set() = %v", err)
	}
	if changes := logs.take(); len(changes) != 0 {
		t.Errorf("second Set() applied %q, want nothing", changes)
	}

	// A restarted daemon: a fresh Linux adopts the state as it is.
	restarted, logs2 := newTestLinux()
	if ops, err := restarted.Plan(t.Context(), cfg); err != nil || len(ops) != 0 {
		t.Errorf("Plan() after restart = %q, %v; want nothing", ops, err)
	}
	if err := restarted.Set(t.Context(), cfg); err != nil {
		t.Fatalf("Set() after restart = %v", err)
	}
	if changes := logs2.take(); len(changes) != 0 {
		t.Errorf("Set() after restart applied %q, want nothing", changes)
	}
	if diff := cmp.Diff(before, snapshot()); diff != "" {
		t.Errorf("namespaces or bridges were recreated (-before +after):\n%s", diff)
	}
}

func TestPrivilegedRecreateAndRemove(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	l, _ := newTestLinux()
	cfg := twoOverlappingVPCs(p)
	vpcA, vpcB := p+"vpc-a", p+"vpc-b"
	if err := l.Set(t.Context(), cfg); err != nil {
		t.Fatalf("Set() = %v", err)
	}
	inoB := nsIno(t, vpcB)

	// Deleted by hand: Set recreates it, complete.
	if err := vnetns.DeleteNamed(vpcA); err != nil {
		t.Fatal(err)
	}
	if err := l.Set(t.Context(), cfg); err != nil {
		t.Fatalf("Set() = %v", err)
	}
	wantA := nsView{LoUp: true, LoAlias: testAlias, Forwarding: "1", Links: map[string]linkView{
		"b1": {Kind: "bridge", Up: true, Addrs: []string{"10.0.1.1/24"}},
		"b2": {Kind: "bridge", Up: true, Addrs: []string{"10.0.2.1/24"}},
	}}
	if diff := cmp.Diff(wantA, inspect(t, vpcA)); diff != "" {
		t.Errorf("recreated %s mismatch (-want +got):\n%s", vpcA, diff)
	}

	// Removed from the config: Set deletes it and leaves the other.
	cfg.Routers = cfg.Routers[1:]
	if err := l.Set(t.Context(), cfg); err != nil {
		t.Fatalf("Set() = %v", err)
	}
	got, err := l.Namespaces(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{vpcB}, got); diff != "" {
		t.Errorf("Namespaces() mismatch (-want +got):\n%s", diff)
	}
	if _, err := os.Lstat(filepath.Join(netns.RunDir, vpcA)); !os.IsNotExist(err) {
		t.Errorf("mount point of %s still there: %v", vpcA, err)
	}
	if nsIno(t, vpcB) != inoB {
		t.Errorf("%s was recreated", vpcB)
	}
}

// TestPrivilegedPrefixIsolation checks that Set never touches a namespace
// outside its prefix, even one that looks like its own, and replaces a
// leftover mount point of its own.
func TestPrivilegedPrefixIsolation(t *testing.T) {
	testenv.RequirePrivileged(t)
	base := testenv.Prefix(t)
	p := base + "r-"
	foreign := base + "rx" // shares every byte of p but the last
	if err := netns.Create(foreign); err != nil {
		t.Fatal(err)
	}
	err := netns.DoNamed(foreign, func() error {
		return netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "b1"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	foreignBefore := inspect(t, foreign)
	inoForeign := nsIno(t, foreign)

	// A mount point left by an interrupted create.
	stale := p + "vpc-a"
	if err := os.WriteFile(filepath.Join(netns.RunDir, stale), nil, 0o444); err != nil {
		t.Fatal(err)
	}

	l, _ := newTestLinux()
	cfg := Config{Prefix: p, Owner: testOwner, Routers: []Router{{Namespace: stale, Bridges: []Bridge{{Name: "b1", Address: netip.MustParsePrefix("10.0.1.1/24")}}}}}
	if err := l.Set(t.Context(), cfg); err != nil {
		t.Fatalf("Set() = %v", err)
	}
	want := nsView{LoUp: true, LoAlias: testAlias, Forwarding: "1", Links: map[string]linkView{
		"b1": {Kind: "bridge", Up: true, Addrs: []string{"10.0.1.1/24"}},
	}}
	if diff := cmp.Diff(want, inspect(t, stale)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", stale, diff)
	}

	if err := l.Set(t.Context(), Config{Prefix: p, Owner: testOwner}); err != nil {
		t.Fatalf("Set() = %v", err)
	}
	if got, _ := l.Namespaces(t.Context(), p); len(got) != 0 {
		t.Errorf("Namespaces() = %v, want none", got)
	}
	if diff := cmp.Diff(foreignBefore, inspect(t, foreign)); diff != "" {
		t.Errorf("foreign namespace changed (-before +after):\n%s", diff)
	}
	if nsIno(t, foreign) != inoForeign {
		t.Error("foreign namespace was recreated")
	}
}

// TestPrivilegedTwoOwners runs two data planes with the same prefix and
// different owners, as two daemons on one host, concurrently: each
// configures its own namespaces and never changes or deletes the other's.
func TestPrivilegedTwoOwners(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	const ownerA, ownerB = "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"
	br := func(name, addr string) Bridge { return Bridge{Name: name, Address: netip.MustParsePrefix(addr)} }
	// The same bridge names and addresses on both sides, as two users'
	// VPCs with the same CIDR.
	cfgA := Config{Prefix: p, Owner: ownerA, Routers: []Router{
		{Namespace: p + "vpc-a1", Bridges: []Bridge{br("b1", "10.0.1.1/24")}},
		{Namespace: p + "vpc-a2", Bridges: []Bridge{br("b1", "10.0.1.1/24")}},
	}}
	cfgB := Config{Prefix: p, Owner: ownerB, Routers: []Router{
		{Namespace: p + "vpc-b1", Bridges: []Bridge{br("b1", "10.0.1.1/24")}},
	}}
	la, logsA := newTestLinux()
	lb, logsB := newTestLinux()

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for _, side := range []struct {
		l   *Linux
		cfg Config
	}{{la, cfgA}, {lb, cfgB}} {
		wg.Go(func() {
			for range 10 {
				if err := side.l.Set(t.Context(), side.cfg); err != nil {
					errs <- fmt.Errorf("Set(%s) = %w", side.cfg.Owner, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, line := range append(logsA.take(), logsB.take()...) {
		if strings.Contains(line, "del ") {
			t.Errorf("a data plane deleted something: %s", line)
		}
	}

	got, err := la.Namespaces(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{p + "vpc-a1", p + "vpc-a2", p + "vpc-b1"}, got); diff != "" {
		t.Errorf("Namespaces() mismatch (-want +got):\n%s", diff)
	}
	view := func(owner string) nsView {
		return nsView{LoUp: true, LoAlias: "privlink owner=" + owner, Forwarding: "1", Links: map[string]linkView{
			"b1": {Kind: "bridge", Up: true, Addrs: []string{"10.0.1.1/24"}},
		}}
	}
	for name, owner := range map[string]string{p + "vpc-a1": ownerA, p + "vpc-a2": ownerA, p + "vpc-b1": ownerB} {
		if diff := cmp.Diff(view(owner), inspect(t, name)); diff != "" {
			t.Errorf("namespace %s mismatch (-want +got):\n%s", name, diff)
		}
	}
	for _, side := range []struct {
		l   *Linux
		cfg Config
	}{{la, cfgA}, {lb, cfgB}} {
		if ops, err := side.l.Plan(t.Context(), side.cfg); err != nil || len(ops) != 0 {
			t.Errorf("Plan(%s) = %q, %v; want nothing", side.cfg.Owner, ops, err)
		}
	}

	// A wants nothing any more: it deletes its own namespaces only.
	inoB := nsIno(t, p+"vpc-b1")
	if err := la.Set(t.Context(), Config{Prefix: p, Owner: ownerA}); err != nil {
		t.Fatalf("Set() = %v", err)
	}
	if got, _ := la.Namespaces(t.Context(), p); !slices.Equal(got, []string{p + "vpc-b1"}) {
		t.Errorf("Namespaces() after A removed its own = %q, want only B's", got)
	}
	if nsIno(t, p+"vpc-b1") != inoB {
		t.Error("B's namespace was recreated")
	}
	if diff := cmp.Diff(view(ownerB), inspect(t, p+"vpc-b1")); diff != "" {
		t.Errorf("B's namespace changed (-want +got):\n%s", diff)
	}
}

// TestPrivilegedOwnership checks what Set does with namespaces under its
// prefix that it did not stamp: an unowned one it wants is adopted in
// place, one it does not want survives, and one of another owner that it
// wants is an error of its own while the rest is configured.
func TestPrivilegedOwnership(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	adopted, unwanted, foreign, fresh := p+"vpc-adopt", p+"vpc-hand", p+"vpc-other", p+"vpc-new"
	for _, name := range []string{adopted, unwanted, foreign} {
		if err := netns.Create(name); err != nil {
			t.Fatal(err)
		}
	}
	// What a crash between create and stamp leaves: a configured router
	// whose lo has no alias.
	err := netns.DoNamed(adopted, func() error {
		return netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "b1"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	stamp(t, foreign, "privlink owner=0000111122223333")
	foreignBefore, unwantedBefore := inspect(t, foreign), inspect(t, unwanted)
	inoAdopted, inoUnwanted, inoForeign := nsIno(t, adopted), nsIno(t, unwanted), nsIno(t, foreign)

	l, logs := newTestLinux()
	b1 := []Bridge{{Name: "b1", Address: netip.MustParsePrefix("10.0.1.1/24")}}
	cfg := Config{Prefix: p, Owner: testOwner, Routers: []Router{
		{Namespace: adopted, Bridges: b1},
		{Namespace: foreign, Bridges: b1},
		{Namespace: fresh, Bridges: b1},
	}}
	err = l.Set(t.Context(), cfg)
	want := "namespace " + foreign + " belongs to privlink owner 0000111122223333"
	if err == nil || err.Error() != want {
		t.Errorf("Set() = %v, want exactly %q", err, want)
	}
	for _, line := range logs.take() {
		if strings.Contains(line, foreign) || strings.Contains(line, unwanted) {
			t.Errorf("Set() changed a namespace that is not its own: %s", line)
		}
	}
	wantView := nsView{LoUp: true, LoAlias: testAlias, Forwarding: "1", Links: map[string]linkView{
		"b1": {Kind: "bridge", Up: true, Addrs: []string{"10.0.1.1/24"}},
	}}
	for _, name := range []string{adopted, fresh} {
		if diff := cmp.Diff(wantView, inspect(t, name)); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
		}
	}
	if nsIno(t, adopted) != inoAdopted {
		t.Errorf("%s was recreated, not adopted", adopted)
	}

	// Nothing wanted: Set deletes what it owns, the adopted namespace
	// included, and nothing else.
	if err := l.Set(t.Context(), Config{Prefix: p, Owner: testOwner}); err != nil {
		t.Fatalf("Set() = %v", err)
	}
	got, err := l.Namespaces(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{unwanted, foreign}, got); diff != "" {
		t.Errorf("Namespaces() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(foreignBefore, inspect(t, foreign)); diff != "" {
		t.Errorf("the other owner's namespace changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(unwantedBefore, inspect(t, unwanted)); diff != "" {
		t.Errorf("the unowned namespace changed (-before +after):\n%s", diff)
	}
	if nsIno(t, foreign) != inoForeign || nsIno(t, unwanted) != inoUnwanted {
		t.Error("a namespace that is not Set's own was recreated")
	}
}

// TestPrivilegedLinuxHostStates runs the Fake's host steps against the
// kernel: before each Set, Plan must report exactly the ops the Fake
// applies, and after it, nothing.
func TestPrivilegedLinuxHostStates(t *testing.T) {
	testenv.RequirePrivileged(t)
	base := testenv.Prefix(t)
	cleanupEtcNetns(t, base)
	l, logs := newTestLinux()
	for _, step := range hostSteps(base) {
		if step.before != nil {
			step.before(t, linuxOutOfBand{})
		}
		got, err := l.Plan(t.Context(), step.cfg)
		checkErr(t, step.name+": Plan()", err, step.wantErr)
		if diff := cmp.Diff(step.want, got); diff != "" {
			t.Errorf("%s: Plan() mismatch (-want +got):\n%s", step.name, diff)
		}
		err = l.Set(t.Context(), step.cfg)
		checkErr(t, step.name+": Set()", err, step.wantErr)
		if changes := logs.take(); len(changes) != len(step.want) {
			t.Errorf("%s: Set() applied %d changes, want %d: %q", step.name, len(changes), len(step.want), changes)
		}
		again, err := l.Plan(t.Context(), step.cfg)
		checkErr(t, step.name+": Plan() after Set()", err, step.wantErr)
		if len(again) != 0 {
			t.Fatalf("%s: Plan() after Set() = %q; want nothing", step.name, again)
		}
	}
	if got, err := l.Namespaces(t.Context(), base); err != nil || len(got) != 0 {
		t.Errorf("Namespaces() = %q, %v; want none", got, err)
	}
	if left := etcNetnsLeft(t, base); len(left) != 0 {
		t.Errorf("/etc/netns entries left: %q", left)
	}
}
