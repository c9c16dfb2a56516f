package dataplane

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/privlink/privlink/internal/dataplane/nft"
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

// serveName runs, in the namespace ns (the root namespace if ""), a TCP
// server on addr that writes name to every connection and closes it. It
// returns the address it listens on.
func serveName(t *testing.T, ns, addr, name string) string {
	t.Helper()
	var ln net.Listener
	listen := func() error {
		var err error
		ln, err = net.Listen("tcp4", addr)
		return err
	}
	var err error
	if ns == "" {
		err = listen()
	} else {
		err = netns.DoNamed(ns, listen)
	}
	if err != nil {
		t.Fatalf("listen on %s in %q: %v", addr, ns, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(name))
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// whoIs connects from the namespace ns to addr within timeout and returns
// what the server there says its name is.
func whoIs(ns, addr string, timeout time.Duration) (string, error) {
	name, _, err := whoIsRetrans(ns, addr, timeout)
	return name, err
}

// whoIsRetrans is whoIs, and also returns how many segments (SYNs
// included) the client retransmitted.
func whoIsRetrans(ns, addr string, timeout time.Duration) (string, uint32, error) {
	var c net.Conn
	err := netns.DoNamed(ns, func() error {
		var err error
		c, err = (&net.Dialer{Timeout: timeout}).Dial("tcp4", addr)
		return err
	})
	if err != nil {
		return "", 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	b, err := io.ReadAll(c)
	if err != nil {
		return string(b), 0, err
	}
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return string(b), 0, err
	}
	var info *unix.TCPInfo
	if cerr := rc.Control(func(fd uintptr) {
		info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); cerr != nil {
		return string(b), 0, cerr
	}
	if err != nil {
		return string(b), 0, fmt.Errorf("TCP_INFO: %w", err)
	}
	return string(b), info.Total_retrans, nil
}

// mustReach checks that a connection from ns to addr lands on the server
// named want.
func mustReach(t *testing.T, ns, addr, want string) {
	t.Helper()
	got, err := whoIs(ns, addr, allowedWait)
	if err != nil || got != want {
		t.Errorf("connect from %s to %s: reached %q, %v; want %q", ns, addr, got, err, want)
	}
}

// mustNotReach checks that no connection from ns to addr gets through to a
// server at all.
func mustNotReach(t *testing.T, ns, addr string) {
	t.Helper()
	if got, err := whoIs(ns, addr, blockedWait); err == nil {
		t.Errorf("connect from %s to %s reached %q; want it blocked", ns, addr, got)
	}
}

// neighbour returns the MAC that the namespace ns maps ip to on its link
// link, "" if none.
func neighbour(t *testing.T, ns, link, ip string) string {
	t.Helper()
	var mac string
	err := netns.DoNamed(ns, func() error {
		l, err := netlink.LinkByName(link)
		if err != nil {
			return err
		}
		neighs, err := dump(func() ([]netlink.Neigh, error) { return netlink.NeighList(l.Attrs().Index, netlink.FAMILY_V4) })
		if err != nil {
			return err
		}
		for _, n := range neighs {
			if n.IP.String() == ip && n.State&(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE) == 0 {
				mac = n.HardwareAddr.String()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return mac
}

// vpcConfig returns the routers and hosts of the traffic test: per VPC, a
// router with two subnets and three instances, a and c in subnet 1, b in
// subnet 2. Both VPCs have the same addresses, names of links and MACs.
func vpcConfig(p string, vpcs ...string) Config {
	cfg := Config{Prefix: p, Owner: testOwner}
	for _, v := range vpcs {
		router := p + v
		cfg.Routers = append(cfg.Routers, testVPC(router))
		cfg.Hosts = append(cfg.Hosts,
			testHost(p+v+"-a", "pa", router, "b1", "10.0.1.10/24", 1),
			testHost(p+v+"-b", "pb", router, "b2", "10.0.2.10/24", 2),
			testHost(p+v+"-c", "pc", router, "b1", "10.0.1.11/24", 3),
		)
	}
	return cfg
}

func findHost(cfg *Config, ns string) *Host {
	for i := range cfg.Hosts {
		if cfg.Hosts[i].Namespace == ns {
			return &cfg.Hosts[i]
		}
	}
	return nil
}

// TestPrivilegedHostsTraffic builds two VPCs with the same addresses, and
// checks what flows and what must not: routing between subnets, bridging
// within one, security groups, network ACLs, the resolver address,
// isolation from the other VPC and from the host, and an address reused
// by a new interface.
func TestPrivilegedHostsTraffic(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	cleanupEtcNetns(t, p)
	l, _ := newTestLinux()
	cfg := vpcConfig(p, "x", "y")
	// An instance that only VPC y has.
	cfg.Hosts = append(cfg.Hosts, testHost(p+"y-d", "pd", p+"y", "b2", "10.0.2.20/24", 4))
	if err := l.Set(t.Context(), cfg); err != nil {
		t.Fatalf("Set() = %v", err)
	}
	xa, xb, xc, ya, yd := p+"x-a", p+"x-b", p+"x-c", p+"y-a", p+"y-d"
	for _, h := range cfg.Hosts {
		serveName(t, h.Namespace, "0.0.0.0:8080", h.Namespace)
	}

	t.Run("resolv.conf", func(t *testing.T) {
		b, err := os.ReadFile(ResolvConfPath(xa))
		if err != nil {
			t.Fatal(err)
		}
		want := "# privlink owner=" + testOwner + "\nnameserver 10.0.0.2\noptions timeout:1 attempts:2\n"
		if diff := cmp.Diff(want, string(b)); diff != "" {
			t.Errorf("resolv.conf mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("routed and bridged within a VPC", func(t *testing.T) {
		mustReach(t, xa, "10.0.2.10:8080", xb) // another subnet, through the router
		mustReach(t, xb, "10.0.1.10:8080", xa)
		mustReach(t, xa, "10.0.1.11:8080", xc) // the same subnet, bridged
		mustReach(t, ya, "10.0.2.10:8080", p+"y-b")
	})

	t.Run("VPCs with the same addresses are isolated", func(t *testing.T) {
		mustNotReach(t, xa, "10.0.2.20:8080") // only VPC y has it
		mustReach(t, yd, "10.0.1.10:8080", ya)
		// The gateways' MACs are the same in both VPCs, and stay put.
		for _, r := range []string{p + "x", p + "y"} {
			for _, b := range []string{"b1", "b2"} {
				if got := inspectMAC(t, r, b); got != BridgeMAC(b).String() {
					t.Errorf("MAC of %s in %s = %s, want %s", b, r, got, BridgeMAC(b))
				}
			}
		}
	})

	t.Run("nothing reaches the host", func(t *testing.T) {
		root := []string{serveName(t, "", "127.0.0.1:0", "root")}
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.To4() == nil || ipn.IP.IsLoopback() {
				continue
			}
			root = append(root, serveName(t, "", net.JoinHostPort(ipn.IP.String(), "0"), "root"))
		}
		for _, addr := range root {
			if got, err := whoIs(xa, addr, blockedWait); err == nil {
				t.Errorf("connect from %s to the root namespace's %s reached %q", xa, addr, got)
			}
		}
		for _, ns := range []string{xa, p + "x"} {
			err := netns.DoNamed(ns, func() error {
				_, err := netlink.RouteGet(net.ParseIP("192.0.2.1"))
				return err
			})
			if ns == p+"x" && err == nil {
				t.Errorf("the router %s has a route out", ns)
			}
		}
	})

	t.Run("the resolver address answers from every subnet", func(t *testing.T) {
		for _, v := range []string{"x", "y"} {
			var pc net.PacketConn
			err := netns.DoNamed(p+v, func() error {
				var err error
				pc, err = net.ListenPacket("udp4", "10.0.0.2:53")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			go func() {
				buf := make([]byte, 512)
				for {
					n, from, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					pc.WriteTo(append(buf[:n:n], " from "+v...), from)
				}
			}()
		}
		for ns, want := range map[string]string{xa: "q from x", xb: "q from x", ya: "q from y"} {
			var got string
			err := netns.DoNamed(ns, func() error {
				c, err := net.Dial("udp4", "10.0.0.2:53")
				if err != nil {
					return err
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(allowedWait))
				if _, err := c.Write([]byte("q")); err != nil {
					return err
				}
				buf := make([]byte, 64)
				n, err := c.Read(buf)
				got = string(buf[:n])
				return err
			})
			if err != nil || got != want {
				t.Errorf("query from %s = %q, %v; want %q", ns, got, err, want)
			}
		}
	})

	t.Run("security group", func(t *testing.T) {
		b := findHost(&cfg, xb)
		b.Firewall = nft.Firewall{Interfaces: []nft.IfacePolicy{{Iface: "eth0"}}}
		if err := l.Set(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		mustNotReach(t, xa, "10.0.2.10:8080")
		b.Firewall.Interfaces[0].Ingress = []nft.Rule{{Proto: nft.ProtoTCP, FromPort: 8080, ToPort: 8080,
			Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.1.10/32")}}}
		if err := l.Set(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		mustReach(t, xa, "10.0.2.10:8080", xb)
		mustNotReach(t, xc, "10.0.2.10:8080") // not the address the rule names
		b.Firewall = nft.Firewall{}
		if err := l.Set(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		mustReach(t, xc, "10.0.2.10:8080", xb)
	})

	t.Run("network ACL", func(t *testing.T) {
		r := &cfg.Routers[0]
		all := netip.MustParsePrefix("0.0.0.0/0")
		// Subnet 2 lets traffic in, but its replies out only to port 8080:
		// not the client's ephemeral port.
		r.ACLs = nft.ACLSet{Subnets: []nft.SubnetACL{{
			Iface:    "b2",
			Inbound:  []nft.ACLEntry{{Number: 100, Allow: true, Prefix: all}},
			Outbound: []nft.ACLEntry{{Number: 100, Allow: true, Proto: nft.ProtoTCP, FromPort: 8080, ToPort: 8080, Prefix: all}},
		}}}
		if err := l.Set(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		mustNotReach(t, xa, "10.0.2.10:8080")
		mustReach(t, xa, "10.0.1.11:8080", xc) // bridged: no ACL
		r.ACLs.Subnets[0].Outbound = append(r.ACLs.Subnets[0].Outbound,
			nft.ACLEntry{Number: 200, Allow: true, Proto: nft.ProtoTCP, FromPort: 1024, ToPort: 65535, Prefix: all})
		if err := l.Set(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		mustReach(t, xa, "10.0.2.10:8080", xb)
		r.ACLs = nft.ACLSet{}
		if err := l.Set(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a reused address is reachable at once", func(t *testing.T) {
		// a (same subnet) and b (through the router) know c's MAC.
		mustReach(t, xa, "10.0.1.11:8080", xc)
		mustReach(t, xb, "10.0.1.11:8080", xc)
		old := testMAC(3).String()
		if got := neighbour(t, xa, "eth0", "10.0.1.11"); got != old {
			t.Fatalf("%s maps 10.0.1.11 to %q, want %s", xa, got, old)
		}
		if got := neighbour(t, p+"x", "b1", "10.0.1.11"); got != old {
			t.Fatalf("the router maps 10.0.1.11 to %q, want %s", got, old)
		}

		// c goes, and another instance with its address and a new MAC
		// comes, on a new port.
		hosts := slices.DeleteFunc(slices.Clone(cfg.Hosts), func(h Host) bool { return h.Namespace == xc })
		without := cfg
		without.Hosts = hosts
		if err := l.Set(t.Context(), without); err != nil {
			t.Fatal(err)
		}
		xe := p + "x-e"
		e := testHost(xe, "pe", p+"x", "b1", "10.0.1.11/24", 9)
		with := cfg
		with.Hosts = append(slices.Clone(hosts), e)
		if err := l.Set(t.Context(), with); err != nil {
			t.Fatal(err)
		}
		serveName(t, xe, "0.0.0.0:8080", xe)
		fresh := testMAC(9).String()
		// The gratuitous ARP reaches a's table asynchronously (softirq);
		// the router's entry Set wrote itself, over netlink, before it
		// returned.
		testenv.WaitFor(t, 2*time.Second, "a's entry for the reused address", func() error {
			if got := neighbour(t, xa, "eth0", "10.0.1.11"); got != fresh {
				return fmt.Errorf("after the gratuitous ARP, %s maps 10.0.1.11 to %q, want %s", xa, got, fresh)
			}
			return nil
		})
		if got := neighbour(t, p+"x", "b1", "10.0.1.11"); got != fresh {
			t.Errorf("the router maps 10.0.1.11 to %q, want %s", got, fresh)
		}
		// No SYN was lost to a stale entry: the client retransmitted
		// nothing.
		for _, from := range []string{xa, xb} {
			got, retrans, err := whoIsRetrans(from, "10.0.1.11:8080", 5*time.Second)
			if err != nil || got != xe {
				t.Errorf("connect from %s to the reused address = %q, %v; want %q", from, got, err, xe)
			} else if retrans != 0 {
				t.Errorf("connect from %s to the reused address: %d retransmissions, want none", from, retrans)
			}
		}
	})
}

// inspectMAC returns the MAC of the link name in the namespace ns.
func inspectMAC(t *testing.T, ns, name string) string {
	t.Helper()
	var mac string
	err := netns.DoNamed(ns, func() error {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return err
		}
		mac = l.Attrs().HardwareAddr.String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return mac
}

// TestPrivilegedHostDeletedByHand deletes an instance's namespace as `ip
// netns del` does, and at once runs Set: the kernel frees the other end of
// its veth only later, asynchronously, and Set must cope whenever that
// happens.
func TestPrivilegedHostDeletedByHand(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	cleanupEtcNetns(t, p)
	l, _ := newTestLinux()
	cfg := vpcConfig(p, "x")
	if err := l.Set(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := netns.Delete(p + "x-a"); err != nil {
			t.Fatal(err)
		}
		if err := l.Set(t.Context(), cfg); err != nil {
			t.Fatalf("Set() = %v", err)
		}
		if ops, err := l.Plan(t.Context(), cfg); err != nil || len(ops) != 0 {
			t.Fatalf("Plan() after Set() = %q, %v; want nothing", ops, err)
		}
	}
	serveName(t, p+"x-a", "0.0.0.0:8080", "a")
	mustReach(t, p+"x-b", "10.0.1.10:8080", "a")
}

// TestPrivilegedCheapPath checks that Set reads back from the kernel only
// what it must: nothing at all when neither the config nor any namespace
// changed, a changed host and its router, a namespace that was replaced;
// and that what changed behind its back inside a namespace is repaired at
// the next full resync.
func TestPrivilegedCheapPath(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	cleanupEtcNetns(t, p)
	l, logs := newTestLinux(FullResyncEvery(time.Minute))
	clock := time.Now()
	l.now = func() time.Time { return clock }
	cfg := vpcConfig(p, "x", "y")

	type counts struct{ Reads, Opens, Changes int64 }
	set := func(what string) counts {
		t.Helper()
		r0, o0 := l.reads.Load(), l.opens.Load()
		if err := l.Set(t.Context(), cfg); err != nil {
			t.Fatalf("%s: Set() = %v", what, err)
		}
		return counts{l.reads.Load() - r0, l.opens.Load() - o0, int64(len(logs.take()))}
	}
	all := int64(len(cfg.Routers) + len(cfg.Hosts))
	if got := set("first"); got.Reads != 0 || got.Changes == 0 {
		t.Errorf("first Set() = %+v; want changes and no reads (nothing there)", got)
	}
	if got := set("unchanged"); got != (counts{}) {
		t.Errorf("Set() with nothing changed = %+v; want no namespace opened", got)
	}

	// A security group changes: the host is read, and its router.
	findHost(&cfg, p+"x-b").Firewall = webSG(8080)
	if got := set("security group"); got.Reads != 2 || got.Changes != 1 {
		t.Errorf("Set() after a security group change = %+v; want 2 reads, 1 change", got)
	}
	if got := set("unchanged"); got != (counts{}) {
		t.Errorf("Set() with nothing changed = %+v; want no namespace opened", got)
	}

	// A bridge deleted by hand goes unnoticed until the next full resync.
	err := netns.DoNamed(p+"x", func() error {
		b, err := netlink.LinkByName("b2")
		if err != nil {
			return err
		}
		return netlink.LinkDel(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := set("bridge deleted"); got != (counts{}) {
		t.Errorf("Set() before the full resync = %+v; want no namespace opened", got)
	}
	clock = clock.Add(time.Minute)
	if got := set("full resync"); got.Reads != all || got.Changes == 0 {
		t.Errorf("Set() at the full resync = %+v; want %d reads and changes", got, all)
	}
	if ops, err := l.Plan(t.Context(), cfg); err != nil || len(ops) != 0 {
		t.Errorf("Plan() after the full resync = %q, %v; want nothing", ops, err)
	}
	serveName(t, p+"x-b", "0.0.0.0:8080", "b")
	mustReach(t, p+"x-a", "10.0.2.10:8080", "b")

	// Resync forces one.
	l.Resync()
	if got := set("forced resync"); got.Reads != all || got.Changes != 0 {
		t.Errorf("Set() after Resync() = %+v; want %d reads, no changes", got, all)
	}

	// A namespace deleted or replaced by hand is noticed at once: it is
	// read (if there), with its router.
	linuxOutOfBand{}.DeleteNamespace(t, p+"y-a")
	if got := set("host deleted"); got.Reads != 1 || got.Changes == 0 {
		t.Errorf("Set() after a host was deleted = %+v; want its router read, and changes", got)
	}
	linuxOutOfBand{}.DeleteNamespace(t, p+"y")
	if got := set("router deleted"); got.Reads != 3 || got.Changes == 0 {
		t.Errorf("Set() after a router was deleted = %+v; want its 3 hosts read, and changes", got)
	}
	if ops, err := l.Plan(t.Context(), cfg); err != nil || len(ops) != 0 {
		t.Errorf("Plan() = %q, %v; want nothing", ops, err)
	}
	mustReach(t, p+"x-a", "10.0.2.10:8080", "b")
	if got := set("unchanged"); got != (counts{}) {
		t.Errorf("Set() with nothing changed = %+v; want no namespace opened", got)
	}

	// Hand edits inside a cached host are repaired at the next full
	// resync too, whatever the other namespaces' state.
	err = netns.DoNamed(p+"x-a", func() error {
		return os.WriteFile(ipForward, []byte("1\n"), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	l.Resync()
	if got := set("forced resync"); got.Changes != 1 {
		t.Errorf("Set() after forwarding was turned on by hand = %+v; want 1 change", got)
	}
	if got := inspect(t, p+"x-a").Forwarding; got != "0" {
		t.Errorf("forwarding in a host = %s, want 0", got)
	}

	// Nothing wanted: everything goes, /etc/netns included.
	cfg = Config{Prefix: p, Owner: testOwner}
	set("nothing wanted")
	if got, _ := l.Namespaces(t.Context(), p); len(got) != 0 {
		t.Errorf("Namespaces() = %q, want none", got)
	}
	if left := etcNetnsLeft(t, p); len(left) != 0 {
		t.Errorf("/etc/netns entries left: %q", left)
	}
}
