package nft

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/privlink/privlink/internal/testenv"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

const (
	// blockedWait is how long a connection attempt that must fail is
	// given. A packet that passes is answered within microseconds here;
	// one that is dropped is never answered.
	blockedWait = 300 * time.Millisecond
	// allowedWait bounds a connection attempt that must succeed.
	allowedWait = 3 * time.Second
)

// testNS is a throwaway namespace with a netlink handle in it.
type testNS struct {
	name string
	h    netns.Handle
	nl   *netlink.Handle
}

func newNS(t *testing.T, name string) *testNS {
	t.Helper()
	if err := netns.Create(name); err != nil {
		t.Fatal(err)
	}
	h, err := netns.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	nl, err := netlink.NewHandleAt(h, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nl.Close)
	ns := &testNS{name: name, h: h, nl: nl}
	ns.up(t, "lo")
	return ns
}

func (ns *testNS) link(t *testing.T, name string) netlink.Link {
	t.Helper()
	l, err := ns.nl.LinkByName(name)
	if err != nil {
		t.Fatalf("%s: link %s: %v", ns.name, name, err)
	}
	return l
}

func (ns *testNS) up(t *testing.T, name string) {
	t.Helper()
	if err := ns.nl.LinkSetUp(ns.link(t, name)); err != nil {
		t.Fatalf("%s: up %s: %v", ns.name, name, err)
	}
}

// addr adds a prefix to a link; IPv6 addresses skip duplicate address
// detection, so that they are usable at once.
func (ns *testNS) addr(t *testing.T, link, prefix string) {
	t.Helper()
	p := netip.MustParsePrefix(prefix)
	a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	if err := ns.nl.AddrAdd(ns.link(t, link), a); err != nil {
		t.Fatalf("%s: add %s to %s: %v", ns.name, prefix, link, err)
	}
}

func (ns *testNS) defaultRoute(t *testing.T, via string) {
	t.Helper()
	if err := ns.nl.RouteAdd(&netlink.Route{Gw: net.ParseIP(via)}); err != nil {
		t.Fatalf("%s: default route via %s: %v", ns.name, via, err)
	}
}

// veth joins a's link aName and b's link bName, both up.
func veth(t *testing.T, a *testNS, aName string, b *testNS, bName string) {
	t.Helper()
	err := a.nl.LinkAdd(&netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: aName},
		PeerName:      bName,
		PeerNamespace: netlink.NsFd(b.h),
	})
	if err != nil {
		t.Fatalf("veth %s/%s: %v", aName, bName, err)
	}
	a.up(t, aName)
	b.up(t, bName)
}

// listen runs a line echo server in ns on addr ("ip:port").
func (ns *testNS) listen(t *testing.T, addr string) {
	t.Helper()
	var ln net.Listener
	err := netns.Do(ns.h, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("%s: listen %s: %v", ns.name, addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go io.Copy(c, c)
		}
	}()
}

// dial connects from ns to addr within timeout; the socket is made in ns.
func (ns *testNS) dial(addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := netns.Do(ns.h, func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, timeout)
		return err
	})
	return c, err
}

// echo sends a line on c and waits for it to come back.
func echo(c net.Conn, timeout time.Duration) error {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "ping\n" {
		return fmt.Errorf("echo returned %q", line)
	}
	return nil
}

// mustConnect checks that a connection from ns to addr opens and carries
// data both ways, and returns it.
func mustConnect(t *testing.T, ns *testNS, addr string) net.Conn {
	t.Helper()
	c, err := ns.dial(addr, allowedWait)
	if err != nil {
		t.Fatalf("connect %s -> %s: %v; want it to work", ns.name, addr, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := echo(c, allowedWait); err != nil {
		t.Fatalf("echo %s -> %s: %v; want it to work", ns.name, addr, err)
	}
	return c
}

// mustNotConnect checks that a connection from ns to addr times out: its
// packets are dropped (a refused connection would mean they passed).
func mustNotConnect(t *testing.T, ns *testNS, addr string) {
	t.Helper()
	c, err := ns.dial(addr, blockedWait)
	if err == nil {
		c.Close()
		t.Fatalf("connect %s -> %s worked; want it blocked", ns.name, addr)
	}
	if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
		t.Fatalf("connect %s -> %s: %v; want a timeout (dropped packets)", ns.name, addr, err)
	}
}

func apply(t *testing.T, ns *testNS, cfg any, wantChanged bool) {
	t.Helper()
	var changed bool
	var err error
	switch cfg := cfg.(type) {
	case Firewall:
		changed, err = ApplyFirewall(t.Context(), ns.h, cfg)
	case ACLSet:
		changed, err = ApplyACLs(t.Context(), ns.h, cfg)
	}
	if err != nil {
		t.Fatalf("%s: Apply() = %v", ns.name, err)
	}
	if changed != wantChanged {
		t.Errorf("%s: Apply() changed = %v, want %v", ns.name, changed, wantChanged)
	}
}

// tables lists the inet tables in ns, read independently of the code
// under test.
func tables(t *testing.T, ns *testNS) []string {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns.h)))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range ts {
		names = append(names, x.Name)
	}
	slices.Sort(names)
	return names
}

// addForeignTable adds a table that privlink does not own, with a chain
// that accepts everything, to check that Apply leaves it alone.
func addForeignTable(t *testing.T, ns *testNS) {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns.h)))
	if err != nil {
		t.Fatal(err)
	}
	tb := c.AddTable(&nftables.Table{Name: "other", Family: nftables.TableFamilyINet})
	accept := nftables.ChainPolicyAccept
	c.AddChain(&nftables.Chain{Name: "input", Table: tb, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
}

// ping sends one ICMP echo request from src in ns to dst and reports
// whether the reply came back within timeout.
func (ns *testNS) ping(t *testing.T, src, dst string, timeout time.Duration) bool {
	t.Helper()
	var pc net.PacketConn
	err := netns.Do(ns.h, func() error {
		var err error
		pc, err = net.ListenPacket("ip4:icmp", src) // raw: reads come without the IP header
		return err
	})
	if err != nil {
		t.Fatalf("%s: icmp socket: %v", ns.name, err)
	}
	defer pc.Close()
	id := uint16(os.Getpid())
	msg := []byte{8, 0, 0, 0, byte(id >> 8), byte(id), 0, 1, 'p', 'l', 'k'} // echo request, seq 1
	sum := icmpChecksum(msg)
	msg[2], msg[3] = byte(sum>>8), byte(sum)
	if _, err := pc.WriteTo(msg, &net.IPAddr{IP: net.ParseIP(dst)}); err != nil {
		t.Fatalf("%s: ping %s: %v", ns.name, dst, err)
	}
	if err := pc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			return false // the deadline
		}
		if n >= 8 && buf[0] == 0 && uint16(buf[4])<<8|uint16(buf[5]) == id { // echo reply
			return true
		}
	}
}

func icmpChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// TestPrivilegedFirewall checks the stateful policy with real traffic
// between two namespaces joined by a veth pair.
func TestPrivilegedFirewall(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	cli, srv := newNS(t, p+"client"), newNS(t, p+"server")
	veth(t, cli, "eth0", srv, "eth0")
	cli.addr(t, "eth0", "10.9.0.1/24")
	srv.addr(t, "eth0", "10.9.0.2/24")
	cli.addr(t, "eth0", "2001:db8:9::1/64")
	srv.addr(t, "eth0", "2001:db8:9::2/64")
	srv.listen(t, "10.9.0.2:8080")
	srv.listen(t, "10.9.0.2:9090")
	srv.listen(t, "[2001:db8:9::2]:8080")
	cli.listen(t, "10.9.0.1:7070")
	addForeignTable(t, srv)

	const (
		web   = "10.9.0.2:8080"
		other = "10.9.0.2:9090"
		web6  = "[2001:db8:9::2]:8080"
		back  = "10.9.0.1:7070" // the client's listener, for connections the server opens
	)
	egressAll := []Rule{allTraffic("0.0.0.0/0"), allTraffic("::/0")}
	policy := func(ingress, egress []Rule) Firewall {
		return Firewall{Interfaces: []IfacePolicy{{Iface: "eth0", Ingress: ingress, Egress: egress}}}
	}

	// Without a firewall everything flows: the topology works. (IPv6 is
	// first used under the firewall, so that neighbour discovery must pass
	// it.)
	mustConnect(t, cli, web)
	mustConnect(t, srv, back)

	t.Log("no ingress rule: nothing comes in; the server still opens connections out")
	apply(t, srv, policy(nil, egressAll), true)
	apply(t, srv, policy(nil, egressAll), false) // in sync: nothing to do
	mustNotConnect(t, cli, web)
	mustNotConnect(t, cli, web6)
	mustConnect(t, srv, back)
	if cli.ping(t, "10.9.0.1", "10.9.0.2", blockedWait) {
		t.Error("ping passed without an icmp rule; want it blocked")
	}

	t.Log("tcp 8080 from the client's /32: that port works, another does not")
	apply(t, srv, policy([]Rule{tcp(8080, 8080, "10.9.0.1/32")}, egressAll), true)
	established := mustConnect(t, cli, web)
	mustNotConnect(t, cli, other)
	mustNotConnect(t, cli, web6) // the rule is IPv4 only

	t.Log("a rule for other sources (ending just below the client's address), and one for a range around the port")
	apply(t, srv, policy([]Rule{tcp(8080, 8080, "10.9.0.0/32", "10.9.0.77/32", "10.9.1.0/24", "2001:db8:9::/128", "2001:db8:9::77/128")}, egressAll), true)
	mustNotConnect(t, cli, web)
	mustNotConnect(t, cli, web6)
	apply(t, srv, policy([]Rule{tcp(8000, 8999, "10.9.0.77/32", "10.9.0.1/32", "192.0.2.0/24", "2001:db8:9::1/128", "2001:db8:9::77/128")}, egressAll), true)
	mustConnect(t, cli, web)  // via an interval set
	mustConnect(t, cli, web6) // likewise; neighbour discovery passes
	mustNotConnect(t, cli, other)
	apply(t, srv, policy([]Rule{tcp(8080, 8080, "10.9.0.0/24")}, egressAll), true)
	mustConnect(t, cli, web) // via a masked prefix

	t.Log("no egress rule: replies flow, new connections out do not")
	apply(t, srv, policy([]Rule{tcp(8080, 8080, "10.9.0.1/32")}, nil), true)
	mustConnect(t, cli, web)
	mustNotConnect(t, srv, back)
	apply(t, srv, policy([]Rule{tcp(8080, 8080, "10.9.0.1/32")}, []Rule{tcp(7070, 7070, "10.9.0.1/32")}), true)
	mustConnect(t, srv, back)
	mustConnect(t, cli, web)

	t.Log("icmp echo: the type allowed passes, another type does not")
	icmpRule := func(typ int16) Rule {
		return Rule{Proto: ProtoICMP, IcmpType: typ, IcmpCode: -1, Prefixes: pfx("10.9.0.1/32")}
	}
	apply(t, srv, policy([]Rule{icmpRule(13)}, nil), true) // timestamp only
	if cli.ping(t, "10.9.0.1", "10.9.0.2", blockedWait) {
		t.Error("ping passed with only a timestamp rule; want it blocked")
	}
	apply(t, srv, policy([]Rule{icmpRule(8)}, nil), true)
	if !cli.ping(t, "10.9.0.1", "10.9.0.2", allowedWait) {
		t.Error("ping blocked with an echo rule; want it to pass")
	}

	t.Log("revoking the rule blocks new connections; the established one continues")
	apply(t, srv, policy(nil, nil), true)
	mustNotConnect(t, cli, web)
	if err := echo(established, allowedWait); err != nil {
		t.Errorf("established connection after the revoke: %v; want it to continue", err)
	}

	t.Log("an empty Firewall removes the table, and only it")
	if diff := cmp.Diff([]string{"other", "privlink_sg"}, tables(t, srv)); diff != "" {
		t.Errorf("tables mismatch (-want +got):\n%s", diff)
	}
	apply(t, srv, Firewall{}, true)
	apply(t, srv, Firewall{}, false)
	if diff := cmp.Diff([]string{"other"}, tables(t, srv)); diff != "" {
		t.Errorf("tables after removal mismatch (-want +got):\n%s", diff)
	}
	mustConnect(t, cli, other)
}

// TestPrivilegedFirewallHealsTampering checks that Apply rebuilds a table
// that lost its rules behind its back.
func TestPrivilegedFirewallHealsTampering(t *testing.T) {
	testenv.RequirePrivileged(t)
	ns := newNS(t, testenv.Prefix(t)+"ns")
	digests := func() map[string]string {
		t.Helper()
		d, err := TableDigests(t.Context(), ns.h)
		if err != nil {
			t.Fatalf("TableDigests() = %v", err)
		}
		return d
	}
	if d := digests(); len(d) != 0 {
		t.Errorf("TableDigests() of a fresh namespace = %v, want none", d)
	}
	fw := Firewall{Interfaces: []IfacePolicy{{Iface: "eth0"}}}
	rs, err := CompileFirewall(fw)
	if err != nil {
		t.Fatal(err)
	}
	acl, err := CompileACLs(ACLSet{Subnets: []SubnetACL{{Iface: "br-a"}}})
	if err != nil {
		t.Fatal(err)
	}
	apply(t, ns, fw, true)
	if _, err := acl.Apply(t.Context(), ns.h); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{TableFirewall: rs.Digest(), TableACL: acl.Digest()}
	if diff := cmp.Diff(want, digests()); diff != "" {
		t.Errorf("TableDigests() mismatch (-want +got):\n%s", diff)
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(ns.h)))
	if err != nil {
		t.Fatal(err)
	}
	c.FlushTable(&nftables.Table{Name: TableFirewall, Family: nftables.TableFamilyINet})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	want[TableFirewall] = UnknownDigest
	if diff := cmp.Diff(want, digests()); diff != "" {
		t.Errorf("TableDigests() after a flush mismatch (-want +got):\n%s", diff)
	}
	if ok, err := rs.InSync(t.Context(), ns.h); ok || err != nil {
		t.Errorf("InSync() after a flush = %v, %v; want false, nil", ok, err)
	}
	apply(t, ns, fw, true)
	if ok, err := rs.InSync(t.Context(), ns.h); !ok || err != nil {
		t.Errorf("InSync() after Apply() = %v, %v; want true, nil", ok, err)
	}
}

// TestPrivilegedACLs checks the stateless ACLs in a VPC router with two
// subnets: the acceptance scenario, and what must stay blocked.
func TestPrivilegedACLs(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	rtr := newNS(t, p+"router")
	for _, br := range []string{"br-a", "br-b"} {
		if err := rtr.nl.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: br}}); err != nil {
			t.Fatal(err)
		}
		rtr.up(t, br)
	}
	rtr.addr(t, "br-a", "10.8.1.1/24")
	rtr.addr(t, "br-b", "10.8.2.1/24")
	err := netns.Do(rtr.h, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	host := func(name, veth0, br, addr, gw string) *testNS {
		h := newNS(t, p+name)
		veth(t, rtr, veth0, h, "eth0")
		if err := rtr.nl.LinkSetMaster(rtr.link(t, veth0), rtr.link(t, br)); err != nil {
			t.Fatal(err)
		}
		h.addr(t, "eth0", addr)
		h.defaultRoute(t, gw)
		return h
	}
	ha := host("a", "va", "br-a", "10.8.1.10/24", "10.8.1.1")
	ha2 := host("a2", "va2", "br-a", "10.8.1.11/24", "10.8.1.1")
	hb := host("b", "vb", "br-b", "10.8.2.10/24", "10.8.2.1")
	hb.listen(t, "10.8.2.10:80")
	hb.listen(t, "10.8.2.10:81")
	ha2.listen(t, "10.8.1.11:80")
	rtr.listen(t, "10.8.1.1:53") // the router's own address, like VPC+2
	addForeignTable(t, rtr)

	const (
		web     = "10.8.2.10:80"
		web81   = "10.8.2.10:81"
		sameNet = "10.8.1.11:80"
		router  = "10.8.1.1:53"
	)
	any4 := netip.MustParsePrefix("0.0.0.0/0")
	deny := ACLEntry{Number: 32767, Prefix: any4}
	def := []ACLEntry{{Number: 100, Allow: true, Prefix: any4}, deny}
	set := func(aIn, aOut, bIn, bOut []ACLEntry) ACLSet {
		return ACLSet{Subnets: []SubnetACL{
			{Iface: "br-a", Inbound: aIn, Outbound: aOut},
			{Iface: "br-b", Inbound: bIn, Outbound: bOut},
		}}
	}
	bIn := []ACLEntry{
		{Number: 100, Allow: true, Proto: ProtoTCP, FromPort: 80, ToPort: 80, Prefix: netip.MustParsePrefix("10.8.1.0/24")},
		{Number: 200, Proto: ProtoTCP, FromPort: 1024, ToPort: 65535, Prefix: any4}, // deny ephemeral in
		deny,
	}
	replies := ACLEntry{Number: 100, Allow: true, Proto: ProtoTCP, FromPort: 1024, ToPort: 65535, Prefix: netip.MustParsePrefix("10.8.1.0/24")}

	mustConnect(t, ha, web) // the topology works

	t.Log("default ACLs: routed traffic flows")
	apply(t, rtr, set(def, def, def, def), true)
	apply(t, rtr, set(def, def, def, def), false)
	mustConnect(t, ha, web)
	mustConnect(t, ha, web81)

	t.Log("B allows tcp 80 in, but its outbound misses the ephemeral replies")
	apply(t, rtr, set(def, def, bIn, []ACLEntry{deny}), true)
	mustNotConnect(t, ha, web)

	t.Log("B's outbound allows 1024-65535 to A: it works; port 81 stays blocked")
	apply(t, rtr, set(def, def, bIn, []ACLEntry{replies, deny}), true)
	established := mustConnect(t, ha, web)
	mustNotConnect(t, ha, web81)

	t.Log("stateless: removing the reply entry stops the established connection at once")
	apply(t, rtr, set(def, def, bIn, []ACLEntry{deny}), true)
	if err := echo(established, blockedWait); err == nil {
		t.Error("established connection still answered without the reply entry; want it cut")
	}
	apply(t, rtr, set(def, def, bIn, []ACLEntry{replies, deny}), true)
	if err := echo(established, allowedWait); err != nil {
		t.Errorf("established connection after restoring the reply entry: %v; want it to work", err)
	}

	t.Log("A denies everything: nothing routed; same-subnet traffic and the router's own address still work")
	apply(t, rtr, set([]ACLEntry{deny}, []ACLEntry{deny}, def, def), true)
	mustNotConnect(t, ha, web)
	mustConnect(t, ha, sameNet)
	mustConnect(t, ha, router)

	t.Log("first match wins: a deny numbered before the allow blocks")
	firstDeny := []ACLEntry{{Number: 50, Proto: ProtoTCP, FromPort: 80, ToPort: 80, Prefix: netip.MustParsePrefix("10.8.1.10/32")}, def[0], deny}
	apply(t, rtr, set(def, def, firstDeny, def), true)
	mustNotConnect(t, ha, web)
	mustConnect(t, ha, web81)

	t.Log("an empty ACLSet removes the table, and only it")
	apply(t, rtr, ACLSet{}, true)
	if diff := cmp.Diff([]string{"other"}, tables(t, rtr)); diff != "" {
		t.Errorf("tables after removal mismatch (-want +got):\n%s", diff)
	}
	mustConnect(t, ha, web)
}

func TestIntervals(t *testing.T) {
	el := func(a string, end bool) nftables.SetElement {
		return nftables.SetElement{Key: netip.MustParseAddr(a).AsSlice(), IntervalEnd: end}
	}
	tests := []struct {
		in   []netip.Prefix
		want []nftables.SetElement
	}{
		{
			in:   pfx("10.0.0.1/32", "10.0.0.2/31", "10.0.1.0/24"),
			want: []nftables.SetElement{el("0.0.0.0", true), el("10.0.0.1", false), el("10.0.0.4", true), el("10.0.1.0", false), el("10.0.2.0", true)},
		},
		{
			in:   pfx("0.0.0.0/8", "255.255.255.255/32"),
			want: []nftables.SetElement{el("0.0.0.0", false), el("1.0.0.0", true), el("255.255.255.255", false)},
		},
		{
			in:   pfx("2001:db8::/64", "ffff::/16"),
			want: []nftables.SetElement{el("::", true), el("2001:db8::", false), el("2001:db8:0:1::", true), el("ffff::", false)},
		},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, intervals(tc.in)); diff != "" {
			t.Errorf("intervals(%v) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}
