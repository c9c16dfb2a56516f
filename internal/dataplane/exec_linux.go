package dataplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// executor applies ops, keeping one connection per namespace open.
type executor struct {
	ctx   context.Context
	conns map[string]*nsConn
	rules map[string]tables
	opens *atomic.Int64
}

func (e *executor) conn(name string) (*nsConn, error) {
	if c, ok := e.conns[name]; ok {
		return c, nil
	}
	c, err := openConn(name, e.opens)
	if err != nil {
		return nil, err
	}
	e.conns[name] = c
	return c, nil
}

func (e *executor) drop(name string) {
	if c, ok := e.conns[name]; ok {
		c.close()
		delete(e.conns, name)
	}
}

func (e *executor) close() {
	for name := range e.conns {
		e.drop(name)
	}
}

func (e *executor) do(o op) error {
	switch o.Kind {
	case opAddNetns:
		// Stamp the namespace at once: a crash in between leaves it
		// unowned, which the next Set adopts if it still wants it and
		// otherwise leaves alone.
		if err := netns.Create(o.NS); err != nil {
			return err
		}
		c, err := e.conn(o.NS)
		if err != nil {
			return err
		}
		return setOwner(c.nl, o.Owner)
	case opDelNetns:
		e.drop(o.NS)
		if err := netns.Delete(o.NS); err != nil {
			return err
		}
		if err := os.RemoveAll(filepath.Join(etcNetns, o.NS)); err != nil {
			return fmt.Errorf("remove %s: %w", filepath.Join(etcNetns, o.NS), err)
		}
		return nil
	case opWriteResolv:
		return writeResolv(o.NS, o.Content)
	case opDelResolv:
		return delResolv(o.NS)
	}
	c, err := e.conn(o.NS)
	if err != nil {
		return err
	}
	switch o.Kind {
	case opOwn:
		return setOwner(c.nl, o.Owner)
	case opForwarding:
		return writeForwarding(c.ns, o.On)
	case opLoUp:
		return setUp(c.nl, "lo")
	case opApplyFirewall, opApplyACL:
		t := e.rules[o.NS]
		rs, what := t.Firewall, "firewall"
		if o.Kind == opApplyACL {
			rs, what = t.ACL, "acl"
		}
		if rs == nil || rs.Digest() != o.Digest {
			return fmt.Errorf("no compiled %s with digest %q", what, o.Digest)
		}
		_, err := rs.Apply(e.ctx, c.ns)
		return err
	case opAddLink:
		return e.addLink(c, o)
	case opLinkUp:
		return setUp(c.nl, o.Link)
	case opAddRoute:
		rt, err := netlinkRoute(c.nl, o.Route)
		if err != nil {
			return err
		}
		return c.nl.RouteReplace(rt)
	case opDelRoute:
		rt, err := netlinkRoute(c.nl, o.Route)
		if err != nil {
			return err
		}
		if err := c.nl.RouteDel(rt); err != nil && !errors.Is(err, unix.ESRCH) {
			return err
		}
		return nil
	case opAnnounce:
		return e.announce(c, o)
	}
	link, err := c.nl.LinkByName(o.Link)
	if err != nil {
		var notFound netlink.LinkNotFoundError
		if o.Kind == opDelLink && errors.As(err, &notFound) {
			return nil // gone with the other end of its veth pair
		}
		return err
	}
	switch o.Kind {
	case opDelLink:
		if err := c.nl.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
			return err
		}
		return nil
	case opAddAddr:
		return c.nl.AddrAdd(link, &netlink.Addr{IPNet: ipNetOf(o.Addr)})
	case opDelAddr:
		return c.nl.AddrDel(link, &netlink.Addr{IPNet: ipNetOf(o.Addr)})
	case opSetMAC:
		mac, err := net.ParseMAC(o.MAC)
		if err != nil {
			return err
		}
		return c.nl.LinkSetHardwareAddr(link, mac)
	case opMaster:
		if o.On {
			waitOperUp(c.nl, o.Link)
		}
		master, err := c.nl.LinkByName(o.Master)
		if err != nil {
			return fmt.Errorf("master: %w", err)
		}
		return c.nl.LinkSetMasterByIndex(link, master.Attrs().Index)
	}
	return fmt.Errorf("unknown op %d", o.Kind)
}

// setOwner stamps the namespace of h with owner: the alias of its lo.
func setOwner(h *netlink.Handle, owner string) error {
	lo, err := h.LinkByName("lo")
	if err != nil {
		return err
	}
	return h.LinkSetAlias(lo, OwnerAlias(owner))
}

func setUp(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return err
	}
	return h.LinkSetUp(link)
}

func writeForwarding(ns netns.Handle, on bool) error {
	v := "0\n"
	if on {
		v = "1\n"
	}
	return netns.Do(ns, func() error {
		return os.WriteFile(ipForward, []byte(v), 0o644)
	})
}

// addLink creates the link o describes: a bridge with its MAC set (so that
// it never follows its ports'), or a veth pair created in c's namespace with
// its other end directly in the peer's, so that neither name ever exists in
// another namespace.
func (e *executor) addLink(c *nsConn, o op) error {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = o.Link
	if o.MAC != "" {
		mac, err := net.ParseMAC(o.MAC)
		if err != nil {
			return err
		}
		attrs.HardwareAddr = mac
	}
	switch o.LinkKind {
	case kindBridge:
		return c.nl.LinkAdd(&netlink.Bridge{LinkAttrs: attrs})
	case kindVeth:
		peer, err := e.conn(o.Peer.NS)
		if err != nil {
			return fmt.Errorf("peer: %w", err)
		}
		v := netlink.NewVeth(attrs)
		v.PeerName = o.Peer.Link
		v.PeerNamespace = netlink.NsFd(int(peer.ns))
		return c.nl.LinkAdd(v)
	}
	return fmt.Errorf("unsupported link kind %q", o.LinkKind)
}

// netlinkRoute returns the netlink route for r in the namespace of h.
func netlinkRoute(h *netlink.Handle, r route) (*netlink.Route, error) {
	rt := &netlink.Route{
		Dst:      ipNetOf(r.Dst),
		Table:    unix.RT_TABLE_MAIN,
		Protocol: unix.RTPROT_STATIC,
	}
	if r.Gw.IsValid() {
		rt.Gw = net.IP(r.Gw.AsSlice())
	}
	if r.Dev != "" {
		link, err := h.LinkByName(r.Dev)
		if err != nil {
			return nil, err
		}
		rt.LinkIndex = link.Attrs().Index
	}
	return rt, nil
}

// operUpWait bounds how long enslaving a new port waits for its carrier.
const operUpWait = time.Second

// waitOperUp waits, within operUpWait, until the link name is
// operationally up. A bridge enables a port at once when the port is up
// as it is enslaved; a port that comes up later is enabled only when the
// kernel's link watch gets to it, and what the host sends meanwhile (its
// gratuitous ARP) is lost. Both ends of a new veth are up by now, so the
// wait is short; if it runs out, the port is enslaved anyway.
func waitOperUp(h *netlink.Handle, name string) {
	deadline := time.Now().Add(operUpWait)
	for pause := 100 * time.Microsecond; ; pause = min(2*pause, 10*time.Millisecond) {
		link, err := h.LinkByName(name)
		if err != nil || link.Attrs().OperState == netlink.OperUp || link.Attrs().Flags&net.FlagUp == 0 {
			return
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(pause)
	}
}

// writeResolv writes the resolv.conf of the namespace ns, atomically.
func writeResolv(ns, content string) error {
	path := ResolvConfPath(ns)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".resolv.conf.*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// delResolv removes the resolv.conf of the namespace ns, and its directory
// under /etc/netns if that is left empty.
func delResolv(ns string) error {
	path := ResolvConfPath(ns)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	err := os.Remove(filepath.Dir(path))
	if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
		return err
	}
	return nil
}
