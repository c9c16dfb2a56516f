package dataplane

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/privlink/privlink/internal/dataplane/netns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// announce makes an address that came up on a host's link reachable at
// once, even if it was another link's a moment ago (an interface deleted
// and created again, an instance replaced): its neighbours may still map it
// to the old MAC for half a minute. The router's neighbour entry on the
// bridge is replaced outright, and a gratuitous ARP from the link updates
// the entries of the other hosts on the bridge (the kernel updates an
// existing entry on a gratuitous ARP, whatever arp_accept says).
func (e *executor) announce(c *nsConn, o op) error {
	mac, err := net.ParseMAC(o.MAC)
	if err != nil {
		return err
	}
	addr := o.Addr.Addr()
	r, err := e.conn(o.Peer.NS)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	br, err := r.nl.LinkByName(o.Peer.Link)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	err = r.nl.NeighSet(&netlink.Neigh{
		LinkIndex:    br.Attrs().Index,
		Family:       netlink.FAMILY_V4,
		State:        netlink.NUD_STALE,
		IP:           net.IP(addr.AsSlice()),
		HardwareAddr: mac,
	})
	if err != nil {
		return fmt.Errorf("router neighbour: %w", err)
	}
	link, err := c.nl.LinkByName(o.Link)
	if err != nil {
		return err
	}
	return sendGratuitousARP(c.ns, link.Attrs().Index, mac, addr)
}

// sendGratuitousARP broadcasts, on the link ifindex of the namespace ns, an
// ARP request for addr from addr at mac. The socket is opened inside ns (a
// packet socket sends on the links of the namespace it was made in); only
// the creation needs the thread switch.
func sendGratuitousARP(ns netns.Handle, ifindex int, mac net.HardwareAddr, addr netip.Addr) error {
	// Protocol 0: the socket sends and receives nothing meanwhile.
	fd := -1
	err := netns.Do(ns, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("packet socket: %w", err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrLinklayer{
		Protocol: htons(unix.ETH_P_ARP),
		Ifindex:  ifindex,
		Halen:    6,
		Addr:     [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	if err := unix.Sendto(fd, gratuitousARP(mac, addr), 0, to); err != nil {
		return fmt.Errorf("send gratuitous ARP: %w", err)
	}
	return nil
}

// gratuitousARP returns the ARP payload (after the Ethernet header) of a
// gratuitous ARP request: who has addr, tell addr at mac.
func gratuitousARP(mac net.HardwareAddr, addr netip.Addr) []byte {
	b := make([]byte, 28)
	binary.BigEndian.PutUint16(b[0:], 1)      // hardware type: Ethernet
	binary.BigEndian.PutUint16(b[2:], 0x0800) // protocol type: IPv4
	b[4], b[5] = 6, 4                         // address lengths
	binary.BigEndian.PutUint16(b[6:], 1)      // operation: request
	copy(b[8:14], mac)                        // sender hardware address
	a := addr.As4()
	copy(b[14:18], a[:]) // sender protocol address
	// Target hardware address: zero, unknown.
	copy(b[24:28], a[:]) // target protocol address: the same
	return b
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
