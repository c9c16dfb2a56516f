//go:build !linux

package forwarder

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"
)

// Network namespaces are Linux's: elsewhere the package builds, so that its
// importers do, and every socket fails.

var errUnsupported = errors.New("network namespaces need Linux")

type nsFactory struct{}

type nsSockets struct{}

func (*nsSockets) get(string) (*nsFactory, error) { return nil, errUnsupported }
func (*nsSockets) retain(func(string) bool)       {}
func (*nsSockets) closeAll()                      {}

func family(netip.Addr) int { return 0 }

func listenIn(context.Context, *nsFactory, netip.AddrPort) (*net.TCPListener, error) {
	return nil, errUnsupported
}

func newOutbound(context.Context, *nsFactory, netip.Addr, int) (*net.TCPConn, error) {
	return nil, errUnsupported
}

func connect(context.Context, *net.TCPConn, netip.AddrPort, time.Duration) error {
	return errUnsupported
}
