package vpcdns

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/privlink/privlink/internal/testenv"
)

// vpcAddr is every test VPC's resolver address: the VPCs' CIDRs overlap.
var vpcAddr = netip.MustParseAddr("10.0.0.2")

// newNamespace creates the namespace name, as the data plane creates a VPC
// router, brings lo up, and adds the resolver address if withAddr is set.
//
// lo up matters: in a namespace without any address, the kernel has no
// local routing table yet and lets a socket bind any address (such a
// socket serves once the address comes). A router namespace always has
// addresses.
func newNamespace(t *testing.T, name string, withAddr bool) {
	t.Helper()
	if err := netns.Create(name); err != nil {
		t.Fatal(err)
	}
	nl := netlinkIn(t, name)
	lo, err := nl.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := nl.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	if withAddr {
		addResolverAddr(t, name)
	}
}

func netlinkIn(t *testing.T, ns string) *netlink.Handle {
	t.Helper()
	h, err := netns.Open(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	nl, err := netlink.NewHandleAt(h, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nl.Close)
	return nl
}

// addResolverAddr adds vpcAddr/24 on a bridge in ns, as the data plane
// does on a subnet bridge.
func addResolverAddr(t *testing.T, ns string) {
	t.Helper()
	nl := netlinkIn(t, ns)
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}}
	if err := nl.LinkAdd(br); err != nil {
		t.Fatal(err)
	}
	if err := nl.LinkSetUp(br); err != nil {
		t.Fatal(err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: vpcAddr.AsSlice(), Mask: net.CIDRMask(24, 32)}}
	if err := nl.AddrAdd(br, addr); err != nil {
		t.Fatal(err)
	}
}

// startServer returns a Server whose Run ends when the test does, before
// the test's namespaces are removed.
func startServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s := New(testLogger(t), opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
	return s
}

// dialIn opens a client socket inside ns, connected to vpcAddr:53.
func dialIn(ns, network string) (net.Conn, error) {
	var c net.Conn
	err := netns.DoNamed(ns, func() error {
		var err error
		d := net.Dialer{Timeout: time.Second}
		c, err = d.Dial(network, netip.AddrPortFrom(vpcAddr, Port).String())
		return err
	})
	return c, err
}

// lookupIn asks the resolver at vpcAddr from inside ns. A query to a
// closed port fails at once (ICMP or RST), so the timeout is only reached
// by a lost answer, and is generous: a loaded machine can stall the
// in-process server for a while.
func lookupIn(ns, network, name string, qtype uint16) (*dns.Msg, error) {
	conn, err := dialIn(ns, network)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	c := &dns.Client{Timeout: 3 * time.Second}
	reply, _, err := c.ExchangeWithConn(new(dns.Msg).SetQuestion(name, qtype), &dns.Conn{Conn: conn})
	return reply, err
}

// sockets returns the inodes of the UDP socket and the TCP listener bound
// to vpcAddr:53 in ns ("": the namespace of the test's threads, the
// host's), by protocol.
func sockets(t *testing.T, ns string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	read := func() error {
		for _, proto := range []string{"udp", "tcp"} {
			// thread-self: the namespace of this thread, not the
			// main thread's that /proc/self shows.
			b, err := os.ReadFile("/proc/thread-self/net/" + proto)
			if err != nil {
				return err
			}
			ip := vpcAddr.As4()
			local := fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(ip[:]), Port)
			for _, line := range strings.Split(string(b), "\n")[1:] {
				f := strings.Fields(line)
				if len(f) > 9 && f[1] == local && (proto == "udp" || f[3] == "0A") { // TCP_LISTEN
					out[proto] = f[9]
				}
			}
		}
		return nil
	}
	var err error
	if ns == "" {
		errc := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			errc <- read()
		}()
		err = <-errc
	} else {
		err = netns.DoNamed(ns, read)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// want is what a lookup should answer: the rcode and the addresses or
// names of the answer (answers() form).
func checkLookup(t *testing.T, ns, network, name string, qtype uint16, want ...string) {
	t.Helper()
	reply, err := lookupIn(ns, network, name, qtype)
	if err != nil {
		t.Errorf("lookup %s %s over %s in %s: %v", name, dns.TypeToString[qtype], network, ns, err)
		return
	}
	if diff := cmp.Diff(want, answers(reply)); diff != "" {
		t.Errorf("lookup %s %s over %s in %s mismatch (-want +got):\n%s", name, dns.TypeToString[qtype], network, ns, diff)
	}
}

func records(pairs ...string) Records {
	r := Records{A: make(map[string][]netip.Addr)}
	for i := 0; i < len(pairs); i += 2 {
		r.A[pairs[i]] = append(r.A[pairs[i]], netip.MustParseAddr(pairs[i+1]))
	}
	return r
}

// TestPrivilegedTwoVPCs runs two resolvers at the same address in two
// namespaces and checks that each VPC sees only its own records, over UDP
// and TCP; that new records apply without new sockets; and that removing a
// resolver closes its sockets.
func TestPrivilegedTwoVPCs(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	nsA, nsB := p+"vpc-a", p+"vpc-b"
	newNamespace(t, nsA, true)
	newNamespace(t, nsB, true)
	var counter queryCounter
	s := startServer(t, WithQueryCounter(&counter))

	const (
		nameA  = "ip-10-0-1-5.ec2.internal."
		nameB  = "ip-10-0-1-6.ec2.internal."
		shared = "vpce-0a1b.vpce-svc-0c2d.us-east-1.vpce.amazonaws.com."
	)
	resA := Resolver{Namespace: nsA, Addr: vpcAddr, Records: records(nameA, "10.0.1.5", shared, "10.0.1.100")}
	resB := Resolver{Namespace: nsB, Addr: vpcAddr, Records: records(nameB, "10.0.1.6", shared, "10.0.1.200")}
	if err := s.Set(t.Context(), Config{Resolvers: []Resolver{resA, resB}}); err != nil {
		t.Fatalf("Set() = %v", err)
	}

	for _, network := range []string{"udp", "tcp"} {
		checkLookup(t, nsA, network, nameA, dns.TypeA, "NOERROR", "10.0.1.5")
		checkLookup(t, nsA, network, nameB, dns.TypeA, "NXDOMAIN")
		checkLookup(t, nsA, network, shared, dns.TypeA, "NOERROR", "10.0.1.100")
		checkLookup(t, nsA, network, "5.1.0.10.in-addr.arpa.", dns.TypePTR, "NOERROR", nameA)
		checkLookup(t, nsA, network, "www.example.com.", dns.TypeA, "NXDOMAIN")
		checkLookup(t, nsB, network, nameB, dns.TypeA, "NOERROR", "10.0.1.6")
		checkLookup(t, nsB, network, nameA, dns.TypeA, "NXDOMAIN")
		checkLookup(t, nsB, network, shared, dns.TypeA, "NOERROR", "10.0.1.200")
		checkLookup(t, nsB, network, "5.1.0.10.in-addr.arpa.", dns.TypePTR, "NXDOMAIN")
	}
	if got := counter.counts(); got["NOERROR"] != 10 || got["NXDOMAIN"] != 8 {
		t.Errorf("counts = %v, want NOERROR 10, NXDOMAIN 8", got)
	}

	// The sockets are in the VPCs' namespaces, none in the host's.
	if got := sockets(t, ""); len(got) != 0 {
		t.Errorf("host namespace has sockets on %v:53: %v", vpcAddr, got)
	}
	sockA := sockets(t, nsA)
	if len(sockA) != 2 {
		t.Errorf("%s has sockets %v on %v:53, want udp and tcp", nsA, sockA, vpcAddr)
	}

	// New records: answered on the same sockets and on a TCP connection
	// opened before.
	conn, err := dialIn(nsA, "tcp")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if reply, err := query(t, conn, nameA, dns.TypeA); err != nil || reply.Rcode != dns.RcodeSuccess {
		t.Fatalf("query before Set: %v, %v", answers(reply), err)
	}
	resA.Records = records(nameA, "10.0.1.50", "ip-10-0-1-7.ec2.internal.", "10.0.1.7")
	if err := s.Set(t.Context(), Config{Resolvers: []Resolver{resA, resB}}); err != nil {
		t.Fatalf("Set() = %v", err)
	}
	reply, err := query(t, conn, nameA, dns.TypeA)
	if err != nil {
		t.Fatalf("query on the old connection after Set: %v", err)
	}
	if diff := cmp.Diff([]string{"NOERROR", "10.0.1.50"}, answers(reply)); diff != "" {
		t.Errorf("answer after Set mismatch (-want +got):\n%s", diff)
	}
	for _, network := range []string{"udp", "tcp"} {
		checkLookup(t, nsA, network, "ip-10-0-1-7.ec2.internal.", dns.TypeA, "NOERROR", "10.0.1.7")
		checkLookup(t, nsA, network, shared, dns.TypeA, "NXDOMAIN")
		checkLookup(t, nsB, network, shared, dns.TypeA, "NOERROR", "10.0.1.200")
	}
	if diff := cmp.Diff(sockA, sockets(t, nsA)); diff != "" {
		t.Errorf("sockets changed on Set (-before +after):\n%s", diff)
	}

	// Removing B closes its sockets, at once; A goes on.
	if err := s.Set(t.Context(), Config{Resolvers: []Resolver{resA}}); err != nil {
		t.Fatalf("Set() = %v", err)
	}
	if got := sockets(t, nsB); len(got) != 0 {
		t.Errorf("%s still has sockets %v after its resolver was removed", nsB, got)
	}
	for _, network := range []string{"udp", "tcp"} {
		start := time.Now()
		if reply, err := lookupIn(nsB, network, nameB, dns.TypeA); err == nil {
			t.Errorf("lookup over %s in removed %s = %v, want an error", network, nsB, answers(reply))
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("lookup over %s in removed %s took %v to fail", network, nsB, d)
		}
		checkLookup(t, nsA, network, nameA, dns.TypeA, "NOERROR", "10.0.1.50")
	}

	// Removing the last one too.
	if err := s.Set(t.Context(), Config{}); err != nil {
		t.Fatalf("Set() = %v", err)
	}
	if got := sockets(t, nsA); len(got) != 0 {
		t.Errorf("%s still has sockets %v after its resolver was removed", nsA, got)
	}
}

// TestPrivilegedSetRetries checks that a resolver that cannot start does
// not keep the others from serving, and that Set starts it once it can;
// and that a resolver follows its namespace when that is created again.
func TestPrivilegedSetRetries(t *testing.T) {
	testenv.RequirePrivileged(t)
	p := testenv.Prefix(t)
	nsOK, nsNoAddr, nsMissing := p+"ok", p+"noaddr", p+"missing"
	newNamespace(t, nsOK, true)
	newNamespace(t, nsNoAddr, false)
	s := startServer(t)

	const name = "ip-10-0-1-5.ec2.internal."
	cfg := Config{Resolvers: []Resolver{
		{Namespace: nsMissing, Addr: vpcAddr, Records: records(name, "10.0.1.1")},
		{Namespace: nsNoAddr, Addr: vpcAddr, Records: records(name, "10.0.1.2")},
		{Namespace: nsOK, Addr: vpcAddr, Records: records(name, "10.0.1.3")},
	}}
	wantErr := func(err error, failed ...string) {
		t.Helper()
		t.Logf("Set() = %v", err)
		if len(failed) == 0 {
			if err != nil {
				t.Errorf("Set() = %v, want nil", err)
			}
			return
		}
		if err == nil {
			t.Errorf("Set() = nil, want an error naming %v", failed)
			return
		}
		for _, ns := range []string{nsMissing, nsNoAddr, nsOK} {
			named := strings.Contains(err.Error(), "resolver "+ns+" ")
			if want := strings.Contains(strings.Join(failed, " "), ns); named != want {
				t.Errorf("Set() = %v; names %s: %v, want %v", err, ns, named, want)
			}
		}
	}

	wantErr(s.Set(t.Context(), cfg), nsMissing, nsNoAddr)
	checkLookup(t, nsOK, "udp", name, dns.TypeA, "NOERROR", "10.0.1.3")

	addResolverAddr(t, nsNoAddr)
	wantErr(s.Set(t.Context(), cfg), nsMissing)
	checkLookup(t, nsNoAddr, "tcp", name, dns.TypeA, "NOERROR", "10.0.1.2")
	checkLookup(t, nsOK, "tcp", name, dns.TypeA, "NOERROR", "10.0.1.3")

	newNamespace(t, nsMissing, true)
	wantErr(s.Set(t.Context(), cfg))
	for _, ns := range []string{nsMissing, nsNoAddr, nsOK} {
		checkLookup(t, ns, "udp", name, dns.TypeA, "NOERROR", "10.0.1."+map[string]string{nsMissing: "1", nsNoAddr: "2", nsOK: "3"}[ns])
	}

	// The namespace goes away: Set stops its resolver and says so.
	if err := netns.Delete(nsOK); err != nil {
		t.Fatal(err)
	}
	wantErr(s.Set(t.Context(), cfg), nsOK)
	// It comes back under the same name: a new namespace, with nothing
	// listening, until Set starts the resolver in it.
	newNamespace(t, nsOK, true)
	if reply, err := lookupIn(nsOK, "tcp", name, dns.TypeA); err == nil {
		t.Errorf("lookup in the new %s before Set = %v, want an error", nsOK, answers(reply))
	}
	wantErr(s.Set(t.Context(), cfg))
	checkLookup(t, nsOK, "udp", name, dns.TypeA, "NOERROR", "10.0.1.3")
	checkLookup(t, nsOK, "tcp", name, dns.TypeA, "NOERROR", "10.0.1.3")
	checkLookup(t, nsMissing, "tcp", name, dns.TypeA, "NOERROR", "10.0.1.1")

	// Deleted and created again between two Sets, unseen: Set notices
	// that the name is another namespace now and moves the resolver.
	if err := netns.Delete(nsOK); err != nil {
		t.Fatal(err)
	}
	newNamespace(t, nsOK, true)
	wantErr(s.Set(t.Context(), cfg))
	checkLookup(t, nsOK, "udp", name, dns.TypeA, "NOERROR", "10.0.1.3")
}
