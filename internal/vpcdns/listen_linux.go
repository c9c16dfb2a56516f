package vpcdns

import (
	"context"
	"net"
	"net/netip"

	"github.com/privlink/privlink/internal/dataplane/netns"
)

// listen opens the UDP and TCP sockets of a resolver at addr:Port inside the
// named namespace ns. The sockets stay in ns for their whole life, whatever
// thread later uses them. Binding fails (EADDRNOTAVAIL) while ns lacks
// addr, except in a namespace with no address at all, where the kernel has
// no local routing table yet and allows any bind; such a socket serves once
// the address comes.
func listen(ctx context.Context, ns string, addr netip.Addr) (listeners, error) {
	h, err := netns.Open(ns)
	if err != nil {
		return listeners{}, err
	}
	defer h.Close()
	l := listeners{nsID: h.UniqueId()}
	ap := netip.AddrPortFrom(addr, Port).String()
	var lc net.ListenConfig
	err = netns.Do(h, func() error {
		// The errors name the protocol and the address.
		udp, err := lc.ListenPacket(ctx, "udp", ap)
		if err != nil {
			return err
		}
		tcp, err := lc.Listen(ctx, "tcp", ap)
		if err != nil {
			udp.Close()
			return err
		}
		l.udp, l.tcp = udp, tcp
		return nil
	})
	if err != nil {
		return listeners{}, err
	}
	return l, nil
}

// namespaceID returns the identity (device and inode) of the namespace
// named ns.
func namespaceID(ns string) (string, error) {
	h, err := netns.Open(ns)
	if err != nil {
		return "", err
	}
	defer h.Close()
	return h.UniqueId(), nil
}
