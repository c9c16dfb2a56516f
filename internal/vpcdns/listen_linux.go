package vpcdns

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/privlink/privlink/internal/dataplane/netns"
)

// listen opens the UDP and TCP sockets of a resolver at addr:Port inside the
// named namespace ns. The sockets stay in ns for their whole life, whatever
// thread later uses them.
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
		udp, err := lc.ListenPacket(ctx, "udp", ap)
		if err != nil {
			return fmt.Errorf("listen udp: %w", err)
		}
		tcp, err := lc.Listen(ctx, "tcp", ap)
		if err != nil {
			udp.Close()
			return fmt.Errorf("listen tcp: %w", err)
		}
		l.udp, l.tcp = udp, tcp
		return nil
	})
	if err != nil {
		return listeners{}, fmt.Errorf("netns %s: %w", ns, err)
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
