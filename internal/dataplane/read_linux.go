package dataplane

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/privlink/privlink/internal/dataplane/nft"
	"github.com/vishvananda/netlink"
	nlpkg "github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// rawVeth is what the reader keeps of a veth to find its other end: the
// kernel names the peer only by its ifindex and a netns id, both relative
// to other namespaces.
type rawVeth struct {
	index       int
	peerIndex   int
	peerNetnsID int // -1 if the peer is in the same namespace
	// peerNS is the namespace that the config wants the peer in, if the
	// peer is there (checked by netns id).
	peerNS string
}

// readNamespace reads the namespace name. If another owner than owner has
// it, only its owner is read. hints name, for some veths, the namespace
// that their other end should be in; the reader checks that it is.
func readNamespace(ctx context.Context, name, owner string, hints map[string]string, opens *atomic.Int64) (*nsState, map[string]*rawVeth, error) {
	h, err := netns.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer h.Close()
	opens.Add(1)
	// One thread switch for the lot: the two netlink sockets (which stay
	// in the namespace wherever they are used), and ip_forward.
	var (
		nl      *netlink.Handle
		nfc     *nft.Conn
		forward bool
	)
	err = netns.Do(h, func() error {
		var err error
		if nl, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
			return fmt.Errorf("netlink handle: %w", err)
		}
		if nfc, err = nft.DialCurrent(); err != nil {
			return err
		}
		if forward, err = readForwarding(); err != nil {
			return fmt.Errorf("read ip_forward: %w", err)
		}
		return nil
	})
	if nl != nil {
		defer nl.Close()
	}
	if nfc != nil {
		defer nfc.Close()
	}
	if err != nil {
		return nil, nil, err
	}
	c := &nsConn{ns: h, nl: nl}
	links, err := dump(c.nl.LinkList)
	if err != nil {
		return nil, nil, fmt.Errorf("list links: %w", err)
	}
	var lo netlink.Link
	for _, l := range links {
		if l.Attrs().Name == "lo" {
			lo = l
		}
	}
	if lo == nil {
		return nil, nil, errors.New("no lo")
	}
	if o := ownerOfAlias(lo.Attrs().Alias); o != "" && o != owner {
		return &nsState{Owner: o}, nil, nil
	}
	addrs, err := dump(func() ([]netlink.Addr, error) { return c.nl.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, nil, fmt.Errorf("list addresses: %w", err)
	}
	routes, err := dump(func() ([]netlink.Route, error) {
		return c.nl.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list routes: %w", err)
	}
	names := make(map[int]string, len(links))
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	byIndex := make(map[int][]netip.Prefix)
	for _, a := range addrs {
		p, ok := prefixOf(a.IPNet)
		if !ok || (p.Addr().Is6() && p.Addr().IsLinkLocalUnicast()) {
			continue
		}
		if a.LinkIndex == lo.Attrs().Index && p.Addr().IsLoopback() {
			continue
		}
		byIndex[a.LinkIndex] = append(byIndex[a.LinkIndex], p)
	}
	ns := &nsState{Owner: ownerOfAlias(lo.Attrs().Alias), Links: make(map[string]linkState)}
	raw := make(map[string]*rawVeth)
	for _, l := range links {
		attrs := l.Attrs()
		up := attrs.Flags&net.FlagUp != 0
		if attrs.Name == "lo" {
			ns.LoUp = up
			ns.LoAddrs = byIndex[attrs.Index]
			sortPrefixes(ns.LoAddrs)
		}
		if reservedLinks[attrs.Name] {
			continue
		}
		ls := linkState{Kind: l.Type(), Up: up, Addrs: byIndex[attrs.Index], Master: names[attrs.MasterIndex]}
		if len(attrs.HardwareAddr) > 0 {
			ls.MAC = attrs.HardwareAddr.String()
		}
		sortPrefixes(ls.Addrs)
		ns.Links[attrs.Name] = ls
		if ls.Kind == kindVeth {
			raw[attrs.Name] = &rawVeth{index: attrs.Index, peerIndex: attrs.ParentIndex, peerNetnsID: attrs.NetNsID}
		}
	}
	for _, r := range routes {
		if r.Protocol == unix.RTPROT_KERNEL {
			continue
		}
		rt := route{Dev: names[r.LinkIndex]}
		if g, ok := netip.AddrFromSlice(r.Gw); ok {
			rt.Gw = g.Unmap()
		}
		if p, ok := prefixOf(r.Dst); ok {
			rt.Dst = p
		} else if r.Family == netlink.FAMILY_V6 {
			rt.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		} else {
			rt.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		}
		ns.Routes = append(ns.Routes, rt)
	}
	slices.SortFunc(ns.Routes, compareRoutes)
	for link, peerNS := range hints {
		rv := raw[link]
		if rv == nil || rv.peerNetnsID < 0 {
			continue
		}
		if ok, err := peerIn(c, peerNS, rv.peerNetnsID); err != nil {
			return nil, nil, err
		} else if ok {
			rv.peerNS = peerNS
		}
	}
	ns.Forwarding = forward
	digests, err := nfc.TableDigests(ctx)
	if err != nil {
		return nil, nil, err
	}
	ns.Firewall, ns.ACL = digests[nft.TableFirewall], digests[nft.TableACL]
	if ns.Resolv, err = readResolv(name); err != nil {
		return nil, nil, err
	}
	return ns, raw, nil
}

// peerIn reports whether the netns id id, in the namespace of c, is that
// of the namespace peer.
func peerIn(c *nsConn, peer string, id int) (bool, error) {
	h, err := netns.Open(peer)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, netns.ErrNotMounted) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer h.Close()
	got, err := c.nl.GetNetNsIdByFd(int(h))
	if err != nil {
		return false, fmt.Errorf("netns id of %s: %w", peer, err)
	}
	return got >= 0 && got == id, nil
}

// pairVeths finds the two ends of the veth pairs among the namespaces
// read (raws) and records each end as the other's Peer in cur. Ends
// whose peer the config hinted at are paired by their indexes; the rest
// by their indexes too, each candidate checked by netns id.
func pairVeths(cur state, raws map[string]map[string]*rawVeth, opens *atomic.Int64) error {
	byIndex := make(map[string]map[int]string, len(raws))
	for ns, links := range raws {
		byIndex[ns] = make(map[int]string, len(links))
		for name, rv := range links {
			byIndex[ns][rv.index] = name
		}
	}
	unpaired := func(ref linkRef) bool {
		ns := cur[ref.NS]
		return ns != nil && ns.Links[ref.Link].Kind == kindVeth && ns.Links[ref.Link].Peer.isZero()
	}
	// free reports whether b can be a's other end: it has no other
	// (the cache may already have named a).
	free := func(b, a linkRef) bool {
		ns := cur[b.NS]
		if ns == nil || ns.Links[b.Link].Kind != kindVeth {
			return false
		}
		p := ns.Links[b.Link].Peer
		return p.isZero() || p == a
	}
	pair := func(a, b linkRef) {
		la, lb := cur[a.NS].Links[a.Link], cur[b.NS].Links[b.Link]
		la.Peer, lb.Peer = b, a
		cur[a.NS].Links[a.Link], cur[b.NS].Links[b.Link] = la, lb
	}
	type key struct{ index, peerIndex int }
	cands := make(map[key][]linkRef)
	var rest []linkRef
	for _, ns := range sortedKeys(raws) {
		for _, name := range sortedKeys(raws[ns]) {
			rv, a := raws[ns][name], linkRef{ns, name}
			if !unpaired(a) || rv.peerNetnsID < 0 {
				continue
			}
			if rv.peerNS != "" {
				pn, ok := byIndex[rv.peerNS][rv.peerIndex]
				b := linkRef{rv.peerNS, pn}
				if ok && raws[rv.peerNS][pn].peerIndex == rv.index && free(b, a) {
					pair(a, b)
					continue
				}
			}
			rest = append(rest, a)
			cands[key{rv.index, rv.peerIndex}] = append(cands[key{rv.index, rv.peerIndex}], a)
		}
	}
	for _, a := range rest {
		if !unpaired(a) {
			continue
		}
		rv := raws[a.NS][a.Link]
		for _, b := range cands[key{rv.peerIndex, rv.index}] {
			if b.NS == a.NS || !free(b, a) {
				continue
			}
			ok, err := verifyPeer(a.NS, b.NS, rv.peerNetnsID, opens)
			if err != nil {
				return err
			}
			if ok {
				pair(a, b)
				break
			}
		}
	}
	return nil
}

func verifyPeer(ns, peer string, id int, opens *atomic.Int64) (bool, error) {
	c, err := openConn(ns, opens)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, netns.ErrNotMounted) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer c.close()
	return peerIn(c, peer, id)
}

// readOrphans returns the directories under /etc/netns whose names start
// with prefix, that hold a resolv.conf written by Set, and that are not in
// names: the files of namespaces deleted behind Set's back.
func readOrphans(prefix string, names map[string]netns.Entry) (state, error) {
	des, err := os.ReadDir(etcNetns)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", etcNetns, err)
	}
	out := make(state)
	for _, de := range des {
		name := de.Name()
		if _, ok := names[name]; ok || !strings.HasPrefix(name, prefix) || !de.IsDir() {
			continue
		}
		if ns, err := readOrphan(name); err != nil {
			return nil, err
		} else if ns != nil {
			out[name] = ns
		}
	}
	return out, nil
}

// readOrphan returns the orphaned resolv.conf of name, or nil if there is
// none that Set wrote.
func readOrphan(name string) (*nsState, error) {
	content, err := readResolv(name)
	if err != nil || content == "" {
		return nil, err
	}
	owner := resolvOwner(content)
	if owner == "" {
		return nil, nil
	}
	return &nsState{Orphan: true, Owner: owner, Resolv: content}, nil
}

// ipForward is net.ipv4.ip_forward of the namespace of the thread that
// opens it.
const ipForward = "/proc/sys/net/ipv4/ip_forward"

// Netconf attributes (linux/netconf.h), which golang.org/x/sys/unix lacks.
const (
	netconfaIfindex    = 1
	netconfaForwarding = 2
	netconfaIfindexAll = -1
)

// readForwarding reports whether net.ipv4.ip_forward (which is
// net.ipv4.conf.all.forwarding) is 1 in the calling thread's namespace. It
// asks with RTM_GETNETCONF on a netlink socket of its own, made and closed
// here.
//
// It does not read ipForward: opening a /proc/sys file costs more the more
// namespaces the host has, so a read of every namespace grew quadratic.
// BenchmarkPrivilegedReadForwarding, net of the thread switch, on 2 cores:
// the /proc/sys read took ~70 µs a namespace with 200 namespaces and
// ~270 µs with 1,600; this takes ~20-30 µs with either. (A request
// through the netlink package's own socket, which goes through the Go
// poller, takes ~60 µs.)
func readForwarding() (bool, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return false, fmt.Errorf("netlink socket: %w", err)
	}
	defer unix.Close(fd)
	// struct nlmsghdr; struct netconfmsg (the family, padded to 4
	// bytes); the attribute NETCONFA_IFINDEX = NETCONFA_IFINDEX_ALL.
	const reqLen = unix.SizeofNlMsghdr + 4 + unix.SizeofRtAttr + 4
	var req [reqLen]byte
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], reqLen)
	ne.PutUint16(req[4:], unix.RTM_GETNETCONF)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(req[8:], 1) // sequence number
	req[unix.SizeofNlMsghdr] = unix.AF_INET
	attr := req[unix.SizeofNlMsghdr+4:]
	ne.PutUint16(attr[0:], unix.SizeofRtAttr+4)
	ne.PutUint16(attr[2:], netconfaIfindex)
	all := int32(netconfaIfindexAll)
	ne.PutUint32(attr[unix.SizeofRtAttr:], uint32(all))
	if err := unix.Sendto(fd, req[:], 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return false, fmt.Errorf("send RTM_GETNETCONF: %w", err)
	}
	// The kernel handles a netlink request within the send, so the
	// answer (or an error) is queued by now: the receive need not wait.
	var buf [1024]byte
	n, _, err := unix.Recvfrom(fd, buf[:], unix.MSG_DONTWAIT)
	if err != nil {
		return false, fmt.Errorf("receive RTM_NEWNETCONF: %w", err)
	}
	return parseNetconfForwarding(buf[:n])
}

// parseNetconfForwarding returns NETCONFA_FORWARDING from the kernel's
// answer to RTM_GETNETCONF.
func parseNetconfForwarding(b []byte) (bool, error) {
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return false, fmt.Errorf("parse RTM_NEWNETCONF: %w", err)
	}
	for _, m := range msgs {
		switch m.Header.Type {
		case unix.NLMSG_ERROR:
			if len(m.Data) >= 4 {
				if errno := int32(binary.NativeEndian.Uint32(m.Data)); errno < 0 {
					return false, fmt.Errorf("RTM_GETNETCONF: %w", unix.Errno(-errno))
				}
			}
			return false, errors.New("RTM_GETNETCONF: no answer")
		case unix.RTM_NEWNETCONF:
			if len(m.Data) < 4 {
				return false, errors.New("RTM_NEWNETCONF: short message")
			}
			attrs, err := nlpkg.ParseRouteAttr(m.Data[4:]) // past struct netconfmsg
			if err != nil {
				return false, fmt.Errorf("parse RTM_NEWNETCONF: %w", err)
			}
			for _, a := range attrs {
				if a.Attr.Type == netconfaForwarding && len(a.Value) >= 4 {
					// The sysctl's value, as ip_forward shows it.
					return int32(binary.NativeEndian.Uint32(a.Value)) == 1, nil
				}
			}
			return false, errors.New("RTM_NEWNETCONF: no NETCONFA_FORWARDING")
		}
	}
	return false, errors.New("no RTM_NEWNETCONF")
}

// maxDumpAttempts bounds the retries of a netlink dump that the kernel
// reports as interrupted (NLM_F_DUMP_INTR: the table changed mid-dump).
const maxDumpAttempts = 10

// dump calls list until it returns a result that was not interrupted.
func dump[T any](list func() ([]T, error)) ([]T, error) {
	var err error
	for range maxDumpAttempts {
		var v []T
		v, err = list()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return nil, fmt.Errorf("%d attempts: %w", maxDumpAttempts, err)
}

// prefixOf converts a netlink address to a netip.Prefix that keeps the
// address bits (10.0.1.1/24, not 10.0.1.0/24).
func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	ones, bits := n.Mask.Size()
	if a.Is4() && bits == 128 {
		ones, bits = ones-96, 32 // a 16-byte IPv4 address with a 16-byte mask
	}
	if bits != a.BitLen() || ones < 0 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, ones), true
}

func ipNetOf(p netip.Prefix) *net.IPNet {
	return &net.IPNet{
		IP:   net.IP(p.Addr().AsSlice()),
		Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
	}
}

// nsConn is an open namespace with a netlink handle in it.
type nsConn struct {
	ns netns.Handle
	nl *netlink.Handle
}

// openConn opens the namespace name and a netlink handle in it, counting
// it in opens.
func openConn(name string, opens *atomic.Int64) (*nsConn, error) {
	h, err := netns.Open(name)
	if err != nil {
		return nil, err
	}
	opens.Add(1)
	nl, err := netlink.NewHandleAt(h, unix.NETLINK_ROUTE)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("netlink handle in netns %s: %w", name, err)
	}
	return &nsConn{ns: h, nl: nl}, nil
}

func (c *nsConn) close() {
	c.nl.Close()
	c.ns.Close()
}
